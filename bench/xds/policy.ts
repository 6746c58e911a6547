/**
 * Policies for the xDS benchmark: N exact-host destinations, one allow rule each, under the `*` identity.
 *
 * A rule with no method or path restriction also allows CONNECT, so every destination becomes two clusters
 * (`out_https|host|443`, which originates TLS, and `tunnel|host|443`) and one virtual host. That is the common
 * shape of an egress allow-list and the heavier of the two; `--get-only` adds `methods: [GET]` (one cluster each).
 */
export interface PolicyShape {
  getOnly?: boolean;
}

export function destinationHost(i: number): string {
  return `svc-${i}.dest-${i % 97}.example.com`;
}

/** Policy YAML with destinations 0..n-1 (`extra` more appended: the "one destination added" edits). */
export function policyText(n: number, shape: PolicyShape = {}): string {
  const lines = ['version: 1', 'defaults: { mode: enforce }', 'egress:', '  - identity: "*"', '    allow:'];
  const methods = shape.getOnly ? ', methods: [GET]' : '';
  for (let i = 0; i < n; i++) lines.push(`      - { id: dest-${i}, host: ${destinationHost(i)}${methods} }`);
  return `${lines.join('\n')}\n`;
}

/** Clusters Tollgate builds for n destinations of this shape (plus its own `tollgate` cluster). */
export function expectedClusters(n: number, shape: PolicyShape = {}): number {
  return n * (shape.getOnly ? 1 : 2) + 1;
}
