import { headers, token } from './api.js';

// EventSource cannot send an Authorization header, so the stream is read with fetch.
const subscribers = new Set();
let latest;
let controller;

async function run() {
  controller = new AbortController();
  for (let backoff = 1000; !controller.signal.aborted; backoff = Math.min(backoff * 2, 30_000)) {
    try {
      const res = await fetch('/v1/events/stream', { headers: headers(), signal: controller.signal });
      if (res.status === 401) return token.clear();
      if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}`);
      backoff = 1000;
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      let buf = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buf += value;
        let i;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const frame = buf.slice(0, i);
          buf = buf.slice(i + 2);
          const data = frame.split('\n').filter((l) => l.startsWith('data: ')).map((l) => l.slice(6)).join('\n');
          if (!data) continue;
          latest = JSON.parse(data);
          for (const s of subscribers) s(latest);
        }
      }
    } catch {
      if (controller.signal.aborted) return;
    }
    await new Promise((r) => setTimeout(r, backoff));
  }
}

export const live = {
  start() {
    if (!controller || controller.signal.aborted) void run();
  },
  stop() {
    controller?.abort();
  },
  subscribe(fn) {
    subscribers.add(fn);
    if (latest) fn(latest);
    return () => subscribers.delete(fn);
  },
};

/** Calls `refresh` when traffic moved, at most once per `minMs`: live pages without a polling storm. */
export function onTraffic(refresh, minMs = 5000) {
  let seq;
  let last = 0;
  let timer;
  const unsub = live.subscribe((s) => {
    if (seq === undefined) {
      seq = s.seq;
      return;
    }
    if (s.seq === seq) return;
    seq = s.seq;
    const wait = Math.max(0, last + minMs - Date.now());
    clearTimeout(timer);
    timer = setTimeout(() => {
      last = Date.now();
      refresh();
    }, wait);
  });
  return () => {
    clearTimeout(timer);
    unsub();
  };
}
