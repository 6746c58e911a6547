import { describe, expect, it } from 'vitest';
import { checkMessage, toAny } from '../../src/proto/strict/index.js';
import { CLUSTER, smallCluster } from './helpers.js';

describe('performance', () => {
  it('checks and encodes 10,000 small clusters well under a second', () => {
    const clusters = Array.from({ length: 10_000 }, (_, i) => ({ '@type': `type.googleapis.com/${CLUSTER}`, ...smallCluster(`host-${i}.example.com:443`) }));
    toAny(clusters[0]); // first use loads the protos and compiles the plans

    let started = performance.now();
    for (const c of clusters) if (checkMessage('google.protobuf.Any', c).length > 0) throw new Error('unexpected problem');
    const checkMs = performance.now() - started;

    started = performance.now();
    let bytes = 0;
    for (const c of clusters) bytes += toAny(c).value.length;
    const encodeMs = performance.now() - started;

    console.log(`10,000 clusters: check ${checkMs.toFixed(0)} ms, check+encode ${encodeMs.toFixed(0)} ms, ${bytes} bytes`);
    expect(checkMs).toBeLessThan(1000);
    expect(encodeMs).toBeLessThan(1000);
  });
});
