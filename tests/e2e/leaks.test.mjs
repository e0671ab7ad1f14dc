// Leaks under valgrind: the release build of `sio-fixture sio` ($SIO_RELEASE_BUILD, default
// build/; no sanitizers, which valgrind cannot run alongside) under memcheck with
// --leak-check=full and --track-fds=yes, through one scenario that touches most of the
// Socket.IO layer with the official clients: websocket, polling and polling upgraded to
// websocket with socket.io-client 4 (EIO=4), websocket and polling with socket.io-client 2
// (EIO=3), "/", "/custom" and a dynamic namespace, rooms, broadcasts (to a namespace, to a
// room, with acks from every socket), acks both ways (answered and left to time out), binary,
// a middleware that refuses, a client that vanishes without closing and one whose long poll
// is aborted, and a connection state recovery. Then SIGTERM: valgrind must report no memory
// error, no byte lost (definitely, indirectly or possibly) and no descriptor left open but
// stdin, stdout and stderr.
//
// valgrind slows the server 20 to 50 times: the heartbeat is 1.5 s + 3 s instead of the
// fixture's 300 + 200 ms, connectTimeout 20 s instead of 1 s (a handshake answered late
// leaves the client little of it), and every wait is generous.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { io } from 'socket.io-client';
import { startServer, releaseDir, within, until, inbox } from './lib/harness.mjs';

const require = createRequire(import.meta.url);
const io2 = require('socket.io-client-v2');

const MS = 20000; // a generous wait for anything from the server

const once = (s, event, ms = MS) => within(new Promise((r) => s.once(event, (...a) => r(a))), ms, event);
const ack = (s, event, ...args) => within(new Promise((r) => s.emit(event, ...args, (...a) => r(a))), MS, `ack of ${event}`);
const bytes = (b) => Buffer.from(b).toString('hex');

test('valgrind memcheck: a scenario over every transport, namespace and ack leaves no leak, error or descriptor', { timeout: 300000 }, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sio-valgrind-'));
  const log = path.join(dir, 'memcheck.log');
  const srv = await startServer('sio-fixture', ['sio', '--recovery', '5000', '--ping-interval', '1500', '--ping-timeout', '3000',
    '--connect-timeout', '20000'], {
    command: ['valgrind', '--leak-check=full', '--show-leak-kinds=definite,indirect,possible',
      '--errors-for-leak-kinds=definite,indirect,possible', '--error-exitcode=99', '--track-fds=yes',
      `--log-file=${log}`, path.join(releaseDir, 'sio-fixture')],
    readyMs: 60000,
  });
  const clients = [];
  const client = (nsp, opts = {}) => {
    const s = io(`${srv.url}${nsp}`, { forceNew: true, reconnection: false, ...opts });
    clients.push(s);
    return s;
  };
  const client2 = (nsp, opts = {}) => {
    const s = io2(`${srv.url}${nsp}`, { forceNew: true, reconnection: false, ...opts });
    clients.push(s);
    return s;
  };
  let failed = null;
  const logged = (re, id) => until(() => srv.stderr().split('\n').some((l) => re.test(l)), MS,
    () => `log line ${re}; the lines of ${id}: ${srv.stderr().split('\n').filter((l) => l.includes(id)).join(' | ')}`);
  try {
    // The clients: v4 on every transport and v2 on two, over three namespaces.
    const ws = client('/', { transports: ['websocket'], auth: { who: 'ws' } });
    const poll = client('/', { transports: ['polling'] });
    const up = client('/custom');
    const v2ws = client2('/', { transports: ['websocket'] });
    const v2poll = client2('/custom', { transports: ['polling'] });
    const dyn = client('/dyn-7', { transports: ['websocket'] });
    const all = [ws, poll, up, v2ws, v2poll, dyn];
    const authed = once(ws, 'auth');
    await Promise.all(all.map((s) => once(s, 'connect')));
    assert.deepEqual((await authed)[0], { who: 'ws' });
    await until(() => up.io.engine.transport.name === 'websocket', MS, 'the upgrade');

    // Acks client → server, with binary, on every client.
    for (const [k, s] of all.entries()) {
      const got = await ack(s, 'message-with-ack', { k }, Buffer.from([k, 255]));
      assert.deepEqual(got[0], { k });
      assert.equal(bytes(got[1]), bytes([k, 255]));
    }
    // Server → client: answered (the server emits the answer), then left to time out.
    const ewa = inbox(ws, 'emit-with-ack', (...a) => a);
    ws.emit('emit-with-ack', 'q', Buffer.from([1]));
    const asked = await ewa(MS);
    assert.equal(typeof asked.at(-1), 'function');
    asked.at(-1)('answer', Buffer.from([2]));
    const answered = await ewa(MS);
    assert.equal(answered[0], 'answer');
    assert.equal(bytes(answered[1]), '02');
    poll.once('emit-with-ack', () => {}); // never answered
    poll.emit('emit-with-ack', 'silent');

    // Rooms and broadcasts.
    await Promise.all([ack(ws, 'join', 'r'), ack(poll, 'join', 'r'), ack(v2ws, 'join', 'other'), ack(poll, 'join', 'gone')]);
    await ack(poll, 'leave', 'gone');
    const toRoom = [ws, poll].map((s) => once(s, 'to-room'));
    const v2room = inbox(v2ws, 'to-room');
    await ack(v2ws, 'to-room', 'r', { n: 1 });
    assert.deepEqual((await Promise.all(toRoom)).map((a) => a[0].n), [1, 1]);
    assert.equal(v2room.pending(), 0, 'not in the room');
    const bc = [poll, v2ws].map((s) => once(s, 'broadcast'));
    await ack(ws, 'broadcast', 'hello', Buffer.from([3]));
    for (const [text, b] of await Promise.all(bc)) {
      assert.equal(text, 'hello');
      assert.equal(bytes(b), '03');
    }
    for (const s of [up, v2poll]) s.on('ping-all', (cb) => cb(s === up ? 'up' : 'v2'));
    const [pingAll] = await ack(up, 'broadcast-with-ack');
    assert.deepEqual({ err: pingAll.err, answers: pingAll.answers.sort() }, { err: null, answers: ['up', 'v2'] });

    // A middleware that refuses, then admits.
    const refused = client('/private', { transports: ['websocket'], auth: { token: 'wrong' } });
    const [err] = await once(refused, 'connect_error');
    assert.equal(err.message, 'unauthorized');
    const admitted = client('/private', { transports: ['polling'], auth: { token: 'secret' } });
    await once(admitted, 'connect');

    // Connection state recovery: the transport dropped, the session back with its id.
    const rec = client('/', { transports: ['websocket'], reconnection: true, reconnectionDelay: 100, reconnectionDelayMax: 100 });
    await once(rec, 'connect');
    const id = rec.id;
    const back = once(rec, 'message-back');
    rec.emit('message', 'one');
    assert.equal((await back)[0], 'one');
    rec.io.engine.transport.ws._socket.destroy();
    await once(rec, 'connect');
    assert.deepEqual({ id: rec.id, recovered: rec.recovered }, { id, recovered: true });

    // Gone without a word: a WebSocket client that stops reading and answering (the server
    // must time it out), and a polling client whose long poll is aborted.
    const mute = client('/custom', { transports: ['websocket'] });
    await once(mute, 'connect');
    const muteId = mute.id;
    const muteTcp = mute.io.engine.transport.ws._socket;
    muteTcp.pause();
    const agent = new http.Agent();
    const lost = client('/', { transports: ['polling'], agent });
    await once(lost, 'connect');
    const lostId = lost.id;
    const t = lost.io.engine.transport;
    t.send = () => {};
    t.doClose = () => {};
    await until(() => t.pollXhr?._xhr?.readyState === 1 && Object.keys(agent.sockets).length, MS, 'a long poll in flight');
    for (const socks of Object.values(agent.sockets)) for (const sock of socks) sock.destroy();
    await logged(new RegExp(`^sio: disconnect /custom ${muteId} \\(ping timeout\\)$`), muteId);
    // "transport error" when the server had the long poll parked, as engine.io reports an
    // aborted one; "ping timeout" when it was not there yet.
    await logged(new RegExp(`^sio: disconnect / ${lostId} \\((transport error|ping timeout)\\)$`), lostId);
    muteTcp.destroy();

    // The rest leave properly.
    for (const s of all) s.disconnect();
    admitted.disconnect();
    rec.disconnect();
    await logged(new RegExp(`^sio: disconnect / ${id} \\(client namespace disconnect\\)$`), id);
  } catch (e) {
    failed = e;
  } finally {
    for (const s of clients) s.disconnect();
    const r = await srv.stop({ killAfterMs: 120000 });
    const report = fs.existsSync(log) ? fs.readFileSync(log, 'utf8') : '(no valgrind log)';
    fs.rmSync(dir, { recursive: true, force: true });
    const summary = report.split('\n').filter((l) => /ERROR SUMMARY|lost:|reachable:|in use at exit|heap blocks|FILE DESCRIPTORS/.test(l));
    console.log(`valgrind: ${summary.map((l) => l.replace(/^==\d+== +/, '')).join(' | ')}`);
    if (failed) throw failed;
    assert.equal(r.code, 0, `exit ${JSON.stringify(r)}:\n${report}\n${r.stderr.slice(-3000)}`);
    assert.match(report, /ERROR SUMMARY: 0 errors from 0 contexts/, report);
    // Nothing lost: either no block in use at exit, or none of them unreachable.
    if (!/All heap blocks were freed -- no leaks are possible/.test(report)) {
      for (const kind of ['definitely', 'indirectly', 'possibly']) {
        assert.match(report, new RegExp(`${kind} lost: 0 bytes in 0 blocks`), report);
      }
    }
    // Descriptors: valgrind lists each one open at exit with where it was opened, or as
    // "<inherited from parent>" (its own log file, what the environment passed down). Every
    // one the server opened must be closed.
    assert.match(report, /FILE DESCRIPTORS: \d+ open/, report);
    const opened = report.split(/^==\d+== Open /m).slice(1).filter((b) => !/<inherited from parent>/.test(b));
    assert.deepEqual(opened, [], 'descriptors the server left open');
  }
});
