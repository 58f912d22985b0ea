/** One queued delivery: due (or lease expiring) at `at`; `seq` tells a live entry from one superseded since. */
export interface QueueEntry {
  at: number;
  id: string;
  seq: number;
}

export function before(a: QueueEntry, b: QueueEntry): boolean {
  return a.at < b.at || (a.at === b.at && a.id < b.id);
}

/**
 * A binary min-heap of deliveries by time, then id. Entries are never removed in place: a caller that moves a
 * delivery pushes a new entry and drops the old one when it surfaces (lazy deletion), so every change is O(log n).
 */
export class DueQueue<T extends QueueEntry = QueueEntry> {
  readonly #heap: T[] = [];

  get size(): number {
    return this.#heap.length;
  }

  push(entry: T): void {
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

  peek(): T | undefined {
    return this.#heap[0];
  }

  pop(): T | undefined {
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
  retain(keep: (entry: T) => boolean): void {
    const kept = this.#heap.filter(keep);
    this.#heap.length = 0;
    for (const entry of kept) this.push(entry);
  }
}

/** An endpoint's place in {@link EndpointQueues}: its earliest live delivery entry (`at` and `id` are that entry's). */
export interface EndpointHead extends QueueEntry {
  endpointId: string;
  entry: QueueEntry;
}

/**
 * Due deliveries in one queue per endpoint, and the endpoints in a heap by their earliest delivery. A claim that
 * meets an endpoint at its concurrency limit sets the whole endpoint aside (`park`) in O(log endpoints), instead of
 * popping and pushing back every one of its queued deliveries: one slow endpoint with a deep backlog costs other
 * endpoints' claims nothing. Stale entries (superseded deliveries) are dropped lazily, as in {@link DueQueue}.
 */
export class EndpointQueues {
  readonly #queues = new Map<string, DueQueue>();
  readonly #heads = new DueQueue<EndpointHead>();
  /** Each endpoint's live head; heads superseded since are stale. */
  readonly #current = new Map<string, EndpointHead>();
  readonly #isLive: (entry: QueueEntry) => boolean;
  #size = 0;

  constructor(isLive: (entry: QueueEntry) => boolean) {
    this.#isLive = isLive;
  }

  /** Entries held, stale ones included. */
  get size(): number {
    return this.#size;
  }

  push(endpointId: string, entry: QueueEntry): void {
    let queue = this.#queues.get(endpointId);
    if (queue === undefined) {
      queue = new DueQueue();
      this.#queues.set(endpointId, queue);
    }
    queue.push(entry);
    this.#size += 1;
    const head = this.#current.get(endpointId);
    if (head === undefined || before(entry, head.entry)) this.#setHead(endpointId, entry);
  }

  /** The earliest live entry of all, with its endpoint; stale entries and heads met on the way are dropped. */
  peek(): EndpointHead | undefined {
    for (let head = this.#heads.peek(); head !== undefined; head = this.#heads.peek()) {
      if (this.#current.get(head.endpointId) !== head) {
        this.#heads.pop();
        continue;
      }
      const queue = this.#queues.get(head.endpointId)!;
      let top = queue.peek();
      while (top !== undefined && !this.#isLive(top)) {
        queue.pop();
        this.#size -= 1;
        top = queue.peek();
      }
      if (top === head.entry) return head;
      this.#heads.pop();
      this.#rehead(head.endpointId, queue);
    }
    return undefined;
  }

  /** Removes the entry `head` (from {@link peek}) stands for; the endpoint's next entry becomes its head. */
  take(head: EndpointHead): QueueEntry {
    const queue = this.#queues.get(head.endpointId)!;
    queue.pop();
    this.#size -= 1;
    this.#heads.pop();
    this.#rehead(head.endpointId, queue);
    return head.entry;
  }

  /** Sets aside the endpoint at the top (from {@link peek}) until {@link unpark}; its entries stay queued. */
  park(head: EndpointHead): void {
    if (this.#heads.pop() !== head) throw new Error('EndpointQueues.park: only the head from peek() can be parked.');
  }

  /** Puts parked endpoints back in place; a head superseded meanwhile is simply dropped. */
  unpark(heads: readonly EndpointHead[]): void {
    for (const head of heads) {
      if (this.#current.get(head.endpointId) === head) this.#heads.push(head);
    }
  }

  /** Keeps only the entries `keep` accepts, in O(n): how stale entries are shed in bulk. */
  retain(keep: (entry: QueueEntry) => boolean): void {
    this.#size = 0;
    this.#current.clear();
    this.#heads.retain(() => false);
    for (const [endpointId, queue] of this.#queues) {
      queue.retain(keep);
      this.#size += queue.size;
      this.#rehead(endpointId, queue);
    }
  }

  #rehead(endpointId: string, queue: DueQueue): void {
    const top = queue.peek();
    if (top === undefined) {
      this.#queues.delete(endpointId);
      this.#current.delete(endpointId);
      return;
    }
    this.#setHead(endpointId, top);
  }

  #setHead(endpointId: string, entry: QueueEntry): void {
    const head: EndpointHead = { at: entry.at, id: entry.id, seq: entry.seq, endpointId, entry };
    this.#current.set(endpointId, head);
    this.#heads.push(head);
  }
}
