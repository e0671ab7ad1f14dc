// Turn the records of one bench run into JSON and a markdown table with libsio/Node ratios.
import fs from 'node:fs';
import os from 'node:os';

const [input, jsonOut, mdOut] = process.argv.slice(2);
const records = fs.readFileSync(input, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l));
const meta = { date: new Date().toISOString(), cpu: os.cpus()[0]?.model, cores: os.cpus().length, node: process.version };
fs.writeFileSync(jsonOut, JSON.stringify({ meta, records }, null, 2) + '\n');

// Per case: the metric compared, and whether larger is better.
const metrics = [
  ['req_per_cpu_s', 'requests / server CPU-s', true],
  ['msg_per_cpu_s', 'messages / server CPU-s', true],
  ['rss_per_conn', 'RSS bytes / connection', false],
];
const cases = [...new Set(records.map((r) => r.case))];
let md = `# libsio vs Node.js — ${meta.date.slice(0, 10)}\n\n${meta.cpu}, ${meta.cores} cores, Node ${meta.node}. ` +
  'Server pinned to core 0, load generator to core 1.\n\n' +
  '| case | metric | libsio | node | libsio / node |\n|---|---|---:|---:|---:|\n';
for (const c of cases) {
  const sio = records.find((r) => r.case === c && r.server === 'libsio');
  const node = records.find((r) => r.case === c && r.server === 'node');
  for (const [key, label, higher] of metrics) {
    if (!sio || !(key in sio)) continue;
    const a = sio[key];
    const b = node?.[key];
    const ratio = b ? (higher ? a / b : b / a) : NaN;
    md += `| ${c} | ${label} | ${a} | ${b ?? '—'} | ${Number.isFinite(ratio) ? ratio.toFixed(1) + 'x' : '—'} |\n`;
  }
  const extra = ['rps', 'msg_s', 'cpu_s', 'us_per_req', 'rss_kb'].filter((k) => sio && k in sio);
  if (extra.length) md += `| ${c} | ${extra.join(', ')} | ${extra.map((k) => sio[k]).join(', ')} | ${extra.map((k) => node?.[k]).join(', ')} | |\n`;
}
md += '\nRatios are "times better": for throughput libsio/node, for memory node/libsio.\n';
fs.writeFileSync(mdOut, md);
