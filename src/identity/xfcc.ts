/**
 * Extracts the principal of the nearest client from an `x-forwarded-client-cert` header:
 * the last element (Envoy appends its own client's element), URI first, then DNS, then Subject.
 * Only trust this source when the gateway sanitises the header (forward_client_cert_details: SANITIZE_SET
 * or APPEND_FORWARD behind a trusted proxy); see README.
 */
export function xfccPrincipal(header: string): string | undefined {
  const elements = splitOutsideQuotes(header, ',');
  const last = elements[elements.length - 1];
  if (!last) return undefined;
  const fields: Record<string, string> = {};
  for (const pair of splitOutsideQuotes(last, ';')) {
    const eq = pair.indexOf('=');
    if (eq === -1) continue;
    const key = pair.slice(0, eq).trim().toLowerCase();
    let value = pair.slice(eq + 1).trim();
    if (value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1).replace(/\\"/g, '"');
    if (!(key in fields)) fields[key] = value;
  }
  return fields.uri || fields.dns || fields.subject || undefined;
}

function splitOutsideQuotes(s: string, sep: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i] as string;
    if (c === '\\' && quoted && i + 1 < s.length) {
      cur += c + (s[i + 1] as string);
      i++;
      continue;
    }
    if (c === '"') quoted = !quoted;
    if (c === sep && !quoted) {
      out.push(cur);
      cur = '';
    } else cur += c;
  }
  if (cur.trim() !== '') out.push(cur);
  return out;
}
