// The Node.js reference for the Engine.IO case: the `engine.io` package (v6) configured as
// `sio-fixture eio`: Engine.IO on /engine.io/ (127.0.0.1), EIO=4 and EIO=3, maxPayload 1e6,
// CORS from any origin (with credentials), every message echoed on its session (text as
// text, binary as binary). pingInterval 300 ms and pingTimeout 200 ms, the fixture's
// values; --ping-interval and --ping-timeout change them (milliseconds).
//
//   node bench/node-eio.mjs --port P [--ping-interval MS] [--ping-timeout MS]
import http from 'node:http';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { Server } = require('engine.io');

const args = process.argv.slice(2);
const opt = (name, dflt) => { const i = args.indexOf(name); return i >= 0 ? Number(args[i + 1]) : dflt; };
const port = opt('--port', 3000);

const server = http.createServer();
const engine = new Server({
  pingInterval: opt('--ping-interval', 300),
  pingTimeout: opt('--ping-timeout', 200),
  maxHttpBufferSize: 1e6,
  allowEIO3: true,
  cors: { origin: true, credentials: true },
});
engine.attach(server, { path: '/engine.io/' });
engine.on('connection', (socket) => {
  socket.on('message', (data) => socket.send(data));
});
server.listen(port, '127.0.0.1');
process.on('SIGTERM', () => process.exit(0));
