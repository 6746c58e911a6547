import type { SinkConfig } from './schema.js';
import type { Alert } from './types.js';

/** The request body a sink of this type receives. */
export function payloadFor(type: SinkConfig['type'], alert: Alert): unknown {
  return type === 'slack' ? slackPayload(alert) : webhookPayload(alert);
}

/** Generic webhook body: a versioned envelope around the alert. */
export function webhookPayload(alert: Alert): { type: 'tollgate.alert'; version: 1; alert: Alert } {
  return { type: 'tollgate.alert', version: 1, alert };
}

const SEVERITY_EMOJI = { info: ':information_source:', warning: ':warning:', critical: ':rotating_light:' } as const;
const MAX_FIELDS = 10;

export interface SlackMessage {
  text: string;
  blocks: Array<Record<string, unknown>>;
}

/** Slack incoming-webhook message: `text` is the notification fallback, `blocks` the formatted body. */
export function slackPayload(alert: Alert): SlackMessage {
  const headline = `${SEVERITY_EMOJI[alert.severity]} [${alert.severity.toUpperCase()}] ${escapeMrkdwn(alert.title)}`;
  const fields = Object.entries(alert.details)
    .slice(0, MAX_FIELDS)
    .map(([k, v]) => ({ type: 'mrkdwn', text: truncate(`*${escapeMrkdwn(k)}*\n${escapeMrkdwn(formatValue(v))}`, 2000) }));
  return {
    text: truncate(headline, 3000),
    blocks: [
      { type: 'section', text: { type: 'mrkdwn', text: truncate(headline, 3000) } },
      ...(fields.length ? [{ type: 'section', fields }] : []),
      { type: 'context', elements: [{ type: 'mrkdwn', text: truncate(escapeMrkdwn(`rule ${alert.rule} (${alert.type}) · ${alert.time} · id ${alert.id}`), 3000) }] },
    ],
  };
}

function formatValue(v: unknown): string {
  if (Array.isArray(v)) return v.join(', ');
  if (v !== null && typeof v === 'object') return Object.entries(v).map(([k, n]) => `${k}: ${String(n)}`).join(', ');
  return String(v);
}

/** Slack treats &, < and > as control characters in mrkdwn (links, mentions). */
function escapeMrkdwn(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function truncate(s: string, max: number): string {
  return s.length <= max ? s : `${s.slice(0, max - 1)}…`;
}
