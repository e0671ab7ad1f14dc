// TLS end to end: sio-fixture and sio-chat with --tls-cert/--tls-key, a CA and a server
// certificate for 127.0.0.1 and localhost that this file makes with the openssl CLI, and
// Node clients that verify it (ca: the test CA, rejectUnauthorized: true). https, Engine.IO
// polling and WebSocket (wss) with the official clients, large messages both ways, ALPN,
// what is refused (TLS 1.1, plain HTTP, garbage, a bad certificate or key), the handshake
// timeout, and a SIGTERM shutdown with TLS clients connected.
import { describe, test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { createRequire } from 'node:module';
import { io } from 'socket.io-client';
import WebSocket from 'ws';
import { startServer, buildDir, root, rawRequest, within, until } from './lib/harness.mjs';

const require = createRequire(import.meta.url);
const io2 = require('socket.io-client-v2');

let dir;
let ca;
let tlsArgs;
let srv;
const open = [];

// ---- certificates ----

function openssl(...args) {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
}

// A CA, a server certificate it signs (SAN 127.0.0.1, ::1, localhost), a key that matches
// nothing, and a file that is not PEM.
function makeCertificates() {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sio-tls-'));
  openssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
    '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=libsio test CA');
  openssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
    '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=localhost');
  fs.writeFileSync(path.join(dir, 'ext.cnf'),
    'subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  openssl('x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key',
    '-CAcreateserial', '-out', 'server.pem', '-days', '2', '-extfile', 'ext.cnf');
  openssl('genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', 'other.key');
  fs.writeFileSync(path.join(dir, 'garbage.pem'), 'not a certificate\n');
  ca = fs.readFileSync(path.join(dir, 'ca.pem'));
  tlsArgs = ['--tls-cert', path.join(dir, 'server.pem'), '--tls-key', path.join(dir, 'server.key')];
}

// ---- helpers ----

// The Socket.IO modes get a relaxed heartbeat (the fixture's 300/200 ms is meant for
// heartbeat tests): on a loaded machine a busy client would miss it, TLS or not.
const HEARTBEAT = ['--ping-interval', '1000', '--ping-timeout', '5000'];

async function start(mode, extra = []) {
  const heartbeat = mode === 'sio' && !extra.includes('--ping-interval') ? HEARTBEAT : [];
  srv = await startServer('sio-fixture', [mode, ...tlsArgs, ...heartbeat, ...extra]);
  srv.https = `https://127.0.0.1:${srv.port}`;
  return srv;
}

function track(x) {
  open.push(x);
  return x;
}

function closeAll() {
  for (const x of open.splice(0)) {
    try {
      if (x.disconnect) x.disconnect();
      else if (x.terminate) x.terminate();
      else x.destroy();
    } catch { /* already gone */ }
  }
}

// GET over https with the test CA; resolves {status, headers, body, alpn, protocol}.
function get(url, opts = {}) {
  return within(new Promise((resolve, reject) => {
    const req = https.get(url, { ca, rejectUnauthorized: true, agent: false, ...opts }, (res) => {
      const chunks = [];
      const { alpnProtocol: alpn } = res.socket;
      const protocol = res.socket.getProtocol();
      res.on('data', (d) => chunks.push(d));
      res.on('end', () => resolve({
        status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks), alpn, protocol,
      }));
    });
    req.on('error', reject);
  }), 5000, `GET ${url}`);
}

// A TLS connection with these client options; resolves the socket once secure, rejects with
// the handshake error.
function tlsConnect(opts = {}) {
  return within(new Promise((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port: srv.port, ca, servername: 'localhost', ...opts });
    s.once('secureConnect', () => resolve(track(s)));
    s.once('error', reject);
  }), 5000, 'TLS connect');
}

const sioOpts = (opts) => ({ forceNew: true, reconnection: false, ca, rejectUnauthorized: true, ...opts });

async function connected(s) {
  await within(new Promise((resolve, reject) => {
    s.once('connect', resolve);
    s.once('connect_error', reject);
  }), 5000, 'socket.io connect');
  return s;
}

const once = (s, event, ms = 5000) => within(new Promise((r) => s.once(event, (...a) => r(a))), ms, event);

// The echo of `message` through the sio fixture's "message-back".
async function roundTrip(s, ...args) {
  const back = once(s, 'message-back', 10000);
  s.emit('message', ...args);
  return back;
}

const logLines = () => srv.stderr().split('\n');

function disconnectReason(id) {
  const re = new RegExp(`^sio: disconnect \\S+ ${id.replace(/[-]/g, '\\-')} \\((.*)\\)$`);
  return until(() => logLines().map((l) => l.match(re)).find(Boolean), 3000,
    `a disconnect line for ${id}`).then((m) => m[1]);
}

// Run a binary that should refuse to start; resolves {code, stderr}.
function runFailing(binary, args) {
  return within(new Promise((resolve) => {
    const p = spawn(path.join(buildDir, binary), args, { cwd: root, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    p.stderr.on('data', (d) => { err += d; });
    p.on('exit', (code) => resolve({ code, stderr: err }));
  }), 5000, `${binary} exits`);
}

before(makeCertificates);
after(() => fs.rmSync(dir, { recursive: true, force: true }));

afterEach(async () => {
  closeAll();
  if (srv) {
    const r = await srv.stop();
    srv = null;
    assert.equal(r.code, 0, r.stderr);
  }
});

describe('TLS: https and wss with a verified certificate', () => {
  test('https: static GET, keep-alive, ALPN http/1.1 when offered with h2, TLS 1.2 and 1.3', async () => {
    await start('http');
    const r = await get(`${srv.https}/hello`);
    assert.equal(r.status, 200);
    assert.equal(r.body.toString(), 'Hello, world!\n');
    assert.equal(r.protocol, 'TLSv1.3');
    assert.equal(r.alpn, false, "Node's https client offers no ALPN");
    assert.equal((await get(`https://localhost:${srv.port}/hello`)).status, 200, 'the localhost SAN');
    const r12 = await get(`${srv.https}/hello`, { maxVersion: 'TLSv1.2' });
    assert.equal(r12.protocol, 'TLSv1.2');
    assert.equal(r12.body.toString(), 'Hello, world!\n');
    // Keep-alive: two requests on one TLS connection.
    const agent = new https.Agent({ keepAlive: true, maxSockets: 1, ca });
    const a = await get(`${srv.https}/hello`, { agent });
    const b = await get(`${srv.https}/hello`, { agent });
    assert.equal(a.body.toString() + b.body.toString(), 'Hello, world!\n'.repeat(2));
    agent.destroy();
    const alpn = await tlsConnect({ ALPNProtocols: ['h2', 'http/1.1'] });
    assert.equal(alpn.alpnProtocol, 'http/1.1');
    const none = await tlsConnect({});
    assert.equal(none.alpnProtocol, false, 'no ALPN from the client is fine');
    await assert.rejects(tlsConnect({ ALPNProtocols: ['h2'] }), /no application protocol|alert/i,
      'a client that offers only h2 is refused');
  });

  test('a client that does not trust the certificate fails; the server keeps serving', async () => {
    await start('http');
    await assert.rejects(get(`${srv.https}/hello`, { ca: undefined }), /self[- ]signed|unable to get|certificate/i);
    assert.equal((await get(`${srv.https}/hello`)).status, 200);
  });

  test('socket.io-client over https polling, over wss, and polling then upgrade', async () => {
    await start('sio');
    const polling = track(io(srv.https, sioOpts({ transports: ['polling'] })));
    const ws = track(io(srv.https, sioOpts({ transports: ['websocket'] })));
    const upgrade = track(io(`${srv.https}/custom`, sioOpts({})));
    await Promise.all([polling, ws, upgrade].map(connected));
    assert.equal(polling.io.engine.transport.name, 'polling');
    assert.equal(ws.io.engine.transport.name, 'websocket');
    await until(() => upgrade.io.engine.transport.name === 'websocket', 10000, 'upgrade to websocket');
    for (const s of [polling, ws, upgrade]) {
      assert.deepEqual(await roundTrip(s, 'héllo', { n: 1 }, [true]), ['héllo', { n: 1 }, [true]]);
      assert.deepEqual(await within(s.emitWithAck('message-with-ack', 7), 5000, 'ack'), 7);
      // socket.handshake.secure: the session's first request came over TLS.
      const hs = await within(s.emitWithAck('handshake'), 5000, 'handshake ack');
      assert.equal(hs.secure, true, `secure over ${hs.url}`);
      assert.equal(hs.address, '127.0.0.1');
    }
  });

  test('large messages: 1 MiB binary and text over wss; ~0.9 MB text and 0.7 MB binary over polling', async () => {
    await start('ws-echo');
    const big = crypto.randomBytes(1 << 20);
    const text = 'é'.repeat(1 << 19); // 1 MiB of UTF-8
    const ws = track(new WebSocket(`wss://127.0.0.1:${srv.port}/`, { ca, rejectUnauthorized: true, perMessageDeflate: false }));
    await once(ws, 'open');
    const got = [];
    const both = within(new Promise((resolve) => ws.on('message', (d, isBinary) => {
      got.push([Buffer.from(d), isBinary]);
      if (got.length === 2) resolve();
    })), 10000, 'two echoes');
    ws.send(big);
    ws.send(text);
    await both;
    assert.equal(got[0][1], true);
    assert.ok(got[0][0].equals(big), 'binary echo intact');
    assert.equal(got[1][1], false);
    assert.equal(got[1][0].toString(), text, 'text echo intact');
    ws.close();
    const r = await srv.stop();
    srv = null;
    assert.equal(r.code, 0, r.stderr);

    // Relaxed heartbeat: under load, a client busy with a large message misses the
    // fixture's 200 ms ping timeout, with or without TLS.
    await start('sio', ['--ping-interval', '5000', '--ping-timeout', '5000']);
    const s = track(io(srv.https, sioOpts({ transports: ['polling'] })));
    await connected(s);
    const t = 'x'.repeat(900000);
    const [echo] = await roundTrip(s, t);
    assert.equal(echo, t);
    const b = crypto.randomBytes(700000);
    const [echoB] = await roundTrip(s, b);
    assert.ok(Buffer.from(echoB).equals(b), 'binary over polling intact');
    // The same binary over wss through Socket.IO (a binary attachment).
    const w = track(io(srv.https, sioOpts({ transports: ['websocket'] })));
    await connected(w);
    const [echoW] = await roundTrip(w, b, t);
    assert.ok(Buffer.from(echoW).equals(b));
  });

  test('many small messages in one burst arrive whole and in order over wss', async () => {
    await start('sio');
    const s = track(io(srv.https, sioOpts({ transports: ['websocket'] })));
    await connected(s);
    const got = [];
    const all = within(new Promise((resolve) => s.on('message-back', (n) => {
      got.push(n);
      if (got.length === 2000) resolve();
    })), 10000, '2000 echoes');
    for (let i = 0; i < 2000; i++) s.emit('message', i);
    await all;
    assert.deepEqual(got, Array.from({ length: 2000 }, (_, i) => i));
  });

  test('Engine.IO v3 (socket.io-client 2) over wss and https polling', async () => {
    await start('sio');
    for (const transports of [['websocket'], ['polling']]) {
      const s = track(io2(srv.https, { forceNew: true, reconnection: false, transports, ca, rejectUnauthorized: true }));
      await connected(s);
      assert.deepEqual(await roundTrip(s, 'v3', 3), ['v3', 3]);
      s.disconnect();
    }
  });
});

describe('TLS: what is refused', () => {
  test('a TLS 1.1 client is refused with an alert and one log line', async () => {
    await start('http');
    await assert.rejects(
      tlsConnect({ minVersion: 'TLSv1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT:@SECLEVEL=0' }),
      /protocol version|unsupported protocol/i);
    await until(() => /TLS handshake failed: unsupported protocol/.test(srv.stderr()), 3000,
      'a log line for the refused handshake');
    assert.equal((await get(`${srv.https}/hello`)).status, 200);
  });

  test('plain HTTP and garbage to the TLS port: closed, one log line each, others undisturbed', async () => {
    await start('http');
    const good = await tlsConnect({});
    const plain = await rawRequest(srv.port, 'GET /hello HTTP/1.1\r\nHost: x\r\n\r\n', { timeoutMs: 3000 });
    assert.equal(plain.closed, true, 'closed by the server');
    assert.equal(plain.data.includes('Hello'), false, 'no plaintext answer');
    const junk = await rawRequest(srv.port, crypto.randomBytes(3000), { timeoutMs: 3000 });
    assert.equal(junk.closed, true);
    const failures = () => srv.stderr().split('\n').filter((l) => /TLS handshake failed/.test(l));
    await until(() => failures().length === 2, 3000, () => `two log lines in:\n${srv.stderr()}`);
    assert.match(failures()[0], /^libsio info: 127\.0\.0\.1: TLS handshake failed: http request$/);
    // The connection made before is undisturbed, and new ones work.
    const answer = within(new Promise((resolve) => {
      let text = '';
      good.on('data', (d) => {
        text += d;
        if (text.includes('Hello, world!')) resolve(text);
      });
    }), 3000, 'the answer on the earlier connection');
    good.write('GET /hello HTTP/1.1\r\nHost: x\r\n\r\n');
    assert.match(await answer, /^HTTP\/1\.1 200 OK/);
    assert.equal((await get(`${srv.https}/hello`)).status, 200);
  });

  test('a silent TCP client is closed after the handshake timeout; a slow one that finishes is not', async () => {
    await start('http', ['--tls-handshake-timeout', '400']);
    const t0 = Date.now();
    const silent = rawRequest(srv.port, null, { timeoutMs: 5000 });
    // A good client meanwhile.
    assert.equal((await get(`${srv.https}/hello`)).status, 200);
    const r = await silent;
    const ms = Date.now() - t0;
    assert.equal(r.closed, true, 'the server closed it');
    assert.ok(ms >= 350 && ms < 3000, `closed after ${ms} ms`);
    await until(() => /TLS handshake timed out/.test(srv.stderr()), 2000, 'the timeout log line');
    // Past the handshake, the timeout no longer applies: an idle TLS connection stays open
    // for the HTTP keep-alive time (5 s), well beyond 400 ms.
    const s = await tlsConnect({});
    const closedEarly = await Promise.race([
      new Promise((resolve) => s.once('close', () => resolve(true))),
      new Promise((resolve) => setTimeout(() => resolve(false), 1200)),
    ]);
    assert.equal(closedEarly, false);
  });

  test('a bad certificate, a bad key, or a key that does not match: the server does not start', async () => {
    const f = (n) => path.join(dir, n);
    const cases = [
      [['--tls-cert', f('missing.pem'), '--tls-key', f('server.key')], /tls: certificate .*missing\.pem/],
      [['--tls-cert', f('garbage.pem'), '--tls-key', f('server.key')], /tls: certificate .*garbage\.pem/],
      [['--tls-cert', f('server.pem'), '--tls-key', f('garbage.pem')], /tls: key .*garbage\.pem/],
      [['--tls-cert', f('server.pem'), '--tls-key', f('other.key')], /does not match|values mismatch/],
    ];
    for (const [args, re] of cases) {
      const r = await runFailing('sio-fixture', ['http', '--port', '0', ...args]);
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, re);
    }
    const chat = await runFailing('sio-chat', ['--port', '0', '--tls-cert', f('server.pem')]);
    assert.equal(chat.code, 2, 'a certificate without a key is a usage error');
  });
});

describe('TLS: shutdown and the chat', () => {
  test('SIGTERM with TLS clients connected: each is told "server shutting down", exit 0', async () => {
    await start('sio');
    const clients = [
      track(io(srv.https, sioOpts({ transports: ['websocket'] }))),
      track(io(srv.https, sioOpts({ transports: ['polling'] }))),
      track(io(`${srv.https}/custom`, sioOpts({}))),
      track(io2(srv.https, { forceNew: true, reconnection: false, transports: ['websocket'], ca })),
    ];
    await Promise.all(clients.map(connected));
    await until(() => clients[2].io.engine.transport.name === 'websocket', 10000, 'upgrade');
    // Stop while the polling client has its GET parked: a little after its latest ping (a
    // request in flight at that moment would fail as "transport error", TLS or not).
    let lastPing = Date.now();
    clients[1].io.engine.on('ping', () => { lastPing = Date.now(); });
    await until(() => Date.now() - lastPing >= 40 && Date.now() - lastPing <= 400, 5000,
      'a moment between heartbeats');
    const ids = clients.map((s) => s.id);
    const reasons = Promise.all(clients.map((s) => once(s, 'disconnect').then(([r]) => r)));
    const stopped = srv.stop();
    const got = await reasons;
    // The polling client may instead need a new connection for its next request just as
    // the listener closes (ECONNREFUSED: "transport error"); the server's side is checked
    // for every client below.
    assert.match(got[1], /^transport (close|error)$/);
    got[1] = 'transport close';
    assert.deepEqual(got, Array(4).fill('transport close'));
    const r = await stopped;
    assert.equal(r.code, 0, r.stderr);
    assert.ok(r.ms < 4000, `exited after ${r.ms} ms`);
    for (const id of ids) assert.equal(await disconnectReason(id), 'server shutting down');
    srv = null;
  });

  test('sio-chat --tls-cert/--tls-key serves its page and the chat over https and wss', async () => {
    srv = await startServer('sio-chat', [...tlsArgs, '--host', '127.0.0.1', '--public', 'apps/chat/public']);
    srv.https = `https://127.0.0.1:${srv.port}`;
    const page = await get(`${srv.https}/`);
    assert.equal(page.status, 200);
    assert.match(page.headers['content-type'], /text\/html/);
    assert.match(page.body.toString(), /<html/i);
    const js = await get(`${srv.https}/socket.io/socket.io.js`);
    assert.equal(js.status, 200);
    assert.match(srv.stderr() + srv.stdout(), /listening on https:\/\/localhost:/);
    const s = track(io(srv.https, sioOpts({ transports: ['websocket'] })));
    await connected(s);
    const r = await within(s.emitWithAck('login', 'tls-user'), 5000, 'login');
    assert.equal(r.ok, true, JSON.stringify(r));
  });
});
