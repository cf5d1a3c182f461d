/**
 * `npm run bench`: seeds its own databases (10,000 and 100,000 autoresponders; `BENCH_ROWS=1000000`
 * adds a million) in a temporary folder, starts the app on loopback for each and measures, in one
 * run: the staff list's scenarios and the overview at every size (growth shows as the ratio of p95s),
 * then at the largest size a bare Fastify route (the ceiling) and the signed-in seller page under
 * autocannon load (alternating, BENCH_ROUNDS rounds), the CSV export, a bulk re-check of 1,000 mailboxes against a private Dovecot, and
 * cold start. Writes bench/REPORT.md and bench/report.json with each target beside its figure. Exits
 * non-zero only when it could not measure: a missed target is reported, not thrown.
 * `BENCH_ONLY=list` measures only the list and overview and prints the growth table (for iterating).
 * `BENCH_ONLY=throughput` measures only the ceiling, `/healthz` and the seller page under load, and the
 * hooks, at the largest size (BENCH_ROWS), and prints them without writing the report.
 */
import Fastify from 'fastify';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, freemem, loadavg, totalmem, tmpdir } from 'node:os';
import path from 'node:path';
import http from 'node:http';
import { performance } from 'node:perf_hooks';
import app from '../src/app.js';
import { loadConfig, PROJECT_ROOT } from '../src/config.js';
import { migrate, openDatabase } from '../src/db/database.js';
import { MIGRATIONS } from '../src/db/migrations.js';
import { SESSION_COOKIE } from '../src/plugins/auth.js';
import { STAFF_COOKIE } from '../src/plugins/staff-auth.js';
import { createSessionsRepository } from '../src/repositories/sessions.js';
import { startDovecot } from '../test/helpers/dovecot.js';
import { testCert } from '../test/helpers/tls.js';
import { formatHookTiming, hookTiming, type HookTiming } from './hook-timing.js';
import { load, type LoadResult } from './http-load.js';
import { closeAgent, get, GROWTH_TARGET, growthTable, measureList, ratio, ROUTE_TARGET_MS, type Growth } from './list-growth.js';
import { benchRecheck, HOSTS, RECHECK_PASSWORD, type RecheckReport } from './recheck.js';
import { seedFunnel } from './overview.js';
import { freePort } from '../test/helpers/ports.js';
import { seed } from './seed.js';
import { benchWatch, watchMarkdown, type WatchReport } from './watch.js';

/** The largest table; the list is also measured at 10,000 and 100,000 when they are smaller. */
const AUTORESPONDERS = Number(process.env.BENCH_ROWS ?? 100_000);
const ONLY_LIST = process.env.BENCH_ONLY === 'list';
const ONLY_THROUGHPUT = process.env.BENCH_ONLY === 'throughput';
const SIZES = ONLY_THROUGHPUT ? [AUTORESPONDERS] : [...new Set([...[10_000, 100_000].filter((n) => n < AUTORESPONDERS), AUTORESPONDERS])];
const SAMPLES = Number(process.env.BENCH_SAMPLES ?? 200);
const LOAD_SECONDS = Number(process.env.BENCH_LOAD_SECONDS ?? 10);
/** Alternating rounds of the ceiling and the seller page (BENCH_ROUNDS); the median round's ratio is the figure. */
const ROUNDS = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 3));
const CONNECTIONS = 50;
/** The seller page's targets (issue 25): a tenth of a bare Fastify route's requests/s, and p99 under 50 ms. */
const RATIO_TARGET = 0.1;
const P99_TARGET_MS = 50;
const MAILBOXES = Number(process.env.BENCH_MAILBOXES ?? 1000);
const CAPS = { concurrency: 8, perHost: 4 };
const KEY = 'GzLCjLOMBUgOzMG9YP+XAptXoFyWcYuW2tfp2EiU9Uk='; // a fixed throwaway key: the bench database is deleted after the run

/** Streams a URL to the end, counting bytes and lines, while sampling this process's memory. */
function download(port: number, url: string, cookie: string): Promise<{ status: number; ms: number; bytes: number; lines: number; rssGrowthMb: number }> {
  const rssBefore = process.memoryUsage().rss;
  let peak = rssBefore;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 10);
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path: url, headers: { cookie } }, (res) => {
      let bytes = 0;
      let lines = 0;
      res.on('data', (c: Buffer) => {
        bytes += c.length;
        for (const b of c) if (b === 10) lines++;
      });
      res.on('end', () => {
        clearInterval(sampler);
        resolve({ status: res.statusCode ?? 0, ms: performance.now() - t0, bytes, lines, rssGrowthMb: Number(((peak - rssBefore) / 1e6).toFixed(1)) });
      });
    }).on('error', reject);
  });
}

/** A fresh database of `rows` autoresponders with a staff member and a seller signed in. */
function prepare(dir: string, rows: number) {
  const dbFile = path.join(dir, `bench-${rows}.db`);
  // BENCH_DB_CACHE keeps seeded databases between runs (for iterating; dates are relative to the seeding day).
  const cached = process.env.BENCH_DB_CACHE ? path.join(process.env.BENCH_DB_CACHE, `seed-${rows}-schema${MIGRATIONS.length}.db`) : null;
  const t0 = performance.now();
  if (cached && existsSync(cached)) copyFileSync(cached, dbFile);
  let db = openDatabase(dbFile);
  if (!cached || !existsSync(cached)) {
    migrate(db);
    seed(db, rows);
    // Reminders and sign-ins for the overview's migration funnel (its counters are kept by triggers).
    seedFunnel(db);
    db.pragma('optimize');
    if (cached) {
      db.close();
      copyFileSync(dbFile, cached);
      db = openDatabase(dbFile);
    }
  }
  const seedSeconds = Number(((performance.now() - t0) / 1000).toFixed(1));
  const data = db.prepare(`SELECT (SELECT count(*) FROM autoresponders) AS autoresponders, (SELECT count(*) FROM sellers) AS sellers, (SELECT count(*) FROM account_index WHERE state != 'not_affected') AS listed`).get();
  const staffId = Number(db.prepare(`INSERT INTO staff_users (email, password_hash, role, created_at, updated_at) VALUES ('bench@example.pl', 'x', 'agent', ?, ?)`).run(new Date().toISOString(), new Date().toISOString()).lastInsertRowid);
  // A seller with several autoresponders in different states: the migration page's usual case.
  const sellerId = db.prepare(`SELECT seller_id FROM autoresponders GROUP BY seller_id HAVING count(*) >= 3 ORDER BY seller_id LIMIT 1`).pluck().get() as number;
  const sessions = createSessionsRepository(db);
  const staffCookie = `${STAFF_COOKIE}=${sessions.create('staff', staffId, 3_600_000)}`;
  const sellerCookie = `${SESSION_COOKIE}=${sessions.create('seller', sellerId, 3_600_000)}`;
  db.close();
  return { dbFile, seedSeconds, data, staffId, staffCookie, sellerCookie };
}

async function main() {
  const dir = mkdtempSync(path.join(tmpdir(), 'mig-bench-'));
  const report: Record<string, unknown> = {
    date: new Date().toISOString(),
    machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? 'unknown', totalMemoryMb: Math.round(totalmem() / 1e6), freeMemoryMb: Math.round(freemem() / 1e6), node: process.version, loadAverage: loadavg().map((n) => Number(n.toFixed(1))) },
    rows: AUTORESPONDERS,
  };
  // Dovecot starts first: the app's config names its certificate authority.
  const dovecot = ONLY_LIST || ONLY_THROUGHPUT ? undefined : await startDovecot(Array.from({ length: MAILBOXES }, (_, i) => ({ user: `box${i}@gmail.com`, password: RECHECK_PASSWORD })));
  const ceiling = Fastify({ logger: false });
  const growth: Growth = { sizes: SIZES, results: {} };
  const apps: ReturnType<typeof Fastify>[] = [];
  try {
    const prepared = SIZES.map((rows) => {
      const p = prepare(dir, rows);
      console.log(`${rows} autoresponders seeded in ${p.seedSeconds} s: ${JSON.stringify(p.data)}`);
      return { rows, port: 0, ...p };
    });
    const largest = prepared[prepared.length - 1]!;
    report.seedSeconds = largest.seedSeconds;
    report.data = largest.data;
    const { staffCookie, sellerCookie, staffId } = largest;

    // The re-checked mail hosts are loopback proxies (127.0.0.2–4): allowed explicitly, with their ports.
    const recheckPorts = await Promise.all(HOSTS.map(() => freePort()));
    const watchSmtpPort = await freePort();
    // One app per size, all listening at once (the largest last: its start is the cold start measured).
    for (const p of prepared) {
      const config = loadConfig({
        DATABASE_PATH: p.dbFile,
        APP_SECRET_KEY: KEY,
        DEMO: '0', OPERATOR_NAME: 'Bench Operator', SUPPORT_EMAIL: 'pomoc@example.pl',
        LOG_LEVEL: 'warn',
        ALLEGRO_ENV: 'sandbox',
        MAIL_TLS_CA_FILE: testCert().certFile,
        MAIL_CHECK_TIMEOUT_MS: '10000',
        MAIL_ADDRESS_ALLOWLIST: '127.0.0.0/8',
        MAIL_PORT_ALLOWLIST: [...recheckPorts, ...(dovecot ? [dovecot.port] : []), watchSmtpPort].join(','),
        // The watch is measured by calling it (bench/watch.ts), not left checking beside the other figures.
        WATCH_ENABLED: '0',
        BULK_CONCURRENCY: String(CAPS.concurrency),
        BULK_PER_HOST_CONCURRENCY: String(CAPS.perHost),
      });
      const t0 = performance.now();
      const a = Fastify({ logger: false });
      apps.push(a);
      await a.register(app, { config });
      await a.listen({ host: '127.0.0.1', port: 0 });
      p.port = (a.server.address() as { port: number }).port;
      const first = await get(p.port, '/healthz', '');
      if (first.status !== 200) throw new Error(`health answered ${first.status}`);
      report.coldStartMs = Number((performance.now() - t0).toFixed(0));
    }
    const fastify = apps[apps.length - 1]!;
    const { port } = largest;
    console.log(`cold start to first answer (${largest.rows} rows): ${report.coldStartMs} ms`);

    // ---- staff list and overview at every size, interleaved ----------------------------------------
    if (!ONLY_THROUGHPUT) growth.results = await measureList(prepared.map((p) => ({ rows: p.rows, port: p.port, cookie: p.staffCookie })), SAMPLES);
    report.list = growth;
    for (const [name, bySize] of Object.entries(growth.results)) {
      console.log(`${name}: ${Object.entries(bySize).map(([rows, s]) => `${rows} rows p50 ${s.p50} / p95 ${s.p95} ms${s.status === 200 ? '' : ` (HTTP ${s.status})`}`).join('; ')}`);
    }
    while (apps.length > 1) await apps.shift()!.close();

    if (ONLY_LIST) {
      console.log(['', ...growthTable(growth)].join('\n'));
      if (process.env.BENCH_LIST_OUT) writeFileSync(process.env.BENCH_LIST_OUT, JSON.stringify({ date: report.date, machine: report.machine, list: growth }, null, 2) + '\n');
      return;
    }
    // ---- throughput: the ceiling, then the seller's migration page, 50 connections each ------------
    ceiling.get('/', async () => 'ok');
    await ceiling.listen({ host: '127.0.0.1', port: 0 });
    const ceilingUrl = `http://127.0.0.1:${(ceiling.server.address() as { port: number }).port}/`;
    const sellerUrl = `http://127.0.0.1:${port}/migration`;
    const check = await get(port, '/migration', sellerCookie);
    if (check.status !== 200 || !/<main/.test(check.body)) throw new Error(`the seller page answered ${check.status}`);
    // A signed-in browser also holds the CSRF secret cookie set by its first page.
    const browserCookie = [sellerCookie, ...check.setCookies.map((c) => c.split(';')[0]!)].join('; ');
    await load(ceilingUrl, { connections: CONNECTIONS, seconds: 2 }); // warm-up
    // The app's own hook stack (security headers, cookies, session, language) around a one-row read.
    const health = await load(`http://127.0.0.1:${port}/healthz`, { connections: CONNECTIONS, seconds: LOAD_SECONDS });
    await load(sellerUrl, { connections: CONNECTIONS, seconds: 2, headers: { cookie: browserCookie } });
    // The ceiling and the page alternate, ROUNDS times: on a shared machine the bare route alone swung
    // between 19,600 and 45,800 req/s from one run to the next, so each round's ratio compares two runs
    // side by side in time, and the median round is the figure (every round is in the report).
    const rounds: { ceiling: LoadResult; page: LoadResult; ratio: number }[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      const c = await load(ceilingUrl, { connections: CONNECTIONS, seconds: LOAD_SECONDS });
      const p = await load(sellerUrl, { connections: CONNECTIONS, seconds: LOAD_SECONDS, headers: { cookie: browserCookie } });
      rounds.push({ ceiling: c, page: p, ratio: Number((p.rps / c.rps).toFixed(3)) });
    }
    const failures = [health, ...rounds.flatMap((r) => [r.ceiling, r.page])].reduce((n, x) => n + x.non2xx + x.errors, 0);
    if (failures > 0) throw new Error(`load runs had failures: ${JSON.stringify({ health, rounds })}`);
    const median = [...rounds].sort((a, b) => a.ratio - b.ratio)[Math.floor(rounds.length / 2)]!;
    const { ceiling: ceil, page } = median;
    const ratioToCeiling = Number(median.ratio.toFixed(2));
    // p99 is held to its target in every round, not only the median one.
    const worstP99 = Math.max(...rounds.map((r) => r.page.p99));
    report.throughput = {
      ceiling: ceil,
      appHealth: health,
      sellerPage: page,
      ratio: ratioToCeiling,
      rounds: rounds.map((r) => ({ ceilingRps: r.ceiling.rps, pageRps: r.page.rps, pageP99: r.page.p99, ratio: r.ratio })),
      worstP99,
      pageBytes: check.bytes,
      target: `ratio ≥ ${RATIO_TARGET} of the ceiling (median of ${ROUNDS} alternating rounds), p99 < ${P99_TARGET_MS} ms at 50 connections in every round`,
      met: ratioToCeiling >= RATIO_TARGET && worstP99 < P99_TARGET_MS,
    };
    for (const r of rounds) console.log(`ceiling ${r.ceiling.rps} req/s (p99 ${r.ceiling.p99} ms); seller page ${r.page.rps} req/s, p50 ${r.page.p50} ms, p99 ${r.page.p99} ms; ratio ${r.ratio}`);
    console.log(`median ratio ${ratioToCeiling}, worst page p99 ${worstP99} ms`);
    await ceiling.close();

    // ---- where a seller request's time goes, hook by hook -------------------------------------------
    report.hooks = await hookTiming(largest.dbFile, browserCookie, 2000);
    console.log(formatHookTiming(report.hooks as HookTiming[]));
    if (ONLY_THROUGHPUT) {
      console.log(`load average (1/5/15 min) at the start: ${(report.machine as { loadAverage: number[] }).loadAverage.join(' / ')}, at the end: ${loadavg().map((n) => n.toFixed(1)).join(' / ')}`);
      return;
    }

    // ---- CSV: half the rows, then all of them; memory must not follow the row count ---------------
    const half = await download(port, '/staff/accounts.csv?state=affected', staffCookie);
    const all = await download(port, '/staff/accounts.csv', staffCookie);
    if (half.status !== 200 || all.status !== 200) throw new Error(`CSV answered ${half.status}/${all.status}`);
    report.csv = {
      seconds: Number((all.ms / 1000).toFixed(2)),
      megabytes: Number((all.bytes / 1e6).toFixed(1)),
      rows: all.lines - 1,
      rssGrowthMb: all.rssGrowthMb,
      smaller: { rows: half.lines - 1, seconds: Number((half.ms / 1000).toFixed(2)), rssGrowthMb: half.rssGrowthMb },
      target: 'under 3 s; memory growth not following the row count',
      met: all.ms < 3000 && all.rssGrowthMb < 50,
    };
    console.log(`CSV: ${all.lines - 1} rows, ${(all.bytes / 1e6).toFixed(1)} MB in ${(all.ms / 1000).toFixed(2)} s, RSS +${all.rssGrowthMb} MB (${half.lines - 1} rows: +${half.rssGrowthMb} MB)`);

    // ---- bulk re-check against Dovecot -------------------------------------------------------------
    const recheck = await benchRecheck(fastify, dovecot!, MAILBOXES, staffId, CAPS, recheckPorts);
    report.recheck = { ...recheck, target: `connections at once ≤ ${CAPS.concurrency}, ≤ ${CAPS.perHost} per host`, met: recheck.capsHeld };
    console.log(`re-check: ${recheck.mailboxes} mailboxes in ${recheck.seconds} s (${recheck.checksPerSecond}/s), at most ${recheck.maxOpenAtOnce} open (${JSON.stringify(recheck.maxOpenPerHost)})`);

    // ---- the watch: one check measured, the cost at 100,000 and 24 h computed --------------------------
    const watchChecks = Math.min(MAILBOXES, Number(process.env.BENCH_WATCH_CHECKS ?? 200));
    const watch = await benchWatch(fastify, { imapPort: dovecot!.port, smtpPort: watchSmtpPort, users: Array.from({ length: watchChecks }, (_, i) => `box${i}@gmail.com`), password: RECHECK_PASSWORD, checks: watchChecks });
    report.watch = { ...watch, date: report.date, rows: AUTORESPONDERS };
    console.log(`watch: ${watch.perCheck.appCpuMs} ms app CPU per check; at 100,000 / 24 h: ${watch.atDefault.checksPerHour} checks/h, ${watch.atDefault.appCpuSecondsPerHour} s CPU/h`);

    // Other commands' figures (demoStart from bench:demo-start) stay; this run's replace theirs.
    const jsonFile = path.join(PROJECT_ROOT, 'bench', 'report.json');
    const previous = existsSync(jsonFile) ? (JSON.parse(readFileSync(jsonFile, 'utf8')) as Record<string, unknown>) : {};
    writeFileSync(jsonFile, JSON.stringify({ ...previous, ...report }, null, 2) + '\n');
    writeReport(markdown(report));
    console.log('Wrote bench/REPORT.md and bench/report.json');
  } finally {
    for (const a of apps) await a.close();
    await ceiling.close();
    closeAgent();
    await dovecot?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

const yes = (met: unknown) => (met ? 'yes' : '**no**');

function markdown(r: Record<string, unknown>): string {
  const m = r.machine as Record<string, unknown>;
  const list = r.list as Growth;
  const big = list.sizes.includes(100_000) ? 100_000 : list.sizes[list.sizes.length - 1]!;
  const small = list.sizes[0]!;
  const names = Object.keys(list.results);
  const worstP95 = Math.max(...names.map((n) => list.results[n]![big]!.p95));
  const worstGrowth = Math.max(...names.map((n) => ratio(list, n, small, big)));
  const before = readBefore();
  const csv = r.csv as Record<string, number | string | boolean | Record<string, number>>;
  const smaller = csv.smaller as Record<string, number>;
  const tp = r.throughput as { ceiling: LoadResult; appHealth: LoadResult; sellerPage: LoadResult; ratio: number; rounds: { ceilingRps: number; pageRps: number; pageP99: number; ratio: number }[]; worstP99: number; pageBytes: number; target: string; met: boolean };
  const rc = r.recheck as RecheckReport & { target: string; met: boolean };
  const hooks = r.hooks as HookTiming[] | undefined;
  const w = rc.where;
  const wt = r.watch as (WatchReport & { date?: string }) | undefined;
  const lines = [
    '# Benchmark report',
    '',
    `Run ${r.date} with \`npm run bench\`. Machine: ${m.cpus} × ${m.cpuModel}, ${m.totalMemoryMb} MB memory (${m.freeMemoryMb} MB free), Node ${m.node}.`,
    `Load average (1/5/15 min) at the start: ${(m.loadAverage as number[] | undefined)?.join(' / ') ?? 'n/a'} on ${m.cpus} cores shared with other work, so single timings are noisy; ratios within one run are the measure.`,
    `Data at the largest size: ${JSON.stringify(r.data)} (seeded in ${r.seedSeconds} s).`,
    '',
    '| Figure | Measured | Target | Met |',
    '|---|---|---|---|',
    `| Seller migration page / bare Fastify route, 50 connections (median of ${tp.rounds.length} alternating rounds) | ${tp.sellerPage.rps} / ${tp.ceiling.rps} req/s = **${tp.ratio}** | ≥ ${RATIO_TARGET} | ${yes(tp.ratio >= RATIO_TARGET)} |`,
    `| Seller migration page p99, 50 connections, worst round | ${tp.worstP99} ms | < ${P99_TARGET_MS} ms | ${yes(tp.worstP99 < P99_TARGET_MS)} |`,
    `| Staff list and overview p95 at ${big.toLocaleString('en')} rows, worst of ${names.length} scenarios | ${worstP95} ms | < ${ROUTE_TARGET_MS} ms | ${yes(worstP95 < ROUTE_TARGET_MS)} |`,
    `| Staff list and overview growth, p95 at ${big.toLocaleString('en')} / ${small.toLocaleString('en')} rows, worst of ${names.length} | ${worstGrowth} | ≤ ${GROWTH_TARGET} | ${yes(worstGrowth <= GROWTH_TARGET)} |`,
    `| CSV export of all ${csv.rows} rows | ${csv.seconds} s | < 3 s | ${yes((csv.seconds as number) < 3)} |`,
    `| Memory growth while exporting ${smaller.rows} / ${csv.rows} rows | ${smaller.rssGrowthMb} / ${csv.rssGrowthMb} MB | flat | ${yes(csv.met)} |`,
    `| Bulk re-check of ${rc.mailboxes} mailboxes | ${rc.checksPerSecond} checks/s (${rc.seconds} s) | (no target) | — |`,
    `| Most IMAP connections open at once (overall / per host) | ${rc.maxOpenAtOnce} / ${Math.max(...Object.values(rc.maxOpenPerHost))} | ≤ ${rc.caps.concurrency} / ≤ ${rc.caps.perHost} | ${yes(rc.met)} |`,
    `| Cold start to first answer (${AUTORESPONDERS.toLocaleString('en')} rows) | ${r.coldStartMs} ms | (no target) | — |`,
    ...(wt ? [`| The watch over 100,000 autoresponders, every ${wt.atDefault.intervalHours} h | ${wt.atDefault.checksPerHour.toLocaleString('en')} checks/h, ${wt.atDefault.appCpuSecondsPerHour} s app CPU/h (${(wt.atDefault.appCoreShare * 100).toFixed(2)} % of a core) | (no target) | — |`] : []),
    '',
    `## Throughput (autocannon in its own process, ${CONNECTIONS} connections, ${LOAD_SECONDS} s after a 2 s warm-up; latency in ms)`,
    '',
    '| Route | req/s | p50 | p90 | p99 | max | non-2xx | errors |',
    '|---|---|---|---|---|---|---|---|',
    ...([['bare Fastify route (ceiling)', tp.ceiling], ['the app\'s `/healthz` (all app hooks, one SQLite read)', tp.appHealth], [`signed-in seller \`/migration\` (${tp.pageBytes} bytes)`, tp.sellerPage]] as const).map(
      ([name, x]) => `| ${name} | ${x.rps} | ${x.p50} | ${x.p90} | ${x.p99} | ${x.max} | ${x.non2xx} | ${x.errors} |`,
    ),
    '',
    `Rounds (ceiling, then the page, side by side in time): ${tp.rounds.map((x) => `${x.pageRps} / ${x.ceilingRps} = ${x.ratio} (p99 ${x.pageP99} ms)`).join('; ')}.`,
    '',
    `Ratio to the ceiling: **${tp.ratio}**, the median round (target ≥ ${RATIO_TARGET}, and p99 under ${P99_TARGET_MS} ms in every round); met: ${yes(tp.met)}. The ceiling is a route answering "ok" on a bare Fastify instance in the same process as the app, so both share the machine's loopback, Node and the load generator. It is also this run's measure of how busy the shared machine was: compare it between runs before comparing any other absolute figure.`,
    '',
    ...(tp.met
      ? []
      : [
          '### Why the target is missed',
          '',
          `The app's hook stack alone (security headers, cookies, the session lookup, the language) reaches ${(tp.appHealth.rps / tp.ceiling.rps).toFixed(2)} of the ceiling on \`/healthz\`; the page adds its reads (one transaction), the CSRF token and a handlebars render of ${tp.pageBytes} bytes. What was done and where the rest goes: the section "The seller's page again (issue 25)" below. Whole rendered pages are not cached (the issue rules it out), so a miss is reported as a miss.`,
          '',
        ]),
    ...(hooks
      ? [
          '### Where a seller request\'s time goes (issue 17)',
          '',
          `Every hook the app adds timed on its own (\`bench/hook-timing.ts\`; requests one at a time through inject, so no network; µs of wall time, median a request; each hook named by its order and where it is added). \`bench/profile-seller.ts\` adds a CPU profile of the page under load.`,
          '',
          ...hooks.flatMap((h) => [`${h.url}: the whole request ${h.wholeUs} µs (median), a bare route the same way ${h.bareUs} µs.`, '', '| Hook (order, plugin) | µs |', '|---|---|', ...h.hooks.map((x) => `| ${x.name} | ${x.us} |`), '']),
          'Taken: @fastify/helmet built a new helmet middleware for every request (its options parsed, the CSP normalised), 7-15 µs of CPU against under 1 µs for one built once; the app now builds it once (same library, options and headers). The migration page read each autoresponder\'s migration with its own query; one query reads them all. What is left is spread thin: the seller session (a SHA-256 of the cookie and two indexed reads), cookie parsing and signature checks, the CSRF token, and on the page its reads, handlebars and the texts; none is a cache away from a large gain without caching whole pages, which this issue rules out.',
          '',
        ]
      : []),
    `## Staff list and overview: growth with the table (one connection, ${SAMPLES} requests each per size, after 10 warm-up requests; times in ms)`,
    '',
    `Target: every scenario's p95 at ${big.toLocaleString('en')} rows within ${GROWTH_TARGET}× its p95 at ${small.toLocaleString('en')} rows, and under ${ROUTE_TARGET_MS} ms. Each size is its own database seeded the same way, served by its own instance of the app in this one process; every scenario\'s requests alternate between the sizes, so a busy moment of the machine falls on all of them alike. A p95 of ${SAMPLES} requests is their ${Math.ceil(SAMPLES * 0.05)}th slowest, so on a shared machine it still carries some luck; the ratio of medians beside it shows the growth of the work itself.`,
    '',
    ...growthTable(list),
    '',
    'How the list stays flat (schema 7, `src/repositories/accounts.ts`): totals of the equality filters come from counters kept by triggers (`account_counts`), and a search or "no activity for N days" is counted only up to 10,001 through its own index ("ponad 10 000", exact on request). A page then either walks an index in the list\'s order, testing each row until the page is full (reads about page size × rows in the walked range ÷ matches), or, when matches are few, collects them through the filter\'s index and sorts only those. A search walk that finds its matches clustered far into the order (a word most names begin with, sorted by name) stops after twice the expected rows and walks again testing ids against the search\'s matches, read once from the trigram index. `test/unit/account-list-plans.test.ts` reads SQLite\'s plan of every scenario and fails on a table scan or a sort of more than a few collected rows. The overview reads the same counters and a per-day counter of migrations for its chart.',
    '',
    'Not flat: a search whose matches cluster in the list\'s order. The seed names every seller "<shop> <city> — <person>" and the list sorts by name, so "łódź" matches sit in eight blocks, the first about 6 % into the order. The budgeted walk gives up there and the page is read from the search\'s matches (all of them, from the trigram index) and the name index up to the first block: small costs a row, but both grow with the table, so its median doubles from 10k to 100k (it was 7× before). Flat would need a search index that knows the list\'s order. A search combined with a state, version or provider filter is counted inside the trigram index (tags), so "search + state" grows only as far as its exact count below 10,000 reads.',
    '',
    ...(before
      ? [
          `### Before (the same measurement on the code before issue 17, commit ${before.commit}, ${before.date})`,
          '',
          ...growthTable(before.list),
          '',
        ]
      : []),
    '## CSV export',
    '',
    `All ${csv.rows} listed rows, ${csv.megabytes} MB in ${csv.seconds} s; the process's memory grew by ${csv.rssGrowthMb} MB while streaming. The \`state=affected\` export (${smaller.rows} rows, ${smaller.seconds} s) grew it by ${smaller.rssGrowthMb} MB. Target: ${csv.target}; met: ${yes(csv.met)}.`,
    '',
    `## Bulk re-check of ${rc.mailboxes} mailboxes against Dovecot`,
    '',
    `${rc.mailboxes} relinked mailboxes over ${rc.hosts} mail hosts (loopback addresses, each behind a counting TCP proxy), caps ${rc.caps.concurrency} at once and ${rc.caps.perHost} per host; every 20th has a revoked app password.`,
    `Finished in ${rc.seconds} s: **${rc.checksPerSecond} checks/s**. Outcomes: ${Object.entries(rc.outcomes).map(([k, v]) => `${k} ${v}`).join(', ')}.`,
    `Most connections open at once, seen by the proxies: ${rc.maxOpenAtOnce} overall, per host ${Object.entries(rc.maxOpenPerHost).map(([h, n]) => `${h} ${n}`).join(', ')}; the runner's own peak: ${rc.runnerPeak}. Caps held: ${yes(rc.met)}.`,
    '',
    'Profiling found that with an extra certificate authority (the private CA of this Dovecot, `MAIL_TLS_CA_FILE`) every connection built a trust store from all of Node\'s root certificates plus that one, about 20 ms of CPU per login; it is now built once. That took this run from 35.7 to over 100 checks/s. With no extra CA (production against Google) Node\'s default store is shared anyway. What remains is TLS: the handshake is most of a raw login, both cores are busy, and the caps, not the app, decide how hard a mail host is pushed.',
    '',
    'Where the time goes (ms):',
    '',
    '| Layer | Time |',
    '|---|---|',
    `| Raw IMAP by hand, one at a time: TCP connect / TLS handshake / greeting / LOGIN / LOGOUT | ${w.rawSequential.tcpConnect} / ${w.rawSequential.tlsHandshake} / ${w.rawSequential.greeting} / ${w.rawSequential.login} / ${w.rawSequential.logout} (total ${w.rawSequential.total}) |`,
    `| The app's \`checkImap\` (imapflow), one at a time | mean ${w.imapflowSequentialMs.mean}, p95 ${w.imapflowSequentialMs.p95} |`,
    `| One job item (check + recording it), ${rc.caps.concurrency} at once | mean ${w.itemInJobMs.mean}, p95 ${w.itemInJobMs.p95} |`,
    `| App process CPU per check (includes the in-process proxies) | ${w.appCpuMsPerCheck} |`,
    `| Machine CPU busy during the job (both cores, app + Dovecot) | ${w.machineCpuBusyPercent} % |`,
    `| App event-loop utilization during the job | ${w.eventLoopUtilization} |`,
    '',
    ...(wt ? watchMarkdown(wt, wt.date !== r.date ? wt.date : undefined) : []),
  ];
  return lines.join('\n');
}

const OWN_END = '<!-- npm run bench: end -->';
/**
 * Writes this run's part of bench/REPORT.md and keeps the rest: the sections other commands write
 * (`bench:demo-start`, `bench:import`, `bench:watch`) and notes added by hand follow OWN_END. A report
 * from before the marker keeps everything from its first section this run does not write.
 */
function writeReport(md: string): void {
  const file = path.join(PROJECT_ROOT, 'bench', 'REPORT.md');
  const old = existsSync(file) ? readFileSync(file, 'utf8') : '';
  let rest = '';
  const end = old.indexOf(OWN_END);
  if (end >= 0) rest = old.slice(end + OWN_END.length).replace(/^\n+/, '');
  else {
    const own = new Set(md.match(/^## .*$/gm) ?? []);
    const first = [...old.matchAll(/^## .*$/gm)].find((h) => !own.has(h[0]));
    if (first) rest = old.slice(first.index);
  }
  writeFileSync(file, `${md.trimEnd()}\n\n${OWN_END}\n${rest ? `\n${rest.trimEnd()}\n` : ''}`);
}

/** The growth measured on the code before this work, kept beside the report (bench/list-before.json). */
function readBefore(): { commit: string; date: string; list: Growth } | null {
  const file = path.join(PROJECT_ROOT, 'bench', 'list-before.json');
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as { commit: string; date: string; list: Growth }) : null;
}

if (process.env.BENCH_REPORT_ONLY) {
  // Rewrites REPORT.md from the last report.json (after a change to the wording, without measuring again).
  writeReport(markdown(JSON.parse(readFileSync(path.join(PROJECT_ROOT, 'bench', 'report.json'), 'utf8')) as Record<string, unknown>));
  process.exit(0);
}

main().catch((err) => {
  console.error('bench: could not measure:', err);
  process.exit(1);
});
