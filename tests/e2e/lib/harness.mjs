// Helpers for the end-to-end suites: start a libsio binary on a free port, talk raw TCP
// and HTTP to it, stop it with SIGTERM and report how it exited.
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import net from 'node:net';
import http from 'node:http';
import path from 'node:path';
import zlib from 'node:zlib';
import { fileURLToPath } from 'node:url';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const buildDir = process.env.SIO_BUILD ? path.resolve(process.env.SIO_BUILD) : path.join(root, 'build');
// The release build (no sanitizers), for what ASan would distort: memory use, valgrind.
export const releaseDir = process.env.SIO_RELEASE_BUILD ? path.resolve(process.env.SIO_RELEASE_BUILD) : path.join(root, 'build');

export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

function canConnect(port) {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => { s.destroy(); resolve(true); });
    s.once('error', () => resolve(false));
  });
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Reject with a message naming what did not happen, instead of hanging the test.
export function within(promise, ms, what) {
  let timer;
  const t = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
  });
  return Promise.race([promise, t]).finally(() => clearTimeout(timer));
}

// Poll cond() every 10 ms until it is truthy or ms pass; resolves with its value. what may
// be a function, called for the message only when it times out.
export async function until(cond, ms, what) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await cond();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms: ${typeof what === 'function' ? what() : what}`);
    await sleep(10);
  }
}

// A queue of an emitter's `event`s: next(ms) resolves with the next one (map(...args)),
// rejecting after ms; next.pending() counts the queued ones, next.drain() takes them all.
export function inbox(emitter, event, map = (x) => x) {
  const items = [];
  const waiters = [];
  emitter.on(event, (...args) => {
    const v = map(...args);
    const w = waiters.shift();
    if (w) w(v);
    else items.push(v);
  });
  const next = (ms = 2000) => (items.length
    ? Promise.resolve(items.shift())
    : within(new Promise((r) => waiters.push(r)), ms, `next ${event}`));
  next.pending = () => items.length;
  next.drain = () => items.splice(0);
  return next;
}

// Start build/<binary> with --port <free port> and args; resolves once it accepts.
// `command` ([program, ...leading args]) runs something else in its place, e.g. a Node
// reference server: ['node', 'tests/e2e/lib/node-eio-fixture.mjs']. `port` picks the port,
// e.g. to start a server again where its clients expect it.
// readyMs: how long it may take to listen (10 s), e.g. longer under valgrind.
export async function startServer(binary, args = [], { env = {}, command, port: fixedPort, readyMs = 10000 } = {}) {
  const port = fixedPort ?? await freePort();
  const [program, ...lead] = command ?? [path.join(buildDir, binary)];
  const proc = spawn(program, [...lead, ...args, '--port', String(port)], {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  let out = '';
  proc.stderr.on('data', (d) => { err += d; });
  proc.stdout.on('data', (d) => { out += d; });
  const exited = new Promise((resolve) => proc.once('exit', (code, signal) => resolve({ code, signal })));
  let exit = null;
  exited.then((e) => { exit = e; });
  const deadline = Date.now() + readyMs;
  while (!(await canConnect(port))) {
    if (exit) throw new Error(`${binary} exited early (${JSON.stringify(exit)}):\n${err}`);
    if (Date.now() > deadline) {
      proc.kill('SIGKILL');
      throw new Error(`${binary} did not listen on ${port} within ${readyMs} ms:\n${err}`);
    }
    await sleep(20);
  }
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    proc,
    stderr: () => err,
    stdout: () => out,
    // SIGTERM, then wait up to killAfterMs (8 s) before SIGKILL. Sanitizer builds exit
    // non-zero on leaks, so callers assert code 0.
    async stop({ killAfterMs = 8000 } = {}) {
      if (!exit) proc.kill('SIGTERM');
      const t0 = Date.now();
      const timer = setTimeout(() => proc.kill('SIGKILL'), killAfterMs);
      const e = await exited;
      clearTimeout(timer);
      return { ...e, ms: Date.now() - t0, stderr: err };
    },
  };
}

// Write bytes on a raw TCP connection and collect everything until the server closes or
// timeoutMs passes. onData(buf, socket) may write more.
export function rawRequest(port, bytes, { timeoutMs = 2000, onData } = {}) {
  return new Promise((resolve) => {
    const chunks = [];
    const s = net.connect(port, '127.0.0.1');
    let done = false;
    const finish = (closed) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      s.destroy();
      resolve({ data: Buffer.concat(chunks), closed });
    };
    const timer = setTimeout(() => finish(false), timeoutMs);
    s.on('connect', () => { if (bytes != null) s.write(bytes); });
    s.on('data', (d) => { chunks.push(d); if (onData) onData(Buffer.concat(chunks), s); });
    s.on('end', () => finish(true));
    s.on('close', () => finish(true));
    s.on('error', () => finish(true));
  });
}

// A GET (or other method) with node's http client; body as a Buffer.
export function request(url, { method = 'GET', headers = {}, body, agent = false } = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers, agent }, (res) => {
      const chunks = [];
      res.on('data', (d) => chunks.push(d));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    if (body != null) req.write(body);
    req.end();
  });
}

// GET url with extra headers; resolves {status, headers, body: Buffer}.
export function httpGet(url, headers = {}) {
  return request(url, { headers });
}

// A WebSocket client on a raw TCP connection, for what the `ws` package hides or will not
// do: read whether a frame came compressed, or stop reading altogether. Resolves once
// connected and the upgrade request is written. Frames arrive whole as
// {opcode, rsv1, data, text}; compressed ones are inflated (permessage-deflate without
// context takeover, so each inflates on its own). onFrame(frame) may return true to keep a
// frame out of the list (to answer pings, say). next() waits for the first listed frame;
// head() is the response head once it arrived.
export async function rawWebSocket(port, target, { extensions, onFrame } = {}) {
  const sock = net.connect(port, '127.0.0.1');
  await within(new Promise((r, j) => { sock.once('connect', r); sock.once('error', j); }), 3000, 'connect');
  sock.on('error', () => {});
  const key = crypto.randomBytes(16).toString('base64');
  sock.write(`GET ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\n`
    + `Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\n`
    + 'Sec-WebSocket-Version: 13\r\n'
    + (extensions ? `Sec-WebSocket-Extensions: ${extensions}\r\n` : '') + '\r\n');
  let buf = Buffer.alloc(0);
  let head = null;
  let closed = false;
  let wake = null;
  const frames = [];
  sock.on('close', () => { closed = true; if (wake) wake(); });
  sock.on('data', (d) => {
    buf = Buffer.concat([buf, d]);
    if (!head) {
      const i = buf.indexOf('\r\n\r\n');
      if (i < 0) return;
      head = buf.subarray(0, i).toString();
      buf = buf.subarray(i + 4);
    }
    while (buf.length >= 2) {
      const l7 = buf[1] & 127;
      const hl = l7 < 126 ? 2 : l7 === 126 ? 4 : 10;
      if (buf.length < hl) break;
      const len = l7 < 126 ? l7 : l7 === 126 ? buf.readUInt16BE(2) : Number(buf.readBigUInt64BE(2));
      if (buf.length < hl + len) break;
      const rsv1 = (buf[0] & 0x40) !== 0;
      let data = buf.subarray(hl, hl + len);
      if (rsv1) {
        data = zlib.inflateRawSync(Buffer.concat([data, Buffer.from([0, 0, 0xff, 0xff])]),
          { finishFlush: zlib.constants.Z_SYNC_FLUSH });
      }
      const frame = { opcode: buf[0] & 15, rsv1, data, text: data.toString() };
      buf = buf.subarray(hl + len);
      if (!(onFrame && onFrame(frame))) frames.push(frame);
    }
    if (wake) wake();
  });
  // A masked text frame (payloads under 126 bytes).
  const send = (text) => {
    const body = Buffer.from(text);
    const mask = crypto.randomBytes(4);
    for (let i = 0; i < body.length; i++) body[i] ^= mask[i & 3];
    sock.write(Buffer.concat([Buffer.from([0x81, 0x80 | body.length]), mask, body]));
  };
  const next = (ms = 3000) => within((async () => {
    while (!frames.length) await new Promise((r) => { wake = r; });
    return frames.shift();
  })(), ms, 'a frame');
  return { sock, send, next, frames, head: () => head, isClosed: () => closed };
}
