/** Splits an event destination (`host:port`, `host:default`, `[v6]:port`) into host and port (undefined for `default`). */
export function splitDestination(destination: string): { host: string; port: number | undefined } {
  const colon = destination.lastIndexOf(':');
  const bracketEnd = destination.lastIndexOf(']');
  if (colon === -1 || colon < bracketEnd) return { host: unbracket(destination), port: undefined };
  const portText = destination.slice(colon + 1);
  const port = /^[0-9]{1,5}$/.test(portText) ? Number(portText) : undefined;
  return { host: unbracket(destination.slice(0, colon)), port };
}

function unbracket(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host.toLowerCase();
}

export { hostMatches } from '../scrub/token-issuers.js';
