import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface RedisProcess {
  url: string;
  port: number;
  /** Graceful stop (SIGTERM, waits for exit). */
  stop(): Promise<void>;
  /** SIGKILL: the server vanishes mid-traffic, as in a crash. */
  kill(): Promise<void>;
  /** Starts it again on the same port, empty (no persistence). */
  restart(): Promise<void>;
}

const BIN = 'redis-server';
let available: boolean | undefined;

/**
 * Whether a real redis-server is on PATH. Missing with TOLLGATE_REQUIRE_REDIS=1 (CI) throws, so Redis
 * tests fail instead of silently skipping; otherwise it says so once and returns false.
 */
export function redisAvailable(): boolean {
  if (available === undefined) {
    const probe = spawnSync(BIN, ['--version'], { stdio: 'pipe' });
    available = probe.status === 0;
    if (!available && process.env.TOLLGATE_REQUIRE_REDIS !== '1') {
      console.warn(`redis-server not found on PATH: Redis tests skipped (install redis-server, or set TOLLGATE_REQUIRE_REDIS=1 to make this an error)`);
    }
  }
  if (!available && process.env.TOLLGATE_REQUIRE_REDIS === '1') {
    throw new Error('TOLLGATE_REQUIRE_REDIS=1 but redis-server is not on PATH: install it (apt-get install redis-server)');
  }
  return available;
}

/** A free loopback port (another process may take it before we bind: callers retry). */
export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolvePort(port));
    });
  });
}

/** Sends one inline command over a raw socket and returns the first reply line; undefined when unreachable. */
export function redisCommand(port: number, command: string, timeoutMs = 1000): Promise<string | undefined> {
  return new Promise((done) => {
    const sock = createConnection({ host: '127.0.0.1', port });
    let buf = '';
    const finish = (v: string | undefined) => {
      clearTimeout(timer);
      sock.destroy();
      done(v);
    };
    const timer = setTimeout(() => finish(undefined), timeoutMs);
    sock.on('connect', () => sock.write(`${command}\r\n`));
    sock.on('data', (d) => {
      buf += d.toString('utf8');
      const nl = buf.indexOf('\r\n');
      if (nl >= 0) finish(buf.slice(0, nl));
    });
    sock.on('error', () => finish(undefined));
  });
}

async function waitFor(check: () => Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

interface Spawned {
  child: ChildProcess;
  exited: Promise<void>;
  output: () => string;
}

function spawnRedis(args: string[], dir: string): Spawned {
  const child = spawn(BIN, args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out = (out + d.toString('utf8')).slice(-4000)));
  child.stderr?.on('data', (d: Buffer) => (out = (out + d.toString('utf8')).slice(-4000)));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  return { child, exited, output: () => out };
}

async function stopChild(s: Spawned | undefined, signal: NodeJS.Signals): Promise<void> {
  if (!s || s.child.exitCode !== null || s.child.signalCode !== null) return;
  s.child.kill(signal);
  const killTimer = setTimeout(() => s.child.kill('SIGKILL'), 5000);
  await s.exited;
  clearTimeout(killTimer);
}

/** Starts one redis-server process with the given extra arguments on `port`, in `dir`; waits for PING. */
async function launch(port: number, dir: string, extra: string[], ready = 'PONG'): Promise<Spawned> {
  const s = spawnRedis(['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, ...extra], dir);
  let exited = false;
  void s.exited.then(() => (exited = true));
  await waitFor(async () => {
    if (exited) throw new Error(`redis-server on port ${port} exited: ${s.output()}`);
    return (await redisCommand(port, 'PING', 300)) === `+${ready}`;
  }, `redis-server on port ${port}`);
  return s;
}

/**
 * Spawns a real `redis-server --save '' --appendonly no` on a free loopback port in a temp dir. Stop it
 * in afterAll. `restart()` brings it back empty on the same port (what a Redis without persistence does).
 */
export async function startRedis(opts: { port?: number; args?: string[] } = {}): Promise<RedisProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-redis-'));
  let port = opts.port ?? (await freePort());
  let proc: Spawned | undefined;
  for (let attempt = 0; ; attempt++) {
    try {
      proc = await launch(port, dir, opts.args ?? []);
      break;
    } catch (err) {
      if (opts.port !== undefined || attempt >= 3) {
        rmSync(dir, { recursive: true, force: true });
        throw err;
      }
      port = await freePort();
    }
  }
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    async stop() {
      await stopChild(proc, 'SIGTERM');
      proc = undefined;
      rmSync(dir, { recursive: true, force: true });
    },
    async kill() {
      await stopChild(proc, 'SIGKILL');
    },
    async restart() {
      await stopChild(proc, 'SIGTERM');
      proc = await launch(port, dir, opts.args ?? []);
    },
  };
}

export interface RedisSentinelSetup {
  /** `redis+sentinel://127.0.0.1:<sentinel port>/<master name>` */
  url: string;
  masterName: string;
  master: RedisProcess;
  replica: RedisProcess;
  sentinelPort: number;
  /** Kills the current master and waits until the Sentinel names the replica as the new master. */
  failover(): Promise<void>;
  stop(): Promise<void>;
}

/** A master, one replica and one Sentinel (quorum 1, 1 s down-after) on free loopback ports. */
export async function startRedisSentinel(masterName = 'tollgate'): Promise<RedisSentinelSetup> {
  const master = await startRedis();
  const replica = await startRedis();
  await redisCommand(replica.port, `REPLICAOF 127.0.0.1 ${master.port}`);
  await waitFor(async () => {
    const info = await infoField(replica.port, 'replication', 'master_link_status');
    return info === 'up';
  }, 'replica to sync');
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-sentinel-'));
  const sentinelPort = await freePort();
  const conf = join(dir, 'sentinel.conf');
  writeFileSync(
    conf,
    [
      `port ${sentinelPort}`,
      'bind 127.0.0.1',
      `dir ${dir}`,
      `sentinel monitor ${masterName} 127.0.0.1 ${master.port} 1`,
      `sentinel down-after-milliseconds ${masterName} 1000`,
      `sentinel failover-timeout ${masterName} 5000`,
      '',
    ].join('\n'),
  );
  const sentinel = spawnRedis([conf, '--sentinel'], dir);
  await waitFor(async () => (await redisCommand(sentinelPort, 'PING', 300)) === '+PONG', 'sentinel');
  return {
    url: `redis+sentinel://127.0.0.1:${sentinelPort}/${masterName}`,
    masterName,
    master,
    replica,
    sentinelPort,
    async failover() {
      await master.kill();
      await waitFor(async () => (await infoField(replica.port, 'replication', 'role')) === 'master', 'sentinel to promote the replica', 20_000);
    },
    async stop() {
      await stopChild(sentinel, 'SIGTERM');
      rmSync(dir, { recursive: true, force: true });
      await replica.stop();
      await master.stop();
    },
  };
}

/** Reads one `field:value` from `INFO section` over a raw socket (bulk reply). */
function infoField(port: number, section: string, field: string): Promise<string | undefined> {
  return replyField(port, `INFO ${section}`, field);
}

/** Sends one inline command over a raw socket and reads one `field:value` line of its reply (INFO, CLUSTER INFO). */
async function replyField(port: number, command: string, field: string): Promise<string | undefined> {
  return new Promise((done) => {
    const sock = createConnection({ host: '127.0.0.1', port });
    let buf = '';
    const timer = setTimeout(() => finish(undefined), 1000);
    function finish(v: string | undefined) {
      clearTimeout(timer);
      sock.destroy();
      done(v);
    }
    sock.on('connect', () => sock.write(`${command}\r\n`));
    sock.on('data', (d) => {
      buf += d.toString('utf8');
      const m = new RegExp(`(?:^|\\r\\n)${field}:([^\\r]*)\\r\\n`).exec(buf);
      if (m) finish(m[1]);
    });
    sock.on('error', () => finish(undefined));
  });
}

export interface RedisClusterSetup {
  /** `redis+cluster://127.0.0.1:<p1>,127.0.0.1:<p2>,127.0.0.1:<p3>` */
  url: string;
  nodes: RedisProcess[];
  stop(): Promise<void>;
}

/** Three masters, slots split by `redis-cli --cluster create` (no replicas); waits for cluster_state:ok. */
export async function startRedisCluster(): Promise<RedisClusterSetup> {
  const nodes: RedisProcess[] = [];
  try {
    for (let i = 0; i < 3; i++) nodes.push(await startRedis({ args: ['--cluster-enabled', 'yes', '--cluster-config-file', `nodes-${i}.conf`, '--cluster-node-timeout', '2000'] }));
    const create = spawnSync('redis-cli', ['--cluster', 'create', ...nodes.map((n) => `127.0.0.1:${n.port}`), '--cluster-replicas', '0', '--cluster-yes'], { stdio: 'pipe', timeout: 20_000 });
    if (create.status !== 0) throw new Error(`redis-cli --cluster create failed: ${create.stderr.toString()}${create.stdout.toString()}`);
    for (const n of nodes) await waitFor(async () => (await replyField(n.port, 'CLUSTER INFO', 'cluster_state')) === 'ok', `cluster_state:ok on ${n.port}`, 20_000);
  } catch (err) {
    for (const n of nodes) await n.stop();
    throw err;
  }
  return {
    url: `redis+cluster://${nodes.map((n) => `127.0.0.1:${n.port}`).join(',')}`,
    nodes,
    async stop() {
      for (const n of nodes) await n.stop();
    },
  };
}
