// The Socket.IO layer end to end: `sio-fixture sio` (DESIGN.md: pingInterval 300 ms,
// pingTimeout 200 ms, connectTimeout 1000 ms, namespaces / and /custom with the same
// handlers) with the official socket.io-client 4 (protocol v5) and socket.io-client 2
// (protocol v4 over EIO3), and raw WebSocket frames for what the clients never send.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { io } from 'socket.io-client';
import WebSocket from 'ws';
import { startServer, sleep } from './lib/harness.mjs';

const require = createRequire(import.meta.url);
const io2 = require('socket.io-client-v2');

function within(promise, ms, what) {
  let timer;
  const t = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
  });
  return Promise.race([promise, t]).finally(() => clearTimeout(timer));
}

const once = (s, ev, ms = 2000) => within(new Promise((r) => s.once(ev, (...a) => r(a))), ms, ev);

describe('socket.io', () => {
  let srv;
  const clients = [];
  before(async () => { srv = await startServer('sio-fixture', ['sio']); });
  after(async () => {
    for (const c of clients) c.close?.() ?? c.disconnect?.();
    const r = await srv.stop();
    assert.equal(r.code, 0, r.stderr);
  });

  function connect(nsp = '/', opts = {}) {
    const s = io(`${srv.url}${nsp}`, { forceNew: true, reconnection: false, ...opts });
    clients.push(s);
    return s;
  }

  const shapes = [
    [],
    ['héllo 😀', ''],
    [0, -1, 0.1, 1e21, 1.5e-7, 2 ** 53],
    [null, true, false],
    [{ a: [1, { b: [] }, {}], 'k\u2028': 'line\u2028sep', ctl: '\u0001\n"\\' }],
  ];

  for (const transports of [['polling'], ['websocket'], ['polling', 'websocket']]) {
    test(`${transports.join('+')}: auth, message-back, acks both ways, binary`, async () => {
      const s = connect('/', { transports, auth: { token: 'abc', n: 1 } });
      const [auth] = await once(s, 'auth');
      assert.deepEqual(auth, { token: 'abc', n: 1 });
      assert.equal(s.id.length, 20);
      for (const args of shapes) {
        const back = once(s, 'message-back');
        s.emit('message', ...args);
        assert.deepEqual(await back, args);
      }
      // Binary at the top level and nested, several attachments, an empty one.
      const bin = Buffer.from([0, 1, 2, 255]);
      const back = once(s, 'message-back');
      s.emit('message', bin, { deep: [{ x: Buffer.alloc(0) }, Buffer.from('xyz')] }, 'end');
      const got = await back;
      assert.ok(Buffer.from(got[0]).equals(bin));
      assert.equal(Buffer.from(got[1].deep[0].x).length, 0);
      assert.equal(Buffer.from(got[1].deep[1]).toString(), 'xyz');
      assert.equal(got[2], 'end');
      // Client → server ack.
      assert.deepEqual(await s.timeout(1000).emitWithAck('message-with-ack', 'a', 2, { b: bin }),
        'a');
      const all = await new Promise((r) => s.emit('message-with-ack', 'a', 2, (...a) => r(a)));
      assert.deepEqual(all, ['a', 2]);
      // Server → client ack, answered: the server emits what we answered.
      let acked = 0;
      s.once('emit-with-ack', (x, y, cb) => { acked++; cb('answer', y + 1); });
      const second = within(new Promise((r) => s.on('emit-with-ack', (...a) => {
        if (typeof a[a.length - 1] !== 'function') r(a);
      })), 2000, 'second emit-with-ack');
      s.emit('emit-with-ack', 'q', 7);
      assert.deepEqual(await second, ['answer', 8]);
      assert.equal(acked, 1);
      s.off('emit-with-ack');
      // Not answered: after the 200 ms timeout nothing more comes.
      let extra = 0;
      s.on('emit-with-ack', (...a) => { if (typeof a[a.length - 1] !== 'function') extra++; });
      s.emit('emit-with-ack', 'silent');
      await sleep(400);
      assert.equal(extra, 0);
      if (transports.length === 2) assert.equal(s.io.engine.transport.name, 'websocket');
      s.disconnect();
    });
  }

  test('two namespaces multiplexed on one connection; invalid namespace', async () => {
    const a = connect('/', { transports: ['websocket'] });
    const aAuth = once(a, 'auth');
    const b = a.io.socket('/custom');
    const bAuth = once(b, 'auth');
    b.connect();
    clients.push(b);
    assert.deepEqual((await aAuth)[0], {});
    assert.deepEqual((await bAuth)[0], {});
    assert.equal(a.io, b.io, 'one manager, one Engine.IO session');
    const [r1, r2] = await Promise.all([a.emitWithAck('message-with-ack', 'to-a'),
      b.emitWithAck('message-with-ack', 'to-b')]);
    assert.deepEqual([r1, r2], ['to-a', 'to-b']);
    const bad = connect('/nope', { transports: ['websocket'] });
    const [err] = await once(bad, 'connect_error');
    assert.equal(err.message, 'Invalid namespace');
    b.disconnect();
    await sleep(100);
    assert.match(srv.stderr(), /sio: disconnect \/custom \S+ \(client namespace disconnect\)/);
    // The other namespace on the same connection lives on.
    assert.equal(await a.emitWithAck('message-with-ack', 'still'), 'still');
    a.disconnect();
  });

  test('socket.io-client 2 over EIO3: query as auth, events, acks, binary', async () => {
    const s = io2(`${srv.url}/custom?token=abc`, { forceNew: true, reconnection: false });
    clients.push(s);
    const [auth] = await once(s, 'auth');
    assert.deepEqual(auth, { token: 'abc' });
    assert.match(s.id, /^\/custom#/);
    const back = once(s, 'message-back');
    s.emit('message', 'x', Buffer.from([1, 2]), { n: 1 });
    const got = await back;
    assert.equal(got[0], 'x');
    assert.ok(Buffer.from(got[1]).equals(Buffer.from([1, 2])));
    assert.deepEqual(got[2], { n: 1 });
    const ack = await within(new Promise((r) => s.emit('message-with-ack', 'y', 3, (...a) => r(a))),
      2000, 'v2 ack');
    assert.deepEqual(ack, ['y', 3]);
    s.close();
  });

  // A raw WebSocket client that answers pings and sends what it is told.
  function raw() {
    const ws = new WebSocket(`ws://127.0.0.1:${srv.port}/socket.io/?EIO=4&transport=websocket`);
    const got = [];
    ws.on('message', (d, isBinary) => {
      const s = isBinary ? d : d.toString();
      if (s === '2') ws.send('3');
      else got.push(s);
    });
    const closed = new Promise((r) => ws.on('close', (code) => r(code)));
    const opened = new Promise((r) => ws.on('open', r));
    return { ws, got, closed, opened };
  }

  test('malformed or unexpected packets close only their own connection', async () => {
    const good = connect('/', { transports: ['websocket'] });
    await once(good, 'auth');
    for (const bad of ['42{}', '42abc', '4abc', '42["disconnect"]', '42/custom,["x"]', '43',
      '451-["x",{"_placeholder":true,"num":1}]', '4{"no":"type"}']) {
      const c = raw();
      await c.opened;
      c.ws.send('40');
      await within((async () => { while (!c.got.some((m) => m.startsWith('40'))) await sleep(10); })(),
        2000, 'CONNECT reply');
      const reply = JSON.parse(c.got.find((m) => m.startsWith('40')).slice(2));
      assert.equal(reply.sid.length, 20);
      c.ws.send(bad);
      assert.ok(await within(c.closed, 2000, `close after ${bad}`), bad);
    }
    assert.equal(await good.emitWithAck('message-with-ack', 'alive'), 'alive');
    good.disconnect();
  });

  test('connectTimeout closes a client that joins no namespace', async () => {
    const c = raw();
    await c.opened;
    const t0 = Date.now();
    await within(c.closed, 3000, 'close');
    const ms = Date.now() - t0;
    assert.ok(ms >= 900 && ms < 2000, `closed after ${ms} ms`);
  });

  test('the first packet must be a CONNECT; a CONNECT error reply for unknown namespaces', async () => {
    const c = raw();
    await c.opened;
    c.ws.send('40/nope,');
    await within((async () => { while (!c.got.length || c.got[c.got.length - 1][0] !== '4' || !c.got.some((m) => m.startsWith('44'))) await sleep(10); })(), 2000, 'CONNECT_ERROR');
    assert.ok(c.got.includes('44/nope,{"message":"Invalid namespace"}'), JSON.stringify(c.got));
    c.ws.close();
  });

  test('middleware: asynchronous refusal with data, and acceptance', async () => {
    const no = connect('/private', { transports: ['websocket'], auth: { token: 'wrong' } });
    const [err] = await once(no, 'connect_error');
    assert.equal(err.message, 'unauthorized');
    assert.deepEqual(err.data, { code: 401 });
    const yes = connect('/private', { transports: ['websocket'], auth: { token: 'secret' } });
    assert.deepEqual((await once(yes, 'auth'))[0], { token: 'secret' });
    assert.equal(await yes.emitWithAck('message-with-ack', 'in'), 'in');
    yes.disconnect();
  });

  test('dynamic namespaces by pattern', async () => {
    const s = connect('/dyn-42', { transports: ['websocket'] });
    await once(s, 'auth');
    assert.equal(await s.emitWithAck('message-with-ack', 'dyn'), 'dyn');
    const bad = connect('/dyn-x', { transports: ['websocket'] });
    assert.equal((await once(bad, 'connect_error'))[0].message, 'Invalid namespace');
    s.disconnect();
  });

  test('broadcast with acks: answers collected, timeout reported with what came', async () => {
    const a = connect('/custom', { transports: ['websocket'] });
    const b = connect('/custom', { transports: ['polling'] });
    const c = connect('/custom', { transports: ['websocket'] });
    await Promise.all([once(a, 'auth'), once(b, 'auth'), once(c, 'auth')]);
    a.on('ping-all', (cb) => cb('a'));
    b.on('ping-all', (cb) => cb('b'));
    c.on('ping-all', (cb) => cb('c'));
    const all = await a.timeout(2000).emitWithAck('broadcast-with-ack');
    assert.equal(all.err, null);
    assert.deepEqual(all.answers.sort(), ['a', 'b', 'c']);
    c.off('ping-all');
    c.on('ping-all', () => {}); /* never answers */
    const t0 = Date.now();
    const some = await a.timeout(2000).emitWithAck('broadcast-with-ack');
    assert.equal(some.err, 'ETIMEDOUT');
    assert.deepEqual(some.answers.sort(), ['a', 'b']);
    assert.ok(Date.now() - t0 >= 150, 'waited for the timeout');
    for (const s of [a, b, c]) s.disconnect();
  });

  test('serveClient: the browser bundle with its ETag', async () => {
    const r = await fetch(`${srv.url}/socket.io/socket.io.min.js`);
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type'), /^application\/javascript/);
    const etag = r.headers.get('etag');
    assert.equal(etag, `"${require('socket.io-client/package.json').version}"`);
    assert.ok((await r.text()).length > 10000);
    const again = await fetch(`${srv.url}/socket.io/socket.io.min.js`, { headers: { 'if-none-match': etag } });
    assert.equal(again.status, 304);
  });
});

describe('socket.io: rooms and broadcasts (sio-fixture bench)', () => {
  let srv;
  before(async () => { srv = await startServer('sio-fixture', ['bench']); });
  after(async () => {
    const r = await srv.stop();
    assert.equal(r.code, 0, r.stderr);
  });

  test('broadcast excludes the sender; to-room reaches exactly the room, each socket once', async () => {
    const socks = [];
    for (let i = 0; i < 6; i++) {
      const s = io(srv.url, { forceNew: true, reconnection: false,
        transports: i % 2 ? ['websocket'] : ['polling'] });
      socks.push(s);
    }
    await Promise.all(socks.map((s) => once(s, 'connect')));
    // Rooms: 0,1,2 in "a"; 2,3 in "b"; 4,5 in none.
    for (const [i, room] of [[0, 'a'], [1, 'a'], [2, 'a'], [2, 'b'], [3, 'b']]) socks[i].emit('join', room);
    await sleep(150);
    const seen = socks.map(() => []);
    socks.forEach((s, i) => {
      s.on('broadcast', (p) => seen[i].push(`bc:${p}`));
      s.on('to-room', (p) => seen[i].push(`room:${p.n}`));
    });
    socks[0].emit('broadcast', 'hi');
    socks[5].emit('to-room', 'a', { n: 1 });
    socks[5].emit('to-room', 'b', { n: 2 });
    socks[5].emit('to-room', 'nobody', { n: 3 });
    await sleep(300);
    assert.deepEqual(seen.map((l) => l.sort()), [
      ['room:1'],
      ['bc:hi', 'room:1'],
      ['bc:hi', 'room:1', 'room:2'],
      ['bc:hi', 'room:2'],
      ['bc:hi'],
      ['bc:hi'],
    ]);
    // A socket that left is no longer reached.
    socks[1].disconnect();
    await sleep(100);
    socks[5].emit('to-room', 'a', { n: 4 });
    await sleep(200);
    assert.deepEqual(seen[0].slice(-1), ['room:4']);
    assert.ok(!seen[1].includes('room:4'));
    for (const s of socks) s.disconnect();
  });

  test('one broadcast with binary reaches v2 (EIO3) and v4 clients on every transport', async () => {
    const rx = [
      io2(srv.url, { forceNew: true, reconnection: false, transports: ['websocket'] }),
      io2(srv.url, { forceNew: true, reconnection: false, transports: ['polling'] }),
      io(srv.url, { forceNew: true, reconnection: false, transports: ['websocket'] }),
      io(srv.url, { forceNew: true, reconnection: false, transports: ['polling'] }),
    ];
    const tx = io(srv.url, { forceNew: true, reconnection: false, transports: ['websocket'] });
    await Promise.all([...rx, tx].map((s) => once(s, 'connect')));
    const got = Promise.all(rx.map((c) => once(c, 'broadcast')));
    tx.emit('broadcast', { t: 'é😀', b: Buffer.from([4, 5, 6]), nested: [Buffer.alloc(0)] });
    for (const [p] of await got) {
      assert.equal(p.t, 'é😀');
      assert.equal(Buffer.from(p.b).toString('hex'), '040506');
      assert.equal(Buffer.from(p.nested[0]).length, 0);
    }
    for (const s of [...rx, tx]) s.close?.() ?? s.disconnect();
  });

  test('echo and echo-ack with binary', async () => {
    const s = io(srv.url, { forceNew: true, reconnection: false, transports: ['websocket'] });
    await once(s, 'connect');
    const back = once(s, 'echo');
    s.emit('echo', 'x', Buffer.from([7]));
    const got = await back;
    assert.equal(got[0], 'x');
    assert.ok(Buffer.from(got[1]).equals(Buffer.from([7])));
    assert.equal(await s.emitWithAck('echo-ack', { k: 'v' }).then((r) => r.k), 'v');
    s.disconnect();
  });
});

describe('socket.io: recovery and shutdown', () => {
  test('connection state recovery after a dropped transport', async () => {
    const srv = await startServer('sio-fixture', ['sio', '--recovery', '5000']);
    try {
      const s = io(srv.url, { transports: ['websocket'], reconnectionDelay: 50, reconnectionDelayMax: 50 });
      await once(s, 'connect');
      const id = s.id;
      assert.equal(s.recovered, false);
      const back = once(s, 'message-back');
      s.emit('message', 'one');
      const got = await back;
      assert.equal(got[0], 'one');
      assert.equal(typeof got[1], 'string', 'the offset is the last argument');
      s.io.engine.transport.ws._socket.destroy();
      const [reason] = await once(s, 'disconnect');
      assert.equal(reason, 'transport close');
      await once(s, 'connect', 3000);
      assert.equal(s.id, id);
      assert.equal(s.recovered, true);
      s.disconnect();
    } finally {
      const r = await srv.stop();
      assert.equal(r.code, 0, r.stderr);
    }
  });

  test('SIGTERM: clients are told, the process exits 0', async () => {
    const srv = await startServer('sio-fixture', ['sio']);
    const s = io(srv.url, { transports: ['websocket'], reconnection: false });
    await once(s, 'connect');
    const reason = once(s, 'disconnect', 5000);
    const stop = srv.stop();
    assert.equal((await reason)[0], 'transport close');
    const r = await stop;
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /\(server shutting down\)/);
  });
});
