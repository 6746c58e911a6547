/** One reason a document does not match its proto schema, located by a path such as `clusters[0].name`. */
export interface Problem {
  path: string;
  message: string;
}

/** A map key or a JSON key that is not a field name (printed as `["key"]`). */
export class KeySegment {
  constructor(readonly key: string) {}
}

/** Field names print as `.name`, list indexes as `[0]`, map keys as `["key"]`. */
export type PathSegment = string | number | KeySegment;

export function formatPath(segments: readonly PathSegment[]): string {
  let out = '';
  for (const segment of segments) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else if (segment instanceof KeySegment) out += `[${JSON.stringify(segment.key)}]`;
    else out += out === '' ? segment : `.${segment}`;
  }
  return out;
}

/** Renders problems one per line, `path: message`, for error messages and CLI output. */
export function formatProblems(problems: readonly Problem[]): string {
  return problems.map((p) => `${p.path === '' ? '(root)' : p.path}: ${p.message}`).join('\n');
}
