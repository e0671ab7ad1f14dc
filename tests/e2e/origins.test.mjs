// Origins (docs/security.md): the cors options (list, predicate, credentials, methods), the
// Origin allowlist of the Engine.IO handshake and of WebSocket upgrades (cross-site
// WebSocket hijacking refused before any 101), and allowRequest, against `sio-fixture sio`
// with the official socket.io-client and `ws`. Requests without an Origin header
// (non-browser clients) always pass the allowlist.
import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { io } from 'socket.io-client';
import WebSocket from 'ws';
import { startServer, request, within, until } from './lib/harness.mjs';

const APP = 'http://app.example';
const EVIL = 'http://evil.example';

const clients = [];
const client = (srv, opts = {}) => {
  const s = io(srv.url, { forceNew: true, reconnection: false, ...opts });
  clients.push(s);
  return s;
};
const connected = (s) => within(new Promise((resolve, reject) => {
  s.once('connect', resolve);
  s.once('connect_error', reject);
}), 3000, 'connect or connect_error');
const refused = (s) => within(new Promise((resolve, reject) => {
  s.once('connect', () => reject(new Error('connected, but should have been refused')));
  s.once('connect_error', resolve);
}), 3000, 'connect_error');
// The socket still answers: "message" comes back as "message-back".
async function echoes(s, text) {
  const back = within(new Promise((r) => s.once('message-back', r)), 2000, `message-back ${text}`);
  s.emit('message', text);
  assert.equal(await back, text);
}

// A raw upgrade with the given Origin: resolves {status} for a refusal, {open: ws} for a 101.
function upgrade(srv, origin) {
  return within(new Promise((resolve) => {
    const ws = new WebSocket(`ws://127.0.0.1:${srv.port}/socket.io/?EIO=4&transport=websocket`,
      origin ? { origin } : {});
    ws.on('unexpected-response', (req, res) => {
      let body = '';
      res.on('data', (d) => { body += d; });
      res.on('end', () => resolve({ status: res.statusCode, body }));
    });
    ws.on('open', () => resolve({ open: ws }));
    ws.on('error', () => {});
  }), 3000, `upgrade with Origin ${origin}`);
}

const handshake = (srv, headers = {}) => request(`${srv.url}/socket.io/?EIO=4&transport=polling`, { headers });

async function stopOk(srv) {
  for (const c of clients.splice(0)) c.close();
  const e = await srv.stop();
  assert.equal(e.code, 0, e.stderr);
}

const refusalLogged = (srv, origin, transport) => until(
  () => srv.stderr().includes(`origin "${origin}" not allowed (${transport}): refused`), 2000,
  `log line for ${origin} over ${transport}`);

describe('cors.origins as the allowlist', () => {
  let srv;
  after(() => srv && stopOk(srv));

  test('a foreign Origin is refused over WebSocket (400, no 101) and polling (403); allowed and absent Origins work; others undisturbed', async () => {
    srv = await startServer('sio-fixture', ['sio', '--cors-origin', APP]);
    const bystander = client(srv, { transports: ['websocket'] });
    await connected(bystander);

    // Cross-site WebSocket hijacking: a page of evil.example opening the socket.
    const hijack = await upgrade(srv, EVIL);
    assert.equal(hijack.status, 400);
    assert.equal(hijack.body, 'Origin not allowed');
    await refusalLogged(srv, EVIL, 'websocket');
    const err = await refused(client(srv, { transports: ['websocket'], extraHeaders: { Origin: EVIL } }));
    assert.match(String(err.message), /websocket error/);

    // Polling handshake from the foreign origin: allowRequest's refusal.
    const poll = await handshake(srv, { Origin: EVIL });
    assert.equal(poll.status, 403);
    assert.deepEqual(JSON.parse(poll.body), { code: 4, message: 'Origin not allowed' });
    assert.equal(poll.headers['access-control-allow-origin'], undefined);
    await refusalLogged(srv, EVIL, 'polling');
    await refused(client(srv, { transports: ['polling'], extraHeaders: { Origin: EVIL } }));

    // The allowed origin, over both transports, and the upgrade between them.
    const ok = await upgrade(srv, APP);
    assert.ok(ok.open, `allowed origin refused: ${JSON.stringify(ok)}`);
    ok.open.close();
    for (const transports of [['websocket'], ['polling'], ['polling', 'websocket']]) {
      const s = client(srv, { transports, extraHeaders: { Origin: APP } });
      await connected(s);
      await echoes(s, `from ${APP} over ${transports}`);
    }
    const allowedPoll = await handshake(srv, { Origin: APP });
    assert.equal(allowedPoll.status, 200);
    assert.equal(allowedPoll.headers['access-control-allow-origin'], APP);
    assert.equal(allowedPoll.headers['access-control-allow-credentials'], 'true');

    // No Origin at all: a non-browser client.
    const plain = await upgrade(srv, null);
    assert.ok(plain.open);
    plain.open.close();
    const noOrigin = client(srv);
    await connected(noOrigin);
    await echoes(noOrigin, 'no origin');

    await echoes(bystander, 'still here');
  });

  test('preflight: the allowed origin gets the CORS answer, a foreign one none', async () => {
    const pre = (origin) => request(`${srv.url}/socket.io/?EIO=4&transport=polling`, {
      method: 'OPTIONS',
      headers: { Origin: origin, 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'content-type' },
    });
    const good = await pre(APP);
    assert.equal(good.status, 204);
    assert.equal(good.headers['access-control-allow-origin'], APP);
    assert.equal(good.headers['access-control-allow-credentials'], 'true');
    assert.equal(good.headers['access-control-allow-methods'], 'GET,HEAD,PUT,PATCH,POST,DELETE');
    assert.equal(good.headers['access-control-allow-headers'], 'content-type');
    const bad = await pre(EVIL);
    assert.equal(bad.status, 204);
    assert.equal(bad.headers['access-control-allow-origin'], undefined);
  });
});

describe('cors.origin_cb: a predicate', () => {
  let srv;
  after(() => srv && stopOk(srv));

  test('origins the predicate accepts are reflected and may upgrade; others are refused', async () => {
    srv = await startServer('sio-fixture', ['sio', '--cors-origin-suffix', '.trusted.example']);
    const good = 'https://a.trusted.example';
    const pollGood = await handshake(srv, { Origin: good });
    assert.equal(pollGood.status, 200);
    assert.equal(pollGood.headers['access-control-allow-origin'], good);
    const s = client(srv, { transports: ['polling', 'websocket'], extraHeaders: { Origin: good } });
    await connected(s);
    await until(() => s.io.engine.transport.name === 'websocket', 2000, 'upgrade to websocket');
    await echoes(s, 'trusted');

    const bad = 'https://trusted.example.evil.example';
    assert.equal((await upgrade(srv, bad)).status, 400);
    await refusalLogged(srv, bad, 'websocket');
    const pollBad = await handshake(srv, { Origin: bad });
    assert.equal(pollBad.status, 403);
    assert.equal(pollBad.headers['access-control-allow-origin'], undefined);
    await echoes(s, 'undisturbed');
  });
});

describe('io.allowed_origins without a CORS list', () => {
  let srv;
  after(() => srv && stopOk(srv));

  test('the explicit allowlist guards the handshake and upgrades while CORS allows any origin', async () => {
    srv = await startServer('sio-fixture', ['sio', '--allowed-origin', APP]);
    assert.equal((await upgrade(srv, EVIL)).status, 400);
    await refusalLogged(srv, EVIL, 'websocket');
    assert.equal((await handshake(srv, { Origin: EVIL })).status, 403);
    const s = client(srv, { transports: ['websocket'], extraHeaders: { Origin: APP } });
    await connected(s);
    await echoes(s, 'allowed');
  });
});

describe('allowRequest', () => {
  let srv;
  after(() => srv && stopOk(srv));

  test('a custom check refuses with its message (403 polling, 400 upgrade) and lets the others in', async () => {
    srv = await startServer('sio-fixture', ['sio', '--require-header', 'x-token:ok']);
    const poll = await handshake(srv);
    assert.equal(poll.status, 403);
    assert.deepEqual(JSON.parse(poll.body), { code: 4, message: 'missing x-token' });
    const up = await upgrade(srv, null);
    assert.equal(up.status, 400);
    assert.equal(up.body, 'missing x-token');
    await refused(client(srv, { transports: ['websocket'] }));
    for (const transports of [['websocket'], ['polling', 'websocket']]) {
      const s = client(srv, { transports, extraHeaders: { 'x-token': 'ok' } });
      await connected(s);
      await echoes(s, `token over ${transports}`);
    }
  });
});
