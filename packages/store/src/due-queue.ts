/** One queued delivery: due (or lease expiring) at `at`; `seq` tells a live entry from one superseded since. */
export interface QueueEntry {
  at: number;
  id: string;
  seq: number;
}

function before(a: QueueEntry, b: QueueEntry): boolean {
  return a.at < b.at || (a.at === b.at && a.id < b.id);
}

/**
 * A binary min-heap of deliveries by time, then id. Entries are never removed in place: a caller that moves a
 * delivery pushes a new entry and drops the old one when it surfaces (lazy deletion), so every change is O(log n).
 */
export class DueQueue {
  readonly #heap: QueueEntry[] = [];

  get size(): number {
    return this.#heap.length;
  }

  push(entry: QueueEntry): void {
    const heap = this.#heap;
    heap.push(entry);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(entry, heap[parent]!)) break;
      heap[i] = heap[parent]!;
      i = parent;
    }
    heap[i] = entry;
  }

  peek(): QueueEntry | undefined {
    return this.#heap[0];
  }

  pop(): QueueEntry | undefined {
    const heap = this.#heap;
    const top = heap[0];
    const last = heap.pop();
    if (top === undefined || last === undefined || heap.length === 0) return top;
    let i = 0;
    const n = heap.length;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= n) break;
      const right = left + 1;
      const child = right < n && before(heap[right]!, heap[left]!) ? right : left;
      if (!before(heap[child]!, last)) break;
      heap[i] = heap[child]!;
      i = child;
    }
    heap[i] = last;
    return top;
  }

  /** Keeps only the entries `keep` accepts, rebuilding the heap in O(n): how stale entries are shed in bulk. */
  retain(keep: (entry: QueueEntry) => boolean): void {
    const kept = this.#heap.filter(keep);
    this.#heap.length = 0;
    for (const entry of kept) this.push(entry);
  }
}
