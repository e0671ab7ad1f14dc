// The Engine.IO layer end to end: `sio-fixture eio` (pingInterval 300 ms, pingTimeout 200 ms,
// maxPayload 1e6, echo) with the official engine.io-client 6 (EIO=4) and engine.io-client 3
// (EIO=3), and with raw HTTP and WebSocket requests for what the clients never send.
//
// EIO_SERVER=node runs the same cases against Node's engine.io (lib/node-eio-fixture.mjs),
// the reference every assertion here was checked against.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import net from 'node:net';
import { createRequire } from 'node:module';
import { Socket } from 'engine.io-client';
import WebSocket from 'ws';
import { startServer, rawRequest, request, sleep, within, until, inbox } from './lib/harness.mjs';

const require = createRequire(import.meta.url);
const eio3 = require('engine.io-client-v3');

const reference = process.env.EIO_SERVER === 'node';
const PING_INTERVAL = 300;
const PING_TIMEOUT = 200;
const MAX_PAYLOAD = 1000000;
const ORIGIN = 'http://app.example';

function startEio() {
  if (reference) {
    return startServer('node-eio-fixture', [], {
      command: [process.execPath, 'tests/e2e/lib/node-eio-fixture.mjs'],
    });
  }
  return startServer('sio-fixture', ['eio']);
}

// ---- helpers ----

const sameBytes = (a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)) === 0;
const errorBody = (code, message) => JSON.stringify({ code, message });
const openPacket = (sid, upgrades) => `0{"sid":"${sid}","upgrades":${JSON.stringify(upgrades)},`
  + `"pingInterval":${PING_INTERVAL},"pingTimeout":${PING_TIMEOUT},"maxPayload":${MAX_PAYLOAD}}`;
const SID = /^[A-Za-z0-9_-]{20}$/;

let srv;
const base = () => `${srv.url}/engine.io/`;
const pollUrl = (sid, eio = 4, extra = '') => `${base()}?EIO=${eio}&transport=polling${sid ? `&sid=${sid}` : ''}${extra}`;
const wsUrl = (sid, eio = 4, extra = '') => `ws://127.0.0.1:${srv.port}/engine.io/?EIO=${eio}&transport=websocket${sid ? `&sid=${sid}` : ''}${extra}`;

// The close reason the server logged for a session (the fixture logs one line naming the
// sid and engine.io's reason), waiting up to 2 s for it; 'none' when there is none.
const REASONS = ['transport close', 'transport error', 'parse error', 'ping timeout', 'forced close',
  'server shutting down', 'forced server close'];
async function closeReason(sid, server = srv) {
  const find = () => server.stderr().split('\n').filter((l) => l.includes(sid))
    .map((l) => REASONS.find((r) => l.includes(r))).find(Boolean);
  try {
    await until(find, 2000, '');
  } catch {
    return 'none';
  }
  return find();
}

function timedRequest(url, opts = {}, ms = 3000) {
  return within(request(url, opts), ms, `${opts.method || 'GET'} ${url}`);
}

// A polling handshake; resolves {sid, res}.
async function handshake(eio = 4, extra = '') {
  const res = await timedRequest(pollUrl(null, eio, extra), { headers: { origin: ORIGIN } });
  assert.equal(res.status, 200, res.body.toString());
  const text = res.body.toString();
  const json = eio === 4 ? text.slice(1) : text.slice(text.indexOf(':') + 2);
  return { sid: JSON.parse(json).sid, res };
}

const poll = (sid, eio = 4) => timedRequest(pollUrl(sid, eio));
const post = (sid, body, { eio = 4, headers = {} } = {}) => timedRequest(pollUrl(sid, eio), {
  method: 'POST', body, headers: { 'content-type': 'text/plain;charset=UTF-8', ...headers },
});

// GET what a v4 session has for us as text, answering and leaving out the server's pings
// (a slow run can cross a ping interval anywhere).
async function pollText(sid) {
  for (;;) {
    const res = await poll(sid);
    const packets = res.body.toString().split('\x1e');
    const rest = packets.filter((p) => p !== '2');
    if (rest.length < packets.length) await post(sid, '3');
    if (rest.length) return { ...res, text: rest.join('\x1e') };
  }
}

async function expectGone(sid, eio = 4) {
  const r = await poll(sid, eio);
  assert.equal(r.status, 400, `session ${sid} should be gone`);
  assert.equal(r.body.toString(), errorBody(1, 'Session ID unknown'));
}

// A raw WebSocket; ws.next() yields {text} or {binary} in arrival order; with autoPong the
// server's "2" pings are answered (v4) and not queued.
function rawWs(url, { autoPong = false } = {}) {
  return within(new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false, maxPayload: 64 << 20 });
    ws.next = inbox(ws, 'message-in');
    ws.on('message', (data, isBinary) => {
      if (!isBinary && autoPong && data.toString() === '2') {
        ws.send('3');
        return;
      }
      ws.emit('message-in', isBinary ? { binary: data } : { text: data.toString() });
    });
    const t0 = Date.now();
    ws.closed = new Promise((r) => ws.once('close', (code, reason) => r({ code, reason: reason.toString(), ms: Date.now() - t0 })));
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
    ws.once('unexpected-response', (req, res) => {
      let body = '';
      res.on('data', (d) => { body += d; });
      res.on('end', () => reject(new Error(`${url}: HTTP ${res.statusCode} ${body}`)));
    });
  }), 3000, `websocket ${url}`);
}

// A raw v4 WebSocket session: resolves {ws, sid} after the open packet.
async function wsSession(opts) {
  const ws = await rawWs(wsUrl(), opts);
  const m = await ws.next();
  const sid = JSON.parse(m.text.slice(1)).sid;
  assert.equal(m.text, openPacket(sid, []));
  return { ws, sid };
}

// An HTTP upgrade request on a raw socket; resolves {status, head, body} from the reply.
async function rawUpgrade(query) {
  const r = await rawRequest(srv.port, `GET /engine.io/?${query} HTTP/1.1\r\nHost: 127.0.0.1\r\n`
    + 'Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n'
    + `Sec-WebSocket-Key: ${crypto.randomBytes(16).toString('base64')}\r\n\r\n`, { timeoutMs: 1500 });
  const text = r.data.toString();
  const split = text.indexOf('\r\n\r\n');
  return {
    status: Number(text.split(' ')[1]),
    head: text.slice(0, split),
    body: text.slice(split + 4),
    closed: r.closed,
  };
}

// engine.io-client 6.
function connect(opts = {}, url = srv.url) {
  return within(new Promise((resolve, reject) => {
    const s = new Socket(url, { path: '/engine.io/', ...opts });
    s.once('open', () => resolve(s));
    s.once('error', reject);
  }), 3000, `engine.io-client open ${JSON.stringify(opts.transports)}`);
}

// engine.io-client 3.
function connect3(opts = {}, url = srv.url) {
  return within(new Promise((resolve, reject) => {
    const s = eio3(url, { path: '/engine.io', ...opts });
    s.once('open', () => resolve(s));
    s.once('error', reject);
  }), 3000, `engine.io-client 3 open ${JSON.stringify(opts)}`);
}

const closed = (s) => new Promise((resolve) => s.once('close', (reason) => resolve(reason)));

function nextMessage(s, what = 'client message', ms = 3000) {
  return within(new Promise((resolve) => s.once('message', resolve)), ms, what);
}

// Text, multibyte and astral text, and binary come back as sent.
async function echoes(s) {
  for (const text of ['hello', 'héllo wörld €', 'astral 😀 𝄞 🂡', '\u0000 nul']) {
    const m = nextMessage(s, `${s.transport.name} echo of ${JSON.stringify(text)}`);
    s.send(text);
    assert.equal(await m, text);
  }
  for (const bin of [Buffer.from([0, 1, 2, 255]), crypto.randomBytes(3000)]) {
    const m = nextMessage(s, `${s.transport.name} echo of ${bin.length} binary bytes`);
    s.send(bin);
    const got = await m;
    assert.ok(Buffer.isBuffer(got) || got instanceof ArrayBuffer, `binary arrives as binary, got ${typeof got}`);
    assert.ok(sameBytes(got, bin), 'binary echoed intact');
  }
}

// Send count numbered messages (every 7th binary) over time; resolves with what came back.
function stream(s, { onOpenBatch = 0, count, perTick = 3 } = {}) {
  const label = (i) => (i % 7 === 3 ? Buffer.from(`bin ${i}`) : `n${i} é😀`);
  const norm = (d) => (typeof d === 'string' ? d : `bin:${Buffer.from(d).toString()}`);
  const got = [];
  let sent = 0;
  const send = () => { s.send(label(sent)); sent += 1; };
  for (let k = 0; k < onOpenBatch; k++) send();
  const done = new Promise((resolve) => {
    s.on('message', (d) => { got.push(norm(d)); if (got.length === count) resolve(); });
  });
  const timer = setInterval(() => {
    for (let k = 0; k < perTick && sent < count; k++) send();
    if (sent >= count) clearInterval(timer);
  }, 2);
  return {
    sent: () => sent,
    got,
    expected: () => Array.from({ length: count }, (_, i) => norm(label(i))),
    done: done.finally(() => clearInterval(timer)),
  };
}

// A TCP relay to the server that can be told to swallow everything in both directions.
function blackholeProxy(port) {
  return new Promise((resolve) => {
    const sockets = new Set();
    let dead = false;
    const server = net.createServer((client) => {
      const upstream = net.connect(port, '127.0.0.1');
      for (const [from, to] of [[client, upstream], [upstream, client]]) {
        sockets.add(from);
        from.on('data', (d) => { if (!dead) to.write(d); });
        from.on('error', () => {});
        from.on('close', () => { if (!dead) to.destroy(); });
      }
    });
    server.listen(0, '127.0.0.1', () => resolve({
      url: `http://127.0.0.1:${server.address().port}`,
      drop() { dead = true; },
      close() {
        for (const s of sockets) s.destroy();
        server.close();
      },
    }));
  });
}

describe('eio', { concurrency: false }, () => {
  before(async () => { srv = await startEio(); });
  after(async () => {
    const r = await srv?.stop();
    if (r) assert.equal(r.code, 0, r.stderr);
  });

  // ---- handshake ----

  test('polling handshake: open packet, headers, sid', async () => {
    const { sid, res } = await handshake();
    assert.match(sid, SID);
    assert.equal(res.body.toString(), openPacket(sid, ['websocket']));
    assert.equal(res.headers['content-type'], 'text/plain; charset=UTF-8');
    assert.equal(Number(res.headers['content-length']), res.body.length);
    assert.equal(res.headers['cache-control'], 'no-store');
    assert.equal(res.headers['access-control-allow-origin'], ORIGIN);
    assert.equal(res.headers['access-control-allow-credentials'], 'true');
    const other = await handshake();
    assert.notEqual(other.sid, sid);
  });

  test('websocket handshake: open packet as the first text frame, no upgrades', async () => {
    const { ws, sid } = await wsSession();
    assert.match(sid, SID);
    ws.close();
  });

  test('EIO=3 polling handshake: length-prefixed open packet', async () => {
    const { sid, res } = await handshake(3);
    assert.match(sid, SID);
    const packet = openPacket(sid, ['websocket']);
    assert.equal(res.body.toString(), `${packet.length}:${packet}`);
    assert.equal(res.headers['content-type'], 'text/plain; charset=UTF-8');
    assert.equal(res.headers['cache-control'], 'no-store');
    // EIO=3 over WebSocket: the same open packet, as a text frame.
    const ws = await rawWs(wsUrl(null, 3));
    const m = await ws.next();
    const wsSid = JSON.parse(m.text.slice(1)).sid;
    assert.equal(m.text, openPacket(wsSid, []));
    ws.close();
  });

  // ---- errors ----

  test('HTTP errors: status, exact JSON body, CORS headers', async () => {
    const { sid } = await handshake();
    const cases = [
      ['GET', '?transport=polling', 5, 'Unsupported protocol version'],
      ['GET', '?EIO=5&transport=polling', 5, 'Unsupported protocol version'],
      ['GET', '?EIO=4&transport=carrier-pigeon', 0, 'Transport unknown'],
      ['GET', '?EIO=4', 0, 'Transport unknown'],
      ['GET', '?EIO=4&transport=polling&sid=nope', 1, 'Session ID unknown'],
      ['POST', '?EIO=4&transport=polling&sid=nope', 1, 'Session ID unknown'],
      ['POST', '?EIO=4&transport=polling', 2, 'Bad handshake method'],
      ['PUT', '?EIO=4&transport=polling', 2, 'Bad handshake method'],
      ['DELETE', '?EIO=4&transport=polling', 2, 'Bad handshake method'],
      // A WebSocket handshake that is not an upgrade request.
      ['GET', '?EIO=4&transport=websocket', 3, 'Bad request'],
      // A polling request with the sid of a session, but the wrong protocol or transport.
      ['GET', `?EIO=3&transport=polling&sid=${sid}`, 3, 'Bad request'],
      ['GET', `?EIO=4&transport=websocket&sid=${sid}`, 3, 'Bad request'],
    ];
    // Compared as a whole, so a failure lists every case that differs.
    const got = [];
    const want = [];
    for (const [method, query, code, message] of cases) {
      const what = `${method} ${query}`;
      const r = await timedRequest(base() + query, {
        method, headers: { origin: ORIGIN }, body: ['GET', 'DELETE'].includes(method) ? undefined : '4x',
      });
      got.push({
        what,
        status: r.status,
        type: r.headers['content-type'],
        body: r.body.toString(),
        origin: r.headers['access-control-allow-origin'],
        credentials: r.headers['access-control-allow-credentials'],
      });
      want.push({
        what, status: 400, type: 'application/json', body: errorBody(code, message), origin: ORIGIN, credentials: 'true',
      });
    }
    assert.deepEqual(got, want);
    // None of those disturbed the session they named.
    const p = await post(sid, '4still here');
    assert.equal(p.status, 200);
    assert.equal((await pollText(sid)).text, '4still here');
    // Another method with a valid sid: engine.io answers 500, empty, and keeps the session.
    const put = await timedRequest(pollUrl(sid), { method: 'PUT', body: '4x' });
    assert.equal(put.status, 500);
    assert.equal(put.body.length, 0);
    assert.equal((await post(sid, '4kept')).status, 200);
    assert.equal((await pollText(sid)).text, '4kept');
  });

  test('WebSocket upgrade errors: HTTP 400 with the message as text, connection closed', async () => {
    const cases = [
      ['EIO=4&transport=websocket&sid=nope', 'Session ID unknown'],
      ['EIO=5&transport=websocket', 'Unsupported protocol version'],
      ['transport=websocket', 'Unsupported protocol version'],
      ['EIO=4&transport=carrier-pigeon', 'Transport unknown'],
    ];
    const got = [];
    const want = [];
    for (const [query, message] of cases) {
      const r = await rawUpgrade(query);
      const length = /\r\ncontent-length: *(\d+)/i.exec(r.head)?.[1];
      got.push({ query, status: r.status, body: r.body, length: Number(length), closed: r.closed });
      want.push({ query, status: 400, body: message, length: message.length, closed: true });
    }
    assert.deepEqual(got, want);
  });

  test('CORS preflight', async () => {
    const r = await timedRequest(pollUrl(null), {
      method: 'OPTIONS',
      headers: {
        origin: ORIGIN,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type',
      },
    });
    assert.equal(r.status, 204);
    assert.equal(r.body.length, 0);
    assert.equal(r.headers['access-control-allow-origin'], ORIGIN);
    assert.equal(r.headers['access-control-allow-credentials'], 'true');
    const methods = (r.headers['access-control-allow-methods'] || '').split(/\s*,\s*/);
    for (const m of ['GET', 'POST']) assert.ok(methods.includes(m), `allow-methods ${methods}`);
    assert.match(r.headers['access-control-allow-headers'] || '', /content-type/i);
  });

  // ---- transports with the official client ----

  test('polling only: echo of text, astral text and binary; a burst comes back in order', async () => {
    const s = await connect({ transports: ['polling'] });
    assert.equal(s.transport.name, 'polling');
    assert.match(s.id, SID);
    await echoes(s);
    const got = [];
    const all = new Promise((resolve) => s.on('message', (d) => { got.push(d); if (got.length === 100) resolve(); }));
    for (let i = 0; i < 100; i++) s.send(`m${i}`);
    await within(all, 3000, '100 echoes');
    assert.deepEqual(got, Array.from({ length: 100 }, (_, i) => `m${i}`));
    assert.equal(s.transport.name, 'polling');
    const c = closed(s);
    s.close();
    assert.equal(await c, 'forced close');
  });

  test('polling: packets of one POST come back in one response, in order (raw)', async () => {
    const { sid } = await handshake();
    const packets = [];
    for (let i = 0; i < 50; i++) packets.push(i % 5 === 4 ? `b${Buffer.from(`bytes ${i}`).toString('base64')}` : `4m${i} 😀`);
    packets.push('4', 'b');
    const payload = packets.join('\x1e');
    const p = await post(sid, payload);
    assert.equal(p.status, 200);
    assert.equal(p.body.toString(), 'ok');
    assert.equal(p.headers['content-type'], 'text/html');
    const g = await pollText(sid);
    assert.equal(g.status, 200);
    assert.equal(g.headers['content-type'], 'text/plain; charset=UTF-8');
    assert.equal(g.headers['cache-control'], 'no-store');
    assert.equal(Number(g.headers['content-length']), g.body.length);
    assert.equal(g.text, payload);
  });

  test('websocket only: echo of text, astral text and binary', async () => {
    const s = await connect({ transports: ['websocket'] });
    assert.equal(s.transport.name, 'websocket');
    await echoes(s);
    const c = closed(s);
    s.close();
    assert.equal(await c, 'forced close');
  });

  test('websocket frames (raw): text as text, binary as raw binary, empty messages', async () => {
    const { ws } = await wsSession({ autoPong: true });
    const cases = [
      [{ text: '4hello' }, { text: '4hello' }],
      [{ text: '4héllo 😀' }, { text: '4héllo 😀' }],
      [{ text: '4' }, { text: '4' }],
      // One packet per frame: the polling record separator is plain data here.
      [{ text: '4a\x1eb' }, { text: '4a\x1eb' }],
      [{ binary: Buffer.from([4, 0, 1, 255]) }, { binary: Buffer.from([4, 0, 1, 255]) }],
      [{ binary: Buffer.alloc(0) }, { binary: Buffer.alloc(0) }],
    ];
    for (const [out, back] of cases) {
      ws.send(out.text ?? out.binary, { binary: !!out.binary });
      assert.deepEqual(await ws.next(), back);
    }
    ws.close();
  });

  test('upgrade from polling to websocket', async () => {
    const s = new Socket(srv.url, { path: '/engine.io/' });
    const upgraded = within(new Promise((r) => s.once('upgrade', r)), 3000, 'upgrade');
    await within(new Promise((r, j) => { s.once('open', r); s.once('error', j); }), 3000, 'open');
    assert.equal(s.transport.name, 'polling');
    await upgraded;
    assert.equal(s.transport.name, 'websocket');
    await echoes(s);
    s.close();
  });

  test('upgrade under traffic: nothing lost, duplicated or reordered', async () => {
    const s = new Socket(srv.url, { path: '/engine.io/' });
    const count = 600;
    let traffic;
    let upgradeSent = -1;
    let upgradeGot = -1;
    s.once('upgrade', () => { upgradeSent = traffic.sent(); upgradeGot = traffic.got.length; });
    await within(new Promise((resolve, reject) => {
      s.once('open', () => { traffic = stream(s, { onOpenBatch: 20, count }); resolve(); });
      s.once('error', reject);
    }), 3000, 'open');
    await within(traffic.done, 8000, `${count} echoes (got ${traffic.got.length})`);
    assert.equal(s.transport.name, 'websocket');
    assert.ok(upgradeSent > 0 && upgradeSent < count, `upgraded after ${upgradeSent} of ${count} sent`);
    assert.ok(upgradeGot < count, `upgraded after ${upgradeGot} echoes`);
    assert.deepEqual(traffic.got, traffic.expected());
    await sleep(50);
    assert.equal(traffic.got.length, count, 'no extra messages');
    s.close();
  });

  test('EIO=3 upgrade under traffic with engine.io-client 3', async () => {
    const s = eio3(srv.url, { path: '/engine.io' });
    const count = 400;
    let traffic;
    let upgradeSent = -1;
    s.once('upgrade', () => { upgradeSent = traffic.sent(); });
    await within(new Promise((resolve, reject) => {
      s.once('open', () => { traffic = stream(s, { onOpenBatch: 20, count }); resolve(); });
      s.once('error', reject);
    }), 3000, 'open');
    await within(traffic.done, 8000, `${count} echoes (got ${traffic.got.length})`);
    assert.equal(s.transport.name, 'websocket');
    assert.ok(upgradeSent > 0 && upgradeSent < count, `upgraded after ${upgradeSent} of ${count} sent`);
    assert.deepEqual(traffic.got, traffic.expected());
    await sleep(50);
    assert.equal(traffic.got.length, count, 'no extra messages');
    s.close();
  });

  test('upgrade (raw): 3probe, noop to the parked GET, then polling refused', async () => {
    const { sid } = await handshake();
    const parked = poll(sid);
    await sleep(20);
    const ws = await rawWs(wsUrl(sid), { autoPong: true });
    ws.send('2probe');
    assert.deepEqual(await ws.next(), { text: '3probe' });
    const t0 = Date.now();
    const g = await within(parked, 1000, 'the parked GET ends during the upgrade');
    assert.equal(g.status, 200);
    assert.equal(g.body.toString(), '6');
    assert.ok(Date.now() - t0 < 500, 'noop within the check interval');
    // A second WebSocket for a session that is upgrading is closed at once.
    const extra = await rawWs(wsUrl(sid));
    const c = await within(extra.closed, 1000, 'second websocket closed');
    assert.equal(extra.next.pending(), 0, 'nothing sent on the second websocket');
    assert.equal(c.code, 1005);
    ws.send('5');
    ws.send('4after upgrade');
    assert.deepEqual(await ws.next(), { text: '4after upgrade' });
    // Polling is over for this session, a third WebSocket too; the session lives on.
    const late = await poll(sid);
    assert.equal(late.status, 400);
    assert.equal(late.body.toString(), errorBody(3, 'Bad request'));
    const third = await rawWs(wsUrl(sid));
    assert.equal((await within(third.closed, 1000, 'third websocket closed')).code, 1005);
    ws.send('4still');
    assert.deepEqual(await ws.next(), { text: '4still' });
    ws.close();
  });

  // ---- heartbeat ----

  test('heartbeat keeps idle sessions alive over several intervals', async () => {
    await Promise.all([['polling'], ['websocket']].map(async (transports) => {
      const s = await connect({ transports });
      let pings = 0;
      s.on('ping', () => { pings += 1; });
      await sleep(4 * PING_INTERVAL);
      assert.ok(pings >= 3, `${transports}: ${pings} pings`);
      assert.equal(s.readyState, 'open');
      await echoes(s);
      s.close();
    }));
  });

  test('server closes sessions whose client stops answering pings', async () => {
    await Promise.all([
      (async () => {
        // Polling: read the ping, park another GET, never pong.
        const { sid } = await handshake();
        const first = await poll(sid);
        assert.equal(first.body.toString(), '2');
        const t0 = Date.now();
        const parked = await within(poll(sid), 2000, 'the parked GET ends when the session dies');
        const ms = Date.now() - t0;
        assert.equal(parked.status, 200);
        assert.equal(parked.body.toString(), '1');
        assert.ok(ms > PING_TIMEOUT / 2 && ms < PING_TIMEOUT + 600, `closed ${ms} ms after the ping`);
        await expectGone(sid);
        assert.equal(await closeReason(sid), 'ping timeout', 'close reason logged');
      })(),
      (async () => {
        // Polling, never polling again at all.
        const { sid } = await handshake();
        await sleep(PING_INTERVAL + PING_TIMEOUT + 300);
        await expectGone(sid);
        assert.equal(await closeReason(sid), 'ping timeout', 'close reason logged');
      })(),
      (async () => {
        // WebSocket: the ping arrives, no pong goes back.
        const { ws, sid } = await wsSession();
        assert.deepEqual(await ws.next(), { text: '2' });
        const c = await within(ws.closed, 2000, 'websocket closed on ping timeout');
        assert.equal(c.code, 1005);
        assert.ok(c.ms > PING_INTERVAL + PING_TIMEOUT - 100 && c.ms < PING_INTERVAL + PING_TIMEOUT + 600, `closed after ${c.ms} ms`);
        assert.equal(await closeReason(sid), 'ping timeout', 'close reason logged');
      })(),
      (async () => {
        // EIO=3: the client pings; without pings the server gives up after
        // pingInterval + pingTimeout.
        const { sid } = await handshake(3);
        await sleep(PING_INTERVAL + PING_TIMEOUT + 300);
        await expectGone(sid, 3);
        assert.equal(await closeReason(sid), 'ping timeout', 'close reason logged');
      })(),
    ]);
  });

  test('the client notices a server that stops pinging', async () => {
    const proxy = await blackholeProxy(srv.port);
    try {
      const clients = await Promise.all([['polling'], ['websocket']].map((transports) => connect({ transports }, proxy.url)));
      await Promise.all(clients.map(echoes));
      const reasons = clients.map((s) => within(closed(s), 3000, `${s.transport.name} client closes`));
      const t0 = Date.now();
      proxy.drop();
      for (const r of reasons) {
        assert.equal(await r, 'ping timeout');
        const ms = Date.now() - t0;
        assert.ok(ms < PING_INTERVAL + PING_TIMEOUT + 700, `noticed after ${ms} ms`);
      }
    } finally {
      proxy.close();
    }
  });

  // ---- close ----

  test('client close: the server forgets the session', async () => {
    const p = await connect({ transports: ['polling'] });
    const w = await connect({ transports: ['websocket'] });
    const ids = [p.id, w.id];
    for (const s of [p, w]) {
      const c = closed(s);
      s.close();
      assert.equal(await c, 'forced close');
    }
    for (const sid of ids) {
      assert.equal(await closeReason(sid), 'transport close', 'close reason logged');
      await expectGone(sid);
      assert.equal((await post(sid, '4x')).body.toString(), errorBody(1, 'Session ID unknown'));
      const up = await rawUpgrade(`EIO=4&transport=websocket&sid=${sid}`);
      assert.equal(up.status, 400);
      assert.equal(up.body, 'Session ID unknown');
    }
  });

  test('client close over raw polling: a close packet ends the parked GET with a noop', async () => {
    const { sid } = await handshake();
    const parked = poll(sid);
    await sleep(20);
    const p = await post(sid, '1');
    assert.equal(p.status, 200);
    assert.equal(p.body.toString(), 'ok');
    const g = await within(parked, 1000, 'parked GET answered');
    assert.equal(g.status, 200);
    assert.equal(g.body.toString(), '6');
    await expectGone(sid);
    assert.equal(await closeReason(sid), 'transport close', 'close reason logged');
  });

  test('server shutdown closes every session with a close the clients see as "transport close"', async () => {
    const other = await startEio();
    let exit;
    try {
      const clients = await Promise.all([
        connect({ transports: ['polling'] }, other.url),
        connect({ transports: ['websocket'] }, other.url),
        connect3({ transports: ['websocket'] }, other.url),
      ]);
      const reasons = clients.map((s) => within(closed(s), 3000, 'client sees the server close'));
      // Stop while the polling client has a GET parked: just after a ping was answered.
      await within(new Promise((r) => clients[0].once('ping', r)), 2000, 'ping');
      await sleep(50);
      exit = other.stop();
      assert.deepEqual(await Promise.all(reasons), ['transport close', 'transport close', 'transport close']);
    } finally {
      const r = await (exit ?? other.stop());
      assert.equal(r.code, 0, r.stderr);
    }
  });

  // ---- limits ----

  test('maxPayload over polling: 1e6 bytes accepted, one more is 413 and the session lives', async () => {
    const { sid } = await handshake();
    // Two-byte characters: the limit counts bytes, not characters.
    const atLimit = `4${'é'.repeat(499998)}xxx`;
    assert.equal(Buffer.byteLength(atLimit), MAX_PAYLOAD);
    const p = await post(sid, atLimit);
    assert.equal(p.status, 200);
    const g = await pollText(sid);
    assert.equal(Buffer.byteLength(g.text), MAX_PAYLOAD);
    assert.ok(g.text === atLimit, 'echoed whole');
    const over = await post(sid, `${atLimit}y`, { headers: { origin: ORIGIN } });
    if (reference) {
      // Node: empty, and with the CORS headers.
      assert.deepEqual({
        status: over.status,
        body: over.body.toString(),
        origin: over.headers['access-control-allow-origin'],
        credentials: over.headers['access-control-allow-credentials'],
      }, { status: 413, body: '', origin: ORIGIN, credentials: 'true' });
    } else {
      // libsio refuses the body in its HTTP layer, before the Engine.IO handler sees it:
      // the HTTP layer's 413, ending the connection (docs/engine-io.md).
      assert.equal(over.status, 413);
      assert.equal(over.body.toString(), 'Payload Too Large\n');
    }
    // The session is still there and nothing of the rejected body was delivered.
    assert.equal((await post(sid, '4after')).status, 200);
    assert.equal((await pollText(sid)).text, '4after');
  });

  test('maxPayload with the client: a 999999-character message over polling', async () => {
    const s = await connect({ transports: ['polling'] });
    const text = crypto.randomBytes(MAX_PAYLOAD).toString('base64').slice(0, MAX_PAYLOAD - 1);
    const m = nextMessage(s, 'echo of 999999 characters');
    s.send(text);
    assert.equal(await m, text);
    s.close();
  });

  test('maxPayload over websocket: 1e6-byte messages accepted, larger closes with 1009', async () => {
    const { ws, sid } = await wsSession({ autoPong: true });
    const text = `4${'z'.repeat(MAX_PAYLOAD - 1)}`;
    ws.send(text);
    assert.equal((await ws.next()).text, text);
    const bin = crypto.randomBytes(MAX_PAYLOAD);
    ws.send(bin);
    assert.ok((await ws.next()).binary.equals(bin));
    ws.send(`${text}z`);
    const c = await within(ws.closed, 2000, 'close after an oversize text message');
    assert.equal(c.code, 1009);
    assert.equal(await closeReason(sid), 'transport error', 'close reason logged');
    const second = await wsSession({ autoPong: true });
    second.ws.send(Buffer.alloc(MAX_PAYLOAD + 1));
    assert.equal((await within(second.ws.closed, 2000, 'close after an oversize binary message')).code, 1009);
    assert.equal(await closeReason(second.sid), 'transport error', 'close reason logged');
  });

  // ---- bad input next to healthy sessions ----

  async function healthy() {
    const [p, w] = await Promise.all([connect({ transports: ['polling'] }), connect({ transports: ['websocket'] })]);
    return {
      async check() {
        await Promise.all([echoes(p), echoes(w)]);
        assert.equal(p.readyState, 'open');
        assert.equal(w.readyState, 'open');
      },
      close() { p.close(); w.close(); },
    };
  }

  test('malformed POST bodies close only their own session', async () => {
    const good = await healthy();
    try {
      const bodies = [
        ['x', 'parse error'],
        ['9nine', 'parse error'],
        ['', 'parse error'],
      ];
      for (const [body, reason] of bodies) {
        const { sid } = await handshake();
        const parked = poll(sid);
        await sleep(20);
        const r = await post(sid, body);
        // engine.io reads the whole body, then answers "ok" even though it closed the session.
        assert.equal(r.status, 200, JSON.stringify(body));
        assert.equal(r.body.toString(), 'ok');
        const g = await within(parked, 1000, 'parked GET ends');
        assert.equal(g.body.toString(), '1', `${JSON.stringify(body)}: parked GET gets a close packet`);
        await expectGone(sid);
        assert.equal(await closeReason(sid), reason, 'close reason logged');
        await good.check();
      }
      // Binary content is not a v4 polling body: 400, empty, session closed.
      const { sid } = await handshake();
      const r = await post(sid, '4hi', { headers: { 'content-type': 'application/octet-stream' } });
      assert.equal(r.status, 400);
      assert.equal(r.body.length, 0);
      await expectGone(sid);
      assert.equal(await closeReason(sid), 'transport error', 'close reason logged');
      await good.check();
    } finally {
      good.close();
    }
  });

  test('overlapping GETs or POSTs: 400 and the session is closed', async () => {
    const good = await healthy();
    try {
      {
        const { sid } = await handshake();
        const first = poll(sid);
        await sleep(30);
        const second = await poll(sid);
        assert.equal(second.status, 400);
        assert.equal(second.body.length, 0);
        const f = await within(first, 1000, 'first GET ends');
        assert.equal(f.status, 200);
        assert.equal(f.body.toString(), '1');
        await expectGone(sid);
        assert.equal(await closeReason(sid), 'transport error', 'close reason logged');
      }
      {
        // A POST whose body is still arriving, and a second POST.
        const { sid } = await handshake();
        const slow = rawRequest(srv.port, `POST /engine.io/?EIO=4&transport=polling&sid=${sid} HTTP/1.1\r\n`
          + 'Host: x\r\nContent-Type: text/plain\r\nContent-Length: 100\r\n\r\n4partial', { timeoutMs: 1500 });
        await sleep(30);
        const second = await post(sid, '4second');
        if (reference) {
          assert.equal(second.status, 400);
          assert.equal(second.body.length, 0);
          const s = await slow;
          assert.equal(s.closed, true, 'the unfinished POST is dropped');
          assert.doesNotMatch(s.data.toString(), /^HTTP\/1\.1 200/);
          await expectGone(sid);
          assert.equal(await closeReason(sid), 'transport error', 'close reason logged');
        } else {
          // libsio hands a POST to Engine.IO only once its body is complete, so an upload
          // in progress is not a POST yet: the second one is delivered, the first has
          // delivered nothing (docs/engine-io.md).
          assert.equal(second.status, 200);
          assert.equal(second.body.toString(), 'ok');
          const g = await pollText(sid);
          assert.equal(g.text, '4second');
          const s = await slow;
          assert.doesNotMatch(s.data.toString(), /^HTTP\/1\.1 200/, 'the unfinished POST is not answered');
        }
      }
      await good.check();
    } finally {
      good.close();
    }
  });

  test('an aborted GET closes its session', async () => {
    const good = await healthy();
    try {
      const { sid } = await handshake();
      // A GET that parks, then the client goes away.
      const r = await rawRequest(srv.port, `GET /engine.io/?EIO=4&transport=polling&sid=${sid} HTTP/1.1\r\nHost: x\r\n\r\n`, { timeoutMs: 50 });
      assert.equal(r.data.length, 0, 'nothing to send yet');
      assert.equal(await closeReason(sid), 'transport error', 'close reason logged');
      await expectGone(sid);
      await good.check();
    } finally {
      good.close();
    }
  });

  test('malformed websocket messages close only their own session', async () => {
    const good = await healthy();
    try {
      const cases = [
        [{ text: 'x' }, 1005, 'parse error'],
        [{ text: '' }, 1005, 'parse error'],
        [{ text: '9abc' }, 1005, 'parse error'],
        // Pings go from server to client in v4.
        [{ text: '2' }, 1005, 'transport error'],
        // Not UTF-8: the WebSocket layer closes with 1007.
        [{ raw: Buffer.from([0x81, 0x82, 0, 0, 0, 0, 0x34, 0xff]) }, 1007, 'transport error'],
      ];
      const got = [];
      const want = [];
      for (const [frame, code, reason] of cases) {
        const { ws, sid } = await wsSession();
        if (frame.raw) ws._socket.write(frame.raw);
        else ws.send(frame.text);
        const what = frame.text ?? frame.raw.toString('hex');
        const c = await within(ws.closed, 2000, `close after ${what}`);
        got.push({ what, code: c.code, reason: await closeReason(sid) });
        want.push({ what, code, reason });
        await good.check();
      }
      assert.deepEqual(got, want);
    } finally {
      good.close();
    }
  });

  // ---- EIO=3 ----

  test('EIO=3 with engine.io-client 3: polling, websocket, upgrade, binary and base64', async () => {
    const variants = [
      { transports: ['polling'] },
      { transports: ['polling'], forceBase64: true },
      { transports: ['websocket'] },
      { transports: ['websocket'], forceBase64: true },
      { transports: ['polling', 'websocket'] },
    ];
    await Promise.all(variants.map(async (opts) => {
      const what = JSON.stringify(opts);
      const s = await connect3(opts);
      let pongs = 0;
      s.on('pong', () => { pongs += 1; });
      if (opts.transports.length === 2) {
        await within(new Promise((r) => s.once('upgrade', r)), 3000, `${what}: upgrade`);
        assert.equal(s.transport.name, 'websocket');
      }
      assert.equal(s.transport.name, opts.transports.at(-1), what);
      for (const text of ['v3 hello', 'v3 héllo € 😀 𝄞']) {
        const m = nextMessage(s, `${what}: echo of ${JSON.stringify(text)}`);
        s.send(text);
        assert.equal(await m, text, what);
      }
      for (const bin of [Buffer.from([0, 1, 2, 255]), crypto.randomBytes(2000)]) {
        const m = nextMessage(s, `${what}: echo of ${bin.length} binary bytes`);
        s.send(bin);
        const got = await m;
        assert.ok(typeof got !== 'string', `${what}: binary arrives as binary`);
        assert.ok(sameBytes(got, bin), `${what}: binary intact`);
      }
      // The client pings every pingInterval; the server answers each.
      await until(() => pongs >= 2, 2000, `${what}: two pongs, got ${pongs}`);
      const c = closed(s);
      s.close();
      assert.equal(await c, 'forced close');
    }));
  });

  test('EIO=3 payloads (raw): UTF-16 lengths, binary payloads, base64, ping', async () => {
    {
      // String payloads: lengths count UTF-16 code units, not bytes.
      const { sid } = await handshake(3);
      const packets = ['4hello', '4€', '4😀', '4', '2'];
      const payload = packets.map((p) => `${p.length}:${p}`).join('');
      assert.equal(payload, '6:4hello2:4€3:4😀1:41:2');
      assert.equal((await post(sid, payload, { eio: 3 })).body.toString(), 'ok');
      const g = await poll(sid, 3);
      assert.equal(g.headers['content-type'], 'text/plain; charset=UTF-8');
      assert.equal(g.body.toString(), '6:4hello2:4€3:4😀1:41:3');
    }
    {
      // XHR2 binary payloads: 0x00 text / 0x01 binary, length digits as bytes, 0xff.
      const { sid } = await handshake(3);
      const digits = (n) => [...String(n)].map(Number);
      const text = Buffer.from('4héllo');
      const bin = Buffer.from([4, 0, 1, 2, 255]);
      const payload = Buffer.from([
        0, ...digits(text.length), 255, ...text,
        1, ...digits(bin.length), 255, ...bin,
      ]);
      const p = await post(sid, payload, { eio: 3, headers: { 'content-type': 'application/octet-stream' } });
      assert.equal(p.status, 200);
      assert.equal(p.body.toString(), 'ok');
      const g = await poll(sid, 3);
      assert.equal(g.headers['content-type'], 'application/octet-stream');
      assert.deepEqual(g.body, payload);
    }
    {
      // A b64=1 session: binary travels as "b4<base64>" with the length prefix.
      const { sid } = await handshake(3, '&b64=1');
      const packet = `b4${Buffer.from([1, 2, 3, 4]).toString('base64')}`;
      assert.equal((await post(sid, `${packet.length}:${packet}`, { eio: 3 })).status, 200);
      const g = await poll(sid, 3);
      assert.equal(g.headers['content-type'], 'text/plain; charset=UTF-8');
      assert.equal(g.body.toString(), '10:b4AQIDBA==');
    }
    {
      // WebSocket: binary frames carry the 0x04 type byte; the client pings.
      const ws = await rawWs(wsUrl(null, 3));
      await ws.next();
      ws.send(Buffer.from([4, 9, 8, 7]));
      assert.deepEqual(await ws.next(), { binary: Buffer.from([4, 9, 8, 7]) });
      ws.send('2');
      assert.deepEqual(await ws.next(), { text: '3' });
      ws.send('4v3 text 😀');
      assert.deepEqual(await ws.next(), { text: '4v3 text 😀' });
      ws.close();
    }
  });
});
