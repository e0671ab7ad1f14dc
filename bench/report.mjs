// Turn the records of one case file into bench/results/<date>-<name>.json (the array of
// records) and .md (tables, one row per case and server, with the libsio/node ratio of
// the case's compared metric on the libsio row), and the plots its records ask for.
// A case measured several times (BENCH_REPEAT) keeps, per server, the record with the
// median compared metric.
//
// Record keys other than case and server are columns, except these:
//   group   records of one group share a table under a heading of that name (records
//           without a group: one table, as before)
//   metric  the compared key (otherwise the first of `compared` the record has)
//   target  the issue's target for the compared metric, as "libsio at least TARGET times
//           better than Node": listed in a Targets section with whether it is met
//   plot    "latency" (x rate, y p50_us and p99_us) or "rss" (x connections, y rss_kb):
//           drawn by gnuplot into <dir>/<date>-<plot>.png, one line per server
// usage: node bench/report.mjs RECORDS.jsonl OUT.json OUT.md
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

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
  pings: 'pings answered', connections: 'connections', hold_s: 'held s',
  rss_before_kb: 'RSS KiB before', cpu_pct: 'server CPU %', acks_s: 'acks/s',
  us_per_ack: 'µs CPU / ack', user_us_per_ack: 'µs user / ack', sys_us_per_ack: 'µs system / ack',
  client_us_per_ack: 'load gen. µs / ack', p90_us: 'p90 µs',
  p999_us: 'p99.9 µs', rate: 'offered/s', missed: 'unacked', deliveries_s: 'deliveries/s',
  us_per_delivery: 'µs CPU / delivery', sys_us_per_delivery: 'µs system / delivery',
  client_us_per_delivery: 'load gen. µs / delivery',
  handshakes_s: 'handshakes/s', us_per_handshake: 'µs CPU / handshake',
  client_us_per_handshake: 'load gen. µs / handshake', missing: 'missing after 2 s',
};
// The compared metric: the record's `metric`, else the first of these it has.
const compared = ['req_per_cpu_s', 'msg_per_cpu_s', 'rt_per_cpu_s', 'conn_per_cpu_s', 'rss_per_conn',
  'rss_per_session'];
// Metrics where smaller is better (CPU or memory per unit, latency); larger otherwise.
const lowerIsBetter = (k) => /^(us_per_|rss_per_|p\d+_us$)/.test(k);
const metricOf = (r) => r.metric ?? compared.find((k) => k in r);
const meta = new Set(['case', 'server', 'group', 'metric', 'target', 'plot']);

const records = [];
for (const r of all) {
  if (records.some((o) => o.case === r.case && o.server === r.server)) continue;
  const runs = all.filter((o) => o.case === r.case && o.server === r.server);
  const metric = metricOf(r);
  if (metric) runs.sort((a, b) => a[metric] - b[metric]);
  records.push(runs[(runs.length - 1) >> 1]);
}
fs.writeFileSync(jsonOut, JSON.stringify(records, null, 2) + '\n');

// "times better" of libsio over Node for a libsio record, or undefined.
function ratio(r) {
  const node = records.find((o) => o.case === r.case && o.server === 'node');
  const k = metricOf(r);
  if (r.server !== 'libsio' || !node || !k || !(k in node)) return undefined;
  const x = lowerIsBetter(k) ? node[k] / r[k] : r[k] / node[k];
  return { k, x, node };
}
const fmtRatio = (x) => (Number.isFinite(x) ? `${x.toFixed(2)}x` : '—');

const cpu = os.cpus();
let md = `# libsio vs Node.js, ${new Date().toISOString().slice(0, 10)}\n\n` +
  `${cpu[0]?.model}, ${cpu.length} cores, Node ${process.version}; server on one core, load generator on another.\n`;
const groups = [...new Set(records.map((r) => r.group))];
for (const g of groups) {
  const rows = records.filter((r) => r.group === g);
  const keys = [...new Set(rows.flatMap((r) => Object.keys(r)))].filter((k) => !meta.has(k));
  if (g !== undefined) md += `\n## ${g}\n`;
  md += `\n| case | server | ${keys.map((k) => labels[k] ?? k).join(' | ')} | libsio / node |\n` +
    `|---|---|${keys.map(() => '---:|').join('')}---:|\n`;
  for (const r of rows) {
    const q = ratio(r);
    const cell = q ? (Number.isFinite(q.x) ? `**${fmtRatio(q.x)}** ${labels[q.k] ?? q.k}` : '—') : '';
    md += `| ${r.case} | ${r.server} | ${keys.map((k) => r[k] ?? '').join(' | ')} | ${cell} |\n`;
  }
}
md += '\nRatios are "times better" within this run: libsio/node for throughput, node/libsio for CPU, memory and latency per unit.\n';

const targeted = records.filter((r) => r.server === 'libsio' && r.target !== undefined);
if (targeted.length) {
  md += '\n## Targets\n\n| target | case | libsio | node | libsio / node | met |\n|---|---|---:|---:|---:|---|\n';
  for (const r of targeted) {
    const q = ratio(r);
    const k = metricOf(r);
    const what = `${labels[k] ?? k} ≤ 1/${r.target} of Node's`;
    if (!q) {
      md += `| ${what} | ${r.case} | ${r[k]} | — | — | no Node figure |\n`;
      continue;
    }
    md += `| ${what} | ${r.case} | ${r[k]} | ${q.node[k]} | ${fmtRatio(q.x)} | ${q.x >= r.target ? 'yes' : '**no**'} |\n`;
  }
}

// Plots: gnuplot data files (one per server) and a script, in a temporary directory.
const plots = {
  latency: {
    x: 'rate', ys: [['p50_us', 'p50', 2], ['p99_us', 'p99', 1]], scale: (v) => v / 1000,
    setup: ['set logscale xy', 'set xlabel "offered rate (emits/s, 8 connections)"', 'set ylabel "latency (ms)"',
      'set title "echo-ack latency vs offered rate (open loop)"', 'set key top left', 'set format x "%.0s%c"'],
  },
  rss: {
    x: 'connections', ys: [['rss_kb', 'RSS', 1]], scale: (v) => v / 1024, origin: 'rss_before_kb',
    setup: ['set xlabel "idle WebSocket connections"', 'set ylabel "server RSS (MiB)"',
      'set title "server resident set vs idle connections (x = 0: before, after a warm-up)"',
      'set key top left', 'set xrange [0:*]', 'set yrange [0:*]', 'set format x "%.0f"'],
  },
};
const colours = { libsio: '#1f77b4', node: '#d62728' };
const dir = path.dirname(jsonOut);
const date = path.basename(jsonOut).match(/^\d{4}-\d{2}-\d{2}/)?.[0] ?? new Date().toISOString().slice(0, 10);
const wanted = Object.keys(plots).filter((p) => records.some((r) => r.plot === p));
if (wanted.length) {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-plot-'));
  try {
    for (const name of wanted) {
      const p = plots[name];
      const png = path.join(dir, `${date}-${name}.png`);
      const lines = [];
      for (const server of ['libsio', 'node']) {
        const rows = records.filter((r) => r.plot === name && r.server === server).sort((a, b) => a[p.x] - b[p.x]);
        if (!rows.length) continue;
        const dat = path.join(tmp, `${name}-${server}.dat`);
        const points = rows.map((r) => [r[p.x], ...p.ys.map(([k]) => p.scale(r[k]))]);
        if (p.origin && p.origin in rows[0]) points.unshift([0, p.scale(rows[0][p.origin])]);
        fs.writeFileSync(dat, points.map((q) => q.join(' ')).join('\n') + '\n');
        p.ys.forEach(([, label, dt], i) => lines.push(`"${dat}" using 1:${i + 2} with linespoints ` +
          `lw 2 dt ${dt} lc rgb "${colours[server]}" title "${server} ${label}"`));
      }
      const script = ['set terminal pngcairo size 900,600', `set output "${png}"`, 'set grid', ...p.setup,
        `plot ${lines.join(', ')}`].join('\n') + '\n';
      try {
        execFileSync('gnuplot', { input: script, stdio: ['pipe', 'inherit', 'inherit'] });
      } catch (e) {
        console.error(`bench: gnuplot failed (${e.message}); scripts/bootstrap installs gnuplot-nox`);
        process.exitCode = 1;
        continue;
      }
      md += `\n![${name}](${path.basename(png)})\n`;
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}
fs.writeFileSync(mdOut, md);
