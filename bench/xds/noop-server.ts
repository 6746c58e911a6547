/**
 * The fan-out floor of the xDS benchmark: a gRPC server on the same stack as Tollgate (grpc-js, same server
 * options) with one bidi method that does nothing but answer each new stream with `hello` and, on
 * `POST /push`, write `tick:<n>;` (a few bytes) to every open stream. The time until every stream has ACKed
 * that tick is what pushing anything to N streams costs at least on this machine and stack.
 *
 * `POST /push?sotw=BYTES&delta=BYTES` writes a message of that size instead (one pre-built Buffer shared by all
 * streams of a kind; each stream says its kind in its first message): the cost of moving the bytes Tollgate
 * sends for a change, with no encoding at all.
 *
 *   node --import tsx bench/xds/noop-server.ts --grpc PORT --http PORT
 */
import * as grpc from '@grpc/grpc-js';
import { createServer } from 'node:http';
import { parseArgs } from 'node:util';
import { NOOP_METHOD } from './wire.js';

const { values } = parseArgs({ options: { grpc: { type: 'string' }, http: { type: 'string' } } });
if (!values.grpc || !values.http) {
  console.error('usage: noop-server.ts --grpc PORT --http PORT');
  process.exit(2);
}

const identity = (b: Buffer) => b;
const open = new Map<grpc.ServerDuplexStream<Buffer, Buffer>, string>();
const hello = Buffer.from('hello');
let acks = 0;

const server = new grpc.Server({ 'grpc.max_receive_message_length': 16 * 1024 * 1024 });
server.addService(
  { Stream: { path: NOOP_METHOD, requestStream: true, responseStream: true, requestSerialize: identity, requestDeserialize: identity, responseSerialize: identity, responseDeserialize: identity } },
  {
    Stream: (call: grpc.ServerDuplexStream<Buffer, Buffer>) => {
      let first = true;
      call.on('data', (msg: Buffer) => {
        if (first) {
          first = false;
          open.set(call, msg.toString().slice(3));
          call.write(hello);
        } else acks++;
      });
      const drop = () => open.delete(call);
      call.on('end', () => {
        drop();
        call.end();
      });
      call.on('cancelled', drop);
      call.on('error', drop);
    },
  },
);

let tick = 0;
const http = createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://noop');
  if (req.method === 'POST' && url.pathname === '/push') {
    const head = Buffer.from(`tick:${++tick};`);
    const sized = (param: string | null): Buffer => {
      const size = Number(param ?? 0);
      if (!(size > head.length)) return head;
      const b = Buffer.alloc(size, 0x2e);
      head.copy(b);
      return b;
    };
    const msgs: Record<string, Buffer> = { sotw: sized(url.searchParams.get('sotw')), delta: sized(url.searchParams.get('delta')) };
    for (const [call, kind] of open) call.write(msgs[kind] ?? head);
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ tick, streams: open.size }));
    return;
  }
  if (url.pathname === '/healthz') {
    res.end(JSON.stringify({ streams: open.size, acks }));
    return;
  }
  res.statusCode = 404;
  res.end();
});

server.bindAsync(`127.0.0.1:${values.grpc}`, grpc.ServerCredentials.createInsecure(), (err) => {
  if (err) throw err;
  http.listen(Number(values.http), '127.0.0.1', () => console.log('noop listening'));
});
process.on('SIGTERM', () => {
  http.close();
  server.forceShutdown();
  process.exit(0);
});
