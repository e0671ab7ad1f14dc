// The cycling clients of soak.test.mjs, run in worker threads (one Node thread cannot drive
// 10,000 official clients quickly): cycle(i) connects one client, chosen by i, sends its acked
// messages, and leaves, cleanly or not. As a worker (workerData.soak), it takes cycle numbers
// from a shared counter until workerData.to, runs workerData.concurrency at once, and posts
// its tally {acks, received, abrupt, errors, broadcast: {nsp: [cycle...]}}.
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import assert from 'node:assert/strict';
import http from 'node:http';
import { createRequire } from 'node:module';
import { io } from 'socket.io-client';
import { within, until, sleep } from './harness.mjs';

const require = createRequire(import.meta.url);
const io2 = require('socket.io-client-v2');

export const NAMESPACES = ['/', '/custom', '/dyn-0', '/dyn-1', '/dyn-2'];
const ACK_MS = 15000; // an ack later than this counts as lost

// Resolves with the arguments of the next `event`; for 'connect', rejects on connect_error
// and on the connection closing first.
export function next(s, event, ms) {
  return within(new Promise((resolve, reject) => {
    s.once(event, (...a) => resolve(a));
    if (event !== 'connect') return;
    s.once('connect_error', (e) => reject(new Error(`connect_error: ${e?.message ?? e}`)));
    // socket.io-client says nothing when the connection closes before the CONNECT is answered.
    s.io.once('close', (reason) => reject(new Error(`closed before connecting: ${reason}`)));
  }), ms, event);
}
// emit with an ack, for both clients (socket.io-client 2 has no timeout()).
const ack = (s, event, ...args) => within(new Promise((r) => s.emit(event, ...args, (...a) => r(a))), ACK_MS,
  `ack of ${event}`);

// Leave without a word: the TCP connection destroyed under the WebSocket, or, for polling,
// the client's own close packet suppressed and the connections of its http.Agent (the long
// poll) destroyed.
function vanish(s, agent) {
  const t = s.io.engine.transport;
  if (t.name === 'websocket') {
    t.ws._socket.destroy();
    return;
  }
  t.send = () => {};
  t.doClose = () => {};
  for (const socks of Object.values(agent.sockets)) for (const sock of socks) sock.destroy();
  // If no request was in flight, nothing tells the client: it closes itself.
  s.io.engine._onClose('forced close');
}

function describeCycle(i) {
  const transport = ['websocket', 'polling', 'upgrade'][i % 3];
  const eio3 = i % 5 === 4;
  const nsp = NAMESPACES[Math.floor(i / 3) % NAMESPACES.length];
  // A quarter vanish; EIO3 polling clients (engine.io-client 3) always close properly.
  const abrupt = i % 4 === 1 && !(eio3 && transport === 'polling');
  return {
    transport,
    eio3,
    nsp,
    abrupt,
    broadcasts: i % 4 === 0,
    // Half of the upgrading clients leave without waiting for the upgrade (and every
    // vanishing one waits, so that it vanishes from a known transport).
    awaitUpgrade: transport === 'upgrade' && (abrupt || i % 2 === 0),
  };
}

export async function cycle(url, i, st) {
  const c = describeCycle(i);
  const opts = {
    forceNew: true,
    reconnection: false,
    transports: c.transport === 'websocket' ? ['websocket'] : c.transport === 'polling' ? ['polling'] : ['polling', 'websocket'],
  };
  // Polling requests go through one keep-alive agent per thread, as a browser pools its
  // connections to an origin, so that requests of different sessions share connections. A
  // client that will vanish has its own, whose connections it can destroy.
  opts.agent = c.abrupt ? new http.Agent() : st.agent;
  const s = c.eio3 ? io2(`${url}${c.nsp}`, opts) : io(`${url}${c.nsp}`, opts);
  s.on('broadcast', () => { st.received++; });
  const what = () => `cycle ${i} (${c.eio3 ? 'EIO3' : 'EIO4'} ${c.transport} ${c.nsp})`;
  try {
    await next(s, 'connect', ACK_MS);
    if (c.awaitUpgrade) {
      await until(() => s.io.engine.transport?.name === 'websocket', ACK_MS, `${what()}: upgrade`);
    }
    // All at once: one POST for a polling client, and the acks come back in order.
    const sent = [ack(s, 'join', `room-${i % 10}`)];
    const payloads = [[{ c: i, k: 0, text: 'é✓' }], [{ c: i, k: 1, text: 'é✓é✓' }, Buffer.from([i & 255, 0, 255])]];
    for (const args of payloads) sent.push(ack(s, 'message-with-ack', ...args));
    if (c.broadcasts) sent.push(ack(s, 'broadcast', { from: i, nsp: c.nsp }));
    const [, ...got] = await Promise.all(sent);
    got[1][1] = Buffer.from(got[1][1]);
    assert.deepEqual(got.slice(0, 2), payloads, `${what()}: ack payloads`);
    st.acks += got.length;
    if (c.broadcasts) st.broadcast[c.nsp].push(i);
    if (c.abrupt) {
      st.abrupt++;
      // A moment for a polling client's next long poll to reach the server, which then sees
      // it aborted; without it the server would mostly find the client gone by its silence.
      if (c.transport === 'polling') await sleep(50);
      vanish(s, opts.agent);
    } else {
      s.disconnect();
    }
  } catch (e) {
    st.errors.push(`${what()}: ${e.message}`);
    s.disconnect();
  }
}

export const tally = () => ({ acks: 0, received: 0, abrupt: 0, errors: [], broadcast: Object.fromEntries(NAMESPACES.map((n) => [n, []])) });

if (!isMainThread && workerData?.soak) {
  const { url, counter, to, concurrency } = workerData;
  const st = tally();
  st.agent = new http.Agent({ keepAlive: true });
  const loop = async () => {
    for (let i = Atomics.add(counter, 0, 1); i < to; i = Atomics.add(counter, 0, 1)) await cycle(url, i, st);
  };
  await Promise.all(Array.from({ length: concurrency }, loop));
  // The last close packets delivered, the idle connections closed.
  await until(() => !Object.keys(st.agent.sockets).length, 10000, 'requests still in flight').catch(() => {});
  st.agent.destroy();
  delete st.agent;
  parentPort.postMessage(st);
}
