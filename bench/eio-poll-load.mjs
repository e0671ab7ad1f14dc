// Load generator for the Engine.IO case: long-polling sessions (EIO=4) on raw HTTP/1.1
// keep-alive connections, two per session as a browser holds them: one carries the
// handshake and then always has a GET parked, the other carries the POSTs. Each connection
// is plain request/response (no pipelining). Requests are built once per session; a
// response is parsed as far as the status, Content-Length (or chunked) and the payload's
// packets. Every ping ("2") arriving on the GET is answered with a POST "3" (folded into
// the next message POST when one is due), so sessions live through pingInterval.
// Sessions open in groups; a session counts as open once one message ("4" + 32 bytes of
// text) has been echoed on its GET and its POST answered. Both modes start with up to 100
// sessions that exchange messages for a second and close (the server's warm-up).
//
//   echo URL PID SESSIONS SECONDS
//       every session keeps one message in flight: POST it, count a round trip when its
//       echo arrives on the GET, POST the next. After a 1 s warm-up, round trips, the
//       server's CPU ticks (/proc/PID/stat) and this process's CPU time are counted over
//       SECONDS.
//   idle URL PID SESSIONS HOLD
//       the server's RSS is read, SESSIONS sessions are opened and answer pings for HOLD
//       seconds, and the RSS is read again; then every session sends one more message,
//       200 sessions at a time, and the sessions whose echo arrives are counted (every
//       session must still be alive).
//
// URL is the Engine.IO endpoint, e.g. http://127.0.0.1:3000/engine.io/. Prints one JSON
// line on stdout; errors (HTTP status other than 200, closed connections, sessions the
// server closed) are counted in it and the first few described on stderr.
import fs from 'node:fs';
import net from 'node:net';

const [mode, url, pid, ...rest] = process.argv.slice(2);
const target = new URL(url);
const host = target.hostname;
const port = Number(target.port);
const ticksOf = (p) => { const f = fs.readFileSync(`/proc/${p}/stat`, 'utf8').split(') ')[1].split(' '); return Number(f[11]) + Number(f[12]); };
const ticks = () => ticksOf(pid);
// Other processes on the server's and this process's cores: a core's user + nice + system
// ticks (/proc/stat) less those of the process pinned there, so a window shared with
// someone else's work can be flagged. The cores are read from the affinity lists.
const coreOf = (p) => /Cpus_allowed_list:\s*(\S+)/.exec(fs.readFileSync(`/proc/${p}/status`, 'utf8'))[1];
const serverCore = coreOf(pid);
const clientCore = coreOf('self');
const coreStat = (c) => {
  const l = fs.readFileSync('/proc/stat', 'utf8').split('\n').find((x) => x.startsWith(`cpu${c} `));
  return l ? l.split(/\s+/).map(Number) : []; // none when not pinned to one core
};
// Also the steal ticks of the server's core (time the hypervisor gave to another guest).
const others = () => {
  const f = coreStat(serverCore);
  const g = coreStat(clientCore);
  return { s: f[1] + f[2] + f[3] - ticks(), c: g[1] + g[2] + g[3] - ticksOf('self'), steal: f[8] };
};
const othersSince = (o0) => {
  const o1 = others();
  return { s: Math.max(0, o1.s - o0.s), c: Math.max(0, o1.c - o0.c), steal: o1.steal - o0.steal };
};
const rssKb = () => Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))[1]);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const MESSAGE = '4' + 'x'.repeat(32);
const RS = '\x1e'; // packet separator of an EIO=4 polling payload

const stats = { round_trips: 0, echoes: 0, pings: 0, errors: 0, closed_by_server: 0, reconnects: 0 };
const described = [];
function error(what) {
  stats.errors++;
  if (described.length < 10) {
    described.push(what);
    process.stderr.write(`eio-poll-load: ${what}\n`);
  }
}

// One keep-alive connection; send() one request at a time, onResponse(status, body).
class Conn {
  constructor(onResponse, label) {
    this.onResponse = onResponse;
    this.label = label;
    this.s = null;
    this.busy = false;
    this.buf = null;
    this.head = null; // { status, length, chunked, close } once the header is parsed
  }

  connect() {
    const s = net.connect(port, host);
    s.setNoDelay(true);
    s.on('data', (d) => this.data(d));
    s.on('error', (e) => { if (!stopping) error(`${this.label}: ${e.message}`); });
    s.on('close', () => {
      if (this.s !== s) return;
      this.s = null;
      this.buf = null;
      this.head = null;
      if (this.busy && !stopping) {
        this.busy = false;
        error(`${this.label}: connection closed with a request pending`);
        this.onResponse(0, '');
      }
    });
    this.s = s;
  }

  send(req) {
    if (!this.s) {
      if (this.used) stats.reconnects++;
      this.connect();
    }
    this.used = true;
    this.busy = true;
    this.s.write(req);
  }

  destroy() {
    if (this.s) this.s.destroy();
    this.s = null;
  }

  data(d) {
    this.buf = this.buf ? Buffer.concat([this.buf, d]) : d;
    for (;;) {
      if (!this.head) {
        const i = this.buf.indexOf('\r\n\r\n');
        if (i < 0) return;
        const h = this.buf.toString('latin1', 0, i);
        const cl = /\r\ncontent-length:[ \t]*(\d+)/i.exec(h);
        this.head = {
          status: Number(h.slice(9, 12)),
          length: cl ? Number(cl[1]) : -1,
          chunked: !cl && /\r\ntransfer-encoding:[ \t]*chunked/i.test(h),
          close: /\r\nconnection:[ \t]*close/i.test(h),
        };
        if (!cl && !this.head.chunked) this.head.length = 0;
        this.buf = this.buf.subarray(i + 4);
      }
      let body;
      if (this.head.chunked) {
        // Needs the whole chunked body; bodies here are small.
        const parts = [];
        let off = 0;
        for (;;) {
          const eol = this.buf.indexOf('\r\n', off);
          if (eol < 0) return;
          const n = parseInt(this.buf.toString('latin1', off, eol), 16);
          if (this.buf.length < eol + 2 + n + 2) return;
          if (n === 0) { off = eol + 4; break; }
          parts.push(this.buf.toString('latin1', eol + 2, eol + 2 + n));
          off = eol + 2 + n + 2;
        }
        body = parts.join('');
        this.buf = this.buf.subarray(off);
      } else {
        if (this.buf.length < this.head.length) return;
        body = this.buf.toString('latin1', 0, this.head.length);
        this.buf = this.buf.subarray(this.head.length);
      }
      const { status, close } = this.head;
      this.head = null;
      if (!this.buf.length) this.buf = null;
      this.busy = false;
      if (close) this.destroy();
      this.onResponse(status, body);
      if (!this.buf || !this.s) return;
    }
  }
}

let stopping = false;

class Session {
  constructor() {
    this.sid = null;
    this.dead = false;
    this.inFlight = false; // a message is posted and its echo not yet back
    this.pong = false; // a pong is owed
    this.want = 0; // messages this session is still to send, one at a time
    this.rt = 0;
    this.get = new Conn((st, b) => this.onGet(st, b), 'GET');
    this.post = new Conn((st, b) => this.onPost(st, b), 'POST');
  }

  // Resolves once the session has had one message echoed and its POST answered, so that
  // both of its connections are in use (a busy server may accept new connections slowly).
  open() {
    return new Promise((resolve) => {
      this.opened = resolve;
      const q = `${target.pathname}?EIO=4&transport=polling`;
      this.get.send(`GET ${q} HTTP/1.1\r\nHost: ${target.host}\r\n\r\n`);
      this.post.connect();
    });
  }

  handshake(status, body) {
    let sid;
    try { sid = status === 200 && body[0] === '0' && JSON.parse(body.slice(1)).sid; } catch { sid = null; }
    if (!sid) {
      error(`handshake: ${status} ${body.slice(0, 200)}`);
      this.dead = true;
      this.opened();
      return;
    }
    this.sid = sid;
    const q = `${target.pathname}?EIO=4&transport=polling&sid=${sid}`;
    this.getReq = Buffer.from(`GET ${q} HTTP/1.1\r\nHost: ${target.host}\r\n\r\n`, 'latin1');
    const post = (body) => Buffer.from(`POST ${q} HTTP/1.1\r\nHost: ${target.host}\r\n` +
      `Content-Type: text/plain;charset=UTF-8\r\nContent-Length: ${body.length}\r\n\r\n${body}`, 'latin1');
    this.reqMsg = post(MESSAGE);
    this.reqPong = post('3');
    this.reqPongMsg = post(`3${RS}${MESSAGE}`);
    this.reqClose = post('1');
    this.get.send(this.getReq);
    this.want = 1;
    this.flush();
  }

  onGet(status, body) {
    if (!this.sid) return this.handshake(status, body);
    if (this.dead) return;
    if (status !== 200) {
      if (!stopping) error(`GET ${this.sid}: ${status} ${body.slice(0, 200)}`);
      this.dead = true;
      this.opened();
      return;
    }
    for (const p of body.split(RS)) {
      const c = p.charCodeAt(0);
      if (c === 0x34) { // message
        stats.echoes++;
        if (this.inFlight) { this.inFlight = false; this.rt++; stats.round_trips++; }
      } else if (c === 0x32) { // ping
        stats.pings++;
        this.pong = true;
      } else if (c === 0x31) { // close
        if (!stopping) { stats.closed_by_server++; error(`session ${this.sid} closed by the server`); }
        this.dead = true;
      } else if (c !== 0x36) { // anything but a noop
        error(`GET ${this.sid}: unexpected packet ${JSON.stringify(p.slice(0, 100))}`);
      }
    }
    if (this.dead) return this.opened();
    this.get.send(this.getReq);
    this.flush();
    if (this.rt && !this.post.busy) this.opened();
  }

  onPost(status, body) {
    if (this.dead) return;
    if (status !== 200 || body !== 'ok') {
      if (!stopping) error(`POST ${this.sid}: ${status} ${body.slice(0, 200)}`);
      this.dead = true;
      this.opened();
      return;
    }
    this.flush();
    if (this.rt && !this.post.busy) this.opened();
  }

  flush() {
    if (this.post.busy || this.dead || !this.sid) return;
    const msg = this.want > 0 && !this.inFlight;
    if (!msg && !this.pong) return;
    const req = msg ? (this.pong ? this.reqPongMsg : this.reqMsg) : this.reqPong;
    if (msg) { this.inFlight = true; this.want--; }
    this.pong = false;
    this.post.send(req);
  }

  close() {
    // A close packet ends the session on the server; the sockets go when it is answered.
    if (this.dead || !this.sid) return this.destroy();
    this.dead = true;
    const done = () => this.destroy();
    if (this.post.busy) return setTimeout(done, 200);
    this.post.onResponse = done;
    this.post.send(this.reqClose);
    setTimeout(done, 1000);
  }

  destroy() {
    this.get.destroy();
    this.post.destroy();
  }
}

// Opens n sessions, `batch` handshakes at a time.
async function openSessions(n, batch = 100) {
  const out = [];
  for (let i = 0; i < n; i += batch) {
    const group = Array.from({ length: Math.min(batch, n - i) }, () => new Session());
    const timeout = sleep(10000).then(() => 'timeout');
    if (await Promise.race([Promise.all(group.map((s) => s.open())), timeout]) === 'timeout') {
      throw new Error(`sessions ${i}-${i + group.length - 1} did not all open and echo a message within 10 s ` +
        `(${out.filter((s) => s.dead).length} of the ${out.length} opened before were closed)`);
    }
    out.push(...group);
  }
  const failed = out.filter((s) => !s.sid).length;
  if (failed) throw new Error(`${failed} of ${n} handshakes failed`);
  return out;
}

function send(sessions, count) {
  for (const s of sessions) { s.want = count; s.flush(); }
}

const finish = (o) => {
  stopping = true;
  console.log(JSON.stringify({ ...o, ...stats }));
  process.exit(0);
};

// Sessions that open, exchange messages for a second and close: the server's first
// requests (code paths run once, a JIT's compilation, first-touch pages) happen here.
async function warmUp(n) {
  const warm = await openSessions(n);
  send(warm, Infinity);
  await sleep(1000);
  send(warm, 0);
  await sleep(300);
  for (const s of warm) s.close();
  await sleep(1500);
}

if (mode === 'echo') {
  const [n, seconds] = rest.map(Number);
  await warmUp(Math.min(n, 100));
  const sessions = await openSessions(n);
  send(sessions, Infinity);
  await sleep(1000);
  const r0 = stats.round_trips;
  const o0 = others();
  const t0 = ticks();
  const c0 = process.cpuUsage();
  const w0 = process.hrtime.bigint();
  await sleep(seconds * 1000);
  const r1 = stats.round_trips;
  const t1 = ticks();
  const o = othersSince(o0);
  const c1 = process.cpuUsage(c0);
  const wall = Number(process.hrtime.bigint() - w0) / 1e9;
  const perSession = sessions.map((s) => s.rt).sort((a, b) => a - b);
  finish({
    sessions: n, rt: r1 - r0, wall_s: wall, server_ticks: t1 - t0,
    client_cpu: (c1.user + c1.system) / 1e6 / wall,
    rt_min_session: perSession[0], rt_max_session: perSession[n - 1],
    dead: sessions.filter((s) => s.dead).length,
    other_ticks_server_core: o.s, other_ticks_client_core: o.c, steal_ticks_server_core: o.steal,
  });
} else if (mode === 'idle') {
  const [n, hold] = rest.map(Number);
  // After the warm-up, pages a session touches once (and lazily built state) are in the
  // baseline rather than counted per session.
  await warmUp(100);
  const before = rssKb();
  const w0 = process.hrtime.bigint();
  const sessions = await openSessions(n, 200);
  const open_s = Number(process.hrtime.bigint() - w0) / 1e9;
  const o0 = others();
  const t0 = ticks();
  const p0 = stats.pings;
  await sleep(hold * 1000);
  const holdTicks = ticks() - t0;
  const o = othersSince(o0);
  const after = rssKb();
  const pings = stats.pings - p0;
  const lost = sessions.filter((s) => s.dead).length;
  // Every session must still be alive: one message each, count the sessions echoing it.
  // 200 sessions at a time, so that the burst does not delay anyone's pong.
  for (let i = 0; i < n; i += 200) {
    const group = sessions.slice(i, i + 200);
    send(group, 1);
    for (let k = 0; k < 50 && group.some((s) => s.rt < 2 && !s.dead); k++) await sleep(20);
  }
  const alive = () => sessions.filter((s) => s.rt > 1).length;
  finish({
    sessions: n, rss_before_kb: before, rss_after_kb: after, open_s, hold_s: hold,
    hold_ticks: holdTicks, hold_pings: pings, lost, alive: alive(),
    other_ticks_server_core: o.s, other_ticks_client_core: o.c, steal_ticks_server_core: o.steal,
  });
} else {
  process.stderr.write('usage: eio-poll-load.mjs echo URL PID SESSIONS SECONDS | idle URL PID SESSIONS HOLD\n');
  process.exit(2);
}
