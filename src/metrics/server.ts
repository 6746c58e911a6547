import { createServer } from 'node:http';
import type { Registry } from 'prom-client';
import { splitHostPort } from '../config/config.js';

/**
 * A Prometheus endpoint without the admin token, on its own address (TOLLGATE_METRICS_ADDRESS): scrapers get
 * `GET /metrics` and nothing else, so exposing it to the cluster never exposes the admin API. Labels carry no
 * identity, host or path (src/metrics/registry.ts), which is what makes it safe to serve unauthenticated.
 */
export async function startMetricsServer(address: string, registry: Registry): Promise<{ port: number; close(): Promise<void> }> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0];
    if (path !== '/metrics' || (req.method !== 'GET' && req.method !== 'HEAD')) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('only GET /metrics is served here\n');
      return;
    }
    registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(req.method === 'HEAD' ? undefined : text),
      (err: unknown) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`metrics collection failed: ${(err as Error).message}\n`),
    );
  });
  const { host, port } = splitHostPort(address);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return {
    port: (server.address() as { port: number }).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
