// `npm run bench -- NAME [args]` runs one benchmark; with no name it lists them. Each writes bench/results/<name>.json.
import { spawnSync } from 'node:child_process';

const BENCHMARKS: Record<string, { file: string; what: string }> = {
  check: { file: 'bench/authz/check.ts', what: 'ext_authz Check throughput and latency vs a no-op gRPC floor (h2load)' },
  extproc: { file: 'bench/extproc/run.ts', what: 'ext_proc streams end to end vs a no-op floor' },
  'extproc-rounds': { file: 'bench/extproc/rounds.ts', what: 'ext_proc 1 KB / 64 KB closed loop, Tollgate vs the no-op floor interleaved per round (--quick, --before REV, --profile)' },
  xds: { file: 'bench/xds/run.ts', what: 'snapshot builds and fan-out to 1,000 simulated Envoys' },
  'xds-build': { file: 'bench/xds/build.ts', what: 'snapshot build time for large policies' },
  'scrub-throughput': { file: 'bench/scrub/throughput.ts', what: 'scanner MB/s vs a parse/stringify floor' },
  'scrub-quality': { file: 'bench/scrub/quality.ts', what: 'precision/recall on the generated corpus' },
  'scrub-presidio': { file: 'bench/scrub/presidio.ts', what: 'precision/recall on the public presidio-research set' },
  'scrub-peers': { file: 'bench/scrub/peers.ts', what: 'quality and speed against gitleaks, secretlint, redact-pii' },
  'scrub-pathological': { file: 'bench/scrub/pathological.ts', what: 'worst-case inputs stay linear' },
  'scrub-scan': { file: 'bench/scrub/scan.ts', what: 'scan --jsonl in-process on 20 MB mixed JSONL vs a read/parse/write floor (--quick, --baseline DIR)' },
  audit: { file: 'bench/audit/write.ts', what: 'group-committed audit appends vs one fsync per record' },
  'audit-thread-cost': { file: 'bench/audit/thread-cost.ts', what: 'audit CPU per record on the event loop: in-thread vs encoder worker vs a no-op floor; bytes/record plain and gzipped (--quick)' },
  'inventory-memory': { file: 'bench/inventory/memory.ts', what: 'bytes per discovery edge' },
  'ui-render': { file: 'bench/ui/render.ts', what: 'dashboard first render and time to interactive with 10,000 edges' },
  'redis-check-ratio': { file: 'bench/redis/check-ratio.ts', what: 'Check throughput on the Redis stores vs the embedded stores (ratio, in-process client)' },
  'redis-propagation': { file: 'bench/redis/propagation.ts', what: 'PUT on replica A → replica B decides with it, through Redis (p50/p99 over 100 updates)' },
  'cli-startup': { file: 'bench/cli/startup.ts', what: 'tollgate --version/--help/scan/decide/validate start-up (compiled, tsx, before) vs node -e 0' },
  'policy-reload': { file: 'bench/policy/reload.ts', what: 'Check p50/p99 at 1k req/s with and without a 10k-rule policy reload, interleaved per round (--quick, --rps N, --no-xds)' },
  'policy-stall': { file: 'bench/policy/stall.ts', what: 'longest event-loop block while a policy is built: compile on the loop vs worker + sliced indexing, in-process (--quick, --rules N)' },
  'policy-audit-diff': { file: 'bench/policy/audit-diff.ts', what: 'admin audit diff of two 100k-rule policies: old unbounded line diff vs bounded sliced diff (--quick, --rules)' },
  'policy-restart': { file: 'bench/policy/restart.ts', what: 'restart with 100k rules: init from the stored validated form vs from the text (--quick, --rules)' },
  'policy-scale': { file: 'bench/policy/scale.ts', what: '10k vs 100k rules: start-up, restart, RSS, PUT, p50/p99 at 4k req/s (--quick, --sizes, --rps)' },
  'redis-audit': { file: 'bench/redis/audit.ts', what: 'audit records/s shipped to Redis Streams vs one XADD per round trip' },
};

const [name, ...args] = process.argv.slice(2);
const bench = name ? BENCHMARKS[name] : undefined;
if (!bench) {
  if (name) console.error(`unknown benchmark "${name}"\n`);
  console.log('Usage: npm run bench -- NAME [args]\n');
  for (const [key, b] of Object.entries(BENCHMARKS)) console.log(`  ${key.padEnd(20)} ${b.what} (${b.file})`);
  process.exit(name ? 2 : 0);
}
const result = spawnSync(process.execPath, ['--import', 'tsx', bench.file, ...args], { stdio: 'inherit' });
process.exit(result.status ?? 1);
