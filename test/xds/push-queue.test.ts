import { describe, expect, it } from 'vitest';
import { PushQueue } from '../../src/xds/server/stream.js';

const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('PushQueue (snapshot fan-out off the publisher\'s call stack)', () => {
  it('pushes nothing synchronously, each queued stream once, in order, on later event-loop turns', async () => {
    const queue = new PushQueue();
    const flushed: number[] = [];
    const streams = [0, 1, 2].map((i) => ({ flush: () => void flushed.push(i) }));
    for (const s of streams) queue.add(s);
    queue.add(streams[0]!);
    expect(flushed).toEqual([]);
    await turn();
    await turn();
    expect(flushed).toEqual([0, 1, 2]);
    expect(queue.size).toBe(0);
  });

  it('yields to the event loop between slices, and a removed stream is not pushed', async () => {
    const queue = new PushQueue(0);
    const flushed: number[] = [];
    const streams = [0, 1, 2, 3].map((i) => ({ flush: () => void flushed.push(i) }));
    for (const s of streams) queue.add(s);
    queue.delete(streams[2]!);
    await turn();
    expect(flushed).toEqual([0]);
    for (let i = 0; i < 4; i++) await turn();
    expect(flushed).toEqual([0, 1, 3]);
  });

  it('small pushes (delta Envoys on VHDS) go before large ones (SotW whole sets), whatever order they were queued in', async () => {
    const queue = new PushQueue();
    const flushed: string[] = [];
    const sotw = [0, 1].map((i) => ({ flush: () => void flushed.push(`sotw${i}`) }));
    const delta = [0, 1].map((i) => ({ flush: () => void flushed.push(`delta${i}`) }));
    queue.add(sotw[0]!);
    queue.add(delta[0]!, true);
    queue.add(sotw[1]!);
    queue.add(delta[1]!, true);
    await turn();
    await turn();
    expect(flushed).toEqual(['delta0', 'delta1', 'sotw0', 'sotw1']);
  });
});
