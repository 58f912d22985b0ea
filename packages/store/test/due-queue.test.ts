import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { before, EndpointQueues, type EndpointHead, type QueueEntry } from '../src/due-queue.js';

// EndpointQueues against a plain sorted list: whatever pushes, supersessions, bulk sheds and parked endpoints happen,
// a claim takes exactly the earliest live entries of the endpoints not at their limit, in (at, id) order.
type Op =
  | { kind: 'push'; endpoint: number; at: number }
  | { kind: 'supersede'; pick: number }
  | { kind: 'claim'; take: number; blocked: number[] }
  | { kind: 'retain' };

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant('push' as const), endpoint: fc.integer({ min: 0, max: 4 }), at: fc.integer({ min: 0, max: 30 }) }),
  fc.record({ kind: fc.constant('supersede' as const), pick: fc.nat() }),
  fc.record({ kind: fc.constant('claim' as const), take: fc.integer({ min: 1, max: 6 }), blocked: fc.uniqueArray(fc.integer({ min: 0, max: 4 }), { maxLength: 4 }) }),
  fc.record({ kind: fc.constant('retain' as const) }),
);

describe('EndpointQueues', () => {
  it('claims the earliest live entries of unblocked endpoints, in order, whatever came before', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 120 }), (ops) => {
        const live = new Map<string, QueueEntry & { endpointId: string }>();
        const queues = new EndpointQueues((entry) => live.get(entry.id)?.seq === entry.seq);
        let seq = 0;
        let next = 0;
        for (const step of ops) {
          if (step.kind === 'push') {
            const entry = { at: step.at, id: `d${String(next++).padStart(4, '0')}`, seq: ++seq, endpointId: `e${step.endpoint}` };
            live.set(entry.id, entry);
            queues.push(entry.endpointId, { at: entry.at, id: entry.id, seq: entry.seq });
          } else if (step.kind === 'supersede') {
            const ids = [...live.keys()];
            if (ids.length === 0) continue;
            // A delivery moved elsewhere (leased, finished): its entry goes stale in place.
            live.delete(ids[step.pick % ids.length]!);
          } else if (step.kind === 'retain') {
            queues.retain((entry) => live.get(entry.id)?.seq === entry.seq);
          } else {
            const blocked = new Set(step.blocked.map((n) => `e${n}`));
            const expected = [...live.values()]
              .filter((entry) => !blocked.has(entry.endpointId))
              .sort((a, b) => (before(a, b) ? -1 : 1))
              .slice(0, step.take)
              .map((entry) => entry.id);
            const parked: EndpointHead[] = [];
            const taken: string[] = [];
            for (let head = queues.peek(); head !== undefined && taken.length < step.take; head = queues.peek()) {
              if (blocked.has(head.endpointId)) {
                queues.park(head);
                parked.push(head);
                continue;
              }
              const entry = queues.take(head);
              taken.push(entry.id);
              live.delete(entry.id);
            }
            queues.unpark(parked);
            expect(taken).toEqual(expected);
          }
        }
        // Everything still live is still there, in order.
        const rest: string[] = [];
        for (let head = queues.peek(); head !== undefined; head = queues.peek()) rest.push(queues.take(head).id);
        expect(rest).toEqual([...live.values()].sort((a, b) => (before(a, b) ? -1 : 1)).map((entry) => entry.id));
      }),
      { numRuns: 300 },
    );
  });

  it('sets a blocked endpoint aside in one step, however deep its backlog', () => {
    let looked = 0;
    const queues = new EndpointQueues(() => {
      looked += 1;
      return true;
    });
    for (let i = 0; i < 10_000; i++) queues.push('slow', { at: 0, id: `s${String(i).padStart(5, '0')}`, seq: i });
    queues.push('fast', { at: 1, id: 'f', seq: 10_001 });
    looked = 0;
    const head = queues.peek()!;
    expect(head.endpointId).toBe('slow');
    queues.park(head);
    expect(queues.peek()).toMatchObject({ endpointId: 'fast', id: 'f' });
    queues.unpark([head]);
    expect(queues.peek()).toBe(head);
    // A handful of liveness checks, not one per queued delivery of the blocked endpoint.
    expect(looked).toBeLessThan(10);
  });
});
