// Load generator for the WebSocket case, built on the `ws` client.
//   echo: C connections keep W messages of SIZE bytes in flight each; after a 1 s warm-up
//         the echoed messages and the server's CPU ticks are counted over SECONDS.
//   idle: open N connections, read the server's RSS before and after, then ping every
//         connection and count the pongs (every connection must still be alive).
// Prints one JSON line.
import WebSocket from 'ws';
import fs from 'node:fs';

const [mode, url, pid, ...rest] = process.argv.slice(2);
const ticks = () => { const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' '); return Number(f[11]) + Number(f[12]); };
const rssKb = () => Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))[1]);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const connect = () => new Promise((resolve, reject) => {
  const ws = new WebSocket(url, { perMessageDeflate: false, maxPayload: 64 << 20 });
  ws.once('open', () => resolve(ws));
  ws.once('error', reject);
});

if (mode === 'echo') {
  const [size, conns, window, seconds] = rest.map(Number);
  const payload = Buffer.alloc(size, 0x61);
  const sockets = await Promise.all(Array.from({ length: conns }, connect));
  let count = 0;
  let running = true;
  for (const ws of sockets) {
    ws.on('message', () => { count++; if (running) ws.send(payload); });
    for (let k = 0; k < window; k++) ws.send(payload);
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
  for (const ws of sockets) ws.terminate();
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
