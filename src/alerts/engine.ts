import { createHash, randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { EventBus } from '../events/bus.js';
import type { EgressEvent } from '../events/types.js';
import { abortableSleep, SinkDispatcher, type DeliveryDeps } from './delivery.js';
import { BoundedLog } from './history.js';
import { EMPTY_ALERTS_PLAN, type AlertsPlan } from './plan.js';
import { createRule, stateKey, type RuleEvaluator } from './rules/index.js';
import type { RuleConfig, RuleType, Severity } from './schema.js';
import { setBounded } from './rules/rule.js';
import type { Alert, AlertDraft, AlertRecord, DeliveryResult, DeliveryState } from './types.js';
import { NewDestinationRule } from './rules/new-destination.js';
import type { SharedAlertState } from './shared-state.js';

export interface AlertEngineOptions {
  /** Clock for rate limits, delivery times and events without a readable time (epoch ms). */
  now?: () => number;
  fetch?: typeof fetch;
  random?: () => number;
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  newId?: () => string;
  /** Alerts kept for GET /v1/alerts (default 10,000); the dead-letter list keeps as many failed ones. */
  historyLimit?: number;
  logger?: Pick<Logger, 'warn'>;
  /** A delivery that failed by throwing (a bug, not an HTTP failure: those are dead-lettered); default: ignored. */
  onError?: (err: unknown) => void;
  /** Fleet-wide dedup, learning and history (Redis); default: this engine's memory only. */
  shared?: SharedAlertState;
}

export interface AlertFilter {
  state?: DeliveryState;
  rule?: string;
  type?: RuleType | 'test';
  /** Epoch ms: alerts at or after this time. */
  since?: number;
  limit?: number;
}

const DEFAULT_SEVERITY: Record<RuleType, Severity> = {
  new_destination: 'warning',
  denied: 'warning',
  pii_to_new_destination: 'warning',
  token_misuse: 'warning',
  volume_spike: 'warning',
};
const MAX_DEDUP_KEYS = 100_000;

interface ActiveRule {
  cfg: RuleConfig;
  stateKey: string;
  evaluator: RuleEvaluator;
}

/**
 * Runs the policy's alert rules over egress events: deduplicates per (rule, key) inside each rule's
 * window, delivers to the rule's sinks in the background, and keeps a bounded history and dead-letter list.
 */
export class AlertEngine {
  private plan: AlertsPlan = EMPTY_ALERTS_PLAN;
  private rules: ActiveRule[] = [];
  private sinks = new Map<string, SinkDispatcher>();
  private readonly dedup = new Map<string, { until: number; record: AlertRecord }>();
  private readonly history: BoundedLog<AlertRecord>;
  private readonly deadLetters: BoundedLog<AlertRecord>;
  private readonly inflight = new Set<Promise<unknown>>();
  private readonly stopping = new AbortController();
  private readonly clock: () => number;
  private readonly newId: () => string;
  private readonly deps: DeliveryDeps;
  private readonly logger: Pick<Logger, 'warn'> | undefined;
  private readonly onError: (err: unknown) => void;
  private readonly shared: SharedAlertState | undefined;

  constructor(plan: AlertsPlan = EMPTY_ALERTS_PLAN, opts: AlertEngineOptions = {}) {
    this.clock = opts.now ?? Date.now;
    this.newId = opts.newId ?? randomUUID;
    this.logger = opts.logger;
    this.onError = opts.onError ?? (() => undefined);
    this.shared = opts.shared;
    this.deps = { fetch: opts.fetch ?? fetch, now: this.clock, random: opts.random ?? Math.random, sleep: opts.sleep ?? abortableSleep };
    this.history = new BoundedLog(opts.historyLimit ?? 10_000);
    this.deadLetters = new BoundedLog(opts.historyLimit ?? 10_000);
    this.reload(plan);
  }

  /**
   * Installs a new plan (a policy reload). A rule whose name and parameters are unchanged keeps what it
   * learned; a sink whose URL and limit are unchanged keeps its rate-limit bucket. Deliveries in flight finish.
   */
  reload(plan: AlertsPlan): void {
    const previous = new Map(this.rules.map((r) => [r.cfg.name, r]));
    this.rules = plan.rules.map((cfg) => {
      const key = stateKey(cfg);
      const old = previous.get(cfg.name);
      const evaluator = old && old.stateKey === key ? old.evaluator : createRule(cfg);
      if (this.shared && evaluator instanceof NewDestinationRule && evaluator !== old?.evaluator) this.shareLearning(evaluator, key);
      return { cfg, stateKey: key, evaluator };
    });
    const sinks = new Map<string, SinkDispatcher>();
    for (const [name, sink] of plan.sinks) {
      const old = this.sinks.get(name);
      const same = old && JSON.stringify(old.sink) === JSON.stringify(sink);
      const shared = this.shared;
      sinks.set(name, same ? old : new SinkDispatcher(sink, this.deps, shared ? (s, perMinute) => shared.takeToken(s, perMinute) : undefined));
    }
    this.sinks = sinks;
    this.plan = plan;
  }

  /** Subscribes to the bus; returns the unsubscribe function. Delivery never blocks the bus. */
  attach(bus: EventBus): () => void {
    return bus.subscribe((batch) => {
      this.observe(batch);
    });
  }

  /** Runs every rule over the events; returns the alerts raised (after deduplication), deliveries started. */
  observe(events: readonly EgressEvent[]): AlertRecord[] {
    const raised: AlertRecord[] = [];
    for (const event of events) {
      // Admin changes are audited, not egress traffic: no rule reads them.
      if (event.kind === 'admin') continue;
      const parsed = Date.parse(event.time);
      const time = Number.isNaN(parsed) ? this.clock() : parsed;
      for (const rule of this.rules) {
        try {
          rule.evaluator.observe(event, time, (draft) => {
            const record = this.raise(rule.cfg, draft);
            if (record) raised.push(record);
          });
        } catch (err) {
          this.logger?.warn({ err, rule: rule.cfg.name }, 'alert rule failed on an event');
        }
      }
    }
    return raised;
  }

  /** Newest first. `state: 'failed'` reads the dead-letter list, which outlives the general history. */
  list(filter: AlertFilter = {}): AlertRecord[] {
    const out: AlertRecord[] = [];
    const limit = filter.limit ?? 100;
    const source = filter.state === 'failed' ? this.deadLetters : this.history;
    for (const r of source.newestFirst()) {
      if (out.length >= limit) break;
      if (matchesFilter(r, filter)) out.push(r);
    }
    return out;
  }

  /** The engine's clock (epoch ms), for relative filters such as `since=1h`. */
  now(): number {
    return this.clock();
  }

  sinkNames(): string[] {
    return [...this.sinks.keys()];
  }

  /** Sends a test alert to one sink (one attempt, rate limit applies); undefined when no such sink. */
  async sendTest(sinkName: string): Promise<{ alert: Alert; result: DeliveryResult } | undefined> {
    const sink = this.sinks.get(sinkName);
    if (!sink) return undefined;
    const alert: Alert = {
      id: this.newId(),
      rule: 'test',
      type: 'test',
      severity: 'info',
      key: `test|${sinkName}`,
      title: `Tollgate test alert for sink ${sinkName}`,
      details: { sink: sinkName, sink_type: sink.sink.type },
      time: new Date(this.clock()).toISOString(),
    };
    const progress: DeliveryResult = { sink: sinkName, state: 'pending', attempts: 0 };
    const result = await this.track(sink.send(alert, { ...this.plan.retry, attempts: 1 }, progress, this.stopping.signal));
    return { alert, result };
  }

  /** Resolves when every delivery started so far has finished (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.inflight.size > 0) await Promise.allSettled([...this.inflight]);
  }

  /** Stops retry waits (pending deliveries fail with the reason) and waits for in-flight requests. */
  async close(): Promise<void> {
    this.stopping.abort();
    await this.idle();
  }

  private raise(cfg: RuleConfig, draft: AlertDraft): AlertRecord | undefined {
    const dedupKey = `${cfg.name}\n${draft.key}`;
    const seen = this.dedup.get(dedupKey);
    if (seen && draft.time < seen.until) {
      seen.record.suppressed++;
      return undefined;
    }
    const record: AlertRecord = {
      id: this.newId(),
      rule: cfg.name,
      type: cfg.type,
      severity: cfg.severity ?? draft.severity ?? DEFAULT_SEVERITY[cfg.type],
      key: draft.key,
      title: draft.title,
      details: draft.details,
      time: new Date(draft.time).toISOString(),
      state: 'pending',
      deliveries: [],
      suppressed: 0,
    };
    setBounded(this.dedup, dedupKey, { until: draft.time + cfg.dedupWindow, record }, MAX_DEDUP_KEYS);
    if (this.shared) {
      this.raiseShared(cfg, draft, record);
      return undefined;
    }
    this.history.push(record);
    this.deliver(record, cfg.sinks);
    return record;
  }

  /** Fleet mode: only the replica whose claim wins delivers; with Redis down, each replica alerts on its own (a duplicate beats a silence). */
  private raiseShared(cfg: RuleConfig, draft: AlertDraft, record: AlertRecord): void {
    const seenSet = cfg.type === 'new_destination' ? seenSetOf(stateKey(cfg)) : undefined;
    const claim = this.shared!.claim({ rule: cfg.name, key: draft.key, windowMs: cfg.dedupWindow, seenSet, pair: draft.key }).catch((err: unknown) => {
      this.logger?.warn({ err, rule: cfg.name }, 'shared alert state unreachable; alerting from this replica alone');
      return true;
    });
    void this.track(
      claim.then((first) => {
        if (!first) return;
        this.history.push(record);
        this.deliver(record, cfg.sinks);
      }),
    );
  }

  private shareLearning(rule: NewDestinationRule, key: string): void {
    const shared = this.shared!;
    const set = seenSetOf(key);
    rule.onLearn = (pair) => shared.learn(set, pair);
    void this.track(
      shared.learningStart(set, this.clock()).then(
        (start) => rule.startLearningAt(start),
        (err: unknown) => this.logger?.warn({ err }, 'shared learning start unreachable; this replica learns from its first event'),
      ),
    );
  }

  /** `list`, over the fleet's settled alerts when shared (plus this replica's pending ones). */
  async listShared(filter: AlertFilter = {}): Promise<AlertRecord[]> {
    if (!this.shared) return this.list(filter);
    const limit = filter.limit ?? 100;
    let fleet: AlertRecord[];
    try {
      fleet = await this.shared.list(filter.state === 'failed', 10_000);
    } catch (err) {
      // Shared state unreachable: this replica's own alerts are better than none.
      this.logger?.warn({ err }, 'shared alert history unreachable; listing this replica\'s alerts');
      return this.list(filter);
    }
    const pending = this.list({ ...filter, state: 'pending', limit });
    const out: AlertRecord[] = [];
    for (const r of [...pending, ...fleet].sort((a, b) => (a.time < b.time ? 1 : a.time > b.time ? -1 : 0))) {
      if (out.length >= limit) break;
      if (matchesFilter(r, filter)) out.push(r);
    }
    return out;
  }

  private deliver(record: AlertRecord, sinkNames: readonly string[]): void {
    const { state: _s, deliveries: _d, suppressed: _n, ...alert } = record;
    for (const name of sinkNames) {
      const progress: DeliveryResult = { sink: name, state: 'pending', attempts: 0 };
      record.deliveries.push(progress);
      const sink = this.sinks.get(name);
      if (!sink) {
        progress.state = 'failed';
        progress.error = `sink "${name}" is not configured`;
        continue;
      }
      void this.track(sink.send(alert, this.plan.retry, progress, this.stopping.signal).then(() => this.settle(record)));
    }
    this.settle(record);
  }

  private settle(record: AlertRecord): void {
    if (record.state !== 'pending') return;
    if (record.deliveries.some((d) => d.state === 'pending')) return;
    const failed = record.deliveries.filter((d) => d.state === 'failed');
    record.state = failed.length > 0 ? 'failed' : 'delivered';
    this.shared?.record(record, failed.length > 0);
    if (failed.length > 0) {
      this.deadLetters.push(record);
      this.logger?.warn({ alert: record.id, rule: record.rule, sinks: failed.map((d) => d.sink), error: failed[0]?.error }, 'alert delivery failed');
    }
  }

  private track<T>(p: Promise<T>): Promise<T> {
    this.inflight.add(p);
    void p.finally(() => this.inflight.delete(p)).catch(this.onError);
    return p;
  }
}

/** A short, key-safe name for a rule's learning set: its parameters, hashed. */
function seenSetOf(ruleStateKey: string): string {
  return createHash('sha256').update(ruleStateKey).digest('hex').slice(0, 16);
}

function matchesFilter(r: AlertRecord, filter: AlertFilter): boolean {
  if (filter.state && r.state !== filter.state) return false;
  if (filter.rule && r.rule !== filter.rule) return false;
  if (filter.type && r.type !== filter.type) return false;
  return filter.since === undefined || Date.parse(r.time) >= filter.since;
}
