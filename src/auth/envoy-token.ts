import * as grpc from '@grpc/grpc-js';
import { createHash, timingSafeEqual } from 'node:crypto';
import { ENVOY_TOKEN_HEADER } from '../xds/resources/names.js';

/** Whether a gRPC call comes from one of our gateways: true when no token is configured. */
export type CallerCheck = (metadata: grpc.Metadata) => boolean;

/**
 * Checks the shared Envoy token Envoy sends as `x-tollgate-token` (bootstrap `initial_metadata` for ADS, pushed
 * `initial_metadata` for the access-log stream), in constant time.
 */
export function envoyTokenCheck(token: string | undefined): CallerCheck {
  if (!token) return () => true;
  const expected = createHash('sha256').update(token).digest();
  return (metadata) => {
    const given = metadata.get(ENVOY_TOKEN_HEADER)[0];
    const text = typeof given === 'string' ? given : given ? given.toString('utf8') : '';
    return timingSafeEqual(createHash('sha256').update(text).digest(), expected);
  };
}

/** Ends a streaming call that failed the check with UNAUTHENTICATED and says which header was missing. */
export function refuse(call: { emit(event: 'error', err: unknown): boolean }): void {
  call.emit('error', { code: grpc.status.UNAUTHENTICATED, details: `a valid ${ENVOY_TOKEN_HEADER} is required (TOLLGATE_ENVOY_TOKEN)`, metadata: new grpc.Metadata() });
}
