// Limits (docs/security.md "## Limits"): each one exceeded gives its documented error or
// close and a log line, and a connection next to it goes on undisturbed. `sio-fixture` with
// small values set by its flags, the official socket.io-client, `ws` and raw sockets.
import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { io } from 'socket.io-client';
import WebSocket from 'ws';
import { startServer, buildDir, rawRequest, within, until, sleep } from './lib/harness.mjs';

const clients = [];
const client = (srv, nsp = '/', opts = {}) => {
  const s = io(`${srv.url}${nsp}`, { forceNew: true, reconnection: false, transports: ['websocket'], ...opts });
  clients.push(s);
  return s;
};
const connected = (s) => within(new Promise((resolve, reject) => {
  if (s.connected) resolve();
  s.once('connect', resolve);
  s.once('connect_error', reject);
}), 3000, 'connect');
const once = (s, event, ms = 2000) => within(new Promise((r) => s.once(event, (...a) => r(a))), ms, event);
async function echoes(s, ...args) {
  const back = once(s, 'message-back');
  s.emit('message', ...args);
  assert.deepEqual(await back, args);
}
const logged = (srv, text) => until(() => srv.stderr().includes(text), 2000, `log line "${text}"`);

async function stopOk(srv) {
  for (const c of clients.splice(0)) c.close();
  const e = await srv.stop();
  assert.equal(e.code, 0, e.stderr);
}

// A raw TCP connection: resolves {sock} once connected; sock.ended resolves when the server
// closes it.
function tcp(port) {
  return within(new Promise((resolve, reject) => {
    const sock = net.connect(port, '127.0.0.1');
    sock.ended = new Promise((r) => sock.once('close', () => { sock.gone = true; r(); }));
    sock.on('error', () => {});
    sock.once('connect', () => resolve(sock));
    sock.once('close', () => reject(new Error('closed before connecting')));
  }), 3000, 'tcp connect');
}

// A raw Engine.IO v4 WebSocket on /socket.io/ that answers pings; next() yields the other
// text frames.
function rawWs(srv) {
  return within(new Promise((resolve) => {
    const ws = new WebSocket(`ws://127.0.0.1:${srv.port}/socket.io/?EIO=4&transport=websocket`);
    const queue = [];
    const waiters = [];
    ws.on('message', (d, binary) => {
      const t = binary ? d : d.toString();
      if (t === '2') { ws.send('3'); return; }
      const w = waiters.shift();
      if (w) w(t); else queue.push(t);
    });
    ws.next = (ms = 2000) => (queue.length ? Promise.resolve(queue.shift())
      : within(new Promise((r) => waiters.push(r)), ms, 'next frame'));
    ws.closed = new Promise((r) => ws.once('close', (code) => r(code)));
    ws.once('open', async () => { await ws.next(); resolve(ws); });
  }), 3000, 'raw websocket');
}

// CPU seconds the process has used (utime + stime).
function cpuSeconds(pid) {
  const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = f.slice(f.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

describe('max_connections', () => {
  let srv;
  after(() => srv && stopOk(srv));

  test('past 5 connections the next is closed at once and logged; the 5 work; a freed slot is usable', async () => {
    srv = await startServer('sio-fixture', ['sio', '--max-connections', '5']);
    const five = [];
    for (let i = 0; i < 5; i++) {
      const s = client(srv);
      await connected(s);
      five.push(s);
    }
    const sixth = await tcp(srv.port);
    await within(sixth.ended, 2000, 'the 6th connection closed by the server');
    await logged(srv, 'connection refused: max_connections (5) reached');
    const refusedClient = client(srv);
    await assert.rejects(connected(refusedClient));
    for (const [i, s] of five.entries()) await echoes(s, `still ${i}`);

    five[0].close();
    // The server sees the close a moment later; then a new connection gets the slot.
    const again = await until(async () => {
      const s = client(srv);
      try { await connected(s); return s; } catch { s.close(); return null; }
    }, 3000, 'a connection in the freed slot');
    await echoes(again, 'in the freed slot');
    for (const s of five.slice(1)) await echoes(s, 'after');
  });
});

describe('accept() failing with EMFILE', () => {
  let srv;
  after(() => srv && stopOk(srv));

  test('out of descriptors the server neither spins nor crashes, and serves again once they are back', async () => {
    // A low descriptor limit for the server only.
    srv = await startServer('sio-fixture', ['sio'], {
      command: ['bash', '-c', 'ulimit -n 64 && exec "$0" "$@"', path.join(buildDir, 'sio-fixture')],
    });
    const bystander = client(srv);
    await connected(bystander);
    const socks = [];
    for (let i = 0; i < 120; i++) {
      try { socks.push(await tcp(srv.port)); } catch { /* refused: fine */ }
    }
    const cpu0 = cpuSeconds(srv.proc.pid);
    await sleep(1000);
    const spent = cpuSeconds(srv.proc.pid) - cpu0;
    assert.ok(spent < 0.5, `the server used ${spent} s of CPU in 1 s while out of descriptors`);
    // libuv's reserve descriptor: the connections it could not keep were accepted and closed.
    const shed = socks.filter((x) => x.gone).length;
    assert.ok(shed > 0 && shed < socks.length, `${shed} of ${socks.length} connections closed by the server`);
    await echoes(bystander, 'alive');
    for (const s of socks) s.destroy();
    const late = await until(async () => {
      const s = client(srv);
      try { await connected(s); return s; } catch { s.close(); return null; }
    }, 5000, 'a connection once descriptors are free');
    await echoes(late, 'back');
  });
});

describe('Socket.IO limits', () => {
  let srv;
  after(() => srv && stopOk(srv));

  test('start', async () => {
    srv = await startServer('sio-fixture', ['sio', '--max-attachments', '2', '--max-rooms', '3',
      '--max-pending-acks', '5', '--max-kept-events', '3']);
  });

  test('attachments: a packet with more than max_attachments closes its client, logged; others go on', async () => {
    const bystander = client(srv);
    const s = client(srv);
    await Promise.all([connected(bystander), connected(s)]);
    await echoes(s, Buffer.from('a'), Buffer.from('b'));
    const gone = once(s, 'disconnect');
    s.emit('message', Buffer.from('a'), Buffer.from('b'), Buffer.from('c'));
    assert.equal((await gone)[0], 'transport close');
    await logged(srv, 'parse error (too many attachments): closing');
    await echoes(bystander, Buffer.from('x'), Buffer.from('y'));
  });

  test('rooms: past max_rooms_per_socket sio_join() fails with ELIMIT, logged; joined rooms and others unaffected', async () => {
    const s = client(srv);
    const other = client(srv);
    await Promise.all([connected(s), connected(other)]);
    for (const room of ['r1', 'r2', 'r3']) assert.deepEqual(await s.emitWithAck('join', room), { err: null });
    assert.deepEqual(await s.emitWithAck('join', 'r4'), { err: 'ELIMIT' });
    await logged(srv, `${s.id}: max_rooms_per_socket (3) reached: room "r4" not joined`);
    assert.deepEqual(await s.emitWithAck('join', 'r1'), { err: null }, 'a room it is in already');
    assert.deepEqual(await other.emitWithAck('join', 'r4'), { err: null });
    await echoes(s, 'fine');
  });

  test('pending acks: past max_pending_acks the emit fails with ELIMIT, logged; answered acks free their slots', async () => {
    const s = client(srv);
    const other = client(srv);
    await Promise.all([connected(s), connected(other)]);
    const held = [];
    s.on('need-ack', (i, cb) => held.push(cb));
    assert.deepEqual(await s.emitWithAck('emit-acks', 7), { ok: 5, err: 'ELIMIT' });
    await logged(srv, `${s.id}: max_pending_acks (5) reached: emit "need-ack" refused`);
    await until(() => held.length === 5, 2000, '5 need-ack events');
    assert.deepEqual(await other.emitWithAck('emit-acks', 2), { ok: 2, err: null });
    for (const cb of held.splice(0)) cb('done');
    await sleep(100);
    assert.deepEqual(await s.emitWithAck('emit-acks', 5), { ok: 5, err: null });
    await echoes(s, 'fine');
  });

  test('kept events: past max_kept_events sio_event_keep() refuses, logged; the kept ones are answered later', async () => {
    const s = client(srv);
    await connected(s);
    const kept = [1, 2, 3].map(() => s.emitWithAck('keep'));
    await sleep(100);
    assert.deepEqual(await s.timeout(2000).emitWithAck('keep'), { err: 'ELIMIT' });
    await logged(srv, `${s.id}: max_kept_events (3) reached: event "keep" not kept`);
    s.emit('release');
    assert.deepEqual(await within(Promise.all(kept), 2000, 'the kept acks'), ['late', 'late', 'late']);
    const more = s.emitWithAck('keep');
    await sleep(50);
    s.emit('release');
    assert.equal(await within(more, 2000, 'a slot freed by release'), 'late');
  });
});

describe('name lengths', () => {
  let srv;
  after(() => srv && stopOk(srv));

  test('a namespace name over 255 bytes gets "Invalid namespace", logged; the connection stays', async () => {
    srv = await startServer('sio-fixture', ['sio']);
    const long = `/${'n'.repeat(299)}`;
    const bad = client(srv, long);
    const err = await within(new Promise((r) => bad.once('connect_error', r)), 2000, 'connect_error');
    assert.equal(err.message, 'Invalid namespace');
    await logged(srv, 'namespace name of 300 bytes over the limit (255)');
    // Same manager, another namespace: the connection itself was not closed.
    const ok = bad.io.socket('/custom');
    clients.push(ok);
    ok.connect();
    await connected(ok);
    await echoes(ok, 'same connection');
  });

  test('an event name over 255 bytes closes its client as a parse error, logged; 255 bytes pass', async () => {
    const bystander = client(srv);
    const s = client(srv);
    await Promise.all([connected(bystander), connected(s)]);
    s.emit('e'.repeat(255), 1);
    await echoes(s, 'after 255');
    const gone = once(s, 'disconnect');
    s.emit('e'.repeat(256), 1);
    assert.equal((await gone)[0], 'transport close');
    await logged(srv, 'event name of 256 bytes over the limit (255): closing');
    await echoes(bystander, 'undisturbed');
  });
});

describe('Limits that were there before: log lines and bystanders', () => {
  let srv;
  after(() => srv && stopOk(srv));

  test('maxHttpBufferSize over polling (413) and WebSocket (1009), and connectTimeout', async () => {
    srv = await startServer('sio-fixture', ['sio']);
    const bystander = client(srv);
    await connected(bystander);
    const big = `42["message","${'x'.repeat(1e6)}"]`;
    // Polling: the POST over the limit gets 413 and a line.
    const h = await fetch(`${srv.url}/socket.io/?EIO=4&transport=polling`);
    const sid = JSON.parse((await h.text()).slice(1)).sid;
    const post = await fetch(`${srv.url}/socket.io/?EIO=4&transport=polling&sid=${sid}`, { method: 'POST', body: `4${big}` });
    assert.equal(post.status, 413);
    await logged(srv, '413 Payload Too Large');
    // WebSocket: 1009, and a line.
    const ws = await rawWs(srv);
    ws.send('40');
    assert.match(await ws.next(), /^40\{"sid":/);
    ws.send(`4${big}`);
    assert.equal(await within(ws.closed, 2000, 'close 1009'), 1009);
    await logged(srv, 'websocket: 127.0.0.1: closing with 1009');
    // connectTimeout (1000 ms in the fixture): a session that joins nothing.
    const idle = await rawWs(srv);
    assert.equal(await within(idle.closed, 3000, 'connectTimeout close'), 1005);
    await logged(srv, 'no namespace joined within connectTimeout (1000 ms): closing');
    await echoes(bystander, 'undisturbed');
  });

  test('a raw WebSocket message over max_message closes with 1009, logged; another connection goes on', async () => {
    const echo = await startServer('sio-fixture', ['ws-echo']);
    try {
      const open = () => within(new Promise((r) => {
        const ws = new WebSocket(`ws://127.0.0.1:${echo.port}/x`);
        ws.closed = new Promise((c) => ws.once('close', (code) => c(code)));
        ws.once('open', () => r(ws));
      }), 2000, 'open');
      const [a, b] = [await open(), await open()];
      a.send(Buffer.alloc((16 << 20) + 1));
      assert.equal(await within(a.closed, 5000, 'close 1009'), 1009);
      await logged(echo, 'websocket: 127.0.0.1: closing with 1009');
      const back = within(new Promise((r) => b.once('message', (d) => r(d.toString()))), 2000, 'echo');
      b.send('still');
      assert.equal(await back, 'still');
      b.close();
    } finally {
      const e = await echo.stop();
      assert.equal(e.code, 0, e.stderr);
    }
  });

  test('a header section over 16 KiB: 431, logged; the next connection is served', async () => {
    const http = await startServer('sio-fixture', ['http']);
    try {
      const r = await rawRequest(http.port, `GET /hello HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(17000)}\r\n\r\n`);
      assert.match(r.data.toString(), /^HTTP\/1\.1 431 /);
      await logged(http, '431 Request Header Fields Too Large');
      const ok = await rawRequest(http.port, 'GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
      assert.match(ok.data.toString(), /^HTTP\/1\.1 200 [^]*Hello, world!/);
    } finally {
      const e = await http.stop();
      assert.equal(e.code, 0, e.stderr);
    }
  });
});
