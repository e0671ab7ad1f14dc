// Chromium's own WebSocket against sio-fixture ws-echo (Chromium offers
// permessage-deflate, so this also checks compression against a real browser).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { startServer, root } from '../e2e/lib/harness.mjs';

export const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
export const launchArgs = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

test('the browser WebSocket echoes text and binary, compressed', async () => {
  assert.ok(fs.existsSync(CHROMIUM), `${CHROMIUM} is missing: scripts/bootstrap installs chromium`);
  const srv = await startServer('sio-fixture', ['ws-echo']);
  // The page comes from a loopback origin too: Chromium refuses local connections made
  // from pages that are not local themselves.
  const pageSrv = http.createServer((req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/html' });
    res.end('<!doctype html><title>ws</title><pre id="log">libsio WebSocket test</pre>');
  });
  await new Promise((resolve) => pageSrv.listen(0, '127.0.0.1', resolve));
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: launchArgs });
  try {
    const page = await browser.newPage();
    await page.goto(`http://127.0.0.1:${pageSrv.address().port}/`);
    const result = await page.evaluate(async (url) => {
      const ws = new WebSocket(url);
      ws.binaryType = 'arraybuffer';
      const got = [];
      await new Promise((resolve, reject) => { ws.onopen = resolve; ws.onerror = reject; });
      const all = new Promise((resolve) => {
        ws.onmessage = (e) => { got.push(e.data); if (got.length === 3) resolve(); };
      });
      ws.send('hello from the browser');
      ws.send(new Uint8Array([1, 2, 3, 250]).buffer);
      ws.send('x'.repeat(50000));
      await all;
      document.getElementById('log').textContent += `\nextensions: ${ws.extensions}\n` +
        `echoed: ${got[0]} / [${new Uint8Array(got[1])}] / ${got[2].length} chars`;
      const closed = new Promise((resolve) => { ws.onclose = (e) => resolve(e.code); });
      ws.close(1000);
      return { text: got[0], bin: Array.from(new Uint8Array(got[1])), long: got[2].length,
        ext: ws.extensions, code: await closed };
    }, `ws://127.0.0.1:${srv.port}/browser`);
    assert.equal(result.text, 'hello from the browser');
    assert.deepEqual(result.bin, [1, 2, 3, 250]);
    assert.equal(result.long, 50000);
    assert.match(result.ext, /permessage-deflate/);
    assert.equal(result.code, 1000);
    fs.mkdirSync(path.join(root, 'tests/artifacts'), { recursive: true });
    await page.screenshot({ path: path.join(root, 'tests/artifacts/browser-ws.png') });
  } finally {
    await browser.close();
    pageSrv.close();
    const r = await srv.stop();
    assert.equal(r.code, 0, r.stderr);
  }
});
