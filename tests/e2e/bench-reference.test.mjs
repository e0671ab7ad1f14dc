// The benchmark's two servers do the same work per connection: `sio-fixture bench` and
// bench/node-reference.mjs (the official socket.io with the same handlers) answer the same
// emits of the official client the same way: echo, echo-ack, broadcast,
// broadcast-volatile, fill, join, to-room, the bad-argument cases each handler ignores,
// and the "bench: disconnect <id> (<reason>)" line on stderr.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { io } from 'socket.io-client';
import { startServer, within, until, sleep } from './lib/harness.mjs';

const servers = {
  'sio-fixture bench': () => startServer('sio-fixture', ['bench']),
  'bench/node-reference.mjs': () => startServer('node-reference', [], { command: ['node', 'bench/node-reference.mjs'] }),
};

const connect = (url) => new Promise((resolve, reject) => {
  const s = io(url, { transports: ['websocket'], forceNew: true, reconnection: false });
  s.once('connect', () => resolve(s));
  s.once('connect_error', reject);
});
const next = (s, ev) => within(new Promise((r) => s.once(ev, (...a) => r(a))), 2000, ev);
const ack = (s, ...a) => within(new Promise((r) => s.emit(...a, (...x) => r(x))), 2000, a[0]);

async function exercise(url) {
  const a = await connect(url);
  const b = await connect(url);
  const got = {};
  const seen = { a: [], b: [] };
  a.onAny((ev, ...x) => seen.a.push([ev, ...x]));
  b.onAny((ev, ...x) => seen.b.push([ev, ...x]));
  try {
    let p = next(a, 'echo');
    a.emit('echo', 1, 'two', { three: [3] }, null);
    got.echo = await p;
    p = next(a, 'echo');
    a.emit('echo', 'with an ack function', () => {}); // the ack is not passed on
    got.echoWithAck = await p;
    got.echoAck = await ack(a, 'echo-ack', 'x', 2, { y: true });
    got.echoAckEmpty = await ack(a, 'echo-ack');
    a.emit('echo-ack', 'no ack asked'); // nothing to answer, nothing breaks
    p = next(b, 'broadcast');
    a.emit('broadcast', 'hi', 5);
    got.broadcast = await p;
    p = next(b, 'broadcast');
    a.emit('broadcast-volatile', 'v');
    got.broadcastVolatile = await p;
    p = next(a, 'fill');
    a.emit('fill', 5);
    got.fill = await p;
    a.emit('fill', -1);
    a.emit('fill', 'five');
    a.emit('fill', 2.5);
    b.emit('join', 'r1');
    b.emit('join', 42); // not a room name: ignored
    await ack(b, 'echo-ack'); // the joins are done
    a.emit('to-room', 'r1'); // no payload: ignored
    p = next(b, 'to-room');
    a.emit('to-room', 'r1', { k: 1 });
    got.toRoom = await p;
    p = next(a, 'to-room');
    a.emit('to-room', 'r2', 'nobody');
    a.emit('join', 'r2');
    a.emit('to-room', 'r2', 'me too'); // the sender is in the room
    got.toRoomSelf = await p;
    await ack(a, 'echo-ack');
    await ack(b, 'echo-ack');
    await sleep(50);
    got.seen = seen;
    got.ids = [a.id, b.id];
  } finally {
    a.disconnect();
    b.disconnect();
  }
  return got;
}

for (const [name, start] of Object.entries(servers)) {
  test(`${name}: the bench handlers`, async () => {
    const srv = await start();
    let got;
    try {
      got = await exercise(srv.url);
      await until(() => got.ids.every((id) => srv.stderr().includes(`bench: disconnect ${id} (client namespace disconnect)`)),
        2000, 'the disconnect lines');
    } finally {
      const { code } = await srv.stop();
      assert.equal(code, 0, srv.stderr());
    }
    assert.deepEqual(got.echo, [1, 'two', { three: [3] }, null]);
    assert.deepEqual(got.echoWithAck, ['with an ack function']);
    assert.deepEqual(got.echoAck, ['x', 2, { y: true }]);
    assert.deepEqual(got.echoAckEmpty, []);
    assert.deepEqual(got.broadcast, ['hi', 5]);
    assert.deepEqual(got.broadcastVolatile, ['v']);
    assert.deepEqual(got.fill, ['xxxxx']);
    assert.deepEqual(got.toRoom, [{ k: 1 }]);
    assert.deepEqual(got.toRoomSelf, ['me too']);
    // Everything each client received, in order: nothing more (the ignored emits sent
    // nothing), and the sender never gets its own broadcasts.
    assert.deepEqual(got.seen.a, [['echo', 1, 'two', { three: [3] }, null], ['echo', 'with an ack function'],
      ['fill', 'xxxxx'], ['to-room', 'me too']]);
    assert.deepEqual(got.seen.b, [['broadcast', 'hi', 5], ['broadcast', 'v'], ['to-room', { k: 1 }]]);
  });
}
