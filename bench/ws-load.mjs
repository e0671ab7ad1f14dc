// Load generator for the WebSocket case.
//   echo: C connections keep W messages of SIZE bytes in flight each, on raw TCP; after a
//         1 s warm-up the echoed messages and the server's CPU ticks are counted over
//         SECONDS.
//   idle: open N connections with the `ws` client, read the server's RSS before and after, then ping every
//         connection and count the pongs (every connection must still be alive).
// Prints one JSON line.
import WebSocket from 'ws';
import fs from 'node:fs';
import net from 'node:net';

const [mode, url, pid, ...rest] = process.argv.slice(2);
const ticks = () => { const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' '); return Number(f[11]) + Number(f[12]); };
const rssKb = () => Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))[1]);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const connect = () => new Promise((resolve, reject) => {
  const ws = new WebSocket(url, { perMessageDeflate: false, maxPayload: 64 << 20 });
  ws.once('open', () => resolve(ws));
  ws.once('error', reject);
});

// Echo load on raw TCP: frames are built once (masked, as a client must) and written in
// batches, and echoed frames are counted by reading their headers only, so the load
// generator spends far less per message than any WebSocket library would.
function rawConnect(target) {
  const u = new URL(target);
  return new Promise((resolve, reject) => {
    const s = net.connect(Number(u.port), u.hostname);
    s.setNoDelay(true);
    let head = Buffer.alloc(0);
    const onData = (d) => {
      head = Buffer.concat([head, d]);
      const i = head.indexOf('\r\n\r\n');
      if (i < 0) return;
      s.off('data', onData);
      if (!head.subarray(0, 12).toString().includes('101')) reject(new Error(head.toString()));
      else resolve({ s, rest: head.subarray(i + 4) });
    };
    s.on('data', onData);
    s.once('error', reject);
    s.write(`GET ${u.pathname} HTTP/1.1\r\nHost: ${u.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n');
  });
}

function maskedFrame(size) {
  const head = size < 126 ? Buffer.from([0x82, 0x80 | size])
    : size < 65536 ? Buffer.from([0x82, 0xfe, size >> 8, size & 255])
      : Buffer.concat([Buffer.from([0x82, 0xff]), (() => { const b = Buffer.alloc(8); b.writeBigUInt64BE(BigInt(size)); return b; })()]);
  const key = Buffer.from([0x12, 0x34, 0x56, 0x78]);
  const body = Buffer.alloc(size, 0x61);
  for (let i = 0; i < size; i++) body[i] ^= key[i & 3];
  return Buffer.concat([head, key, body]);
}

if (mode === 'echo') {
  const [size, conns, window, seconds] = rest.map(Number);
  const batch = Math.max(1, Math.min(window / 2, 16));
  const one = maskedFrame(size);
  const many = Buffer.concat(Array.from({ length: batch }, () => one));
  let count = 0;
  let running = true;
  const sockets = await Promise.all(Array.from({ length: conns }, () => rawConnect(url)));
  for (const { s, rest: early } of sockets) {
    let carry = Buffer.alloc(0); // a partial frame header
    let remaining = 0; // payload bytes of the current frame still to skip
    let since = 0; // echoes since the last batch was sent
    const onData = (d) => {
      let off = 0;
      if (carry.length) { d = Buffer.concat([carry, d]); carry = Buffer.alloc(0); }
      while (off < d.length) {
        if (remaining) {
          const k = Math.min(remaining, d.length - off);
          remaining -= k;
          off += k;
          if (!remaining) { count++; since++; }
          continue;
        }
        const avail = d.length - off;
        if (avail < 2) { carry = d.subarray(off); break; }
        const l7 = d[off + 1] & 127;
        const hl = l7 < 126 ? 2 : l7 === 126 ? 4 : 10;
        if (avail < hl) { carry = d.subarray(off); break; }
        remaining = l7 < 126 ? l7 : l7 === 126 ? d.readUInt16BE(off + 2) : Number(d.readBigUInt64BE(off + 2));
        off += hl;
        if (!remaining) { count++; since++; }
      }
      while (running && since >= batch) { since -= batch; s.write(many); }
    };
    s.on('data', onData);
    s.on('error', () => {});
    if (early.length) onData(early);
    for (let k = 0; k < window; k += batch) s.write(many);
  }
  await sleep(1000);
  const c0 = count;
  const t0 = ticks();
  const w0 = process.hrtime.bigint();
  await sleep(seconds * 1000);
  const c1 = count;
  const t1 = ticks();
  const wall = Number(process.hrtime.bigint() - w0) / 1e9;
  running = false;
  for (const { s } of sockets) s.destroy();
  console.log(JSON.stringify({ messages: c1 - c0, wall_s: wall, server_ticks: t1 - t0 }));
  process.exit(0);
} else if (mode === 'idle') {
  const [n] = rest.map(Number);
  // Warm up first, so code and library pages a handshake touches once (and lazily built
  // runtime state) are in the baseline rather than counted per connection.
  const warm = await Promise.all(Array.from({ length: 100 }, connect));
  for (const ws of warm) ws.close();
  await sleep(1000);
  const before = rssKb();
  const sockets = [];
  const batch = 250;
  for (let i = 0; i < n; i += batch) {
    sockets.push(...await Promise.all(Array.from({ length: Math.min(batch, n - i) }, connect)));
  }
  await sleep(1500);
  const after = rssKb();
  let pongs = 0;
  const all = new Promise((resolve) => {
    for (const ws of sockets) ws.once('pong', () => { if (++pongs === n) resolve(); });
  });
  for (const ws of sockets) ws.ping();
  await Promise.race([all, sleep(20000)]);
  console.log(JSON.stringify({ connections: n, rss_before_kb: before, rss_after_kb: after, pongs }));
  for (const ws of sockets) ws.terminate();
  process.exit(0);
}
