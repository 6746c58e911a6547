export { alertsSchema, ruleSchema, sinkSchema, retrySchema, RULE_TYPES, SEVERITIES, TOKEN_FLAGS } from './schema.js';
export type { AlertsConfig, AlertsConfigInput, RetryConfig, RuleConfig, RuleType, Severity, SinkConfig, TokenFlag } from './schema.js';
export { compileAlertsPlan, EMPTY_ALERTS_PLAN } from './plan.js';
export type { AlertsPlan, ResolvedSink } from './plan.js';
export { AlertEngine } from './engine.js';
export type { AlertEngineOptions, AlertFilter } from './engine.js';
export { SIGNATURE_HEADER, TIMESTAMP_HEADER, signBody, verifySignature } from './signature.js';
export { parseDuration } from './duration.js';
export type { Alert, AlertDetails, AlertRecord, DeliveryResult, DeliveryState } from './types.js';
