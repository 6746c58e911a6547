import * as grpc from '@grpc/grpc-js';
import type { SecureContextOptions } from 'node:tls';
import type { Logger } from 'pino';
import { loadCaBundle, loadCertPair, watchPemFiles } from '../xds/downstream-certs.js';

export interface GrpcTlsFiles {
  certFile: string;
  keyFile: string;
  /** Client certificates must chain to this bundle; without it the port serves TLS without asking for one. */
  clientCaFile?: string | undefined;
}

interface GrpcTlsMaterial {
  certificateChain: string;
  privateKey: string;
  clientCa?: string;
}

/**
 * Server credentials whose certificate can change while the server runs. grpc-js gives every bound HTTP/2 server a
 * watcher on its credentials and calls `setSecureContext` with each update (server.ts `createHttp2Server`); new
 * handshakes use the new certificate, open connections keep theirs. Subclassed rather than built with
 * `experimental.createCertificateProviderServerCredentials`, whose server reads the first context before it registers
 * the provider's listeners, so a provider that answers at once leaves the port refusing every connection.
 */
export class ReloadableServerCredentials extends grpc.ServerCredentials {
  constructor(material: GrpcTlsMaterial) {
    // requestCert/rejectUnauthorized are server options (not part of the context), so they hold across reloads.
    super({ requestCert: material.clientCa !== undefined, rejectUnauthorized: material.clientCa !== undefined }, contextOf(material));
  }

  update(material: GrpcTlsMaterial): void {
    this.updateSecureContextOptions(contextOf(material));
  }

  _equals(other: grpc.ServerCredentials): boolean {
    return other === this;
  }
}

function contextOf(m: GrpcTlsMaterial): SecureContextOptions {
  return { cert: m.certificateChain, key: m.privateKey, ...(m.clientCa !== undefined ? { ca: m.clientCa } : {}) };
}

async function loadMaterial(files: GrpcTlsFiles): Promise<GrpcTlsMaterial> {
  const [pair, clientCa] = await Promise.all([loadCertPair(files.certFile, files.keyFile), files.clientCaFile ? loadCaBundle(files.clientCaFile, 'gRPC client CA bundle') : undefined]);
  return { ...pair, ...(clientCa !== undefined ? { clientCa } : {}) };
}

/**
 * TLS for the gRPC port from PEM files, checked like the downstream certificates (key matches, not expired) and
 * reloaded when their directories change (kubelet `..data` swap, cert-manager rewrite). A bad set is logged and the
 * previous certificate keeps serving. Returns the credentials to bind with and a stop function.
 */
export async function grpcTlsCredentials(files: GrpcTlsFiles, log: Logger, onReload?: () => void): Promise<{ credentials: ReloadableServerCredentials; stop: () => void }> {
  const initial = await loadMaterial(files);
  const credentials = new ReloadableServerCredentials(initial);
  const watched = [files.certFile, files.keyFile, ...(files.clientCaFile ? [files.clientCaFile] : [])];
  const stop = watchPemFiles(watched, () => loadMaterial(files), initial, log, (next) => {
    credentials.update(next);
    onReload?.();
  }, { what: 'gRPC TLS' });
  return { credentials, stop };
}
