// Load generator for the Socket.IO case, on raw TCP: every client does the WebSocket
// handshake, the Engine.IO open and the Socket.IO CONNECT by hand, writes prebuilt masked
// frames and counts the frames it receives from their headers, so it spends far less per
// message than socket.io-client would.
//   broadcast: N receivers and one sender; the sender keeps emitting `broadcast` (a 32-byte
//         string) at RATE per second; deliveries and the server's CPU ticks are counted
//         over SECONDS after a 1 s warm-up.
//   ack:   C clients each keep W `echo-ack`s in flight (W/2 sent in one write when W/2 acks
//         came back); acks, their latency and the server's CPU ticks are counted over
//         SECONDS.
//   idle:  N connected clients; the server's RSS before (after a warm-up) and after HOLD
//         seconds (default 1.5; pings are answered, and counted, meanwhile).
//   connect: N new connections, C at a time, each a full connect (TCP, the TLS handshake
//         for https, WebSocket upgrade, Engine.IO open, Socket.IO CONNECT) then closed; the
//         server's CPU ticks from the first to 0.5 s after the last, after 100 unmeasured.
// An https:// URL makes every client a TLS client (wss), without session resumption, that
// verifies the server against the CA file in BENCH_TLS_CA.
// Prints one JSON line.
import fs from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';

const [mode, url, pid, ...rest] = process.argv.slice(2);
const ticks = () => { const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' '); return Number(f[11]) + Number(f[12]); };
const rssKb = () => Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))[1]);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const ca = process.env.BENCH_TLS_CA ? fs.readFileSync(process.env.BENCH_TLS_CA) : undefined;
let pings = 0;

function frame(text) {
  const body = Buffer.from(text);
  const n = body.length;
  const head = n < 126 ? Buffer.from([0x81, 0x80 | n]) : Buffer.from([0x81, 0xfe, n >> 8, n & 255]);
  const key = Buffer.from([1, 2, 3, 4]);
  for (let i = 0; i < n; i++) body[i] ^= key[i & 3];
  return Buffer.concat([head, key, body]);
}

// A connected Socket.IO client. onFrame(payload) gets each text frame after the CONNECT
// reply (payloads are only decoded when want(payload) needs them: here always small).
function client(target, onFrame) {
  const u = new URL(target);
  return new Promise((resolve, reject) => {
    const s = u.protocol === 'https:'
      ? tls.connect({ port: Number(u.port), host: u.hostname, ca })
      : net.connect(Number(u.port), u.hostname);
    s.setNoDelay(true);
    let buf = Buffer.alloc(0);
    let state = 0; // 0 HTTP, 1 open packet, 2 CONNECT reply, 3 connected
    s.on('data', (d) => {
      buf = buf.length ? Buffer.concat([buf, d]) : d;
      if (state === 0) {
        const i = buf.indexOf('\r\n\r\n');
        if (i < 0) return;
        if (!buf.subarray(0, 12).toString().includes('101')) { reject(new Error(buf.toString())); return; }
        buf = buf.subarray(i + 4);
        state = 1;
      }
      let off = 0;
      while (buf.length - off >= 2) {
        const l7 = buf[off + 1] & 127;
        const hl = l7 < 126 ? 2 : l7 === 126 ? 4 : 10;
        if (buf.length - off < hl) break;
        const len = l7 < 126 ? l7 : l7 === 126 ? buf.readUInt16BE(off + 2) : Number(buf.readBigUInt64BE(off + 2));
        if (buf.length - off < hl + len) break;
        const payload = buf.subarray(off + hl, off + hl + len);
        off += hl + len;
        if (state === 1) { s.write(frame('40')); state = 2; continue; }
        if (state === 2) { state = 3; resolve(s); continue; }
        if (payload.length === 1 && payload[0] === 0x32) { pings++; s.write(frame('3')); continue; } // ping
        onFrame(payload);
      }
      buf = buf.subarray(off);
    });
    s.once('error', reject);
    s.write(`GET ${u.pathname}?EIO=4&transport=websocket HTTP/1.1\r\nHost: ${u.host}\r\nUpgrade: websocket\r\n` +
      'Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n');
  });
}

async function many(n, onFrame) {
  const out = [];
  for (let i = 0; i < n; i += 200) {
    out.push(...await Promise.all(Array.from({ length: Math.min(200, n - i) }, () => client(url, onFrame))));
  }
  return out;
}

if (mode === 'broadcast') {
  const [n, rate, seconds] = rest.map(Number);
  let deliveries = 0;
  const receivers = await many(n, () => { deliveries++; });
  const sender = await client(url, () => {});
  const msg = frame(`42["broadcast","${'x'.repeat(32)}"]`);
  // Emit in bursts every 10 ms, as an application would on a busy loop.
  const perTick = Math.max(1, Math.round(rate / 100));
  const timer = setInterval(() => { for (let k = 0; k < perTick; k++) sender.write(msg); }, 10);
  await sleep(1000);
  const d0 = deliveries;
  const t0 = ticks();
  const w0 = process.hrtime.bigint();
  await sleep(seconds * 1000);
  const d1 = deliveries;
  const t1 = ticks();
  const wall = Number(process.hrtime.bigint() - w0) / 1e9;
  clearInterval(timer);
  for (const s of [...receivers, sender]) s.destroy();
  console.log(JSON.stringify({ receivers: n, deliveries: d1 - d0, wall_s: wall, server_ticks: t1 - t0 }));
  process.exit(0);
} else if (mode === 'ack') {
  // C clients, each with W acks in flight, sent W/2 at a time in one write (as a busy
  // client's emits leave in one packet of the TCP stream).
  const [c, w, seconds] = rest.map(Number);
  const batch = Math.max(1, w >> 1);
  let acks = 0;
  let measuring = false;
  const lat = [];
  const clients = [];
  for (let i = 0; i < c; i++) {
    const st = { id: 0, sentAt: new Map(), since: 0, s: null };
    st.send = (k) => {
      const now = process.hrtime.bigint();
      const frames = [];
      for (let j = 0; j < k; j++) {
        st.id++;
        st.sentAt.set(st.id, now);
        frames.push(frame(`42${st.id}["echo-ack","${'y'.repeat(32)}"]`));
      }
      st.s.write(Buffer.concat(frames));
    };
    st.s = await client(url, (p) => {
      if (p[0] !== 0x34 || p[1] !== 0x33) return; // "43<id>[...]"
      const id = Number(/^43(\d+)/.exec(p.toString('latin1'))[1]);
      const t = st.sentAt.get(id);
      st.sentAt.delete(id);
      acks++;
      if (measuring && t) lat.push(Number(process.hrtime.bigint() - t) / 1000);
      if (++st.since >= batch) { st.since -= batch; st.send(batch); }
    });
    clients.push(st);
  }
  for (const st of clients) st.send(w);
  await sleep(1000);
  const a0 = acks;
  const t0 = ticks();
  const w0 = process.hrtime.bigint();
  measuring = true;
  await sleep(seconds * 1000);
  measuring = false;
  const a1 = acks;
  const t1 = ticks();
  const wall = Number(process.hrtime.bigint() - w0) / 1e9;
  for (const st of clients) st.s.destroy();
  lat.sort((x, y) => x - y);
  const q = (f) => lat.length ? lat[Math.min(lat.length - 1, Math.floor(f * lat.length))] : 0;
  console.log(JSON.stringify({ acks: a1 - a0, wall_s: wall, server_ticks: t1 - t0,
    p50_us: Math.round(q(0.5)), p99_us: Math.round(q(0.99)) }));
  process.exit(0);
} else if (mode === 'idle') {
  const [n, hold = 1.5] = rest.map(Number);
  const warm = await many(100, () => {});
  for (const s of warm) s.destroy();
  await sleep(1000);
  const before = rssKb();
  const socks = await many(n, () => {});
  const p0 = pings;
  await sleep(hold * 1000);
  const after = rssKb();
  const held = pings - p0;
  // Every connection must still be served: one echo each.
  let echoes = 0;
  const m = frame('42["echo","z"]');
  for (const s of socks) {
    s.removeAllListeners('data');
    s.once('data', () => { echoes++; });
    s.write(m);
  }
  for (let i = 0; i < 200 && echoes < n; i++) await sleep(50);
  console.log(JSON.stringify({ connections: n, rss_before_kb: before, rss_after_kb: after, echoes, pings: held }));
  for (const s of socks) s.destroy();
  process.exit(0);
} else if (mode === 'connect') {
  const [n, c] = rest.map(Number);
  const one = async () => { (await client(url, () => {})).destroy(); };
  const run = async (count) => {
    let next = 0;
    await Promise.all(Array.from({ length: Math.min(c, count) }, async () => {
      while (next < count) { next++; await one(); }
    }));
  };
  await run(100);
  await sleep(500);
  const t0 = ticks();
  const w0 = process.hrtime.bigint();
  await run(n);
  const wall = Number(process.hrtime.bigint() - w0) / 1e9;
  await sleep(500);
  const t1 = ticks();
  console.log(JSON.stringify({ connections: n, wall_s: wall, server_ticks: t1 - t0 }));
  process.exit(0);
}
