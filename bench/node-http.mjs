// The Node.js reference for the HTTP case: node:http serving the same bytes as
// `sio-fixture http`: GET /hello, and static files from --public. Files are read once and
// kept in memory with their ETag and Last-Modified, as a caching static middleware would,
// which is the strongest fair form of Node for this case.
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';

const args = process.argv.slice(2);
const opt = (name, dflt) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : dflt; };
const port = Number(opt('--port', 3000));
const pub = opt('--public', 'bench/data');

const types = { '.html': 'text/html; charset=utf-8', '.css': 'text/css; charset=utf-8', '.js': 'text/javascript; charset=utf-8' };
const cache = new Map();
function load(p) {
  let e = cache.get(p);
  if (!e) {
    const file = path.join(pub, path.normalize(p));
    const st = fs.statSync(file);
    e = {
      body: fs.readFileSync(file),
      etag: `W/"${st.size.toString(16)}-${Math.floor(st.mtimeMs / 1000).toString(16)}"`,
      lastModified: st.mtime.toUTCString(),
      type: types[path.extname(file)] ?? 'application/octet-stream',
    };
    cache.set(p, e);
  }
  return e;
}

const hello = Buffer.from('Hello, world!\n');
http.createServer((req, res) => {
  const url = req.url.split('?')[0];
  if (url === '/hello') {
    res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': hello.length });
    res.end(hello);
    return;
  }
  try {
    const e = load(url);
    if (req.headers['if-none-match'] === e.etag) { res.writeHead(304); res.end(); return; }
    res.writeHead(200, {
      'Content-Type': e.type, 'Content-Length': e.body.length, ETag: e.etag,
      'Last-Modified': e.lastModified, 'Accept-Ranges': 'bytes', 'Cache-Control': 'public, max-age=0',
    });
    res.end(req.method === 'HEAD' ? undefined : e.body);
  } catch {
    res.writeHead(404, { 'Content-Type': 'text/plain' });
    res.end('Not Found\n');
  }
}).listen(port, '127.0.0.1');
process.on('SIGTERM', () => process.exit(0));
