export { checkMessage, type CheckOptions } from './check.js';
export { decodeAny, decodeMessage } from './decode.js';
export { encodeMessage, StrictCheckError, toAny, type EncodedAny } from './encode.js';
export { checkFile } from './file.js';
export { formatProblems, type Problem } from './problem.js';
export { BOOTSTRAP_TYPE, checkEnvoyYaml, parseEnvoyYaml } from './yaml.js';
