// The chat server (build/sio-chat) end to end with the official socket.io-client: every
// event of docs/chat-protocol.md with its error cases, presence (join/leave/disconnect and
// the room list), history, typing, images, connection state recovery, the /playground
// namespaces, and bad input that must be refused or ignored without hurting the server.
//
// One server runs for the whole file, with --history 3 and --max-image 1000 so the limits
// are cheap to reach; each test uses its own nicknames and rooms.
import { describe, test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { io } from 'socket.io-client';
import { startServer, buildDir, request, sleep, within, until } from './lib/harness.mjs';

const HISTORY = 3;
const MAX_IMAGE = 1000;

let srv;
let publicDir;
const open = [];

// ---- helpers ----

// Every `event` a client receives, in order (the first argument: the payload; with
// recovery on, the server appends an offset argument that the tests ignore).
function record(s, event) {
  const got = [];
  s.on(event, (payload) => got.push(payload));
  return got;
}

// A connected socket.io-client on nsp, over WebSocket, reconnecting fast when asked to.
async function connect(nsp = '/', opts = {}) {
  const s = io(`${srv.url}${nsp}`, {
    forceNew: true,
    transports: ['websocket'],
    reconnection: false,
    reconnectionDelay: 50,
    reconnectionDelayMax: 50,
    ...opts,
  });
  open.push(s);
  await within(new Promise((resolve, reject) => {
    s.once('connect', resolve);
    s.once('connect_error', reject);
  }), 3000, `connect to ${nsp}`);
  return s;
}

const ask = (s, event, ...args) => within(s.emitWithAck(event, ...args), 3000, `ack of ${event}`);

// A client logged in as nick (and joined to rooms), with recorders for the room events.
async function user(nick, rooms = [], opts = {}) {
  const s = await connect('/', opts);
  s.got = {};
  for (const e of ['message', 'user joined', 'user left', 'typing', 'image', 'rooms']) s.got[e] = record(s, e);
  const r = await ask(s, 'login', nick);
  assert.equal(r.ok, true, JSON.stringify(r));
  for (const room of rooms) assert.equal((await ask(s, 'join', room)).ok, true);
  return s;
}

const countOf = (list, name) => list.find((r) => r.name === name)?.count;
const lastRooms = (s) => s.got.rooms[s.got.rooms.length - 1];

// A moment for events that must NOT arrive to show up if they were going to.
const quiet = () => sleep(150);

function assertError(r, re) {
  assert.equal(r.ok, false, JSON.stringify(r));
  assert.equal(typeof r.error, 'string');
  if (re) assert.match(r.error, re);
}

before(async () => {
  publicDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sio-chat-'));
  fs.writeFileSync(path.join(publicDir, 'index.html'), '<!doctype html><title>chat</title>\n');
  srv = await startServer('sio-chat', ['--public', publicDir, '--history', String(HISTORY),
    '--max-image', String(MAX_IMAGE), '--host', '127.0.0.1']);
});

afterEach(async () => {
  for (const s of open.splice(0)) s.disconnect();
  await sleep(30);
});

after(async () => {
  for (const s of open.splice(0)) s.disconnect();
  const r = await srv.stop();
  fs.rmSync(publicDir, { recursive: true, force: true });
  assert.equal(r.code, 0, r.stderr);
});

// ---- the program ----

describe('sio-chat: the program', () => {
  test('--help prints the usage; a bad option exits 2', () => {
    const bin = path.join(buildDir, 'sio-chat');
    const help = spawnSync(bin, ['--help'], { encoding: 'utf8' });
    assert.equal(help.status, 0);
    for (const opt of ['--host', '--port', '--public', '--history', '--max-image']) assert.match(help.stdout, new RegExp(opt));
    const bad = spawnSync(bin, ['--history', 'lots'], { encoding: 'utf8' });
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /--history/);
  });

  test('serves --public and the client bundle at /socket.io/socket.io.js', async () => {
    const page = await request(`${srv.url}/`);
    assert.equal(page.status, 200);
    assert.match(page.body.toString(), /<title>chat<\/title>/);
    const bundle = await request(`${srv.url}/socket.io/socket.io.js`);
    assert.equal(bundle.status, 200);
    assert.match(bundle.headers['content-type'], /javascript/);
    assert.ok(bundle.body.length > 10000);
  });
});

// ---- login ----

describe('sio-chat: login', () => {
  test('ok with the room list, "general" always in it', async () => {
    const s = await connect();
    const r = await ask(s, 'login', 'ann');
    assert.equal(r.ok, true);
    assert.ok(Array.isArray(r.rooms));
    assert.equal(r.rooms[0].name, 'general');
    assert.equal(typeof r.rooms[0].count, 'number');
    // The same nickname again is harmless; another one is not.
    assert.equal((await ask(s, 'login', 'ann')).ok, true);
    assertError(await ask(s, 'login', 'ann2'), /already logged in/);
  });

  test('refused: empty, blank, over 32 characters, not a string, taken', async () => {
    const s = await connect();
    assertError(await ask(s, 'login', ''), /empty/);
    assertError(await ask(s, 'login', '   '), /empty/);
    assertError(await ask(s, 'login', 'x'.repeat(33)), /32/);
    assertError(await ask(s, 'login', 'a\u0007b'), /control/);
    assertError(await ask(s, 'login', 42), /string/);
    assertError(await ask(s, 'login', { nickname: 'bob' }), /string/);
    assertError(await ask(s, 'login', null), /string/);
    assertError(await ask(s, 'login', Buffer.from('bob')), /string/);
    assertError(await ask(s, 'login'), /string/);
    assertError(await ask(s, 'login', 'y'.repeat(50000)), /32/);
    const holder = await user('bea');
    assertError(await ask(s, 'login', 'bea'), /taken/);
    assertError(await ask(s, 'login', ' bea '), /taken/, 'surrounding spaces are not part of the nickname');
    // 32 characters is fine, counted as characters, not bytes.
    assert.equal((await ask(s, 'login', '\u{1F600}'.repeat(32))).ok, true);
    holder.disconnect();
  });

  test('every chat event before login: "not logged in"', async () => {
    const s = await connect();
    for (const [event, arg] of [
      ['join', 'general'],
      ['leave', 'general'],
      ['message', { room: 'general', text: 'hi' }],
      ['typing', { room: 'general', typing: true }],
      ['image', { room: 'general', name: 'a.png', type: 'image/png', data: Buffer.from([1]) }],
    ]) {
      assert.deepEqual(await ask(s, event, arg), { ok: false, error: 'not logged in' }, event);
    }
  });
});

// ---- rooms ----

describe('sio-chat: join and leave', () => {
  test('join: ack with members and history; the others get "user joined"; everyone gets "rooms"', async () => {
    const a = await user('cal', ['r-join']);
    const watcher = await user('cat');
    const b = await connect();
    b.got = { joined: record(b, 'user joined'), rooms: record(b, 'rooms') };
    assert.equal((await ask(b, 'login', 'cid')).ok, true);
    const r = await ask(b, 'join', 'r-join');
    assert.deepEqual(r, { ok: true, room: 'r-join', members: ['cal', 'cid'], history: [] });
    await until(() => a.got['user joined'].length === 1, 2000, 'user joined');
    assert.deepEqual(a.got['user joined'][0], { room: 'r-join', nickname: 'cid', count: 2 });
    await until(() => countOf(lastRooms(watcher) ?? [], 'r-join') === 2, 2000, 'rooms with r-join: 2');
    await until(() => countOf(b.got.rooms.at(-1) ?? [], 'r-join') === 2, 2000, 'rooms to the joiner too');
    assert.equal(lastRooms(watcher)[0].name, 'general');
    await quiet();
    assert.equal(b.got.joined.length, 0, 'the joiner gets the ack, not "user joined"');

    // Joining again answers the same, and nobody is told anything.
    const nRooms = watcher.got.rooms.length;
    const again = await ask(b, 'join', ' r-join ');
    assert.deepEqual(again, r);
    await quiet();
    assert.equal(a.got['user joined'].length, 1);
    assert.equal(watcher.got.rooms.length, nRooms);
  });

  test('join refused: bad room names, too many rooms', async () => {
    const s = await user('dan');
    assertError(await ask(s, 'join', ''), /room name must not be empty/);
    assertError(await ask(s, 'join', 'z'.repeat(33)), /32/);
    assertError(await ask(s, 'join', 7), /string/);
    assertError(await ask(s, 'join', ['general']), /string/);
    assertError(await ask(s, 'join', Buffer.alloc(3)), /string/);
    assertError(await ask(s, 'join'), /string/);
    for (let i = 0; i < 20; i++) assert.equal((await ask(s, 'join', `many-${i}`)).ok, true);
    assertError(await ask(s, 'join', 'many-20'), /too many rooms/);
    assert.equal((await ask(s, 'leave', 'many-0')).ok, true);
    assert.equal((await ask(s, 'join', 'many-20')).ok, true);
  });

  test('leave: the others get "user left"; an empty room leaves the list, "general" never does', async () => {
    const a = await user('eve', ['r-leave', 'general']);
    const b = await user('eli', ['r-leave']);
    assert.deepEqual(await ask(b, 'leave', 'r-leave'), { ok: true });
    await until(() => a.got['user left'].length === 1, 2000, 'user left');
    assert.deepEqual(a.got['user left'][0], { room: 'r-leave', nickname: 'eli', count: 1 });
    await until(() => countOf(lastRooms(a) ?? [], 'r-leave') === 1, 2000, 'rooms with r-leave: 1');
    assertError(await ask(b, 'leave', 'r-leave'), /not in that room/);
    assertError(await ask(b, 'leave', 'never-joined'), /not in that room/);
    assertError(await ask(b, 'leave', 12), /string/);
    // b is out of the room: its messages are refused and it hears nothing from it.
    assertError(await ask(b, 'message', { room: 'r-leave', text: 'hi' }), /not in that room/);
    await ask(a, 'message', { room: 'r-leave', text: 'alone' });
    await quiet();
    assert.equal(b.got.message.length, 0);

    assert.equal((await ask(a, 'leave', 'r-leave')).ok, true);
    await until(() => lastRooms(b) && countOf(lastRooms(b), 'r-leave') === undefined, 2000, 'r-leave gone');
    assert.equal((await ask(a, 'leave', 'general')).ok, true);
    const r = await ask(b, 'login', 'eli');
    assert.equal(r.rooms[0].name, 'general');
    assert.ok(countOf(r.rooms, 'general') >= 0);
  });

  test('disconnect: "user left" in each room of the user and a new room list; the nickname is free again', async () => {
    const a = await user('fay', ['r-dc1', 'r-dc2']);
    const b = await user('fox', ['r-dc1', 'r-dc2']);
    b.disconnect();
    await until(() => a.got['user left'].length === 2, 2000, 'two "user left"');
    assert.deepEqual(a.got['user left'].map((e) => e.room).sort(), ['r-dc1', 'r-dc2']);
    for (const e of a.got['user left']) assert.deepEqual(e, { room: e.room, nickname: 'fox', count: 1 });
    await until(() => countOf(lastRooms(a), 'r-dc1') === 1 && countOf(lastRooms(a), 'r-dc2') === 1, 2000,
      'rooms after the disconnect');
    const again = await user('fox');
    assert.ok(again.connected);
  });
});

// ---- messages ----

describe('sio-chat: messages', () => {
  test('message: ack {ok, id, ts}; the room, sender included, gets it', async () => {
    const a = await user('gus', ['r-msg']);
    const b = await user('gil', ['r-msg']);
    const outsider = await user('gio', ['general']);
    const t0 = Date.now();
    const r = await ask(a, 'message', { room: 'r-msg', text: 'hello there' });
    assert.equal(r.ok, true);
    assert.equal(typeof r.id, 'string');
    assert.ok(r.ts >= t0 - 1000 && r.ts <= Date.now() + 1000, `ts ${r.ts} is ms since the epoch`);
    const want = { id: r.id, room: 'r-msg', from: 'gus', text: 'hello there', ts: r.ts };
    await until(() => a.got.message.length === 1 && b.got.message.length === 1, 2000, 'both get the message');
    assert.deepEqual(a.got.message[0], want);
    assert.deepEqual(b.got.message[0], want);
    const r2 = await ask(b, 'message', { room: 'r-msg', text: 'and back' });
    assert.notEqual(r2.id, r.id);
    await quiet();
    assert.equal(outsider.got.message.length, 0);
  });

  test('message refused: not in the room, empty, too long, wrong types', async () => {
    const s = await user('hal', ['r-bad']);
    assertError(await ask(s, 'message', { room: 'elsewhere', text: 'hi' }), /not in that room/);
    assertError(await ask(s, 'message', { room: 'r-bad', text: '' }), /text must not be empty/);
    assertError(await ask(s, 'message', { room: 'r-bad', text: ' \n\t ' }), /empty/);
    assertError(await ask(s, 'message', { room: 'r-bad', text: 'w'.repeat(2001) }), /2000/);
    assertError(await ask(s, 'message', { room: 'r-bad', text: 'w'.repeat(50000) }), /2000/);
    assertError(await ask(s, 'message', { room: 'r-bad', text: 5 }), /string/);
    assertError(await ask(s, 'message', { room: 'r-bad', text: Buffer.from('hi') }), /string/);
    assertError(await ask(s, 'message', { room: 'r-bad' }), /string/);
    assertError(await ask(s, 'message', { text: 'hi' }), /room/);
    assertError(await ask(s, 'message', { room: ['r-bad'], text: 'hi' }), /room/);
    assertError(await ask(s, 'message', 'r-bad', 'hi'), /room/);
    assertError(await ask(s, 'message', null), /room/);
    assertError(await ask(s, 'message'), /room/);
    assert.equal((await ask(s, 'message', { room: 'r-bad', text: 'w'.repeat(2000) })).ok, true);
    await quiet();
    assert.equal(s.got.message.length, 1, 'only the valid message went out');
  });

  test(`history: the last ${HISTORY} messages, oldest first, without images`, async () => {
    const a = await user('ida', ['r-hist']);
    const sent = [];
    for (let i = 0; i < 5; i++) sent.push(await ask(a, 'message', { room: 'r-hist', text: `m${i}` }));
    await ask(a, 'image', { room: 'r-hist', name: 'x.png', type: 'image/png', data: Buffer.from([1, 2]) });
    const b = await user('ivy');
    const r = await ask(b, 'join', 'r-hist');
    assert.deepEqual(r.history, sent.slice(2).map((m, i) => ({
      id: m.id, room: 'r-hist', from: 'ida', text: `m${i + 2}`, ts: m.ts,
    })));
    assert.deepEqual(r.members, ['ida', 'ivy']);
  });

  test('typing: the room but the sender gets it', async () => {
    const a = await user('jon', ['r-typ']);
    const b = await user('joy', ['r-typ']);
    assert.deepEqual(await ask(a, 'typing', { room: 'r-typ', typing: true }), { ok: true });
    a.emit('typing', { room: 'r-typ', typing: false });
    await until(() => b.got.typing.length === 2, 2000, 'two typing events');
    assert.deepEqual(b.got.typing, [
      { room: 'r-typ', nickname: 'jon', typing: true },
      { room: 'r-typ', nickname: 'jon', typing: false },
    ]);
    assertError(await ask(a, 'typing', { room: 'nope', typing: true }), /not in that room/);
    assertError(await ask(a, 'typing', 'r-typ'), /room/);
    await quiet();
    assert.equal(a.got.typing.length, 0);
  });
});

// ---- images ----

describe('sio-chat: images', () => {
  test('binary round trip to the whole room, sender included', async () => {
    const a = await user('kim', ['r-img']);
    const b = await user('kit', ['r-img']);
    const data = Buffer.alloc(MAX_IMAGE);
    for (let i = 0; i < data.length; i++) data[i] = (i * 7) & 0xff;
    const r = await ask(a, 'image', { room: 'r-img', name: 'cat.png', type: 'image/png', data });
    assert.equal(r.ok, true);
    assert.equal(typeof r.id, 'string');
    await until(() => a.got.image.length === 1 && b.got.image.length === 1, 2000, 'both get the image');
    for (const got of [a.got.image[0], b.got.image[0]]) {
      const { data: d, ...rest } = got;
      assert.deepEqual(rest, { id: r.id, room: 'r-img', from: 'kim', name: 'cat.png', type: 'image/png', ts: r.ts });
      assert.ok(Buffer.isBuffer(d), 'data arrives as binary');
      assert.ok(d.equals(data));
    }
  });

  test('refused: over the limit, not binary, empty, not an image type, not in the room', async () => {
    const s = await user('lee', ['r-img2']);
    const img = (over) => ({ room: 'r-img2', name: 'a.png', type: 'image/png', data: Buffer.alloc(1), ...over });
    assertError(await ask(s, 'image', img({ data: Buffer.alloc(MAX_IMAGE + 1) })), /too large/);
    assertError(await ask(s, 'image', img({ data: 'aGVsbG8=' })), /binary/);
    assertError(await ask(s, 'image', img({ data: [1, 2, 3] })), /binary/);
    assertError(await ask(s, 'image', img({ data: undefined })), /binary/);
    assertError(await ask(s, 'image', img({ data: Buffer.alloc(0) })), /empty/);
    assertError(await ask(s, 'image', img({ type: 'text/html' })), /type/);
    assertError(await ask(s, 'image', img({ type: 3 })), /type/);
    assertError(await ask(s, 'image', img({ name: { x: 1 } })), /name/);
    assertError(await ask(s, 'image', img({ name: 'n'.repeat(256) })), /name/);
    assertError(await ask(s, 'image', img({ room: 'elsewhere' })), /not in that room/);
    await quiet();
    assert.equal(s.got.image.length, 0);
    assert.equal((await ask(s, 'image', img({}))).ok, true);
  });
});

// ---- recovery ----

describe('sio-chat: connection state recovery', () => {
  test('a dropped transport comes back with its nickname and rooms, its missed messages, and no join/leave noise', async () => {
    const a = await user('max', ['r-rec'], { reconnection: true, reconnectionDelay: 400, reconnectionDelayMax: 400 });
    const b = await user('mia', ['r-rec']);
    const id = a.id;
    const nRooms = b.got.rooms.length;
    a.io.engine.transport.ws._socket.destroy();
    await within(new Promise((r) => a.once('disconnect', r)), 2000, 'disconnect');
    // While a is away, the room goes on.
    await ask(b, 'message', { room: 'r-rec', text: 'while you were out' });
    await within(new Promise((r) => a.once('connect', r)), 3000, 'reconnect');
    assert.equal(a.recovered, true);
    assert.equal(a.id, id);
    await until(() => a.got.message.some((m) => m.text === 'while you were out'), 2000, 'the missed message');
    const r = await ask(a, 'message', { room: 'r-rec', text: 'back' });
    assert.equal(r.ok, true);
    await until(() => b.got.message.some((m) => m.text === 'back' && m.from === 'max'), 2000, 'b sees max again');
    assert.equal((await ask(a, 'login', 'max')).ok, true, 'still logged in as max');
    await quiet();
    assert.equal(b.got['user left'].length, 0);
    assert.equal(b.got['user joined'].length, 0);
    assert.equal(b.got.rooms.length, nRooms);
    const c = await connect();
    assertError(await ask(c, 'login', 'max'), /taken/);
  });

  test('a new login takes the nickname of a user whose connection dropped; that user leaves its rooms', async () => {
    const a = await user('ned', ['r-take'], { reconnection: true, reconnectionDelay: 600, reconnectionDelayMax: 600 });
    const b = await user('nia', ['r-take']);
    a.io.engine.transport.ws._socket.destroy();
    await within(new Promise((r) => a.once('disconnect', r)), 2000, 'disconnect');
    await quiet();
    assert.equal(b.got['user left'].length, 0, 'away, not gone');
    const again = await user('ned');
    await until(() => b.got['user left'].length === 1, 2000, 'user left');
    assert.deepEqual(b.got['user left'][0], { room: 'r-take', nickname: 'ned', count: 1 });
    assert.deepEqual((await ask(again, 'join', 'r-take')).members, ['nia', 'ned']);
    // The old socket is recovered, but its nickname is someone else's: the server sends it away.
    const [reason] = await within(new Promise((r) => a.once('disconnect', (...x) => r(x))), 3000, 'sent away');
    assert.equal(reason, 'io server disconnect');
    assert.equal(a.recovered, true);
    assert.equal(b.got['user joined'].filter((e) => e.room === 'r-take').length, 1, 'only the new ned joined');
  });
});

// ---- bad input ----

describe('sio-chat: bad input', () => {
  test('odd events and arguments are refused or ignored, and the server carries on', async () => {
    const s = await connect();
    s.emit('nonsense', 1, 2, 3);
    s.emit('login');
    s.emit('typing');
    s.emit('message', { room: 'general', text: 'no ack, not logged in' });
    s.emit('image', Buffer.alloc(2000));
    assertError(await ask(s, 'login', ['nested', ['arrays']]), /string/);
    assertError(await ask(s, 'login', true), /string/);
    const u = await user('oz', ['general']);
    u.emit('message', { room: 'general', text: 'no ack is fine' });
    u.emit('typing', { room: 12, typing: 'yes' });
    u.emit('join', { room: 'general' });
    u.emit('leave');
    assertError(await ask(u, 'message', { room: 'general', text: { nested: 'x'.repeat(1000) } }), /string/);
    await until(() => u.got.message.some((m) => m.text === 'no ack is fine'), 2000, 'a message without ack goes out');
    assert.equal((await ask(u, 'message', { room: 'general', text: 'still here' })).ok, true);
  });

  test('an image far over the limit closes that connection only (maxHttpBufferSize)', async () => {
    const a = await user('pam', ['general']);
    const b = await user('pat', ['general']);
    const gone = within(new Promise((r) => a.once('disconnect', r)), 3000, 'disconnect');
    a.emit('image', { room: 'general', name: 'big.png', type: 'image/png', data: Buffer.alloc(MAX_IMAGE + 200000) });
    await gone;
    assert.equal((await ask(b, 'message', { room: 'general', text: 'fine' })).ok, true);
  });
});

// ---- the playground ----

describe('sio-chat: playground namespaces', () => {
  test('/playground: hello, hello-ack, shout', async () => {
    const a = await connect('/playground');
    const b = await connect('/playground');
    const hello = within(new Promise((r) => a.once('hello', r)), 2000, 'hello');
    a.emit('hello', 'hi there');
    assert.equal(await hello, 'hi there');
    const t0 = Date.now();
    const r = await ask(a, 'hello-ack', 'ping');
    assert.equal(r.echo, 'ping');
    assert.ok(r.ts >= t0 - 1000 && r.ts <= Date.now() + 1000);
    const aShouts = record(a, 'shout');
    const bShout = within(new Promise((res) => b.once('shout', res)), 2000, 'shout');
    a.emit('shout', 'everyone!');
    assert.deepEqual(await bShout, { from: a.id, text: 'everyone!' });
    await quiet();
    assert.equal(aShouts.length, 0, 'not to the sender');
  });

  test('/some-namespace: welcome and hello', async () => {
    const s = io(`${srv.url}/some-namespace`, { forceNew: true, transports: ['websocket'], reconnection: false });
    open.push(s);
    const [welcome] = await within(new Promise((r) => s.once('welcome', (...a) => r(a))), 2000, 'welcome');
    assert.deepEqual(welcome, { nsp: '/some-namespace', id: s.id });
    const hello = within(new Promise((r) => s.once('hello', r)), 2000, 'hello');
    s.emit('hello', 'yo');
    assert.equal(await hello, 'yo');
  });

  test('/room: join with a count, say to the room', async () => {
    const a = await connect('/room');
    const b = await connect('/room');
    const c = await connect('/room');
    assert.deepEqual(await ask(a, 'join', 'lobby'), { ok: true, room: 'lobby', count: 1 });
    assert.deepEqual(await ask(b, 'join', 'lobby'), { ok: true, room: 'lobby', count: 2 });
    assertError(await ask(c, 'join', ''), /empty/);
    const got = { a: record(a, 'said'), b: record(b, 'said'), c: record(c, 'said') };
    b.emit('say', { room: 'lobby', text: 'hey' });
    const want = { room: 'lobby', from: b.id, text: 'hey' };
    await until(() => got.a.length === 1 && got.b.length === 1, 2000, 'said to the room');
    assert.deepEqual(got.a[0], want);
    assert.deepEqual(got.b[0], want);
    c.emit('say', { room: 'lobby' });
    c.emit('say', 'lobby');
    await quiet();
    assert.equal(got.c.length, 0);
    assert.equal(got.a.length, 1);
  });
});
