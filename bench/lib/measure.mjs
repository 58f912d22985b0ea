// One way to measure, shared by every benchmark: warm up, then run in rounds and keep the median rate,
// so a noisy neighbour on a shared machine moves one round, not the result.

/** Runs `fn` (sync or async) repeatedly; returns the median operations per second over `rounds`. */
export async function opsPerSecond(fn, { rounds = 5, minMs = 300, warmup = 200 } = {}) {
  for (let i = 0; i < warmup; i++) await fn();
  const rates = [];
  for (let r = 0; r < rounds; r++) {
    let n = 0;
    const start = process.hrtime.bigint();
    let elapsed = 0;
    while (elapsed < minMs) {
      for (let i = 0; i < 50; i++) await fn();
      n += 50;
      elapsed = Number(process.hrtime.bigint() - start) / 1e6;
    }
    rates.push((n * 1000) / elapsed);
  }
  rates.sort((a, b) => a - b);
  return rates[Math.floor(rates.length / 2)];
}

/** Same as opsPerSecond for synchronous functions, without awaiting (no microtask overhead in the figure). */
export function opsPerSecondSync(fn, { rounds = 5, minMs = 300, warmup = 200 } = {}) {
  for (let i = 0; i < warmup; i++) fn();
  const rates = [];
  for (let r = 0; r < rounds; r++) {
    let n = 0;
    const start = process.hrtime.bigint();
    let elapsed = 0;
    while (elapsed < minMs) {
      for (let i = 0; i < 50; i++) fn();
      n += 50;
      elapsed = Number(process.hrtime.bigint() - start) / 1e6;
    }
    rates.push((n * 1000) / elapsed);
  }
  rates.sort((a, b) => a - b);
  return rates[Math.floor(rates.length / 2)];
}

/**
 * Prints one table: each row an implementation, its rate, and its ratio against the baseline row.
 * `targets` maps a row name to `{ against, atLeast }` and prints PASS/MISS for the ratio (just the ratio without `atLeast`).
 */
export function report(title, rows, { unit = 'ops/s', targets = {} } = {}) {
  console.log(`\n## ${title}`);
  const width = Math.max(...rows.map((r) => r.name.length));
  for (const row of rows) {
    const target = targets[row.name];
    let verdict = '';
    if (target) {
      const base = rows.find((r) => r.name === target.against);
      const ratio = row.value / base.value;
      // A target without `atLeast` only prints the ratio (a comparison no issue sets a number for).
      verdict = target.atLeast === undefined
        ? `  ${ratio.toFixed(2)}x ${target.against}`
        : `  ${ratio.toFixed(2)}x ${target.against}  (target >= ${target.atLeast}x: ${ratio >= target.atLeast ? 'PASS' : 'MISS'})`;
    }
    console.log(`${row.name.padEnd(width)}  ${Math.round(row.value).toLocaleString('en-US').padStart(12)} ${unit}${verdict}`);
  }
}
