// The reference for `sio-fixture eio`: Node's engine.io (v6) with the fixture's settings, so
// the Engine.IO suite can be checked against the real thing (EIO_SERVER=node).
//
//   node tests/e2e/lib/node-eio-fixture.mjs --port P
//
// Engine.IO on /engine.io/ (127.0.0.1), pingInterval 300 ms, pingTimeout 200 ms,
// maxHttpBufferSize 1e6, EIO=4 and EIO=3, CORS reflecting any origin with credentials;
// every message is echoed on its session (text as text, binary as binary). On stderr, as
// sio-fixture logs them: `eio: open <sid> EIO=<v> <transport>` and `eio: close <sid> <reason>`.
// SIGTERM: close every session (engine.close()), then exit 0.
//
// One deliberate addition to plain engine.io: it maps every EIO value other than "4" to
// protocol 3 (`computeProtocolRevision`), so with allowEIO3 a missing EIO or EIO=5 opens a
// v3 session. The fixture contract answers those with HTTP 400 code 5 instead, the way
// engine.io answers EIO=3 without allowEIO3, so this file screens them out first.
import http from 'node:http';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { Server } = require('engine.io');

const i = process.argv.indexOf('--port');
const port = i > 0 ? Number(process.argv[i + 1]) : NaN;
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  process.stderr.write('usage: node-eio-fixture.mjs --port P\n');
  process.exit(2);
}

const path = '/engine.io/';
const corsOptions = { origin: true, credentials: true };
const engine = new Server({
  pingInterval: 300,
  pingTimeout: 200,
  maxHttpBufferSize: 1e6,
  allowEIO3: true,
  cors: corsOptions,
});

const UNSUPPORTED = { code: 5, message: 'Unsupported protocol version' };

function eioVersion(req) {
  return new URL(req.url, 'http://x').searchParams.get('EIO');
}

const cors = require('cors')(corsOptions);
const supported = (req) => ['3', '4'].includes(eioVersion(req));
const ours = (req) => req.url.startsWith(path);

// What engine.attach() does, with the protocol version screened first.
const server = http.createServer((req, res) => {
  if (!ours(req)) {
    res.writeHead(404).end();
  } else if (!supported(req)) {
    cors(req, res, () => {
      res.writeHead(400, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(UNSUPPORTED));
    });
  } else {
    engine.handleRequest(req, res);
  }
});
server.on('upgrade', (req, socket, head) => {
  if (!ours(req)) {
    socket.destroy();
  } else if (!supported(req)) {
    const m = UNSUPPORTED.message;
    socket.end(`HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-type: text/html\r\n`
      + `Content-Length: ${Buffer.byteLength(m)}\r\n\r\n${m}`);
  } else {
    engine.handleUpgrade(req, socket, head);
  }
});

engine.on('connection', (socket) => {
  process.stderr.write(`eio: open ${socket.id} EIO=${socket.protocol} ${socket.transport.name}\n`);
  socket.on('message', (data) => socket.send(data));
  socket.on('close', (reason) => process.stderr.write(`eio: close ${socket.id} ${reason}\n`));
});

server.listen(port, '127.0.0.1', () => {
  process.stderr.write(`node-eio-fixture: listening on port ${server.address().port}\n`);
});

process.on('SIGTERM', () => {
  engine.close();
  server.close(() => process.exit(0));
  // Let the close packets go out, then drop idle keep-alive connections.
  setTimeout(() => server.closeAllConnections(), 100);
  setTimeout(() => process.exit(0), 2000).unref();
});
