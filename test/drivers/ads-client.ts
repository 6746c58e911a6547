import * as grpc from '@grpc/grpc-js';
import { serviceDefinition } from '../../src/proto/load.js';
import { ADS_SERVICE } from '../../src/xds/server/index.js';

/** Opens an ADS bidi stream (SotW or delta) on a plain grpc-js client, as a driver or a malformed-request test needs. */
export function openAdsStream<Req, Res>(
  client: grpc.Client,
  method: 'StreamAggregatedResources' | 'DeltaAggregatedResources',
): grpc.ClientDuplexStream<Req, Res> {
  const def = serviceDefinition(ADS_SERVICE)[method];
  if (!def) throw new Error(`${ADS_SERVICE} has no method ${method}`);
  return client.makeBidiStreamRequest(
    def.path,
    def.requestSerialize as (req: Req) => Buffer,
    def.responseDeserialize as (buf: Buffer) => Res,
  );
}

/** Resolves with the final status of a client stream (OK or error), whichever way it ends. */
export function streamStatus<Req, Res>(stream: grpc.ClientDuplexStream<Req, Res>): Promise<grpc.StatusObject> {
  return new Promise((resolve) => {
    stream.on('status', (status: grpc.StatusObject) => resolve(status));
    stream.on('error', () => undefined);
  });
}

/** Polls a condition after every event the caller signals and on a short timer, failing with a description. */
export class Waiter {
  private readonly pending = new Set<() => void>();

  notify(): void {
    for (const check of [...this.pending]) check();
  }

  waitFor(condition: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = (): void => {
        if (!condition()) return;
        cleanup();
        resolve();
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      const interval = setInterval(check, 25);
      const cleanup = (): void => {
        clearTimeout(timer);
        clearInterval(interval);
        this.pending.delete(check);
      };
      this.pending.add(check);
      check();
    });
  }
}
