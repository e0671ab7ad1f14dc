// The Node.js reference for the Socket.IO cases: the `socket.io` package with the handlers
// of `sio-fixture bench` (default timings, namespace "/"): echo, echo-ack, broadcast (to
// all but the sender), broadcast-volatile, fill, join, to-room, and the same stderr line
// per disconnect, so both servers do the same work per connection. With --tls-cert FILE --tls-key FILE it serves https
// (and wss) with that PEM certificate and key, Node's TLS defaults otherwise.
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { Server } from 'socket.io';

const args = process.argv.slice(2);
const i = args.indexOf('--port');
const port = Number(i >= 0 ? args[i + 1] : 3000);
const arg = (name) => { const k = args.indexOf(name); return k >= 0 ? args[k + 1] : undefined; };
const cert = arg('--tls-cert');
const key = arg('--tls-key');
const server = cert && key
  ? https.createServer({ cert: fs.readFileSync(cert), key: fs.readFileSync(key) })
  : http.createServer();
const io = new Server(server, { allowEIO3: true, cors: { origin: true, credentials: true } });
io.on('connection', (socket) => {
  socket.on('echo', (...a) => socket.emit('echo', ...a));
  socket.on('echo-ack', (...a) => { const ack = a.pop(); ack(...a); });
  socket.on('broadcast', (p) => socket.broadcast.emit('broadcast', p));
  socket.on('broadcast-volatile', (p) => socket.broadcast.volatile.emit('broadcast', p));
  socket.on('fill', (n) => {
    if (Number.isInteger(n) && n >= 0 && n <= 2 ** 30) socket.emit('fill', 'x'.repeat(n));
  });
  socket.on('disconnect', (reason) => process.stderr.write(`bench: disconnect ${socket.id} (${reason})\n`));
  socket.on('join', (room) => socket.join(room));
  socket.on('to-room', (room, p) => io.to(room).emit('to-room', p));
});
server.listen(port, '127.0.0.1');
process.on('SIGTERM', () => process.exit(0));
