import type { Problem } from './problems.js';

/** The parts of a policy that name each other, read leniently so they can be checked even when the schema fails. */
export interface ReferenceShape {
  identities: ReadonlyArray<{ name?: unknown }>;
  egress: ReadonlyArray<{ identity?: unknown; allow?: ReadonlyArray<{ id?: unknown }> }>;
}

/**
 * Cross-references the schema cannot see: duplicate identity names, egress blocks naming an identity that is not
 * defined, duplicate rule ids. One function for the compiler and for `validate` on a document that also has schema
 * problems, so a user sees every problem at once.
 */
export function referenceProblems(doc: ReferenceShape): Problem[] {
  const problems: Problem[] = [];
  const names = new Set<string>();
  doc.identities.forEach((identity, i) => {
    if (typeof identity.name !== 'string') return;
    if (names.has(identity.name)) problems.push({ path: `identities[${i}].name`, message: `duplicate identity "${identity.name}"` });
    names.add(identity.name);
  });
  const ids = new Set<string>();
  doc.egress.forEach((block, b) => {
    const identity = block.identity;
    if (typeof identity === 'string' && identity !== '*' && identity !== 'unknown' && !names.has(identity)) {
      problems.push({ path: `egress[${b}].identity`, message: `unknown identity "${identity}" (define it under identities, or use "*")` });
    }
    (Array.isArray(block.allow) ? block.allow : []).forEach((rule, r) => {
      const path = `egress[${b}].allow[${r}]`;
      const id = typeof rule?.id === 'string' ? rule.id : path;
      if (ids.has(id)) problems.push({ path: `${path}.id`, message: `duplicate rule id "${id}"` });
      ids.add(id);
    });
  });
  return problems;
}

/** The ReferenceShape of a document that failed the schema: whatever arrays and objects are there. */
export function referenceShapeOf(raw: unknown): ReferenceShape {
  const doc = (raw && typeof raw === 'object' ? raw : {}) as Record<string, unknown>;
  const objects = (v: unknown) => (Array.isArray(v) ? v.map((x) => (x && typeof x === 'object' ? x : {})) : []);
  return {
    identities: objects(doc.identities) as ReferenceShape['identities'],
    egress: objects(doc.egress).map((b) => ({ ...(b as object), allow: objects((b as { allow?: unknown }).allow) })) as ReferenceShape['egress'],
  };
}
