import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Pem {
  cert: string;
  key: string;
}

export interface TestPki {
  ca: Pem;
  /** Gateway (listener) certificate for `serverName`, signed by the CA. */
  server: Pem;
  /** Issues a client certificate signed by the CA with the given SANs (e.g. `URI:spiffe://…`, `DNS:…`). */
  client(opts: { cn: string; sans?: string[] }): Pem;
  /** A certificate from a different, untrusted CA (for negative tests). */
  untrustedClient(opts: { cn: string; sans?: string[] }): Pem;
}

const OPENSSL = '/usr/bin/openssl';

function run(args: string[], cwd: string): void {
  execFileSync(OPENSSL, args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

// EC P-256 keys: generation takes milliseconds, unlike RSA.
function key(dir: string, name: string): void {
  run(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', `${name}.key`], dir);
}

function selfSignedCa(dir: string, name: string, cn: string): void {
  key(dir, name);
  run(['req', '-x509', '-new', '-key', `${name}.key`, '-sha256', '-days', '2', '-subj', `/CN=${cn}`, '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign', '-out', `${name}.crt`], dir);
}

function leaf(dir: string, ca: string, name: string, cn: string, sans: string[], usage: 'serverAuth' | 'clientAuth'): Pem {
  key(dir, name);
  run(['req', '-new', '-key', `${name}.key`, '-subj', `/CN=${cn}`, '-out', `${name}.csr`], dir);
  const ext = [`basicConstraints=critical,CA:FALSE`, `keyUsage=critical,digitalSignature`, `extendedKeyUsage=${usage}`, ...(sans.length ? [`subjectAltName=${sans.join(',')}`] : [])].join('\n');
  writeFileSync(join(dir, `${name}.ext`), ext + '\n');
  run(['x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.crt`, '-CAkey', `${ca}.key`, '-CAcreateserial', '-days', '2', '-sha256', '-extfile', `${name}.ext`, '-out', `${name}.crt`], dir);
  return { cert: readFileSync(join(dir, `${name}.crt`), 'utf8'), key: readFileSync(join(dir, `${name}.key`), 'utf8') };
}

/** A throwaway PKI made with the openssl CLI in a temp dir that is removed before returning: PEM strings only. */
export function makeTestPki(serverName = 'egress-gateway.local'): TestPki {
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-pki-'));
  let n = 0;
  try {
    selfSignedCa(dir, 'ca', 'Tollgate Test CA');
    selfSignedCa(dir, 'rogue', 'Rogue CA');
    const ca = { cert: readFileSync(join(dir, 'ca.crt'), 'utf8'), key: readFileSync(join(dir, 'ca.key'), 'utf8') };
    const rogue = { cert: readFileSync(join(dir, 'rogue.crt'), 'utf8'), key: readFileSync(join(dir, 'rogue.key'), 'utf8') };
    const server = leaf(dir, 'ca', 'server', serverName, [`DNS:${serverName}`, 'IP:127.0.0.1', 'URI:spiffe://prod.example/ns/egress/sa/gateway'], 'serverAuth');
    // Client certificates are issued lazily; the CA keys stay in memory, the directory is recreated per issue.
    const issue = (caName: 'ca' | 'rogue', opts: { cn: string; sans?: string[] }): Pem => {
      const work = mkdtempSync(join(tmpdir(), 'tollgate-pki-'));
      try {
        writeFileSync(join(work, `${caName}.crt`), caName === 'ca' ? ca.cert : rogue.cert);
        writeFileSync(join(work, `${caName}.key`), caName === 'ca' ? ca.key : rogue.key);
        return leaf(work, caName, `client${n++}`, opts.cn, opts.sans ?? [], 'clientAuth');
      } finally {
        rmSync(work, { recursive: true, force: true });
      }
    };
    return { ca, server, client: (o) => issue('ca', o), untrustedClient: (o) => issue('rogue', o) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
