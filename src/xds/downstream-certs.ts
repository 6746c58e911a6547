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
  const [{ certificateChain, privateKey }, trustedCa] = await Promise.all([loadCertPair(files.certFile!, files.keyFile!, now), loadCaBundle(files.caFile!, 'client CA bundle')]);
  return { mode: 'mtls', certificateChain, privateKey, trustedCa, ...(files.trustDomain ? { trustDomain: files.trustDomain } : {}) };
}

/** A certificate chain and its key from PEM files: the chain parses, the key matches its first certificate, and it has not expired. */
export async function loadCertPair(certFile: string, keyFile: string, now = new Date()): Promise<{ certificateChain: string; privateKey: string }> {
  const [certificateChain, privateKey] = await Promise.all([readPem(certFile, 'certificate chain'), readPem(keyFile, 'private key')]);
  let leaf: X509Certificate;
  try {
    leaf = new X509Certificate(certificateChain);
  } catch (err) {
    throw new Error(`${certFile} is not a PEM certificate: ${(err as Error).message}`);
  }
  try {
    if (!leaf.checkPrivateKey(createPrivateKey(privateKey))) throw new Error('the key does not belong to the certificate');
  } catch (err) {
    throw new Error(`${keyFile} does not match ${certFile}: ${(err as Error).message}`);
  }
  if (new Date(leaf.validTo) < now) throw new Error(`${certFile} expired on ${leaf.validTo}`);
  return { certificateChain, privateKey };
}

/** A CA bundle from a PEM file that parses as a certificate. */
export async function loadCaBundle(file: string, what = 'CA bundle'): Promise<string> {
  const pem = await readPem(file, what);
  try {
    new X509Certificate(pem);
  } catch (err) {
    throw new Error(`${file} is not a PEM ${what}: ${(err as Error).message}`);
  }
  return pem;
}

/**
 * Reloads the certificate files when their directories change (a kubelet swaps a `..data` symlink, cert-manager
 * rewrites in place), and hands a valid new set to `onChange`, which pushes new SDS secrets: rotation needs no Envoy
 * restart. An invalid or half-written set is logged and the last good one keeps serving. Returns a stop function.
 */
export function watchDownstream(files: DownstreamFiles, initial: DownstreamOptions, log: Logger, onChange: (next: DownstreamOptions) => void, debounceMs = 200): () => void {
  if (files.mode !== 'mtls') return () => undefined;
  return watchPemFiles([files.certFile!, files.keyFile!, files.caFile!], () => loadDownstream(files), initial, log, onChange, { what: 'downstream TLS', debounceMs });
}

/**
 * Watches the directories of `files` and reloads with `load` (which checks them) after a change; a set that differs
 * from the last good one goes to `onChange`, an invalid or half-written one is logged and the last good one stays.
 */
export function watchPemFiles<T>(files: string[], load: () => Promise<T>, initial: T, log: Logger, onChange: (next: T) => void, opts: { what: string; debounceMs?: number }): () => void {
  let current = JSON.stringify(initial);
  let timer: NodeJS.Timeout | undefined;
  const reload = async () => {
    try {
      const next = await load();
      const text = JSON.stringify(next);
      if (text === current) return;
      current = text;
      log.info({ files }, `${opts.what} certificate changed; reloading`);
      onChange(next);
    } catch (err) {
      log.error({ err: (err as Error).message }, `${opts.what} files rejected; the previous certificate keeps serving`);
    }
  };
  const dirs = new Set(files.map((f) => dirname(resolve(f))));
  const watchers = [...dirs].map((dir) =>
    watch(dir, () => {
      clearTimeout(timer);
      timer = setTimeout(() => void reload(), opts.debounceMs ?? 200);
    }).on('error', (err) => log.error({ err: err.message, dir }, `${opts.what} directory watch stopped`)),
  );
  return () => {
    clearTimeout(timer);
    for (const w of watchers) w.close();
  };
}
