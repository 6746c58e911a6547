export const VERDICTS = {
  allow: { label: 'allowed', colour: '#1a7f37' },
  deny: { label: 'denied', colour: '#cf222e' },
  report_deny: { label: 'report-only would-deny', colour: '#b35900' },
};

/** The verdict an aggregated edge shows: any denial wins, then report-only denials, else allowed. */
export function edgeVerdict(e) {
  if (e.deny > 0) return 'deny';
  if (e.report_deny > 0) return 'report_deny';
  return 'allow';
}

const nf = new Intl.NumberFormat('en');
export const num = (n) => (n === null || n === undefined ? '–' : nf.format(n));

export function bytes(n) {
  if (!n) return '0 B';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${n.toFixed(i ? 1 : 0)} ${units[i]}`;
}

export function ago(iso) {
  if (!iso) return '–';
  const s = Math.round((Date.now() - Date.parse(iso)) / 1000);
  if (s < 60) return `${Math.max(s, 0)} s ago`;
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86400) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86400)} d ago`;
}

export const time = (iso) => (iso ? iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z') : '–');

export const ms = (v) => (v === null || v === undefined ? '–' : `${v < 10 ? v.toFixed(2) : Math.round(v)} ms`);
