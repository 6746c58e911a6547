import { describe, expect, it } from 'vitest';
import { KnownVersions } from '../../src/xds/server/known.js';
import { makeResource, TYPE_URL, type Resource } from '../../src/xds/types.js';

const resource = (name: string, body: string): Resource => makeResource(TYPE_URL.cluster, name, Buffer.from(body));

describe('KnownVersions (what a delta client holds, shared with the snapshot it is synced to)', () => {
  it('after a rebase it holds the snapshot\'s names and versions, and its own changes on top', () => {
    const a = resource('a', 'A');
    const b = resource('b', 'B');
    const known = new KnownVersions();
    known.set('x', 'v1');
    known.rebase(new Map([['a', a], ['b', b]]));
    expect(known.get('x')).toBeUndefined();
    expect(known.get('a')).toBe(a.version);
    expect(known.names().sort()).toEqual(['a', 'b']);
    expect(known.ownEntries).toBe(0);
    known.delete('a');
    known.set('c', 'v3');
    known.set('b', 'other');
    expect(known.has('a')).toBe(false);
    expect(known.get('b')).toBe('other');
    expect(known.names().sort()).toEqual(['b', 'c']);
    // Back to the snapshot's own version: no entry of its own is kept for it.
    known.set('b', b.version);
    known.set('a', a.version);
    expect(known.ownEntries).toBe(1);
    expect(known.names().sort()).toEqual(['a', 'b', 'c']);
  });

  it('names can be deleted while going through them', () => {
    const known = new KnownVersions();
    known.rebase(new Map(['ns/a', 'ns/b', 'other/c'].map((n) => [n, resource(n, n)])));
    known.set('ns/d', 'v');
    for (const name of known.names()) if (name.startsWith('ns/')) known.delete(name);
    expect(known.names()).toEqual(['other/c']);
  });
});
