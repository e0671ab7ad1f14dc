// The chat page (apps/chat/public) in headless Chromium against build/sio-chat: two users
// in two browser contexts (one at desktop width, one at phone width) chat in a room, then
// the server restarts under them. Also the playground page, one card after the other.
// Screenshots go to build/artifacts/. Last, the chat over https and wss (--tls-cert/--tls-key).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { startServer, root } from '../e2e/lib/harness.mjs';

// As in ws.test.mjs (importing a test file would run its tests here too).
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const launchArgs = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

const ARGS = ['--public', 'apps/chat/public'];
const ARTIFACTS = path.join(root, 'build/artifacts');
const T = 10000; // per wait

async function launch() {
  assert.ok(fs.existsSync(CHROMIUM), `${CHROMIUM} is missing: scripts/bootstrap installs chromium`);
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: launchArgs });
}

// A page that records its uncaught errors and console errors, to assert there are none.
async function openPage(browser, url, viewport) {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  page.errors = [];
  page.on('pageerror', (e) => page.errors.push(String(e)));
  page.on('response', (r) => { if (r.status() >= 400) page.errors.push(`${r.status()} ${r.url()}`); });
  page.on('console', (m) => {
    // Failed loads are reported above with their URL; a refused connection while the
    // server is down is expected.
    if (m.type() === 'error' && !/Failed to load resource|ERR_CONNECTION_REFUSED|WebSocket connection/.test(m.text())) {
      page.errors.push(m.text());
    }
  });
  page.setDefaultTimeout(T);
  await page.goto(url);
  return page;
}

const shot = (page, name) => page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`) });
const status = (page) => page.getAttribute('#status', 'data-state');

async function login(page, nickname) {
  await page.fill('#nickname', nickname);
  await page.click('#login-button');
  await page.waitForSelector('#app:not([hidden])');
  await page.waitForFunction(() => document.querySelector('#room-title').textContent === '#general');
}

// Join (or create) a room through the sidebar; at phone width it is a drawer.
async function joinRoom(page, room, { create = false } = {}) {
  if (await page.isVisible('#rooms-toggle')) {
    await page.click('#rooms-toggle');
    await page.waitForFunction(() => {
      const r = document.querySelector('#sidebar').getBoundingClientRect();
      return r.left >= 0;
    });
  }
  if (create) {
    await page.fill('#new-room', room);
    await page.click('#new-room-button');
  } else {
    await page.click(`#rooms [data-room="${room}"]`);
  }
  await page.waitForFunction((r) => document.querySelector('#room-title').textContent === `#${r}`, room);
}

// The visible room's messages: [{from, text, state, id}]
const messages = (page) => page.$$eval('#messages ol:not([hidden]) [data-testid="message"]', (items) =>
  items.map((li) => ({ from: li.dataset.from, text: li.querySelector('.text').textContent,
    state: li.dataset.state, id: li.dataset.id })));

async function send(page, text) {
  await page.fill('#message-input', text);
  await page.press('#message-input', 'Enter');
}

// Waits until the visible room shows a message with this text, and returns it.
async function waitMessage(page, text, state) {
  await page.waitForFunction(([t, s]) =>
    [...document.querySelectorAll('#messages ol:not([hidden]) [data-testid="message"]')]
      .some((li) => li.querySelector('.text').textContent === t && (!s || li.dataset.state === s)),
  [text, state]);
  return (await messages(page)).find((m) => m.text === text);
}

const memberCount = (page) => page.getAttribute('#member-count', 'data-count');
const roomCount = (page, room) => page.textContent(`#rooms [data-room="${room}"] [data-testid="room-count"]`);

test('two users chat in a room, with typing, an image and a server restart', { timeout: 60000 }, async () => {
  let srv = await startServer('sio-chat', ARGS);
  const browser = await launch();
  try {
    const alice = await openPage(browser, srv.url, { width: 1100, height: 760 });
    const bob = await openPage(browser, srv.url, { width: 390, height: 760 }); // a phone
    await alice.waitForFunction(() => document.querySelector('#status').dataset.state === 'connected');

    // Nicknames: empty and taken ones are refused.
    await alice.click('#login-button');
    assert.match(await alice.textContent('#login-error'), /empty/);
    await login(alice, 'alice');
    await bob.fill('#nickname', 'alice');
    await bob.click('#login-button');
    await bob.waitForFunction(() => /taken/.test(document.querySelector('#login-error').textContent));
    await login(bob, 'bob');

    // Alice creates a room; bob sees it in his list with its live count, and joins.
    await joinRoom(alice, 'lobby', { create: true });
    await bob.waitForSelector('#rooms [data-room="lobby"]', { state: 'attached' });
    assert.equal(await roomCount(bob, 'lobby'), '1');
    await joinRoom(bob, 'lobby');
    await alice.waitForFunction(() => document.querySelector('#member-count').dataset.count === '2');
    assert.equal(await memberCount(bob), '2');
    await alice.waitForFunction(() => document.querySelector('#rooms [data-room="lobby"] .count').textContent === '2');
    await alice.waitForFunction(() => [...document.querySelectorAll('#messages ol:not([hidden]) [data-testid="notice"]')]
      .some((n) => n.textContent === 'bob joined'));
    assert.match(await alice.textContent('#members'), /alice \(you\), bob/);

    // Typing, then messages with their delivery ticks.
    await alice.type('#message-input', 'hi b');
    await bob.waitForFunction(() => document.querySelector('#typing').textContent === 'alice is typing…');
    await alice.fill('#message-input', '');
    await send(alice, 'hi bob');
    const sent = await waitMessage(alice, 'hi bob', 'delivered');
    assert.ok(sent.id, 'the ack gives the message its id');
    const got = await waitMessage(bob, 'hi bob');
    assert.equal(got.from, 'alice');
    assert.equal(got.id, sent.id);
    await bob.waitForFunction(() => document.querySelector('#typing').textContent === '');
    await send(bob, 'héllo alice, ça va ?');
    await waitMessage(bob, 'héllo alice, ça va ?', 'delivered');
    await waitMessage(alice, 'héllo alice, ça va ?');
    assert.equal((await messages(alice)).filter((m) => m.text === 'hi bob').length, 1, 'no duplicate');
    assert.equal(await alice.isVisible('#messages ol:not([hidden]) [data-testid="message"] time'), true);

    // An image, as binary: a preview on both sides, a tick for the sender.
    const png = Buffer.from(await alice.evaluate(() => {
      const c = document.createElement('canvas');
      c.width = 160;
      c.height = 100;
      const g = c.getContext('2d');
      const grad = g.createLinearGradient(0, 0, 160, 100);
      grad.addColorStop(0, '#4f46e5');
      grad.addColorStop(1, '#06b6d4');
      g.fillStyle = grad;
      g.fillRect(0, 0, 160, 100);
      g.fillStyle = '#fff';
      g.font = 'bold 22px sans-serif';
      g.fillText('libsio', 45, 58);
      return c.toDataURL('image/png').split(',')[1];
    }), 'base64');
    await alice.setInputFiles('#image-input', { name: 'libsio.png', mimeType: 'image/png', buffer: png });
    const imageShown = (page, state) => page.waitForFunction(([n, s]) => {
      const li = [...document.querySelectorAll('#messages ol:not([hidden]) [data-testid="image"]')].at(-1);
      const img = li?.querySelector('img');
      return img?.complete && img.naturalWidth === 160 && img.alt === n && (!s || li.dataset.state === s);
    }, ['libsio.png', state]);
    await imageShown(alice, 'delivered');
    await imageShown(bob);
    // Over the limit: refused before sending.
    await bob.setInputFiles('#image-input', { name: 'big.png', mimeType: 'image/png',
      buffer: Buffer.alloc(1024 * 1024 + 1) });
    assert.match(await bob.textContent('#composer-error'), /at most 1 MB/);
    await shot(alice, 'chat-alice');
    await shot(bob, 'chat-bob-phone');

    // The server restarts: both pages show that they are reconnecting, then log in and
    // join their rooms again by themselves.
    for (const page of [alice, bob]) {
      await page.evaluate(() => {
        window.statusHistory = [];
        new MutationObserver(() => window.statusHistory.push(document.querySelector('#status').dataset.state))
          .observe(document.querySelector('#status'), { attributes: true, attributeFilter: ['data-state'] });
      });
    }
    const port = srv.port;
    const stopped = await srv.stop();
    assert.equal(stopped.code, 0, stopped.stderr);
    for (const page of [alice, bob]) {
      await page.waitForFunction(() => document.querySelector('#status').dataset.state === 'reconnecting');
      assert.match(await page.textContent('#status-text'), /reconnecting/i);
    }
    await shot(bob, 'chat-bob-reconnecting');
    srv = await startServer('sio-chat', ARGS, { port });
    for (const page of [alice, bob]) {
      await page.waitForFunction(() => document.querySelector('#status').dataset.state === 'connected', null,
        { timeout: 15000 });
      const history = await page.evaluate(() => window.statusHistory);
      assert.ok(history.indexOf('reconnecting') < history.lastIndexOf('connected'), history.join(' '));
      assert.equal(await page.textContent('#room-title'), '#lobby');
    }
    assert.equal(await memberCount(alice), '2');
    await send(bob, 'still here?');
    await waitMessage(bob, 'still here?', 'delivered');
    await waitMessage(alice, 'still here?');
    await send(alice, 'yes, after the restart');
    await waitMessage(alice, 'yes, after the restart', 'delivered');
    await waitMessage(bob, 'yes, after the restart');
    await shot(alice, 'chat-alice-after-restart');

    // A dropped connection (the server stays up) is recovered: same socket, no new login,
    // and what was said meanwhile arrives.
    const aliceId = await alice.evaluate(() => socket.id);
    await alice.evaluate(() => { window.statusHistory = []; socket.io.engine.close(); });
    await send(bob, 'while you were away');
    await waitMessage(bob, 'while you were away', 'delivered');
    await alice.waitForFunction(() => window.statusHistory.includes('reconnecting') &&
      document.querySelector('#status').dataset.state === 'connected');
    assert.deepEqual(await alice.evaluate(() => [socket.recovered, socket.id]), [true, aliceId]);
    assert.equal(await alice.textContent('#status-text'), 'Connected again');
    await waitMessage(alice, 'while you were away');
    const notices = await bob.$$eval('#messages ol:not([hidden]) [data-testid="notice"]', (n) => n.map((x) => x.textContent));
    assert.ok(!notices.includes('alice left'), notices.join(', '));

    // Leaving: bob's count drops on alice's side.
    await bob.click('#leave');
    await bob.waitForFunction(() => document.querySelector('#room-title').textContent === '#general');
    await alice.waitForFunction(() => document.querySelector('#member-count').dataset.count === '1');
    await alice.waitForFunction(() => [...document.querySelectorAll('#messages ol:not([hidden]) [data-testid="notice"]')]
      .some((n) => n.textContent === 'bob left'));
    // Joining again shows the room's latest messages (those since the restart).
    await joinRoom(bob, 'lobby');
    await waitMessage(bob, 'while you were away');
    assert.deepEqual((await messages(bob)).map((m) => m.text),
      ['still here?', 'yes, after the restart', 'while you were away']);

    assert.deepEqual(alice.errors, []);
    assert.deepEqual(bob.errors, []);
  } finally {
    await browser.close();
    const r = await srv.stop();
    assert.equal(r.code, 0, r.stderr);
  }
});

test('the playground: each card logs what its button did', { timeout: 30000 }, async () => {
  const srv = await startServer('sio-chat', ARGS);
  const browser = await launch();
  try {
    const page = await openPage(browser, `${srv.url}/playground/`, { width: 1100, height: 1000 });
    await page.waitForFunction(() => document.querySelector('#status').dataset.state === 'connected');
    const logged = (card, re) => page.waitForFunction(([c, src]) =>
      [...document.querySelectorAll(`#${c}-log li`)].some((li) => new RegExp(src).test(li.textContent)),
    [card, re.source]);

    await page.click('#hello-button');
    await logged('message', /← hello "hello from the playground"/);
    await page.click('#ack-button');
    await logged('ack', /← ack \{"echo":"hello from the playground","ts":\d+\}/);
    await logged('broadcast', /client B connected/);
    await page.click('#shout-button');
    await logged('broadcast', /B ← shout \{"from":"[^"]+","text":"hello from the playground"\}/);
    await page.click('#namespace-connect-button');
    await logged('namespace', /← welcome \{"nsp":"\/some-namespace","id":"[^"]+"\}/);
    await page.click('#namespace-hello-button');
    await logged('namespace', /← hello "hello from the playground"/);
    await page.fill('#room-id', 'room-42');
    await page.click('#room-join-button');
    await logged('rooms', /← ack \{"ok":true,"room":"room-42","count":1\}/);
    await page.click('#room-say-button');
    await logged('rooms', /← said \{"room":"room-42","from":"[^"]+","text":"hello from the playground"\}/);
    await page.screenshot({ path: path.join(ARTIFACTS, 'playground.png'), fullPage: true });
    assert.deepEqual(page.errors, []);
  } finally {
    await browser.close();
    const r = await srv.stop();
    assert.equal(r.code, 0, r.stderr);
  }
});

test('the chat over https and wss (sio-chat --tls-cert/--tls-key)', { timeout: 30000 }, async () => {
  // A self-signed certificate: Chromium is told to accept it (ignoreHTTPSErrors); the e2e
  // suite (tests/e2e/tls.test.mjs) is where certificates are verified.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sio-tls-browser-'));
  const cert = path.join(dir, 'cert.pem');
  const key = path.join(dir, 'key.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256',
    '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', '/CN=localhost',
    '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1'], { stdio: 'ignore' });
  const srv = await startServer('sio-chat', [...ARGS, '--tls-cert', cert, '--tls-key', key]);
  const browser = await launch();
  try {
    const context = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1000, height: 700 } });
    const page = await context.newPage();
    const errors = [];
    const sockets = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    page.on('websocket', (ws) => sockets.push(ws.url()));
    page.setDefaultTimeout(T);
    await page.goto(`https://localhost:${srv.port}/`);
    assert.equal(await page.evaluate(() => location.protocol), 'https:');
    await page.waitForFunction(() => document.querySelector('#status').dataset.state === 'connected');
    await login(page, 'tls-alice');
    await send(page, 'sent over TLS');
    const m = await waitMessage(page, 'sent over TLS', 'delivered');
    assert.equal(m.from, 'tls-alice');
    assert.ok(sockets.some((u) => u.startsWith(`wss://localhost:${srv.port}/socket.io/`)), sockets.join(', '));
    await shot(page, 'chat-https');
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
    const r = await srv.stop();
    fs.rmSync(dir, { recursive: true, force: true });
    assert.equal(r.code, 0, r.stderr);
  }
});
