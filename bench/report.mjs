// Turn the records of one case file into bench/results/<date>-<name>.json (the array of
// records) and .md (a table, one row per case and server, with the libsio/node ratio of
// the case's compared metric on the libsio row). A case measured several times
// (BENCH_REPEAT) keeps, per server, the record with the median compared metric.
// usage: node bench/report.mjs RECORDS.jsonl OUT.json OUT.md
import fs from 'node:fs';
import os from 'node:os';

const [input, jsonOut, mdOut] = process.argv.slice(2);
const all = fs.readFileSync(input, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));

// Column labels; the columns are the record keys in order of first appearance.
const labels = {
  rps: 'req/s', msg_s: 'msg/s', cpu_s: 'server CPU s', req_per_cpu_s: 'req / CPU-s',
  msg_per_cpu_s: 'msg / CPU-s', us_per_req: 'µs CPU / req', rss_kb: 'RSS KiB',
  rss_per_conn: 'RSS B / conn', rt_s: 'round trips/s', rt_per_cpu_s: 'round trips / CPU-s',
  us_per_rt: 'µs CPU / round trip', client_cpu: 'load gen. CPU %', dead: 'sessions lost',
  sessions: 'sessions', rss_per_session: 'RSS B / session', hold_cpu: 'server CPU % holding',
  alive: 'sessions echoing', us_per_msg: 'µs CPU / msg', p50_us: 'p50 µs', p99_us: 'p99 µs',
  conn_s: 'conn/s', conn_per_cpu_s: 'conn / CPU-s', us_per_conn: 'µs CPU / conn',
  pings: 'pings answered', p99_latency_us: 'p99 µs (compared)',
};
// The compared metric: the first of these a record has; true when larger is better.
const compared = [['req_per_cpu_s', true], ['msg_per_cpu_s', true], ['rt_per_cpu_s', true],
  ['conn_per_cpu_s', true], ['rss_per_conn', false], ['rss_per_session', false],
  ['p99_latency_us', false]];

const records = [];
for (const r of all) {
  if (records.some((o) => o.case === r.case && o.server === r.server)) continue;
  const runs = all.filter((o) => o.case === r.case && o.server === r.server);
  const metric = compared.find(([k]) => k in r);
  if (metric) runs.sort((a, b) => a[metric[0]] - b[metric[0]]);
  records.push(runs[(runs.length - 1) >> 1]);
}
fs.writeFileSync(jsonOut, JSON.stringify(records, null, 2) + '\n');

const keys = [...new Set(records.flatMap((r) => Object.keys(r)))].filter((k) => k !== 'case' && k !== 'server');
const cpu = os.cpus();
let md = `# libsio vs Node.js, ${new Date().toISOString().slice(0, 10)}\n\n` +
  `${cpu[0]?.model}, ${cpu.length} cores, Node ${process.version}; server on one core, load generator on another.\n\n` +
  `| case | server | ${keys.map((k) => labels[k] ?? k).join(' | ')} | libsio / node |\n` +
  `|---|---|${keys.map(() => '---:|').join('')}---:|\n`;
for (const r of records) {
  let ratio = '';
  const node = records.find((o) => o.case === r.case && o.server === 'node');
  const metric = compared.find(([k]) => k in r);
  if (r.server === 'libsio' && node && metric) {
    const [k, higher] = metric;
    const x = higher ? r[k] / node[k] : node[k] / r[k];
    ratio = Number.isFinite(x) ? `**${x.toFixed(2)}x** ${labels[k] ?? k}` : '—';
  }
  md += `| ${r.case} | ${r.server} | ${keys.map((k) => r[k] ?? '').join(' | ')} | ${ratio} |\n`;
}
md += '\nRatios are "times better" within this run: libsio/node for throughput per CPU-second, node/libsio for memory.\n';
fs.writeFileSync(mdOut, md);
