// The Node.js reference for the WebSocket case: the `ws` package echoing every message
// with its binary flag, no compression, 16 MiB max payload (as sio-fixture ws-echo).
import { WebSocketServer } from 'ws';

const args = process.argv.slice(2);
const i = args.indexOf('--port');
const port = Number(i >= 0 ? args[i + 1] : 3000);
const wss = new WebSocketServer({ host: '127.0.0.1', port, perMessageDeflate: false, maxPayload: 16 << 20 });
wss.on('connection', (ws) => {
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
});
process.on('SIGTERM', () => process.exit(0));
