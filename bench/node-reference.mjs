// The Node.js reference of the Socket.IO benchmarks: the official `socket.io` package with
// the handlers of `sio-fixture bench` (tests/fixtures/fixture.c, on_bench_connection), so
// both servers do the same work per connection. Namespace "/", default timings, EIO=3
// allowed, CORS from any origin with credentials. Handlers (an ack function the client
// asked for is never part of the arguments passed on):
//   echo (...args)               emit "echo" (...args) to the sender
//   echo-ack (...args, ack)      ack (...args)
//   broadcast (...args)          emit "broadcast" (...args) to every socket but the sender
//   broadcast-volatile (...args) the same, volatile
//   fill (n)                     emit "fill" (a string of n 'x's) to the sender, 0 <= n <= 2^30
//   join (room)                  join room
//   to-room (room, payload)      emit "to-room" (payload) to every socket in room
// and every disconnect is logged on stderr as "bench: disconnect <id> (<reason>)".
// Options: --port P (default 3000); --tls-cert FILE --tls-key FILE serve https (and wss)
// with that PEM certificate and key, Node's TLS defaults otherwise; --ping-interval MS and
// --ping-timeout MS replace the heartbeat settings, as the fixture's options of that name.
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { Server } from 'socket.io';

const args = process.argv.slice(2);
const arg = (name) => { const k = args.indexOf(name); return k >= 0 ? args[k + 1] : undefined; };
const port = Number(arg('--port') ?? 3000);
const cert = arg('--tls-cert');
const key = arg('--tls-key');
const server = cert && key
  ? https.createServer({ cert: fs.readFileSync(cert), key: fs.readFileSync(key) })
  : http.createServer();
const options = { allowEIO3: true, cors: { origin: true, credentials: true } };
if (arg('--ping-interval') !== undefined) options.pingInterval = Number(arg('--ping-interval'));
if (arg('--ping-timeout') !== undefined) options.pingTimeout = Number(arg('--ping-timeout'));
const io = new Server(server, options);

// The event's arguments without the client's ack function, and that function (or undefined).
const split = (a) => (typeof a.at(-1) === 'function' ? [a.slice(0, -1), a.at(-1)] : [a, undefined]);

io.on('connection', (socket) => {
  socket.on('echo', (...a) => socket.emit('echo', ...split(a)[0]));
  socket.on('echo-ack', (...a) => {
    const [values, ack] = split(a);
    if (ack) ack(...values);
  });
  socket.on('broadcast', (...a) => socket.broadcast.emit('broadcast', ...split(a)[0]));
  socket.on('broadcast-volatile', (...a) => socket.broadcast.volatile.emit('broadcast', ...split(a)[0]));
  socket.on('fill', (n) => {
    if (Number.isInteger(n) && n >= 0 && n <= 2 ** 30) socket.emit('fill', 'x'.repeat(n));
  });
  socket.on('disconnect', (reason) => console.error(`bench: disconnect ${socket.id} (${reason})`));
  socket.on('join', (room) => {
    if (typeof room === 'string') socket.join(room);
  });
  socket.on('to-room', (...a) => {
    const [values] = split(a);
    if (typeof values[0] === 'string' && values.length >= 2) io.to(values[0]).emit('to-room', values[1]);
  });
});
server.listen(port, '127.0.0.1');
process.on('SIGTERM', () => process.exit(0));
