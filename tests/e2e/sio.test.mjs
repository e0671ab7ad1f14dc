// The Socket.IO layer end to end: `sio-fixture sio` (DESIGN.md: pingInterval 300 ms,
// pingTimeout 200 ms, connectTimeout 1000 ms, namespaces / and /custom with the same
// handlers) and `sio-fixture bench`, with the official socket.io-client 4 (protocol v5 over
// EIO=4) and socket.io-client 2 (protocol v4 over EIO=3), and with raw WebSocket frames and
// polling requests for what the clients never send.
//
// SIO_SERVER=node runs the same cases against Node's socket.io (lib/node-sio-fixture.mjs),
// the reference every assertion here was checked against. Where the fixture contract and
// socket.io differ on purpose (server→client ack ids: per socket from 1 in the contract,
// per namespace from 0 in socket.io), only libsio is held to the contract.
import { describe, test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import zlib from 'node:zlib';
import { createRequire } from 'node:module';
import { io, Manager } from 'socket.io-client';
import WebSocket from 'ws';
import { startServer, request, sleep, within, until, inbox, rawWebSocket } from './lib/harness.mjs';

const require = createRequire(import.meta.url);
const io2 = require('socket.io-client-v2');

const reference = process.env.SIO_SERVER === 'node';
const ORIGIN = 'http://app.example';
const ID = /^[A-Za-z0-9_-]{20}$/;

function startSio(mode = 'sio', args = []) {
  if (reference) {
    return startServer('node-sio-fixture', [mode, ...args], {
      command: [process.execPath, 'tests/e2e/lib/node-sio-fixture.mjs'],
    });
  }
  return startServer('sio-fixture', [mode, ...args]);
}

// ---- helpers ----

// The arguments of the next `event` on a client socket.
const once = (s, event, ms = 2000) => within(new Promise((r) => s.once(event, (...a) => r(a))), ms, event);
const events = (s, event) => inbox(s, event, (...a) => a);
// A binary argument as a Buffer; it must have arrived as binary, not as JSON that looks like one.
function bin(x) {
  assert.ok(Buffer.isBuffer(x) || x instanceof ArrayBuffer || ArrayBuffer.isView(x),
    `binary expected, got ${JSON.stringify(x)}`);
  return Buffer.from(x);
}
const bytes = (b) => bin(b).toString('hex');
const escapeRe = (s) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

let srv;
const closers = [];
const track = (c) => { closers.push(c); return c; };
function closeAll() {
  for (const c of closers.splice(0)) {
    try {
      if (c instanceof WebSocket) c.terminate();
      else if (c instanceof Manager) c._close();
      else if (typeof c.close === 'function') c.close();
    } catch { /* already gone */ }
  }
}

// After each test: whatever a failed test left open is closed, and the server has a moment
// to see it, so one failure does not leak into the next test.
async function settle() {
  if (!closers.length) return;
  closeAll();
  await sleep(50);
}

// socket.io-client 4 and 2, never reconnecting, each on its own connection unless given a
// manager.
const client = (nsp = '/', opts = {}) => track(io(`${srv.url}${nsp}`, { forceNew: true, reconnection: false, ...opts }));
const client2 = (nsp = '/', opts = {}) => track(io2(`${srv.url}${nsp}`, { forceNew: true, reconnection: false, ...opts }));

// The server's log: `sio: connect <nsp> <id>`, `sio: disconnect <nsp> <id> (<reason>)`.
const logLines = (server = srv) => server.stderr().split('\n');
const connectLogged = (nsp, id, server = srv) => until(
  () => logLines(server).includes(`sio: connect ${nsp} ${id}`), 2000, `log line "sio: connect ${nsp} ${id}"`);
async function disconnectReason(id, server = srv, ms = 2000) {
  const re = new RegExp(`^sio: disconnect \\S+ ${escapeRe(id)} \\((.*)\\)$`);
  const m = await until(() => logLines(server).map((l) => l.match(re)).find(Boolean), ms,
    `a disconnect line for ${id}`);
  return m[1];
}

// A raw WebSocket to /socket.io/; ws.next() yields text packets as strings and binary ones
// as Buffers, in arrival order. v4: the server's pings are answered and not queued; v3: the
// client pings every 250 ms (with keepAlive) and the pongs are not queued.
function rawWs({ eio = 4, autoPong = true, keepAlive = true } = {}) {
  return within(new Promise((resolve, reject) => {
    const ws = track(new WebSocket(`ws://127.0.0.1:${srv.port}/socket.io/?EIO=${eio}&transport=websocket`,
      { perMessageDeflate: false, maxPayload: 64 << 20 }));
    ws.next = inbox(ws, 'packet');
    ws.on('message', (data, isBinary) => {
      const text = isBinary ? null : data.toString();
      if (process.env.SIO_E2E_TRACE) console.log('<<', isBinary ? data : text);
      if (eio === 4 && autoPong && text === '2') ws.send('3');
      else if (!(eio === 3 && keepAlive && text === '3')) ws.emit('packet', isBinary ? data : text);
    });
    const t0 = Date.now();
    ws.closed = new Promise((r) => ws.once('close', (code) => r({ code, ms: Date.now() - t0 })));
    ws.isOpen = () => ws.readyState === WebSocket.OPEN;
    ws.once('open', () => {
      if (eio === 3 && keepAlive) {
        const timer = setInterval(() => { if (ws.isOpen()) ws.send('2'); }, 250);
        ws.once('close', () => clearInterval(timer));
      }
      resolve(ws);
    });
    ws.once('error', reject);
  }), 3000, 'raw websocket');
}

// A raw EIO=4 WebSocket past its open packet; ws.sid is the Engine.IO session id.
async function rawSession(opts) {
  const ws = await rawWs(opts);
  const open = await ws.next();
  assert.match(open, /^0\{/);
  ws.sid = JSON.parse(open.slice(1)).sid;
  return ws;
}

// CONNECT to nsp on a raw v4 connection; checks the reply and the "auth" event that
// follows it, resolves with the socket id.
async function join(ws, nsp = '/', auth) {
  const prefix = nsp === '/' ? '' : `${nsp},`;
  ws.send(`40${prefix}${auth === undefined ? '' : JSON.stringify(auth)}`);
  const reply = await ws.next();
  assert.match(reply, new RegExp(`^40${escapeRe(prefix)}\\{"sid":"[A-Za-z0-9_-]{20}"\\}$`), `CONNECT reply for ${nsp}`);
  const id = JSON.parse(reply.slice(2 + prefix.length)).sid;
  assert.equal(await ws.next(), `42${prefix}["auth",${JSON.stringify(auth ?? {})}]`);
  return id;
}

// A raw v4 connection joined to "/": {ws, id}.
async function joined() {
  const ws = await rawSession();
  return { ws, id: await join(ws) };
}

// Nothing arrives for ms and the connection stays open.
async function quiet(ws, ms, what) {
  await sleep(ms);
  assert.deepEqual(ws.next.drain().map(String), [], `${what}: nothing should arrive`);
  assert.ok(ws.isOpen(), `${what}: the connection should stay open`);
}

// ---- raw polling ----

const pollUrl = (sid, eio = 4) => `${srv.url}/socket.io/?EIO=${eio}&transport=polling${sid ? `&sid=${sid}` : ''}`;
const timedRequest = (url, opts = {}, ms = 3000) => within(request(url, opts), ms, `${opts.method || 'GET'} ${url}`);
const post = (sid, body) => timedRequest(pollUrl(sid), { method: 'POST', body, headers: { 'content-type': 'text/plain;charset=UTF-8' } });

// The packets of the next GET that are not pings (pings are answered), within 3 s.
async function pollPackets(sid) {
  const end = Date.now() + 3000;
  for (;;) {
    if (Date.now() > end) throw new Error(`timed out after 3000 ms: packets other than pings on ${sid}`);
    const res = await timedRequest(pollUrl(sid));
    assert.equal(res.status, 200, res.body.toString());
    const packets = res.body.toString().split('\x1e');
    const rest = packets.filter((p) => p !== '2');
    if (rest.length < packets.length) await post(sid, '3');
    if (rest.length) return rest;
  }
}

// At least n packets, over as many GETs as it takes.
async function pollAtLeast(sid, n) {
  const got = [];
  while (got.length < n) got.push(...await pollPackets(sid));
  return got;
}

// ---- the sio fixture ----

describe('socket.io (sio-fixture sio)', { concurrency: false }, () => {
  before(async () => { srv = await startSio('sio'); });
  afterEach(settle);
  after(async () => {
    closeAll();
    const r = await srv?.stop();
    if (r) assert.equal(r.code, 0, r.stderr);
  });

  const shapes = [
    [],
    ['héllo wörld', '', 'astral 😀 𝄞', 'line\u2028sep', '\u0000\u0001\n"\\/'],
    [0, -1, 0.1, 1e21, 1.5e-7, 2 ** 53, -0.5, 123456.789, Number.MAX_VALUE],
    [null],
    [true, false],
    [{ a: [1, { b: [] }, {}], 'k\u2028é': 'v', n: null, t: true }, [[[[[['deep']]]]]], []],
    ['x'.repeat(300000)],
  ];

  for (const transports of [['polling'], ['websocket'], ['polling', 'websocket']]) {
    test(`socket.io-client 4, ${transports.join('+')}: auth, argument shapes, binary, acks both ways`, async () => {
      const auth = { token: 'abc', n: 1, nested: { é: ['😀', null] } };
      const s = client('/', { transports, auth });
      const authed = once(s, 'auth');
      await once(s, 'connect');
      assert.deepEqual((await authed)[0], auth);
      assert.match(s.id, ID);
      assert.notEqual(s.id, s.io.engine.id, 'the socket id is not the Engine.IO id');
      await connectLogged('/', s.id);
      // socket.handshake: plain HTTP, the session's first request.
      const hs = await s.timeout(5000).emitWithAck('handshake');
      assert.equal(hs.secure, false);
      assert.equal(hs.address, '127.0.0.1');
      assert.match(hs.url, transports[0] === 'polling' ? /^\/socket\.io\/\?EIO=4&transport=polling&t=/ : /^\/socket\.io\/\?EIO=4&transport=websocket/);
      assert.equal(hs.transport, transports.length === 1 ? transports[0] : hs.transport);

      const back = events(s, 'message-back');
      for (const args of shapes) {
        s.emit('message', ...args);
        assert.deepEqual(await back(), args, `message-back of ${JSON.stringify(args).slice(0, 60)}`);
      }

      // Binary: at the top level, nested deep, several attachments, an empty one.
      const a = Buffer.from([0, 1, 2, 255]);
      const big = crypto.randomBytes(100000);
      s.emit('message', a, { deep: [{ x: Buffer.alloc(0) }, [[{ y: big }]]], s: 'é' }, 'end', Buffer.from('xyz'));
      const got = await back();
      assert.equal(got.length, 4);
      assert.equal(bytes(got[0]), bytes(a));
      assert.equal(bin(got[1].deep[0].x).length, 0);
      assert.ok(bin(got[1].deep[1][0][0].y).equals(big));
      assert.equal(got[1].s, 'é');
      assert.equal(got[2], 'end');
      assert.equal(bin(got[3]).toString(), 'xyz');

      // Client → server acks, with the arguments and with binary in them.
      const acked = await within(new Promise((r) => s.emit('message-with-ack', 'a', 2, { b: a }, (...x) => r(x))),
        2000, 'message-with-ack');
      assert.equal(acked.length, 3);
      assert.deepEqual(acked.slice(0, 2), ['a', 2]);
      assert.equal(bytes(acked[2].b), bytes(a));
      assert.deepEqual(await s.timeout(2000).emitWithAck('message-with-ack'), undefined);

      // Server → client ack, answered (with binary): the server emits what we answered.
      const ewa = events(s, 'emit-with-ack');
      s.emit('emit-with-ack', 'q', 7, { z: [a] });
      const asked = await ewa();
      assert.equal(asked.length, 4, 'the server asks for an ack');
      assert.deepEqual(asked.slice(0, 2), ['q', 7]);
      assert.equal(bytes(asked[2].z[0]), bytes(a));
      assert.equal(typeof asked[3], 'function');
      asked[3]('answer', { bin: Buffer.from([9]) }, null);
      const answered = await ewa();
      assert.equal(answered.length, 3, 'the second emit carries no ack');
      assert.equal(answered[0], 'answer');
      assert.equal(bytes(answered[1].bin), '09');
      assert.equal(answered[2], null);

      // Not answered: after the 200 ms timeout nothing more comes.
      s.emit('emit-with-ack', 'silent');
      const silent = await ewa();
      assert.equal(silent[0], 'silent');
      await sleep(450);
      assert.equal(ewa.pending(), 0, 'no emit after an unanswered ack');
      assert.equal(back.pending(), 0);
      assert.ok(s.connected, 'still connected across pings');
      assert.equal(s.io.engine.transport.name, transports.length === 2 ? 'websocket' : transports[0]);

      const { id } = s;
      const reason = once(s, 'disconnect');
      s.disconnect();
      assert.equal((await reason)[0], 'io client disconnect');
      assert.equal(await disconnectReason(id), 'client namespace disconnect');
    });
  }

  test('auth: {} without a CONNECT payload, the payload when given, on "/" and "/custom"', async () => {
    const cases = [
      ['/', undefined, {}],
      ['/custom', undefined, {}],
      ['/custom', { a: [1, { b: null }], 'é': '😀' }, { a: [1, { b: null }], 'é': '😀' }],
      ['/', (cb) => cb({ fromFunction: true }), { fromFunction: true }],
    ];
    for (const [nsp, auth, expected] of cases) {
      for (const transports of [['websocket'], ['polling']]) {
        const s = client(nsp, { transports, ...(auth !== undefined && { auth }) });
        const [got] = await once(s, 'auth');
        assert.deepEqual(got, expected, `${nsp} ${JSON.stringify(auth)} over ${transports}`);
        await connectLogged(nsp, s.id);
        s.disconnect();
      }
    }
  });

  test('raw CONNECT over WebSocket: reply with a socket id, auth, namespace prefixes', async () => {
    const ws = await rawSession();
    assert.match(ws.sid, ID);
    const root = await join(ws);
    assert.notEqual(root, ws.sid, 'the socket id is not the Engine.IO id');
    const custom = await join(ws, '/custom', { token: 'é', list: [1, 2] });
    assert.notEqual(custom, root);
    await connectLogged('/', root);
    await connectLogged('/custom', custom);
    ws.send('42/custom,["message",1,"a"]');
    assert.equal(await ws.next(), '42/custom,["message-back",1,"a"]');
    ws.send('42["message",2]');
    assert.equal(await ws.next(), '42["message-back",2]');
    ws.send('4217["message-with-ack",{"x":[]}]');
    assert.equal(await ws.next(), '4317[{"x":[]}]');
    ws.send('42/custom,3["message-with-ack"]');
    assert.equal(await ws.next(), '43/custom,3[]');
    // An empty object as the CONNECT payload is the same as none.
    const other = await rawSession();
    await join(other, '/custom', {});
    ws.close();
    other.close();
  });

  test('raw polling: CONNECT, auth and binary in one session; CORS reflected with credentials', async () => {
    const hs = await timedRequest(pollUrl(), { headers: { origin: ORIGIN } });
    assert.equal(hs.status, 200);
    assert.equal(hs.headers['access-control-allow-origin'], ORIGIN);
    assert.equal(hs.headers['access-control-allow-credentials'], 'true');
    const open = JSON.parse(hs.body.toString().slice(1));
    assert.deepEqual({ ...open, sid: 'x' }, {
      sid: 'x', upgrades: ['websocket'], pingInterval: 300, pingTimeout: 200, maxPayload: 1000000,
    });
    const { sid } = open;
    assert.equal((await post(sid, '40{"token":"x"}')).body.toString(), 'ok');
    const [reply, auth] = await pollAtLeast(sid, 2);
    assert.match(reply, /^40\{"sid":"[A-Za-z0-9_-]{20}"\}$/);
    assert.equal(auth, '42["auth",{"token":"x"}]');
    // A binary event: the attachment as a "b" packet in the same payload.
    await post(sid, '451-["message",{"_placeholder":true,"num":0},"é"]\x1ebAQID');
    assert.deepEqual(await pollAtLeast(sid, 2), ['451-["message-back",{"_placeholder":true,"num":0},"é"]', 'bAQID']);
    await post(sid, '427["message-with-ack","a"]\x1e42["message","b"]');
    assert.deepEqual(await pollAtLeast(sid, 2), ['437["a"]', '42["message-back","b"]']);
    // Preflight.
    const pre = await timedRequest(pollUrl(sid), {
      method: 'OPTIONS',
      headers: { origin: ORIGIN, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
    });
    assert.equal(pre.status, 204);
    assert.equal(pre.headers['access-control-allow-origin'], ORIGIN);
    assert.equal(pre.headers['access-control-allow-credentials'], 'true');
    assert.match(pre.headers['access-control-allow-methods'], /POST/);
    await post(sid, '1');
  });

  test('JSON arguments come back re-encoded exactly as socket.io does (JSON.parse, JSON.stringify)', async () => {
    const cases = [
      '1.0,1E2,-0,0.1,1e21,3.5e3',
      '1e400', '-1e400',
      '12345678901234567890', '9007199254740993',
      '5e-324,1.7976931348623157e308,123456789.123456789,100000000000000000000,1e-7,0.000001',
      '{"b":1,"2":0,"a":1,"1":0,"01":2,"-1":3,"4294967294":4,"4294967295":5}',
      '{"a":1,"a":2}', '{"__proto__":{"x":1}}',
      '{"_placeholder":true,"num":0}',
      '"\\u2028\\u2029"', '"\\ud800"', '"\\udc00x\\ud83d\\ude00"', '"\\u0000"',
      '"\\u007f\\u001f\\u0008\\u000c\\t\\r\\n\\"\\\\"', '"\\/"', '"😀 é"', '"\\u00e9\\uD83D\\uDE00"',
      'true,false,null,[],{}', ' 1 , [ ] ',
      '1.7976931348623159e308,123456789012345678901234567890,-9007199254740993,2.4703282292062328e-324',
      '{"10":1,"9":2,"0":3,"00":4,"":5,"a":{"2":[{"1":1,"0":0}]}}', '{"\\u0000":1,"\\ud800":2}',
      '"\\ud800\\ud800\\udc00"', '"\\ude00\\ud83d"', '"a\\ud800b\\u2028"',
    ];
    const packets = cases.map((c) => `42["message",${c}]`);
    packets.push('42  ["message"]', '42["message"]\n');
    const expected = (p) => `42${JSON.stringify(['message-back', ...JSON.parse(p.slice(2)).slice(1)])}`;
    const results = await Promise.all(packets.map(async (p) => {
      const { ws } = await joined();
      ws.send(p);
      const got = await Promise.race([ws.next(1000).catch(() => null), ws.closed.then(() => 'closed')]);
      ws.close();
      return { sent: p, expected: expected(p), got };
    }));
    assert.deepEqual(results.filter((r) => r.got !== r.expected), []);
  });

  test('binary on the wire: placeholders renumbered in order, attachments right after, BINARY_ACK', async () => {
    const { ws } = await joined();
    const [A, B, C] = [Buffer.from([1, 2]), Buffer.alloc(0), Buffer.from([3, 4, 5])];
    ws.send('453-["message",{"_placeholder":true,"num":2},{"a":[{"_placeholder":true,"num":0}]},'
      + '{"_placeholder":true,"num":1},"t"]');
    for (const b of [A, B, C]) ws.send(b);
    assert.equal(await ws.next(), '453-["message-back",{"_placeholder":true,"num":0},'
      + '{"a":[{"_placeholder":true,"num":1}]},{"_placeholder":true,"num":2},"t"]');
    assert.deepEqual([bytes(await ws.next()), bytes(await ws.next()), bytes(await ws.next())],
      [bytes(C), bytes(A), bytes(B)]);
    // An ack with binary.
    ws.send('451-5["message-with-ack",{"_placeholder":true,"num":0},2]');
    ws.send(A);
    assert.equal(await ws.next(), '461-5[{"_placeholder":true,"num":0},2]');
    assert.equal(bytes(await ws.next()), bytes(A));
    // In another namespace.
    await join(ws, '/custom');
    ws.send('451-/custom,["message",[{"_placeholder":true,"num":0}]]');
    ws.send(C);
    assert.equal(await ws.next(), '451-/custom,["message-back",[{"_placeholder":true,"num":0}]]');
    assert.equal(bytes(await ws.next()), bytes(C));
    // The client answers a server ack with binary: the server emits it back.
    ws.send('42["emit-with-ack","q"]');
    const asked = await ws.next();
    const m = asked.match(/^42(\d+)\["emit-with-ack","q"\]$/);
    assert.ok(m, asked);
    ws.send(`461-${m[1]}[{"_placeholder":true,"num":0},"x"]`);
    ws.send(B);
    assert.equal(await ws.next(), '451-["emit-with-ack",{"_placeholder":true,"num":0},"x"]');
    assert.equal(bytes(await ws.next()), bytes(B));
    ws.close();
  });

  test('server → client acks: ids per socket from 1; late, repeated and unknown answers are ignored', async () => {
    const ws = await rawSession();
    await join(ws);
    await join(ws, '/custom');
    const ask = async (prefix, arg) => {
      ws.send(`42${prefix}["emit-with-ack",${JSON.stringify(arg)}]`);
      const text = await ws.next();
      const m = text.match(new RegExp(`^42${escapeRe(prefix)}(\\d+)\\["emit-with-ack",${escapeRe(JSON.stringify(arg))}\\]$`));
      assert.ok(m, `an EVENT with an ack id: ${text}`);
      return Number(m[1]);
    };
    const first = await ask('', 'a');
    const custom = await ask('/custom,', 'b');
    const second = await ask('', 'c');
    assert.equal(second, first + 1);
    if (!reference) {
      // The fixture contract; socket.io counts per namespace from 0 (`nsp._ids++`).
      assert.equal(first, 1);
      assert.equal(custom, 1);
    }
    // Answered twice: one emit.
    ws.send(`43${second}["x"]`);
    ws.send(`43${second}["y"]`);
    assert.equal(await ws.next(), '42["emit-with-ack","x"]');
    // Answered in /custom.
    ws.send(`43/custom,${custom}[1,{"k":"v"}]`);
    assert.equal(await ws.next(), '42/custom,["emit-with-ack",1,{"k":"v"}]');
    // Answered after the 200 ms timeout, and an id never used: nothing.
    await sleep(300);
    ws.send(`43${first}["late"]`);
    ws.send('43999["unknown"]');
    await quiet(ws, 300, 'late and unknown ack answers');
    ws.send('429["message-with-ack","still"]');
    assert.equal(await ws.next(), '439["still"]');
    ws.close();
  });

  test('several sockets multiplexed on one Engine.IO session each, in both namespaces', async () => {
    const managers = [
      track(new Manager(srv.url, { reconnection: false, transports: ['websocket'] })),
      track(new Manager(srv.url, { reconnection: false, transports: ['polling'] })),
    ];
    const socks = managers.flatMap((m) => [m.socket('/'), m.socket('/custom', { auth: { which: 'custom' } })]);
    const auths = await Promise.all(socks.map((s) => once(s, 'auth')));
    assert.deepEqual(auths.map(([a]) => a), [{}, { which: 'custom' }, {}, { which: 'custom' }]);
    assert.equal(new Set(socks.map((s) => s.id)).size, 4);
    for (const [m, i] of [[managers[0], 0], [managers[1], 2]]) {
      assert.equal(socks[i].io, m);
      assert.equal(socks[i + 1].io, m, 'one manager, one Engine.IO session');
      await connectLogged('/', socks[i].id);
      await connectLogged('/custom', socks[i + 1].id);
    }
    // Interleaved traffic: each answer reaches its own socket only.
    const backs = socks.map((s) => events(s, 'message-back'));
    const acks = [];
    for (let k = 0; k < 20; k++) {
      socks.forEach((s, i) => {
        s.emit('message', i, k);
        acks.push(s.timeout(2000).emitWithAck('message-with-ack', `${i}:${k}`).then((r) => [r, `${i}:${k}`]));
      });
    }
    for (const [got, want] of await Promise.all(acks)) assert.equal(got, want);
    for (let i = 0; i < socks.length; i++) {
      for (let k = 0; k < 20; k++) assert.deepEqual(await backs[i](), [i, k]);
    }
    await sleep(50);
    assert.deepEqual(backs.map((b) => b.pending()), [0, 0, 0, 0], 'nothing crosses namespaces or sessions');
    // Leaving one namespace keeps the session and the other namespace.
    const engine = managers[0].engine;
    const left = socks[1].id;
    socks[1].disconnect();
    assert.equal(await disconnectReason(left), 'client namespace disconnect');
    assert.equal(await socks[0].timeout(2000).emitWithAck('message-with-ack', 'still'), 'still');
    assert.equal(managers[0].engine, engine);
    assert.equal(engine.readyState, 'open');
    for (const s of socks) s.disconnect();
  });

  test('raw: leaving the only namespace keeps the connection; joining again gives a new socket', async () => {
    const { ws, id } = await joined();
    ws.send('41');
    assert.equal(await disconnectReason(id), 'client namespace disconnect');
    await quiet(ws, 150, 'after a DISCONNECT');
    const again = await join(ws);
    assert.notEqual(again, id);
    ws.send('42["message"]');
    assert.equal(await ws.next(), '42["message-back"]');
    ws.close();
    assert.equal(await disconnectReason(again), 'transport close');
  });

  test('invalid namespace: connect_error for the client, CONNECT_ERROR on the wire, the connection lives', async () => {
    for (const transports of [['websocket'], ['polling']]) {
      const s = client('/nope', { transports });
      const [err] = await once(s, 'connect_error');
      assert.equal(err.message, 'Invalid namespace');
      assert.equal(err.data, undefined);
      assert.equal(s.connected, false);
    }
    const ws = await rawSession();
    ws.send('40/nope,');
    assert.equal(await ws.next(), '44/nope,{"message":"Invalid namespace"}');
    ws.send('40/nope,{"token":1}');
    assert.equal(await ws.next(), '44/nope,{"message":"Invalid namespace"}');
    await join(ws);
    ws.close();
  });

  test('connectTimeout: a session that joins no namespace within 1 s is closed', async () => {
    const t0 = Date.now();
    const noConnect = await rawSession();
    const invalidOnly = await rawSession();
    invalidOnly.send('40/nope,');
    const lateConnect = await rawSession();
    const eio3 = await rawWs({ eio: 3 });
    // Polling: the parked GET is answered with a close packet, then the session is gone.
    const polling = (async () => {
      const { sid } = JSON.parse((await timedRequest(pollUrl())).body.toString().slice(1));
      while (Date.now() - t0 < 3000) {
        const packets = (await timedRequest(pollUrl(sid))).body.toString().split('\x1e');
        if (packets.includes('2')) await post(sid, '3');
        if (packets.includes('1')) break;
      }
      const closedAt = Date.now() - t0;
      const after = await timedRequest(pollUrl(sid));
      return { closedAt, status: after.status, body: after.body.toString() };
    })();
    await sleep(700);
    await join(lateConnect);
    for (const [name, ws] of [['no CONNECT', noConnect], ['invalid namespace only', invalidOnly]]) {
      const { ms } = await within(ws.closed, 2500, `${name}: close`);
      assert.ok(ms >= 850 && ms < 1700, `${name}: closed after ${ms} ms`);
    }
    assert.equal(await invalidOnly.next(), '44/nope,{"message":"Invalid namespace"}');
    const p = await within(polling, 3000, 'polling session closed');
    assert.ok(p.closedAt >= 850 && p.closedAt < 1700, `polling: closed after ${p.closedAt} ms`);
    assert.equal(p.status, 400);
    assert.equal(p.body, '{"code":1,"message":"Session ID unknown"}');
    await sleep(Math.max(0, 1500 - (Date.now() - t0)));
    assert.ok(lateConnect.isOpen(), 'a CONNECT within the timeout keeps the session');
    assert.ok(eio3.isOpen(), 'EIO3 sessions are joined to "/" by the server');
    for (const ws of [lateConnect, eio3]) ws.close();
  });

  test('malformed packets and protocol violations close only their own connection', async () => {
    const healthy = [
      client('/', { transports: ['websocket'] }),
      client('/custom', { transports: ['polling'] }),
    ];
    await Promise.all(healthy.map((s) => once(s, 'connect')));
    const ids = healthy.map((s) => s.id);
    const cases = [
      ['42{}'], ['42abc'], ['4abc'], ['42[bad'], ['42["message"'], ['4{"no":"type"}'], ['4'], ['47'],
      ['42[]'], ['42"event"'], ['42[{}]'], ['42[null]'],
      ['42["disconnect"]'], ['42["connect"]'], ['42["connect_error"]'], ['42["disconnecting"]'],
      ['42["newListener"]'], ['42["removeListener"]'],
      // A namespace this connection has not joined.
      ['42/custom,["message"]'], ['43/custom,1[]'], ['41/custom,'],
      // CONNECT again, a CONNECT_ERROR from the client, DISCONNECT with a payload.
      ['40'], ['44{"message":"x"}'], ['41{}'],
      ['40/custom,[]'], ['40/custom,"x"'], ['43"x"'], ['43{}'],
      // Attachments: none, too many, an index out of range, binary without a packet, text
      // while attachments are expected.
      ['450-["message"]'], ['4511-["message"]'], ['45x-["message"]'], ['451["message"]'],
      ['451-["message",{"_placeholder":true,"num":1}]', Buffer.from([1])],
      [Buffer.from([1, 2])],
      ['451-["message",{"_placeholder":true,"num":0}]', '42["message"]'],
    ];
    const failures = [];
    const run = async (packets) => {
      const { ws } = await joined();
      for (const p of packets) ws.send(p);
      const closed = await Promise.race([ws.closed.then(() => true), sleep(1500).then(() => false)]);
      if (!closed) failures.push({ sent: packets.map(String), got: ws.next.drain().map(String), closed });
      ws.terminate();
    };
    const sent = [];
    for (let i = 0; i < cases.length; i += 12) {
      await Promise.all(cases.slice(i, i + 12).map(run));
      // The healthy clients keep working between the batches.
      for (const s of healthy) sent.push(s.timeout(2000).emitWithAck('message-with-ack', i));
    }
    assert.deepEqual(failures, []);
    assert.deepEqual(await Promise.all(sent), [0, 0, 12, 12, 24, 24]);
    assert.deepEqual(healthy.map((s) => s.connected), [true, true]);
    assert.deepEqual(healthy.map((s) => s.id), ids);
    for (const s of healthy) s.disconnect();
  });

  test('packets socket.io tolerates keep the connection', async () => {
    const cases = [
      '42[1,"numeric event name"]', // EVENT names may be numbers
      '42', // EVENT without a payload
      '43', // ACK without a payload
      '43999["x"]', // ACK for an id never used
      '42["no-such-event",1]',
      '42["message-with-ack"]', // no ack id: no ACK
    ];
    const failures = [];
    await Promise.all(cases.map(async (p) => {
      const { ws } = await joined();
      ws.send(p);
      await sleep(300);
      const got = ws.next.drain().map(String);
      ws.send('4211["message-with-ack","ok"]');
      const reply = ws.isOpen() ? await ws.next(1000).catch(() => null) : null;
      if (!ws.isOpen() || got.length || reply !== '4311["ok"]') failures.push({ sent: p, got, open: ws.isOpen(), reply });
      ws.close();
    }));
    assert.deepEqual(failures, []);
  });

  test('ack ids with white space, placeholders standing for undefined, answers without values', async () => {
    const { ws } = await joined();
    // socket.io-parser's id loop takes digits and JavaScript white space: Number(" ") is 0.
    ws.send('42 7 ["message-with-ack","a"]');
    assert.equal(await ws.next(), '437["a"]');
    ws.send('42\u00a0["message-with-ack","b"]');
    assert.equal(await ws.next(), '430["b"]');
    ws.send('42\t3\n["message-with-ack","c"]\r\n');
    assert.equal(await ws.next(), '433["c"]');
    // A num in range that is not an integer is buffers[0.5], undefined.
    ws.send('452-["message",{"_placeholder":true,"num":0.5},{"k":{"_placeholder":true,"num":1.5},"j":1},'
      + '{"_placeholder":true,"num":1}]');
    ws.send(Buffer.from([1]));
    ws.send(Buffer.from([2]));
    assert.equal(await ws.next(), '451-["message-back",null,{"j":1},{"_placeholder":true,"num":0}]');
    assert.equal(bytes(await ws.next()), '02');
    // A server ack answered without payload: the ack gets no values.
    ws.send('42["emit-with-ack","q"]');
    const m = (await ws.next()).match(/^42(\d+)\["emit-with-ack","q"\]$/);
    assert.ok(m);
    ws.send(`43${m[1]}`);
    assert.equal(await ws.next(), '42["emit-with-ack"]');
    // Events without payload, with an ack id, from binary packets, named by Infinity: nothing.
    for (const p of ['4227', '42 ', '42[1e400,"x"]']) ws.send(p);
    ws.send('451-3');
    ws.send(Buffer.from([3]));
    await quiet(ws, 300, 'events no handler listens to');
    ws.close();
  });

  test('a BINARY_EVENT waits for its attachments; the placeholder index is checked once they are in', async () => {
    // socket.io-parser checks placeholders while reconstructing, so an index out of range
    // only closes the connection when the attachment arrives.
    const { ws } = await joined();
    ws.send('451-["message",{"_placeholder":true,"num":1}]');
    await quiet(ws, 300, 'a BINARY_EVENT waiting for its attachment');
    ws.send(Buffer.from([1]));
    await within(ws.closed, 1500, 'close after an out-of-range placeholder');
  });

  test('disconnect reasons the server reports', async () => {
    const parse = await joined();
    parse.ws.send('42{}');
    const unjoined = await joined();
    unjoined.ws.send('42/custom,["message"]');
    const dupe = await joined();
    dupe.ws.send('40');
    const gone = await joined();
    gone.ws.close();
    const pong = await rawSession({ autoPong: false });
    const pongId = await join(pong);
    const t0 = Date.now();
    const polling = client('/', { transports: ['polling'] });
    await once(polling, 'connect');
    const pollingId = polling.id;
    polling.io.engine.close();
    const got = {
      'parse error': await disconnectReason(parse.id),
      'packet for an unjoined namespace': await disconnectReason(unjoined.id),
      'second CONNECT': await disconnectReason(dupe.id),
      'websocket closed by the client': await disconnectReason(gone.id),
      'engine closed by the client (polling)': await disconnectReason(pollingId),
      'pings not answered': await disconnectReason(pongId, srv, 3000),
    };
    assert.deepEqual(got, {
      'parse error': 'forced close',
      'packet for an unjoined namespace': 'forced close',
      'second CONNECT': 'forced close',
      'websocket closed by the client': 'transport close',
      'engine closed by the client (polling)': 'transport close',
      'pings not answered': 'ping timeout',
    });
    const { ms } = await within(pong.closed, 2000, 'ping timeout close');
    assert.ok(Date.now() - t0 < 1500 && ms >= 400, `ping timeout after ${ms} ms`);
  });

  test('maxHttpBufferSize 1e6: a message of 1e6 bytes passes, a larger one closes the connection', async () => {
    const { ws } = await joined();
    const fill = (total) => `42["message","${'x'.repeat(total - '42["message",""]'.length)}"]`;
    ws.send(fill(1e6));
    const back = await ws.next(3000);
    assert.equal(back.length, 1e6 + '-back'.length);
    ws.send(fill(1e6 + 1));
    const { code } = await within(ws.closed, 2000, 'close after an oversized message');
    assert.equal(code, 1009);
  });

  for (const transports of [['polling'], ['websocket'], ['polling', 'websocket']]) {
    test(`socket.io-client 2 over EIO3, ${transports.join('+')}: query as auth, events, binary, acks`, async () => {
      const s = client2('/custom?token=abc&n=1&e=%C3%A9', { transports });
      const [auth] = await once(s, 'auth');
      assert.deepEqual(auth, { token: 'abc', n: '1', e: 'é' });
      const eid = s.io.engine.id;
      assert.match(eid, ID);
      assert.equal(s.id, `/custom#${eid}`);
      // The server joined the client to "/" as well, with the Engine.IO id as socket id.
      await connectLogged('/', eid);
      await connectLogged('/custom', `/custom#${eid}`);

      const back = events(s, 'message-back');
      for (const args of shapes.slice(0, 6)) {
        s.emit('message', ...args);
        assert.deepEqual(await back(), args);
      }
      const a = Buffer.from([0, 1, 2, 255]);
      s.emit('message', 'x', a, { n: [{ e: Buffer.alloc(0) }, Buffer.from('é')] });
      const got = await back();
      assert.equal(got[0], 'x');
      assert.equal(bytes(got[1]), bytes(a));
      assert.equal(bin(got[2].n[0].e).length, 0);
      assert.equal(bin(got[2].n[1]).toString(), 'é');

      const ack = await within(new Promise((r) => s.emit('message-with-ack', 'y', 3, a, (...x) => r(x))),
        2000, 'v2 message-with-ack');
      assert.deepEqual(ack.slice(0, 2), ['y', 3]);
      assert.equal(bytes(ack[2]), bytes(a));

      const ewa = events(s, 'emit-with-ack');
      s.emit('emit-with-ack', 'q');
      const asked = await ewa();
      assert.equal(asked[0], 'q');
      assert.equal(typeof asked[1], 'function');
      asked[1]('answer', a);
      const answered = await ewa();
      assert.equal(answered.length, 2);
      assert.equal(answered[0], 'answer');
      assert.equal(bytes(answered[1]), bytes(a));
      s.emit('emit-with-ack', 'silent');
      assert.equal((await ewa())[0], 'silent');
      await sleep(450);
      assert.equal(ewa.pending(), 0, 'no emit after an unanswered ack');
      assert.ok(s.connected);
      if (transports.length === 2) assert.equal(s.io.engine.transport.name, 'websocket');

      s.close();
      assert.equal(await disconnectReason(`/custom#${eid}`), 'client namespace disconnect');
    });
  }

  test('socket.io-client 2 on "/" and an invalid namespace', async () => {
    // "/" is joined by the server: no CONNECT is sent, so the query is not the auth.
    const root = client2('/?token=abc', { transports: ['websocket'] });
    const [auth] = await once(root, 'auth');
    assert.deepEqual(auth, {});
    assert.equal(root.id, root.io.engine.id);
    assert.equal(await within(new Promise((r) => root.emit('message-with-ack', 'r', (x) => r(x))), 2000, 'ack'), 'r');
    // CONNECT_ERROR to a v2 client: socket.io sends {message} for an unknown namespace, but
    // err.data (or else err.message) alone from a middleware.
    const bad = client2('/nope', { transports: ['websocket'] });
    const refused = client2('/private?token=wrong', { transports: ['websocket'] });
    const errors = await Promise.all([once(bad, 'error'), once(refused, 'error')]);
    assert.deepEqual({ '/nope': errors[0][0], '/private': errors[1][0] },
      { '/nope': { message: 'Invalid namespace' }, '/private': { code: 401 } });
    root.close();
  });

  test('EIO3 raw: "/" joined at once, bare CONNECT replies, query as auth, binary with the 0x04 byte', async () => {
    const ws = await rawWs({ eio: 3 });
    const open = JSON.parse((await ws.next()).slice(1));
    assert.deepEqual(open.upgrades, []);
    assert.equal(await ws.next(), '40');
    assert.equal(await ws.next(), '42["auth",{}]');
    await connectLogged('/', open.sid);
    ws.send('40/custom?x=1&y=%C3%A9&x=2,');
    assert.equal(await ws.next(), '40/custom,');
    // URLSearchParams entries: a repeated key keeps its last value.
    assert.equal(await ws.next(), '42/custom,["auth",{"x":"2","y":"é"}]');
    await connectLogged('/custom', `/custom#${open.sid}`);
    ws.send('42/custom,["message","a",1]');
    assert.equal(await ws.next(), '42/custom,["message-back","a",1]');
    ws.send('451-/custom,5["message-with-ack",{"_placeholder":true,"num":0}]');
    ws.send(Buffer.from([4, 1, 2]));
    assert.equal(await ws.next(), '461-/custom,5[{"_placeholder":true,"num":0}]');
    assert.equal(bytes(await ws.next()), '040102');
    ws.send('42["emit-with-ack",1]');
    const m = (await ws.next()).match(/^42(\d+)\["emit-with-ack",1\]$/);
    assert.ok(m);
    if (!reference) assert.equal(m[1], '1');
    ws.send(`43${m[1]}["r"]`);
    assert.equal(await ws.next(), '42["emit-with-ack","r"]');
    // CONNECT_ERROR for EIO3: an object for an unknown namespace; err.data, or else the
    // message as a string, when a middleware refuses (socket.io namespace.js).
    ws.send('40/nope,');
    const unknown = await ws.next();
    ws.send('40/private?token=wrong,');
    const refused = await ws.next();
    assert.deepEqual({ unknown, refused }, {
      unknown: '44/nope,{"message":"Invalid namespace"}',
      refused: '44/private,{"code":401}',
    });
    ws.send('40/private?token=secret,');
    assert.equal(await ws.next(), '40/private,');
    assert.equal(await ws.next(), '42/private,["auth",{"token":"secret"}]');
    ws.close();
  });

  // Beyond DESIGN.md: what the libsio fixture adds for the tests (the Node fixture mirrors it).

  test('middleware: asynchronous refusal with data, and acceptance', async () => {
    const no = client('/private', { transports: ['websocket'], auth: { token: 'wrong' } });
    const [err] = await once(no, 'connect_error');
    assert.equal(err.message, 'unauthorized');
    assert.deepEqual(err.data, { code: 401 });
    const yes = client('/private', { transports: ['websocket'], auth: { token: 'secret' } });
    assert.deepEqual((await once(yes, 'auth'))[0], { token: 'secret' });
    assert.equal(await yes.timeout(2000).emitWithAck('message-with-ack', 'in'), 'in');
    // On the wire.
    const ws = await rawSession();
    ws.send('40/private,{"token":"nope"}');
    assert.equal(await ws.next(), '44/private,{"message":"unauthorized","data":{"code":401}}');
    await join(ws, '/private', { token: 'secret' });
    ws.close();
    yes.disconnect();
  });

  test('dynamic namespaces by pattern', async () => {
    const s = client('/dyn-42', { transports: ['websocket'] });
    await once(s, 'auth');
    await connectLogged('/dyn-42', s.id);
    assert.equal(await s.timeout(2000).emitWithAck('message-with-ack', 'dyn'), 'dyn');
    const bad = client('/dyn-x', { transports: ['websocket'] });
    assert.equal((await once(bad, 'connect_error'))[0].message, 'Invalid namespace');
    s.disconnect();
  });

  test('broadcast with acks: answers collected, timeout reported with what came', async () => {
    const a = client('/custom', { transports: ['websocket'] });
    const b = client('/custom', { transports: ['polling'] });
    const c = client('/custom', { transports: ['websocket'] });
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
    const r = await within(fetch(`${srv.url}/socket.io/socket.io.min.js`), 3000, 'bundle');
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type'), /^application\/javascript/);
    const etag = r.headers.get('etag');
    assert.equal(etag, `"${require('socket.io-client/package.json').version}"`);
    assert.ok((await r.text()).length > 10000);
    const again = await within(fetch(`${srv.url}/socket.io/socket.io.min.js`, { headers: { 'if-none-match': etag } }), 3000, 'bundle 304');
    assert.equal(again.status, 304);
  });
});

describe('socket.io: rooms and broadcasts (sio-fixture bench)', { concurrency: false }, () => {
  before(async () => { srv = await startSio('bench'); });
  afterEach(settle);
  after(async () => {
    closeAll();
    const r = await srv?.stop();
    if (r) assert.equal(r.code, 0, r.stderr);
  });

  test('broadcast excludes the sender; to-room reaches exactly the room, each socket once', async () => {
    const socks = [];
    for (let i = 0; i < 6; i++) socks.push(client('/', { transports: i % 2 ? ['websocket'] : ['polling'] }));
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
      client2('/', { transports: ['websocket'] }),
      client2('/', { transports: ['polling'] }),
      client('/', { transports: ['websocket'] }),
      client('/', { transports: ['polling'] }),
    ];
    const tx = client('/', { transports: ['websocket'] });
    await Promise.all([...rx, tx].map((s) => once(s, 'connect')));
    const got = Promise.all(rx.map((c) => once(c, 'broadcast')));
    tx.emit('broadcast', { t: 'é😀', b: Buffer.from([4, 5, 6]), nested: [Buffer.alloc(0)] });
    for (const [p] of await got) {
      assert.equal(p.t, 'é😀');
      assert.equal(bin(p.b).toString('hex'), '040506');
      assert.equal(bin(p.nested[0]).length, 0);
    }
    closeAll();
  });

  test('echo and echo-ack with binary', async () => {
    const s = client('/', { transports: ['websocket'] });
    await once(s, 'connect');
    const back = once(s, 'echo');
    s.emit('echo', 'x', Buffer.from([7]));
    const got = await back;
    assert.equal(got[0], 'x');
    assert.ok(bin(got[1]).equals(Buffer.from([7])));
    assert.equal(await s.timeout(2000).emitWithAck('echo-ack', { k: 'v' }).then((r) => r.k), 'v');
    s.disconnect();
  });
});

describe('socket.io: recovery and shutdown', { concurrency: false }, () => {
  // A test that failed early leaves its server running: stop it (stop() is idempotent).
  afterEach(async () => {
    closeAll();
    await srv?.stop();
  });

  test('connection state recovery after a dropped transport', async () => {
    srv = await startSio('sio', ['--recovery', '5000']);
    try {
      const s = track(io(srv.url, { transports: ['websocket'], reconnectionDelay: 50, reconnectionDelayMax: 50 }));
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
      closeAll();
      const r = await srv.stop();
      assert.equal(r.code, 0, r.stderr);
    }
  });

  test('SIGTERM: every client is told, the server logs "server shutting down", the process exits 0', async () => {
    srv = await startSio('sio');
    const clients = {
      'v4 websocket': client('/', { transports: ['websocket'] }),
      'v4 polling': client('/', { transports: ['polling'] }),
      'v4 upgraded, /custom': client('/custom'),
      'v2 websocket': client2('/', { transports: ['websocket'] }),
      'v2 polling': client2('/custom', { transports: ['polling'] }),
    };
    const list = Object.values(clients);
    await Promise.all(list.map((s) => once(s, 'auth')));
    await until(() => clients['v4 upgraded, /custom'].io.engine.transport.name === 'websocket', 2000, 'upgrade');
    // Stop while every polling client has a GET parked: a little after the latest ping
    // (v4: from the server) or pong (v2: the answer to the client's ping).
    const last = { v4: Date.now(), v2: Date.now() };
    clients['v4 polling'].io.engine.on('ping', () => { last.v4 = Date.now(); });
    clients['v2 polling'].io.engine.on('pong', () => { last.v2 = Date.now(); });
    await until(() => Object.values(last).every((t) => Date.now() - t >= 40 && Date.now() - t <= 200), 3000,
      'a moment between heartbeats');
    const ids = list.map((s) => s.id);
    const v2root = clients['v2 polling'].io.engine.id;
    const reasons = Promise.all(list.map((s) => once(s, 'disconnect', 4000).then(([r]) => r)));
    const stopped = srv.stop();
    const names = Object.keys(clients);
    const got = await reasons;
    assert.deepEqual(Object.fromEntries(names.map((k, i) => [k, got[i]])),
      Object.fromEntries(names.map((k) => [k, 'transport close'])));
    const r = await stopped;
    assert.equal(r.code, 0, r.stderr);
    assert.ok(r.ms < 3000, `exited after ${r.ms} ms`);
    for (const id of ids) assert.equal(await disconnectReason(id), 'server shutting down', id);
    // The v2 client on /custom also had the "/" socket the server joined it to.
    assert.equal(await disconnectReason(v2root), 'server shutting down');
  });
});

describe('socket.io: compress (sio-fixture sio --per-message-deflate)', { concurrency: false }, () => {
  afterEach(async () => {
    closeAll();
    await srv?.stop();
  });

  // A raw TCP WebSocket that negotiates permessage-deflate and yields whole server frames
  // as {rsv1, text}: the `ws` package hides whether a message came compressed. Without
  // context takeover each compressed message inflates on its own (and Node then compresses
  // only messages of 1024 bytes or more, as libsio always does).
  async function deflateWs() {
    const ws = await rawWebSocket(srv.port, '/socket.io/?EIO=4&transport=websocket', {
      extensions: 'permessage-deflate; server_no_context_takeover',
      onFrame: (f) => { if (f.text === '2') { ws.send('3'); return true; } return false; },
    });
    const next = async () => { const f = await ws.next(); return { rsv1: f.rsv1, text: f.text }; };
    const open = await next();
    assert.match(ws.head(), /^HTTP\/1.1 101/);
    assert.match(ws.head(), /sec-websocket-extensions: permessage-deflate/i);
    assert.match(open.text, /^0\{/);
    return { sock: ws.sock, send: ws.send, next };
  }

  const big = `42["big","${'z'.repeat(2000)}"]`;

  // engine.io 6.6's WebSocket transport does not hand the flag to ws (it deflates every
  // message when perMessageDeflate is on), so this case holds libsio alone to the flag.
  test('WebSocket: compress(false) sends a large packet uncompressed, the default deflates it', { skip: reference && 'engine.io ignores compress on WebSocket' }, async () => {
    srv = await startSio('sio', ['--per-message-deflate', '--ping-interval', '10000']);
    const c = await deflateWs();
    c.send('40');
    assert.match((await c.next()).text, /^40\{"sid"/);
    assert.equal((await c.next()).text, '42["auth",{}]');
    c.send('42["compressed",false]');
    assert.deepEqual(await c.next(), { rsv1: false, text: big });
    c.send('42["compressed",true]');
    assert.deepEqual(await c.next(), { rsv1: true, text: big });
    c.sock.destroy();
  });

  test('polling: a response holding only compress(false) packets is not gzipped, the default is', async () => {
    srv = await startSio('sio', ['--ping-interval', '10000']);
    const open = await timedRequest(pollUrl());
    const sid = JSON.parse(open.body.toString().slice(1)).sid;
    assert.equal((await post(sid, '40')).status, 200);
    const first = await pollAtLeast(sid, 2);
    assert.match(first[0], /^40\{"sid"/);
    const gzipGet = () => timedRequest(pollUrl(sid), { headers: { 'accept-encoding': 'gzip' } });
    assert.equal((await post(sid, '42["compressed",false]')).status, 200);
    let r = await gzipGet();
    assert.equal(r.headers['content-encoding'], undefined);
    assert.equal(r.body.toString(), big);
    assert.equal((await post(sid, '42["compressed",true]')).status, 200);
    r = await gzipGet();
    assert.equal(r.headers['content-encoding'], 'gzip');
    assert.equal(zlib.gunzipSync(r.body).toString(), big);
  });
});
