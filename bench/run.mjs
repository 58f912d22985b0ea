// Runs every bench/*.bench.mjs in turn (or those named on the command line), each in its own process.
import { readdirSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const dir = fileURLToPath(new URL('.', import.meta.url));
const wanted = process.argv.slice(2);
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.bench.mjs'))
  .filter((f) => wanted.length === 0 || wanted.some((w) => f.includes(w)))
  .sort();
console.log(`# hookline benchmarks  node ${process.version}  ${new Date().toISOString()}`);
let failed = 0;
for (const file of files) {
  const result = spawnSync(process.execPath, [file], { cwd: dir, stdio: 'inherit' });
  if (result.status !== 0) {
    failed++;
    console.log(`!! ${file} exited with ${result.status}`);
  }
}
process.exit(failed ? 1 : 0);
