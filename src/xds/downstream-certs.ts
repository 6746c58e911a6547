import { X509Certificate, createPrivateKey } from 'node:crypto';
import { watch } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type { Logger } from 'pino';
import type { DownstreamOptions } from './resources/options.js';

export interface DownstreamFiles {
  mode: 'plaintext' | 'mtls' | 'sidecar';
  certFile?: string | undefined;
  keyFile?: string | undefined;
  caFile?: string | undefined;
  trustDomain?: string | undefined;
}

async function readPem(file: string, what: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    throw new Error(`cannot read the ${what} ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

/**
 * The listener's downstream TLS from PEM files, checked before Envoy ever sees them: the chain parses, the key matches
 * its first certificate, the certificate is within its validity period, and the CA bundle parses. A bad file is an
 * error naming the file, never a config that Envoy would reject (NACK) or serve without TLS.
 */
export async function loadDownstream(files: DownstreamFiles, now = new Date()): Promise<DownstreamOptions> {
  if (files.mode !== 'mtls') return { mode: files.mode };
  const [certificateChain, privateKey, trustedCa] = await Promise.all([readPem(files.certFile!, 'certificate chain'), readPem(files.keyFile!, 'private key'), readPem(files.caFile!, 'client CA bundle')]);
  let leaf: X509Certificate;
  try {
    leaf = new X509Certificate(certificateChain);
  } catch (err) {
    throw new Error(`${files.certFile} is not a PEM certificate: ${(err as Error).message}`);
  }
  try {
    if (!leaf.checkPrivateKey(createPrivateKey(privateKey))) throw new Error('the key does not belong to the certificate');
  } catch (err) {
    throw new Error(`${files.keyFile} does not match ${files.certFile}: ${(err as Error).message}`);
  }
  if (new Date(leaf.validTo) < now) throw new Error(`${files.certFile} expired on ${leaf.validTo}`);
  try {
    new X509Certificate(trustedCa);
  } catch (err) {
    throw new Error(`${files.caFile} is not a PEM CA bundle: ${(err as Error).message}`);
  }
  return { mode: 'mtls', certificateChain, privateKey, trustedCa, ...(files.trustDomain ? { trustDomain: files.trustDomain } : {}) };
}

/**
 * Reloads the certificate files when their directories change (a kubelet swaps a `..data` symlink, cert-manager
 * rewrites in place), and hands a valid new set to `onChange`, which pushes new SDS secrets: rotation needs no Envoy
 * restart. An invalid or half-written set is logged and the last good one keeps serving. Returns a stop function.
 */
export function watchDownstream(files: DownstreamFiles, initial: DownstreamOptions, log: Logger, onChange: (next: DownstreamOptions) => void, debounceMs = 200): () => void {
  if (files.mode !== 'mtls') return () => undefined;
  let current = JSON.stringify(initial);
  let timer: NodeJS.Timeout | undefined;
  const reload = async () => {
    try {
      const next = await loadDownstream(files);
      const text = JSON.stringify(next);
      if (text === current) return;
      current = text;
      log.info({ cert: files.certFile }, 'downstream TLS certificate changed; pushing new SDS secrets');
      onChange(next);
    } catch (err) {
      log.error({ err: (err as Error).message }, 'downstream TLS files rejected; the previous certificate keeps serving');
    }
  };
  const dirs = new Set([files.certFile!, files.keyFile!, files.caFile!].map((f) => dirname(resolve(f))));
  const watchers = [...dirs].map((dir) =>
    watch(dir, () => {
      clearTimeout(timer);
      timer = setTimeout(() => void reload(), debounceMs);
    }).on('error', (err) => log.error({ err: err.message, dir }, 'downstream TLS directory watch stopped')),
  );
  return () => {
    clearTimeout(timer);
    for (const w of watchers) w.close();
  };
}
