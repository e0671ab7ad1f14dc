// The HTTP layer end to end: sio-fixture http against real requests, including bad input.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startServer, rawRequest, request, httpGet, root, sleep, until } from './lib/harness.mjs';

const pub = path.join(root, 'tests/fixtures/public');
let srv;
let tmp;
let srv2;
const big = crypto.randomBytes(3 * 1024 * 1024 + 17);

// One server pair for the whole file; the cases run one after another.
describe('http', { concurrency: false }, () => {
  before(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sio-http-'));
    fs.writeFileSync(path.join(tmp, 'big.bin'), big);
    fs.writeFileSync(path.join(tmp, 'pixel.png'), Buffer.from('89504e470d0a1a0a', 'hex'));
    fs.writeFileSync(path.join(tmp, 'notes.xyz'), 'unknown type');
    fs.mkdirSync(path.join(tmp, 'sub'));
    fs.writeFileSync(path.join(tmp, 'sub', 'index.html'), '<p>sub</p>');
    fs.writeFileSync(path.join(tmp, 'inside.txt'), 'inside');
  fs.writeFileSync(path.join(tmp, 'pipe.txt'), 'piped');
    fs.symlinkSync('/etc/passwd', path.join(tmp, 'passwd-link'));
    fs.symlinkSync(path.join(tmp, 'inside.txt'), path.join(tmp, 'inside-link'));
    srv = await startServer('sio-fixture', ['http', '--public', pub]);
    srv2 = await startServer('sio-fixture', ['http', '--public', tmp]);
  });

  after(async () => {
    const a = await srv?.stop();
    const b = await srv2?.stop();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
    for (const e of [a, b]) if (e) assert.equal(e.code, 0, e.stderr);
  });

  const file = (name) => fs.readFileSync(path.join(pub, name));

  // Each bad input runs next to a well-behaved client that must be unaffected.
  async function stillServes(server = srv) {
    const r = await httpGet(`${server.url}/hello`);
    assert.equal(r.status, 200);
    assert.equal(r.body.toString(), 'Hello, world!\n');
  }

  // Send bad bytes on one connection while a well-behaved client uses another.
  async function badAlongside(server, bytes, opts) {
    const [r] = await Promise.all([rawRequest(server.port, bytes, opts), stillServes(server)]);
    return r;
  }

  test('GET / and /index.html serve the index', async () => {
    for (const p of ['/', '/index.html']) {
      const r = await request(srv.url + p);
      assert.equal(r.status, 200);
      assert.match(r.headers['content-type'], /^text\/html/);
      assert.deepEqual(r.body, file('index.html'));
    }
  });

  test('HEAD has the headers of GET and no body', async () => {
    const g = await httpGet(`${srv.url}/index.html`);
    const r = await request(`${srv.url}/index.html`, { method: 'HEAD' });
    assert.equal(r.status, 200);
    assert.equal(Number(r.headers['content-length']), file('index.html').length);
    for (const h of ['content-type', 'content-length', 'etag', 'last-modified']) {
      assert.equal(r.headers[h], g.headers[h], h);
    }
    assert.equal(r.body.length, 0);
    // On a raw socket too: nothing follows the header section.
    const raw = await rawRequest(srv.port, 'HEAD /index.html HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    assert.ok(raw.data.toString().endsWith('\r\n\r\n'), raw.data.toString());
  });

  test('content types by extension', async () => {
    const cases = [
      [srv.url, '/style.css', /^text\/css/],
      [srv.url, '/app.js', /^text\/javascript/],
      [srv.url, '/data.json', /^application\/json/],
      [srv2.url, '/pixel.png', /^image\/png$/],
      [srv2.url, '/notes.xyz', /^application\/octet-stream$/],
    ];
    for (const [base, p, re] of cases) {
      const r = await request(base + p);
      assert.equal(r.status, 200, p);
      assert.match(r.headers['content-type'], re, p);
    }
  });

  test('ETag and Last-Modified give 304', async () => {
    const r = await request(`${srv.url}/style.css`);
    assert.ok(r.headers.etag);
    assert.ok(r.headers['last-modified']);
    const a = await request(`${srv.url}/style.css`, { headers: { 'if-none-match': r.headers.etag } });
    assert.equal(a.status, 304);
    assert.equal(a.body.length, 0);
    const b = await request(`${srv.url}/style.css`, { headers: { 'if-modified-since': r.headers['last-modified'] } });
    assert.equal(b.status, 304);
    const c = await request(`${srv.url}/style.css`, { headers: { 'if-none-match': 'W/"other"' } });
    assert.equal(c.status, 200);
  });

  test('single byte ranges, suffix ranges, 416, and multiple ranges served whole', async () => {
    const whole = file('index.html');
    const size = whole.length;
    let r = await request(`${srv.url}/index.html`, { headers: { range: 'bytes=0-9' } });
    assert.equal(r.status, 206);
    assert.equal(r.headers['content-range'], `bytes 0-9/${size}`);
    assert.deepEqual(r.body, whole.subarray(0, 10));
    r = await request(`${srv.url}/index.html`, { headers: { range: 'bytes=-5' } });
    assert.equal(r.status, 206);
    assert.deepEqual(r.body, whole.subarray(size - 5));
    r = await request(`${srv.url}/index.html`, { headers: { range: 'bytes=100000000-' } });
    assert.equal(r.status, 416);
    assert.equal(r.headers['content-range'], `bytes */${size}`);
    r = await request(`${srv.url}/index.html`, { headers: { range: 'bytes=0-1,3-4' } });
    assert.equal(r.status, 200);
    assert.deepEqual(r.body, whole);
    // A range of a large (streamed) file.
    r = await request(`${srv2.url}/big.bin`, { headers: { range: 'bytes=1000000-1999999' } });
    assert.equal(r.status, 206);
    assert.deepEqual(r.body, big.subarray(1000000, 2000000));
  });

  test('a 3 MiB file downloads byte-exact', async () => {
    const r = await request(`${srv2.url}/big.bin`);
    assert.equal(r.status, 200);
    assert.equal(r.body.length, big.length);
    assert.equal(crypto.createHash('sha256').update(r.body).digest('hex'),
      crypto.createHash('sha256').update(big).digest('hex'));
  });

  test('directories: index.html, and a redirect without the slash', async () => {
    let r = await request(`${srv2.url}/sub/`);
    assert.equal(r.status, 200);
    assert.equal(r.body.toString(), '<p>sub</p>');
    r = await request(`${srv2.url}/sub`);
    assert.equal(r.status, 301);
    assert.equal(r.headers.location, '/sub/');
  });

  test('path traversal is impossible', async () => {
    const attempts = [
      'GET /../../etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n',
      'GET /%2e%2e/%2e%2e/etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n',
      'GET /a/%2e%2e%2f..%2f..%2fetc/passwd HTTP/1.1\r\nHost: x\r\n\r\n',
      'GET /..%5c..%5cetc/passwd HTTP/1.1\r\nHost: x\r\n\r\n',
    ];
    for (const a of attempts) {
      const r = await badAlongside(srv2, a);
      const text = r.data.toString('latin1');
      assert.match(text, /^HTTP\/1\.1 (400|404) /, a);
      assert.doesNotMatch(text, /root:/, a);
    }
    for (const p of ['/%00', '/inside.txt%00.png']) {
      const nul = await badAlongside(srv2, `GET ${p} HTTP/1.1\r\nHost: x\r\n\r\n`);
      assert.match(nul.data.toString(), /^HTTP\/1\.1 400 /, p);
    }
    const link = await request(`${srv2.url}/passwd-link`);
    assert.equal(link.status, 404);
    assert.doesNotMatch(link.body.toString(), /root:/);
    const inside = await request(`${srv2.url}/inside-link`);
    assert.equal(inside.status, 200);
    assert.equal(inside.body.toString(), 'inside');
    await stillServes();
  });

  test('a body given to a 204 is refused before anything is sent; the 204 still goes out', async () => {
    const r = await httpGet(`${srv.url}/no-content`);
    assert.equal(r.status, 204);
    assert.equal(r.headers['x-refused'], 'EINVAL');
    assert.equal(r.body.length, 0);
    await stillServes();
  });

  test('404, 405 with Allow', async () => {
    let r = await request(`${srv.url}/missing.txt`);
    assert.equal(r.status, 404);
    r = await request(`${srv.url}/index.html`, { method: 'POST', body: 'x' });
    assert.equal(r.status, 405);
    assert.equal(r.headers.allow, 'GET, HEAD');
    r = await request(`${srv.url}/echo`);
    assert.equal(r.status, 405);
    assert.equal(r.headers.allow, 'POST');
  });

  test('keep-alive and pipelining answer in order on one connection', async () => {
    const reqs = [
      'GET /hello HTTP/1.1\r\nHost: x\r\n\r\n',
      'GET /style.css HTTP/1.1\r\nHost: x\r\n\r\n',
      'POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc',
      'GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
    ];
    const r = await rawRequest(srv.port, reqs.join(''), { timeoutMs: 3000 });
    const text = r.data.toString();
    assert.ok(r.closed, 'Connection: close ends the connection');
    const statuses = [...text.matchAll(/HTTP\/1\.1 (\d+)/g)].map((m) => m[1]);
    assert.deepEqual(statuses, ['200', '200', '200', '200']);
    let at = 0;
    for (const body of ['Hello, world!', 'color: #123', 'abc', 'Hello, world!']) {
      const i = text.indexOf(body, at);
      assert.ok(i > at, `${body} in order:\n${text}`);
      at = i + body.length;
    }
    // Two requests in two writes on one connection.
    let second = false;
    const r2 = await rawRequest(srv.port, 'GET /hello HTTP/1.1\r\nHost: x\r\n\r\n', {
      onData: (buf, s) => {
        if (!second && buf.toString().includes('world')) {
          second = true;
          s.write('GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
        }
      },
    });
    assert.equal([...r2.data.toString().matchAll(/HTTP\/1\.1 200/g)].length, 2);
  });

  test('chunked request bodies are decoded', async () => {
    const r = await rawRequest(srv.port,
      'POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n' +
      '5\r\nhello\r\n1\r\n \r\n5\r\nworld\r\n0\r\n\r\n');
    const text = r.data.toString();
    assert.match(text, /^HTTP\/1\.1 200 /);
    assert.ok(text.endsWith('\r\n\r\nhello world'), text);
  });

  test('Expect: 100-continue, and 413 without waiting for a body that is too large', async () => {
    let sent = false;
    const r = await rawRequest(srv.port,
      'POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n', {
        onData: (buf, s) => {
          if (!sent && buf.toString().startsWith('HTTP/1.1 100 Continue\r\n\r\n')) {
            sent = true;
            s.write('12345');
          }
        },
      });
    assert.ok(sent, 'the server sent 100 Continue before the body');
    assert.match(r.data.toString(), /HTTP\/1\.1 200 OK[\s\S]*\r\n\r\n12345$/);
    const t0 = Date.now();
    let firstMs = -1;
    const big413 = await rawRequest(srv.port,
      'POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 10000000\r\nExpect: 100-continue\r\n\r\n', {
        onData: () => { if (firstMs < 0) firstMs = Date.now() - t0; },
      });
    assert.match(big413.data.toString(), /^HTTP\/1\.1 413 /);
    assert.ok(firstMs >= 0 && firstMs < 1000, `413 came after ${firstMs} ms`);
    assert.doesNotMatch(big413.data.toString(), /100 Continue/);
  });

  test('a body over the route limit gets 413', async () => {
    const r = await badAlongside(srv,
      `POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 70000\r\n\r\n${'x'.repeat(70000)}`);
    assert.match(r.data.toString(), /^HTTP\/1\.1 413 /);
    const c = await badAlongside(srv,
      `POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n${'ffff\r\n' + 'y'.repeat(0xffff) + '\r\n'}ffff\r\n${'y'.repeat(0xffff)}\r\n0\r\n\r\n`);
    assert.match(c.data.toString(), /^HTTP\/1\.1 413 /);
    await stillServes();
  });

  test('malformed requests get 400 and a closed connection', async () => {
    for (const bad of ['GARBAGE\r\n\r\n', 'GET / HTTP/1.1\r\nBad Header\r\n\r\n', 'GET / HTTP/7.0\r\n\r\n',
      'POST /echo HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab']) {
      const r = await badAlongside(srv, bad);
      assert.match(r.data.toString(), /^HTTP\/1\.1 400 /, bad);
      assert.ok(r.closed, bad);
    }
    await stillServes();
  });

  test('a header section over 16 KiB gets 431', async () => {
    const r = await badAlongside(srv, `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(17000)}\r\n\r\n`);
    assert.match(r.data.toString(), /^HTTP\/1\.1 431 /);
    assert.ok(r.closed);
    await stillServes();
  });

  test('headers that never complete are cut off after 10 s (slowloris)', async () => {
    const t0 = Date.now();
    const slow = rawRequest(srv.port, 'GET / HTTP/1.1\r\nHost: x\r\n', { timeoutMs: 14000 });
    await sleep(500);
    await stillServes();
    const r = await slow;
    const ms = Date.now() - t0;
    assert.ok(r.closed, 'the server closed the connection');
    assert.ok(ms >= 9500 && ms < 13000, `closed after ${ms} ms`);
    assert.match(srv.stderr(), /: 408 Request Timeout \(request not complete in time\)/, 'logged');
  });

  test('connection takeover: an upgrade hands the raw connection over, with early bytes', async () => {
    const r = await rawRequest(srv.port,
      'GET /upgrade-echo HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\nearly-bytes', {
        timeoutMs: 1000,
        onData: (buf, s) => { if (buf.toString().endsWith('early-bytes')) s.write('|later'); },
      });
    const text = r.data.toString();
    assert.match(text, /^HTTP\/1\.1 101 Switching Protocols\r\n/);
    assert.ok(text.endsWith('\r\n\r\nearly-bytes|later'), text);
  });

  test('graceful shutdown: SIGTERM with an idle keep-alive connection exits 0 within 5 s', async () => {
    const s = await startServer('sio-fixture', ['http', '--public', pub]);
    const idle = rawRequest(s.port, 'GET /hello HTTP/1.1\r\nHost: x\r\n\r\n', { timeoutMs: 8000 });
    await sleep(200);
    const res = await s.stop();
    assert.equal(res.code, 0, res.stderr);
    assert.ok(res.ms < 5000, `exit took ${res.ms} ms`);
    const r = await idle;
    assert.ok(r.closed);
    assert.match(r.data.toString(), /^HTTP\/1\.1 200 /);
  });

  test('takeover after a pipelined request answered asynchronously keeps early bytes once', async () => {
    // The file read is asynchronous, so the upgrade request waits in the stash.
    const r = await rawRequest(srv2.port,
      'GET /pipe.txt HTTP/1.1\r\nHost: x\r\n\r\n' +
      'GET /upgrade-echo HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\nearly', { timeoutMs: 1000 });
    const text = r.data.toString();
    assert.match(text, /^HTTP\/1\.1 200 OK\r\n/);
    const at = text.indexOf('\r\n\r\npipedHTTP/1.1 101 Switching Protocols\r\n');
    assert.ok(at > 0, text);
    const upgraded = text.slice(text.indexOf('\r\n\r\n', at + 4) + 4);
    assert.equal(upgraded, 'early');
  });

  test('a late answer to a client that left goes nowhere, not to the next connection', async () => {
    // The handler answers 300 ms later and does not watch for the client leaving: its state
    // must not be handed to the next connection meanwhile.
    const net = await import('node:net');
    const a = net.connect(srv.port, '127.0.0.1');
    await new Promise((resolve) => a.on('connect', resolve));
    a.write('GET /late?first HTTP/1.1\r\nHost: x\r\n\r\n');
    await sleep(50);
    a.resetAndDestroy();
    await sleep(50);
    const b = await rawRequest(srv.port, 'GET /late?second HTTP/1.1\r\nHost: x\r\n\r\n', { timeoutMs: 1000 });
    const text = b.data.toString();
    assert.match(text, /^HTTP\/1\.1 200 OK\r\n/);
    assert.ok(text.endsWith('\r\n\r\nsecond'), text);
    assert.equal(text.split('HTTP/1.1').length, 2, text);
    await until(() => /late first: ECLOSED/.test(srv.stderr()), 2000, 'the late answer to the first client');
    assert.match(srv.stderr(), /late second: OK/);
    await stillServes();
  });

  test('a client that leaves in the middle of a large file leaves nothing behind', async () => {
    for (let i = 0; i < 5; i++) {
      await rawRequest(srv2.port, 'GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n', {
        timeoutMs: 2000,
        onData: (buf, s) => { if (buf.length > 100000) s.destroy(); },
      });
    }
    // A request whose connection closes before the file is even opened.
    const s = (await import('node:net')).connect(srv2.port, '127.0.0.1');
    await new Promise((resolve) => s.on('connect', resolve));
    s.end('GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n');
    s.destroy();
    await sleep(300);
    const r = await request(`${srv2.url}/big.bin`);
    assert.equal(r.body.length, big.length);
    // The after() hook asserts the server exits 0: no leaked job or file descriptor.
  });
});
