import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Delivery {
  headers: IncomingHttpHeaders;
  body: string;
  status: number;
}

/** A webhook receiver on 127.0.0.1 that answers 500 to the first `failFirst` deliveries, then 200. */
export class WebhookReceiver {
  readonly deliveries: Delivery[] = [];
  failFirst: number;
  failStatus = 500;
  private server: Server | undefined;
  private port = 0;

  constructor(opts: { failFirst?: number } = {}) {
    this.failFirst = opts.failFirst ?? 0;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}/hook`;
  }

  /** Deliveries answered 2xx. */
  get accepted(): Delivery[] {
    return this.deliveries.filter((d) => d.status < 300);
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const status = this.deliveries.length < this.failFirst ? this.failStatus : 200;
        this.deliveries.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), status });
        res.writeHead(status, { 'content-type': 'text/plain' }).end(status === 200 ? 'ok' : 'nope');
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
