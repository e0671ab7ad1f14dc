// The WebSocket layer end to end: sio-fixture ws-echo with the `ws` client and raw frames.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import WebSocket from 'ws';
import { startServer, rawRequest, request, sleep } from './lib/harness.mjs';

let srv;
let wsUrl;

before(async () => {
  srv = await startServer('sio-fixture', ['ws-echo']);
  wsUrl = `ws://127.0.0.1:${srv.port}/echo`;
});

after(async () => {
  const r = await srv.stop();
  assert.equal(r.code, 0, r.stderr);
});

function open(url = wsUrl, opts = {}) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false, maxPayload: 64 << 20, ...opts });
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

function next(ws) {
  return new Promise((resolve, reject) => {
    ws.once('message', (data, isBinary) => resolve({ data, isBinary }));
    ws.once('close', (code) => reject(new Error(`closed with ${code}`)));
  });
}

function closed(ws) {
  return new Promise((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
}

async function echo(ws, payload, binary) {
  const p = next(ws);
  ws.send(payload, { binary });
  return p;
}

test('text and binary echo, empty and astral', async () => {
  const ws = await open();
  let m = await echo(ws, 'hello', false);
  assert.equal(m.isBinary, false);
  assert.equal(m.data.toString(), 'hello');
  m = await echo(ws, '', false);
  assert.equal(m.isBinary, false);
  assert.equal(m.data.length, 0);
  m = await echo(ws, 'héllo 😀 𝄞', false);
  assert.equal(m.data.toString(), 'héllo 😀 𝄞');
  m = await echo(ws, Buffer.from([0, 1, 2, 255]), true);
  assert.equal(m.isBinary, true);
  assert.deepEqual(m.data, Buffer.from([0, 1, 2, 255]));
  m = await echo(ws, Buffer.alloc(0), true);
  assert.equal(m.isBinary, true);
  assert.equal(m.data.length, 0);
  ws.close();
  await closed(ws);
});

test('every length form, up to 16 MiB, byte-exact', async () => {
  const ws = await open();
  for (const n of [0, 125, 126, 65535, 65536, 1 << 20, 16 << 20]) {
    const buf = crypto.randomBytes(n);
    const m = await echo(ws, buf, true);
    assert.equal(m.data.length, n);
    assert.ok(m.data.equals(buf), `size ${n}`);
  }
  ws.close();
  await closed(ws);
});

test('a message over 16 MiB closes with 1009', async () => {
  const ws = await open();
  const c = closed(ws);
  ws.send(Buffer.alloc((16 << 20) + 1));
  assert.equal((await c).code, 1009);
});

test('fragmented messages are reassembled', async () => {
  const ws = await open();
  const p = next(ws);
  ws.send('one ', { fin: false });
  ws.send('two ', { fin: false });
  ws.send('three', { fin: true });
  const m = await p;
  assert.equal(m.isBinary, false);
  assert.equal(m.data.toString(), 'one two three');
  ws.close();
  await closed(ws);
});

test('permessage-deflate on and off', async () => {
  const on = await open(wsUrl, { perMessageDeflate: true });
  assert.match(on.extensions, /permessage-deflate/);
  const text = 'libsio '.repeat(100 * 1024 / 7);
  let m = await echo(on, text, false);
  assert.equal(m.data.toString(), text);
  const bin = crypto.randomBytes(300000);
  m = await echo(on, bin, true);
  assert.ok(m.data.equals(bin));
  for (let i = 0; i < 20; i++) {
    m = await echo(on, `short ${i}`, false);
    assert.equal(m.data.toString(), `short ${i}`);
  }
  on.close();
  await closed(on);
  const off = await open(wsUrl, { perMessageDeflate: false });
  assert.equal(off.extensions, '');
  m = await echo(off, text, false);
  assert.equal(m.data.toString(), text);
  off.close();
  await closed(off);
});

test('ping gets a pong with the same data', async () => {
  const ws = await open();
  const p = new Promise((resolve) => ws.once('pong', resolve));
  ws.ping(Buffer.from('are you there'));
  assert.equal((await p).toString(), 'are you there');
  ws.close();
  await closed(ws);
});

test('close codes are echoed', async () => {
  for (const [code, reason] of [[1000, ''], [4001, 'bye']]) {
    const ws = await open();
    const c = closed(ws);
    ws.close(code, reason);
    assert.equal((await c).code, code);
  }
});

// A raw client: handshake, then frames of our own making.
function frame(opcode, payload, { fin = true, mask = true, rsv = 0 } = {}) {
  const len = payload.length;
  const head = [((fin ? 0x80 : 0) | rsv | opcode)];
  const m = mask ? 0x80 : 0;
  if (len < 126) head.push(m | len);
  else if (len < 65536) head.push(m | 126, len >> 8, len & 255);
  else throw new Error('not needed');
  const key = crypto.randomBytes(4);
  const body = Buffer.from(payload);
  if (mask) for (let i = 0; i < body.length; i++) body[i] ^= key[i % 4];
  return Buffer.concat([Buffer.from(head), mask ? key : Buffer.alloc(0), body]);
}

const handshake = (port) => `GET /raw HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\n` +
  'Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n';

async function rawFrames(bytes) {
  let sent = false;
  const r = await rawRequest(srv.port, handshake(srv.port), {
    timeoutMs: 3000,
    onData: (buf, s) => {
      if (!sent && buf.includes('\r\n\r\n')) {
        sent = true;
        s.write(bytes);
      }
    },
  });
  const text = r.data.toString('latin1');
  assert.match(text, /^HTTP\/1\.1 101 Switching Protocols\r\n/);
  assert.match(text, /Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK\+xOo=\r\n/i);
  const rest = r.data.subarray(r.data.indexOf('\r\n\r\n') + 4);
  return { rest, closed: r.closed };
}

// The first server frame must be a close with this code, and the TCP connection must end.
async function expectClose(bytes, code) {
  const { rest, closed: c } = await rawFrames(bytes);
  assert.ok(rest.length >= 4, `a close frame, got ${rest.toString('hex')}`);
  assert.equal(rest[0], 0x88);
  assert.equal(rest.readUInt16BE(2), code);
  assert.ok(c, 'connection closed');
}

test('protocol violations close with 1002 or 1007', async () => {
  await expectClose(frame(1, Buffer.from('hi'), { mask: false }), 1002); // unmasked from a client
  await expectClose(frame(3, Buffer.from('x')), 1002); // reserved opcode
  await expectClose(frame(1, Buffer.from([0xc3, 0x28])), 1007); // invalid UTF-8
  await expectClose(frame(8, Buffer.from([0x03, 0xed])), 1002); // close code 1005
  await expectClose(frame(9, Buffer.alloc(126)), 1002); // control frame too long
  await expectClose(frame(1, Buffer.from('x'), { rsv: 0x40 }), 1002); // RSV1 without deflate
  await expectClose(frame(0, Buffer.from('x')), 1002); // continuation without a start
  await expectClose(frame(9, Buffer.from('x'), { fin: false }), 1002); // fragmented control
});

test('a valid raw exchange: masked text echoed unmasked', async () => {
  const { rest } = await rawFrames(Buffer.concat([frame(1, Buffer.from('raw')), frame(8, Buffer.from([0x03, 0xe8]))]));
  assert.deepEqual(rest.subarray(0, 5), Buffer.from([0x81, 3, ...Buffer.from('raw')]));
  assert.deepEqual(rest.subarray(5, 9), Buffer.from([0x88, 2, 0x03, 0xe8]));
});

test('handshake errors', async () => {
  const base = { Upgrade: 'websocket', Connection: 'Upgrade', 'Sec-WebSocket-Version': '13' };
  let r = await request(`${srv.url}/x`, { headers: base });
  assert.equal(r.status, 400);
  r = await request(`${srv.url}/x`, {
    headers: { ...base, 'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==', 'Sec-WebSocket-Version': '8' },
  });
  assert.equal(r.status, 426);
  assert.equal(r.headers['sec-websocket-version'], '13');
  r = await request(`${srv.url}/x`);
  assert.equal(r.status, 426);
});

test('50 clients echo 100 messages each', async () => {
  const clients = await Promise.all(Array.from({ length: 50 }, () => open()));
  await Promise.all(clients.map(async (ws, i) => {
    const got = [];
    const done = new Promise((resolve) => ws.on('message', (d) => { got.push(d.toString()); if (got.length === 100) resolve(); }));
    for (let k = 0; k < 100; k++) ws.send(`${i}:${k}`);
    await done;
    assert.deepEqual(got, Array.from({ length: 100 }, (_, k) => `${i}:${k}`));
  }));
  await Promise.all(clients.map((ws) => { const c = closed(ws); ws.close(); return c; }));
});

test('a misbehaving client does not disturb another', async () => {
  const good = await open();
  const bad = rawFrames(Buffer.concat([crypto.randomBytes(4096)]));
  for (let i = 0; i < 20; i++) {
    const m = await echo(good, `still ${i}`, false);
    assert.equal(m.data.toString(), `still ${i}`);
  }
  await bad;
  good.close();
  await closed(good);
});

test('shutdown closes open WebSockets with 1001 and exits 0', async () => {
  const s = await startServer('sio-fixture', ['ws-echo']);
  const ws = await open(`ws://127.0.0.1:${s.port}/`);
  const c = closed(ws);
  const r = await s.stop();
  assert.equal((await c).code, 1001);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(r.ms < 5000);
});

test('clients that vanish mid-echo of large messages leave the server serving', async () => {
  for (let i = 0; i < 5; i++) {
    const ws = await open();
    ws.send(crypto.randomBytes(4 << 20));
    await sleep(30);
    ws.terminate();
  }
  const ws = await open();
  const m = await echo(ws, 'still here', false);
  assert.equal(m.data.toString(), 'still here');
  ws.close();
  await closed(ws);
});
