import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip, createGzip } from 'node:zlib';

/** A segment's bytes did not survive compression intact (a read or write error the OS did not report). */
export class CompressionMismatchError extends Error {
  constructor(file: string) {
    super(`the compressed copy of ${file} does not decompress to the same bytes`);
    this.name = 'CompressionMismatchError';
  }
}

/** Passes chunks through while hashing them. */
function hashing(h: ReturnType<typeof createHash>): Transform {
  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      h.update(chunk);
      done(null, chunk);
    },
  });
}

/**
 * Gzips a sealed segment into `tmp` in bounded memory (streamed, level 6, zlib on libuv's thread pool), fsyncs it, then
 * reads it back through gunzip and checks it yields exactly the bytes read: only then may the caller rename it into
 * place and remove the plain file. Throws if the plain file is not `expectedBytes` long (not what was sealed).
 */
export async function gzipSegment(plain: string, tmp: string, expectedBytes: number): Promise<{ bytesIn: number; bytesOut: number }> {
  const size = (await stat(plain)).size;
  if (size !== expectedBytes) throw new Error(`${plain} is ${size} bytes, the index says ${expectedBytes}; not compressed`);
  const inHash = createHash('sha256');
  await pipeline(createReadStream(plain), hashing(inHash), createGzip({ level: 6 }), createWriteStream(tmp, { mode: 0o600 }));
  const fh = await open(tmp, 'r+');
  try {
    await fh.datasync();
  } finally {
    await fh.close();
  }
  const outHash = createHash('sha256');
  await pipeline(createReadStream(tmp), createGunzip(), hashing(outHash), async function* (source: AsyncIterable<Buffer>) {
    for await (const _ of source) yield* [];
  });
  if (inHash.digest('hex') !== outHash.digest('hex')) throw new CompressionMismatchError(plain);
  return { bytesIn: size, bytesOut: (await stat(tmp)).size };
}
