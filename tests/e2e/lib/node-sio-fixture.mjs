// The reference for `sio-fixture sio` and `sio-fixture bench`: Node's socket.io (v4) with the
// fixture's settings and handlers, so the Socket.IO suite can be checked against the real
// thing (SIO_SERVER=node).
//
//   node tests/e2e/lib/node-sio-fixture.mjs sio|bench --port P [--recovery MS]
//       [--ping-interval MS] [--ping-timeout MS] [--connect-timeout MS] [--per-message-deflate]
//
// sio (DESIGN.md "Conformance fixtures"): path /socket.io/ on 127.0.0.1, pingInterval 300 ms,
// pingTimeout 200 ms, connectTimeout 1000 ms, maxHttpBufferSize 1e6, EIO=4 and EIO=3
// (allowEIO3), CORS reflecting any origin with credentials; namespaces "/" and "/custom"
// with the same handlers:
//   on connection          emit "auth" (CONNECT payload, {} when none)
//   message (...args)      emit "message-back" (...args)
//   message-with-ack       ack(...args)
//   emit-with-ack (...args) emit "emit-with-ack" (...args) with an ack (timeout 200 ms), then
//                          emit "emit-with-ack" with what the client answered
// plus what the libsio fixture adds for the tests (tests/fixtures/fixture.c):
//   broadcast-with-ack     emit "ping-all" to every socket of the namespace with a 200 ms
//                          ack timeout, then ack the sender with {err, answers}, err being
//                          null or "ETIMEDOUT"
//   /private               a middleware that answers after 10 ms and refuses a CONNECT
//                          without auth {token: "secret"} ("unauthorized", data {code: 401})
//   ^/dyn-[0-9]+$          dynamic namespaces with the same handlers
//   compressed (on)        send "big" (2000 'z's) to the sender through to(id).compress(on)
//   join (room, ack)       ack {err: null}
//   leave (room), broadcast (...args) → "broadcast" (...args) to all but the sender,
//                          to-room (room, payload) → "to-room" (payload) to the room; each
//                          acks with no values once done, when asked to
// bench: default timings, "/" only: echo, echo-ack, broadcast (all but the sender), join,
//   to-room (room, payload) → emit "to-room" (payload) to the room.
// --recovery MS: connectionStateRecovery with maxDisconnectionDuration MS.
// --ping-interval MS, --ping-timeout MS: replace the mode's heartbeat settings.
// --connect-timeout MS: replaces connectTimeout.
// --per-message-deflate: perMessageDeflate: true.
//
// Handlers see the event arguments without the client's ack callback (what the libsio
// fixture's sio_event_args() gives), so "message" sent with an ack id still echoes its
// arguments only.
//
// Ack ids: socket.io numbers the server's ack requests per namespace from 0
// (`this.nsp._ids++` in dist/socket.js); the fixture contract (and libsio) count per socket
// from 1. The suite asserts raw ack ids only against libsio.
//
// stderr, as sio-fixture logs them: `sio: connect <nsp> <id>` and
// `sio: disconnect <nsp> <id> (<reason>)`. SIGTERM: io.close() (every socket disconnects
// with "server shutting down", every session is closed), then exit 0.
import http from 'node:http';
import { Server } from 'socket.io';

const argv = process.argv.slice(2);
const mode = argv[0];
const opt = (name) => {
  const i = argv.indexOf(name);
  return i > 0 ? argv[i + 1] : undefined;
};
const port = Number(opt('--port'));
const recovery = Number(opt('--recovery') ?? 0);
const pingInterval = Number(opt('--ping-interval') ?? 0);
const pingTimeout = Number(opt('--ping-timeout') ?? 0);
const connectTimeout = Number(opt('--connect-timeout') ?? 0);
const deflate = argv.includes('--per-message-deflate');
if (!['sio', 'bench'].includes(mode) || !Number.isInteger(port) || port < 0 || port > 65535) {
  process.stderr.write('usage: node-sio-fixture.mjs sio|bench --port P [--recovery MS] '
    + '[--ping-interval MS] [--ping-timeout MS] [--connect-timeout MS] [--per-message-deflate]\n');
  process.exit(2);
}

const common = {
  allowEIO3: true,
  cors: { origin: true, credentials: true },
  ...(recovery > 0 && {
    connectionStateRecovery: { maxDisconnectionDuration: recovery, skipMiddlewares: true },
  }),
};
const options = mode === 'sio'
  ? {
    ...common,
    path: '/socket.io/',
    pingInterval: 300,
    pingTimeout: 200,
    connectTimeout: 1000,
    maxHttpBufferSize: 1e6,
  }
  : common;
if (pingInterval > 0) options.pingInterval = pingInterval;
if (pingTimeout > 0) options.pingTimeout = pingTimeout;
if (connectTimeout > 0) options.connectTimeout = connectTimeout;
if (deflate) options.perMessageDeflate = true;

const server = http.createServer();
const io = new Server(server, options);

// The arguments of an event without the trailing ack callback, and that callback.
function split(args) {
  const ack = typeof args[args.length - 1] === 'function' ? args.pop() : null;
  return [args, ack];
}

// `sio: connect <nsp> <id>`, `sio: disconnect <nsp> <id> (<reason>)`.
function log(socket, what, reason) {
  const tail = reason === undefined ? '' : ` (${reason})`;
  process.stderr.write(`sio: ${what} ${socket.nsp.name} ${socket.id}${tail}\n`);
}

function onSioConnection(socket) {
  log(socket, 'connect');
  socket.on('disconnect', (reason) => log(socket, 'disconnect', reason));
  socket.emit('auth', socket.handshake.auth ?? {});
  socket.on('message', (...a) => {
    const [args] = split(a);
    socket.emit('message-back', ...args);
  });
  socket.on('message-with-ack', (...a) => {
    const [args, ack] = split(a);
    if (ack) ack(...args);
  });
  socket.on('emit-with-ack', (...a) => {
    const [args] = split(a);
    socket.timeout(200).emit('emit-with-ack', ...args, (err, ...answer) => {
      if (!err) socket.emit('emit-with-ack', ...answer);
    });
  });
  socket.on('compressed', (on) => {
    socket.nsp.to(socket.id).compress(on).emit('big', 'z'.repeat(2000));
  });
  socket.on('join', (room, ack) => {
    if (typeof room !== 'string') return;
    socket.join(room);
    if (typeof ack === 'function') ack({ err: null });
  });
  socket.on('leave', (room, ack) => {
    if (typeof room !== 'string') return;
    socket.leave(room);
    if (typeof ack === 'function') ack();
  });
  socket.on('broadcast', (...a) => {
    const [args, ack] = split(a);
    socket.broadcast.emit('broadcast', ...args);
    if (ack) ack();
  });
  socket.on('to-room', (room, p, ack) => {
    if (typeof room !== 'string') return;
    socket.nsp.to(room).emit('to-room', p);
    if (typeof ack === 'function') ack();
  });
  socket.on('broadcast-with-ack', (...a) => {
    const [, ack] = split(a);
    socket.nsp.timeout(200).emit('ping-all', (err, answers) => {
      if (ack) ack({ err: err ? 'ETIMEDOUT' : null, answers });
    });
  });
}

function onBenchConnection(socket) {
  socket.on('echo', (...a) => socket.emit('echo', ...split(a)[0]));
  socket.on('echo-ack', (...a) => {
    const [args, ack] = split(a);
    if (ack) ack(...args);
  });
  socket.on('broadcast', (p) => socket.broadcast.emit('broadcast', p));
  socket.on('join', (room) => { if (typeof room === 'string') socket.join(room); });
  socket.on('to-room', (room, p) => {
    if (typeof room === 'string') socket.nsp.to(room).emit('to-room', p);
  });
}

if (mode === 'sio') {
  const priv = io.of('/private');
  priv.use((socket, next) => {
    const allow = socket.handshake.auth?.token === 'secret';
    setTimeout(() => {
      if (allow) return next();
      const err = new Error('unauthorized');
      err.data = { code: 401 };
      return next(err);
    }, 10);
  });
  for (const nsp of [io.of('/'), io.of('/custom'), priv, io.of(/^\/dyn-[0-9]+$/)]) {
    nsp.on('connection', onSioConnection);
  }
} else {
  io.of('/').on('connection', onBenchConnection);
}

server.listen(port, '127.0.0.1', () => {
  process.stderr.write(`node-sio-fixture ${mode}: listening on port ${server.address().port}\n`);
});

process.on('SIGTERM', () => {
  io.close().then(() => process.exit(0));
  // Let the close packets go out, then drop idle keep-alive connections.
  setTimeout(() => server.closeAllConnections(), 100);
  setTimeout(() => process.exit(0), 2000).unref();
});
