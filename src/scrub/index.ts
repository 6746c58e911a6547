export {
  DETECTOR_IDS,
  SCRUB_ACTIONS,
  DEFAULT_ACTIONS,
  scrubActionsSchema,
  detectorIdSchema,
  scrubActionSchema,
  resolveActions,
  isDetectorId,
  type DetectorId,
  type ScrubAction,
  type ScrubActions,
  type ActionMap,
} from './config.js';
export { compileDetectors, DetectorSet, type CompileOptions, type ScanOptions } from './engine.js';
export type { Finding, FindingLocation, ScanContext } from './types.js';
export { MASK_TAIL, maskValue, replacementFor, applyFindings } from './actions.js';
export { createFingerprinter, type Fingerprinter } from './fingerprint.js';
export type { ScrubResult } from './scanners/result.js';
export { scrubText } from './scanners/text.js';
export { scrubJson, type JsonScrubResult } from './scanners/json.js';
export { scrubUrlEncoded, scrubQuery } from './scanners/urlencoded.js';
export { scrubHeaders, type HeaderEntry, type HeaderScrubResult } from './scanners/headers.js';
export { scrubBody, bodyModeFor, isScannableContentType, decodeBody, type BodyMode, type BodySummary, type BodyScrubResult } from './scanners/body.js';
export { createBodyStream, type BodyStream, type StreamStep } from './stream.js';
export { runScanCommand } from './scan-command.js';
