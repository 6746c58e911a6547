import { plausibleToken, regexDetector } from './regex-detector.js';

/** GitLab's prefixed tokens (personal, deploy, runner, trigger, CI job, feed, incoming mail, agent, OAuth) and runner registration tokens. */
export const gitlabTokenDetector = regexDetector({
  family: 'gitlab_token',
  ids: ['gitlab_token'],
  anchors: ['glpat-', 'gldt-', 'glrt-', 'glptt-', 'glcbt-', 'glft-', 'glimt-', 'glagent-', 'gloas-', 'glsoat-', 'GR1348941'],
  pattern: /(?:gl(?:pat|dt|rt|ptt|cbt|ft|imt|agent|oas|soat)-[A-Za-z0-9_-]{20,64}(?:\.[0-9a-z]{2}\.[0-9a-z]{7,9})?|GR1348941[A-Za-z0-9_-]{20,40})/g,
  maxLength: 90,
  priority: 90,
  accept: (m, text) => (plausibleToken(m, text, { minEntropy: 3, bodyFrom: m[0].indexOf('-') + 1 }) ? { type: 'gitlab_token' } : undefined),
});
