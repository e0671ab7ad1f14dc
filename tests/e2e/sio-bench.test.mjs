// sio-bench, the C load generator (tools/sio-bench), against `sio-fixture bench`: its
// scenarios (echo-ack closed and open loop, idle, broadcast, rooms, handshake, and most of
// them over long-polling too) connect every client, keep the heartbeats answered and print
// one JSON line with sane figures; a server that goes away or is not there makes it exit 1.
// Both binaries come from $SIO_BUILD, so under the ASan build both must also be leak-free
// (LeakSanitizer makes a leak a non-zero exit).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { startServer, buildDir, freePort, sleep, until } from './lib/harness.mjs';

const BENCH = path.join(buildDir, 'sio-bench');

// Runs sio-bench; resolves with its exit code, the parsed JSON line (or null) and stderr.
function bench(args) {
  return new Promise((resolve, reject) => {
    const p = spawn(BENCH, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (d) => { out += d; });
    p.stderr.on('data', (d) => { err += d; });
    const timer = setTimeout(() => p.kill('SIGKILL'), 15000);
    p.once('error', reject);
    p.once('exit', (code, signal) => {
      clearTimeout(timer);
      const lines = out.trim().split('\n').filter(Boolean);
      let json = null;
      if (lines.length === 1) json = JSON.parse(lines[0]);
      resolve({ code, signal, json, lines, err });
    });
  });
}

// Every scenario against one server with a 300 ms heartbeat.
test('echo-ack and idle against sio-fixture bench', async () => {
  const srv = await startServer('sio-fixture', ['bench', '--ping-interval', '300', '--ping-timeout', '2000']);
  try {
    const pid = String(srv.proc.pid);
    const port = String(srv.port);

    const ack = await bench(['--port', port, '--scenario', 'echo-ack', '--connections', '4',
      '--window', '8', '--warmup', '0.5', '--seconds', '1.5', '--server-pid', pid]);
    assert.equal(ack.code, 0, ack.err);
    assert.equal(ack.lines.length, 1, 'one JSON line');
    const a = ack.json;
    assert.equal(a.scenario, 'echo-ack');
    assert.equal(a.connections, 4);
    assert.equal(a.failed, 0);
    assert.equal(a.lost, 0);
    assert.ok(a.acks > 0, `acks ${a.acks}`);
    assert.ok(Math.abs(a.wall_s - 1.5) < 0.5, `wall_s ${a.wall_s}`);
    assert.ok(Math.abs(a.acks_per_s - a.acks / a.wall_s) <= 1 + a.acks_per_s / 100, 'acks_per_s = acks / wall_s');
    assert.ok(a.p50_us > 0 && a.p50_us <= a.p90_us && a.p90_us <= a.p99_us && a.p99_us <= a.p999_us,
      `percentiles ${a.p50_us} ${a.p90_us} ${a.p99_us} ${a.p999_us}`);
    assert.ok(a.p50_us < 1e6, `p50 ${a.p50_us} us`);
    assert.ok(a.server_ticks > 0, `server_ticks ${a.server_ticks}`);
    assert.ok(a.server_us_per_ack > 0 && a.client_us_per_ack > 0);
    // The kernel's part: every ack is a read and a write on the server's side, so some of
    // its CPU is system time, never more than the whole; per ack as per the ticks (100/s).
    assert.ok(a.server_sys_ticks > 0 && a.server_sys_ticks <= a.server_ticks,
      `server_sys_ticks ${a.server_sys_ticks} of ${a.server_ticks}`);
    assert.ok(Math.abs(a.server_sys_us_per_ack - a.server_sys_ticks * 1e4 / a.acks) < 0.01 * a.server_sys_us_per_ack + 0.002,
      `server_sys_us_per_ack ${a.server_sys_us_per_ack}`);
    assert.ok(a.server_sys_us_per_ack <= a.server_us_per_ack);

    // Open loop: 2000 emits/s over 4 connections whatever the acks, every one acked.
    const open = await bench(['--port', port, '--scenario', 'echo-ack', '--connections', '4',
      '--rate', '2000', '--warmup', '0.3', '--seconds', '1', '--server-pid', pid]);
    assert.equal(open.code, 0, open.err);
    const o = open.json;
    assert.equal(o.rate, 2000);
    assert.equal(o.missed, 0);
    assert.equal(o.skipped, 0);
    assert.ok(Math.abs(o.emits_per_s - 2000) <= 400, `emits_per_s ${o.emits_per_s}`);
    assert.ok(Math.abs(o.acks_per_s - 2000) <= 400, `acks_per_s ${o.acks_per_s}`);
    assert.ok(o.acks <= o.emits && o.acks >= o.emits - 2, `acks ${o.acks} of ${o.emits} emits`);
    assert.ok(o.p50_us > 0 && o.p50_us <= o.p99_us && o.p99_us <= o.p999_us);
    assert.ok(o.server_us_per_ack > 0);

    // The server stopped for 300 ms of the window: the emits due meanwhile keep going out,
    // and their latency, counted from when they were due, shows the stall.
    const stalled = bench(['--port', port, '--scenario', 'echo-ack', '--connections', '4',
      '--rate', '2000', '--warmup', '0.2', '--seconds', '1', '--server-pid', pid]);
    await sleep(500);
    process.kill(srv.proc.pid, 'SIGSTOP');
    await sleep(300);
    process.kill(srv.proc.pid, 'SIGCONT');
    const st = await stalled;
    assert.equal(st.code, 0, st.err);
    assert.equal(st.json.missed, 0);
    assert.ok(st.json.p99_us >= 150000, `p99 ${st.json.p99_us} us after a 300 ms stall`);
    assert.ok(st.json.p50_us < st.json.p99_us / 2, `p50 ${st.json.p50_us} us`);

    const idle = await bench(['--port', port, '--scenario', 'idle', '--connections', '50',
      '--seconds', '1.5', '--sources', '4', '--concurrency', '16', '--server-pid', pid]);
    assert.equal(idle.code, 0, idle.err);
    const i = idle.json;
    assert.equal(i.scenario, 'idle');
    assert.equal(i.connections, 50);
    assert.equal(i.failed, 0);
    assert.equal(i.lost, 0);
    // A ping every 300 ms to each of 50 clients for 1.5 s: about 250, and if any went
    // unanswered the server would have closed that client (lost).
    assert.ok(i.pings >= 100, `pings ${i.pings}`);
    assert.ok(i.rss_before_kb > 0 && i.rss_after_kb > 0, `rss ${i.rss_before_kb} ${i.rss_after_kb}`);
    assert.ok(i.server_ticks >= 0);

    const bc = await bench(['--port', port, '--scenario', 'broadcast', '--connections', '20',
      '--rate', '200', '--warmup', '0.3', '--seconds', '1', '--server-pid', pid]);
    assert.equal(bc.code, 0, bc.err);
    const d = bc.json;
    assert.equal(d.scenario, 'broadcast');
    assert.equal(d.receivers, 20);
    assert.equal(d.connections, 21);
    assert.ok(Math.abs(d.emits - 200) <= 20, `emits ${d.emits}`);
    // Every emit reaches all 20 receivers; the window's edges cut some in flight (the
    // latency of a loaded ASan server).
    assert.ok(Math.abs(d.deliveries - d.emits * 20) <= 20 * 40, `deliveries ${d.deliveries} for ${d.emits} emits`);
    assert.ok(d.server_us_per_delivery > 0);

    // 30 receivers in 4 rooms (8, 8, 7, 7 members), one sender cycling through the rooms:
    // every emit reaches exactly the members of its room.
    const rm = await bench(['--port', port, '--scenario', 'rooms', '--connections', '30', '--rooms', '4',
      '--rate', '400', '--warmup', '0.3', '--seconds', '1', '--server-pid', pid]);
    assert.equal(rm.code, 0, rm.err);
    const r = rm.json;
    assert.equal(r.scenario, 'rooms');
    assert.equal(r.receivers, 30);
    assert.equal(r.connections, 31);
    assert.equal(r.missing, 0);
    assert.equal(r.delivered_total, r.expected_total);
    // 400 emits/s, 7.5 members each on average.
    assert.ok(Math.abs(r.emits - 400) <= 80, `emits ${r.emits}`);
    assert.ok(Math.abs(r.deliveries_per_s - 3000) <= 600, `deliveries_per_s ${r.deliveries_per_s}`);
    assert.ok(r.expected_total > r.deliveries && r.expected_total < (r.emits + 400) * 8, `expected ${r.expected_total}`);
    assert.ok(r.server_us_per_delivery > 0);
  } finally {
    const { code, stderr } = await srv.stop();
    assert.equal(code, 0, stderr);
  }
});

// Handshakes: every CONNECT reply the generator counts is a Socket.IO session the server
// opened and, after the client's reset, closed (the bench mode logs each disconnect). The
// handshakes still under way when the run ends add at most one per client.
test('handshake against sio-fixture bench', async () => {
  const srv = await startServer('sio-fixture', ['bench']);
  try {
    const r = await bench(['--port', String(srv.port), '--scenario', 'handshake', '--connections', '8',
      '--sources', '4', '--warmup', '0.3', '--seconds', '1', '--server-pid', String(srv.proc.pid)]);
    assert.equal(r.code, 0, r.err);
    const h = r.json;
    assert.equal(h.scenario, 'handshake');
    assert.equal(h.connections, 8);
    assert.equal(h.failed, 0);
    assert.ok(h.handshakes > 0 && h.handshakes < h.handshakes_total, `handshakes ${h.handshakes} of ${h.handshakes_total}`);
    assert.ok(Math.abs(h.handshakes_per_s - h.handshakes / h.wall_s) <= 1 + h.handshakes_per_s / 100);
    assert.ok(h.p50_us > 0 && h.p50_us <= h.p99_us && h.p99_us < 1e6, `p50 ${h.p50_us} p99 ${h.p99_us}`);
    assert.ok(h.server_us_per_handshake > 0 && h.client_us_per_handshake > 0);
    const disconnects = () => (srv.stderr().match(/^bench: disconnect /gm) || []).length;
    await until(() => disconnects() >= h.handshakes_total, 5000,
      () => `${disconnects()} disconnects for ${h.handshakes_total} handshakes`);
    await sleep(200);
    assert.ok(disconnects() <= h.handshakes_total + 8, `${disconnects()} disconnects for ${h.handshakes_total} handshakes`);
  } finally {
    const { code, stderr } = await srv.stop();
    assert.equal(code, 0, stderr.slice(-2000));
  }
});

// The same scenarios over Engine.IO long-polling: two keep-alive connections per client,
// pings answered by POST.
test('polling against sio-fixture bench', async () => {
  const srv = await startServer('sio-fixture', ['bench', '--ping-interval', '300', '--ping-timeout', '2000']);
  let total = 0;
  try {
    const pid = String(srv.proc.pid);
    const port = String(srv.port);
    const run = (args) => bench(['--port', port, '--transport', 'polling', '--server-pid', pid, ...args]);

    const idle = await run(['--scenario', 'idle', '--connections', '20', '--seconds', '1']);
    assert.equal(idle.code, 0, idle.err);
    assert.equal(idle.json.transport, 'polling');
    assert.equal(idle.json.connections, 20);
    assert.equal(idle.json.lost, 0);
    // A ping every 300 ms to each of 20 sessions: an unanswered one would lose the session.
    assert.ok(idle.json.pings >= 40, `pings ${idle.json.pings}`);

    const ack = await run(['--scenario', 'echo-ack', '--connections', '4', '--window', '4',
      '--warmup', '0.3', '--seconds', '1']);
    assert.equal(ack.code, 0, ack.err);
    assert.equal(ack.json.lost, 0);
    assert.ok(ack.json.acks > 100, `acks ${ack.json.acks}`);
    assert.ok(ack.json.p50_us > 0 && ack.json.p50_us <= ack.json.p99_us);

    const open = await run(['--scenario', 'echo-ack', '--connections', '4', '--rate', '1000',
      '--warmup', '0.3', '--seconds', '1']);
    assert.equal(open.code, 0, open.err);
    assert.equal(open.json.missed, 0);
    assert.ok(Math.abs(open.json.acks_per_s - 1000) <= 200, `acks_per_s ${open.json.acks_per_s}`);

    const bc = await run(['--scenario', 'broadcast', '--connections', '10', '--rate', '200',
      '--warmup', '0.3', '--seconds', '1']);
    assert.equal(bc.code, 0, bc.err);
    assert.ok(Math.abs(bc.json.deliveries - bc.json.emits * 10) <= 10 * 40,
      `deliveries ${bc.json.deliveries} for ${bc.json.emits} emits`);

    const hs = await run(['--scenario', 'handshake', '--connections', '4', '--warmup', '0.3', '--seconds', '1']);
    assert.equal(hs.code, 0, hs.err);
    assert.equal(hs.json.failed, 0);
    assert.ok(hs.json.handshakes > 0, `handshakes ${hs.json.handshakes}`);
    assert.ok(hs.json.server_us_per_handshake > 0);
    total = hs.json.handshakes_total;
  } finally {
    const { code, stderr } = await srv.stop();
    assert.equal(code, 0, stderr.slice(-2000));
  }
  // Each handshake's session was closed by its close packet; those under way when the
  // run ended, at most one per client, were closed at the latest by the shutdown. The
  // other scenarios' 39 sessions (20 + 4 + 4 + 11) add theirs.
  const disconnects = (srv.stderr().match(/^bench: disconnect /gm) || []).length;
  assert.ok(disconnects >= total + 39 && disconnects <= total + 39 + 4, `${disconnects} disconnects for ${total} handshakes`);
});

test('a server that goes away or is not there is an exit 1, with the JSON line', async () => {
  const srv = await startServer('sio-fixture', ['bench']);
  const run = bench(['--port', String(srv.port), '--scenario', 'idle', '--connections', '3', '--seconds', '3']);
  await sleep(1000);
  const { code } = await srv.stop();
  assert.equal(code, 0);
  const t0 = Date.now();
  const r = await run;
  assert.ok(Date.now() - t0 < 1500, 'the run ends once every connection is lost');
  assert.equal(r.code, 1, r.err);
  assert.equal(r.json.lost, 3);
  assert.equal(r.json.connections, 0);

  const none = await bench(['--port', String(await freePort()), '--connections', '2', '--seconds', '0.2']);
  assert.equal(none.code, 1, none.err);
  assert.equal(none.json.failed, 2);
  assert.match(none.err, /connect: connection refused/);

  const hs = await bench(['--port', String(await freePort()), '--scenario', 'handshake', '--connections', '2', '--seconds', '0.2']);
  assert.equal(hs.code, 1, hs.err);
  assert.equal(hs.json.failed, 2);
  assert.equal(hs.json.handshakes, 0);

  const usage = await bench(['--port', '1', '--scenario', 'nope']);
  assert.equal(usage.code, 2);
  assert.match(usage.err, /unknown scenario nope/);
});
