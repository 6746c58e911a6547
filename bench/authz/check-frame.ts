import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadServiceProtos } from '../../src/proto/load.js';
import { EnvoyExtAuthzDriver } from '../../test/drivers/envoy-ext-authz-driver.js';
import { REQUEST } from './policy-gen.js';

/**
 * Writes REQUEST as Envoy sends it, one gRPC frame (uncompressed flag, 4-byte length, CheckRequest), for
 * `h2load --data`; returns the file and the CheckRequest's size.
 */
export function writeCheckFrame(dir: string): { file: string; messageBytes: number } {
  const check = (loadServiceProtos().packageDefinition['envoy.service.auth.v3.Authorization'] as Record<string, { requestSerialize(o: unknown): Buffer }>).Check!;
  const message = check.requestSerialize(new EnvoyExtAuthzDriver(0).buildCheckRequest(REQUEST));
  const frame = Buffer.alloc(5 + message.length);
  frame.writeUInt32BE(message.length, 1);
  message.copy(frame, 5);
  const file = join(dir, 'check-request.bin');
  writeFileSync(file, frame);
  return { file, messageBytes: message.length };
}
