/**
 * `npm run bench`: seeds its own database (100,000 autoresponders) in a temporary folder, starts the
 * app on loopback and measures the staff list and the CSV export over real HTTP. Writes
 * bench/REPORT.md and bench/report.json. Exits non-zero only when it could not measure.
 */
import Fastify from 'fastify';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, freemem, totalmem, tmpdir } from 'node:os';
import path from 'node:path';
import http from 'node:http';
import { performance } from 'node:perf_hooks';
import app from '../src/app.js';
import { loadConfig, PROJECT_ROOT } from '../src/config.js';
import { migrate, openDatabase, type Db } from '../src/db/database.js';
import { SESSION_COOKIE } from '../src/plugins/auth.js';
import { STAFF_COOKIE } from '../src/plugins/staff-auth.js';
import { createSessionsRepository } from '../src/repositories/sessions.js';

const AUTORESPONDERS = Number(process.env.BENCH_ROWS ?? 100_000);
const SAMPLES = Number(process.env.BENCH_SAMPLES ?? 200);
const KEY = 'GzLCjLOMBUgOzMG9YP+XAptXoFyWcYuW2tfp2EiU9Uk='; // a fixed throwaway key: the bench database is deleted after the run

const FIRST = ['Anna', 'Jan', 'Łukasz', 'Małgorzata', 'Żaneta', 'Piotr', 'Katarzyna', 'Grzegorz', 'Ewa', 'Paweł', 'Zofia', 'Józef'];
const LAST = ['Nowak', 'Kowalski', 'Wiśniewski', 'Wójcik', 'Kamińska', 'Lewandowski', 'Zieliński', 'Szymańska', 'Woźniak', 'Dąbrowski'];
const SHOPS = ['Pasmanteria', 'Elektronika', 'Akwarystyka', 'Hurtownia', 'Sklep', 'Księgarnia', 'Zabawki', 'Ogród'];
const CITIES = ['Łódź', 'Kraków', 'Gdańsk', 'Poznań', 'Wrocław', 'Szczecin', 'Lublin', 'Białystok'];
const STATES: [string, number][] = [
  ['affected', 45], ['relinked_app_password', 20], ['switched_v3', 15], ['in_progress_app_password', 3], ['in_progress_v3', 2],
  ['needs_attention', 5], ['reviewed', 5], ['unknown', 3], ['not_affected', 2],
];
const CODES = ['MAIL_AUTH_FAILED', 'MAIL_APP_PASSWORD_REQUIRED', 'MAIL_TIMEOUT', 'MAIL_IMAP_DISABLED', 'MIG_ERR_AUTHORIZE_AGAIN'];

/** Deterministic pseudo-random numbers: every run seeds the same data. */
function rng(seed: number) {
  let s = seed >>> 0;
  return () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32);
}

function seed(db: Db, rows: number): void {
  const r = rng(42);
  const pick = <T>(a: T[]) => a[Math.floor(r() * a.length)]!;
  const stateTable = STATES.flatMap(([s, w]) => Array(w).fill(s) as string[]);
  const now = Date.now();
  const iso = (daysAgo: number) => new Date(now - daysAgo * 86_400_000).toISOString();
  const insSeller = db.prepare(`INSERT INTO sellers (external_id, email, name, allegro_login, language, created_at, updated_at, last_seen_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`);
  const insBox = db.prepare(`INSERT INTO mailboxes (seller_id, email, imap_host, imap_port, imap_security, smtp_host, smtp_port, smtp_security, username, provider, detection_rule, created_at, updated_at)
    VALUES (?, ?, ?, 993, 'tls', ?, 465, 'tls', ?, ?, 'gmail_address', ?, ?)`);
  const insAr = db.prepare(`INSERT INTO autoresponders (seller_id, external_id, version, mailbox_id, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)`);
  const insMig = db.prepare(`INSERT INTO migrations (autoresponder_id, state, path, reason_code, verdict_rule, last_error_code, last_checked_at, completed_at, created_at, updated_at, state_changed_at)
    VALUES (?, ?, ?, ?, 'gmail_mailbox', ?, ?, ?, ?, ?, ?)`);
  db.transaction(() => {
    let seller = 0;
    let sellerId = 0;
    for (let i = 0; i < rows; i++) {
      // About 1.4 autoresponders per seller.
      if (i === 0 || r() < 0.72) {
        seller++;
        const name = `${pick(SHOPS)} ${pick(CITIES)} — ${pick(FIRST)} ${pick(LAST)}`;
        sellerId = Number(insSeller.run(`S-${seller}`, `sprzedawca${seller}@example.pl`, name, `login_${seller}`, r() < 0.1 ? 'en' : 'pl', iso(60), iso(60), r() < 0.5 ? iso(r() * 60) : null).lastInsertRowid);
      }
      const provider = r() < 0.7 ? 'gmail' : r() < 0.85 ? 'workspace' : 'other';
      const host = provider === 'gmail' ? 'imap.gmail.com' : provider === 'workspace' ? 'imap.gmail.com' : 'mail.example.pl';
      const boxEmail = `skrzynka${i}@${provider === 'gmail' ? 'gmail.com' : 'firma.pl'}`;
      const box = Number(insBox.run(sellerId, boxEmail, host, host.replace('imap', 'smtp'), boxEmail, provider, iso(60), iso(60)).lastInsertRowid);
      const state = pick(stateTable);
      const version = state === 'switched_v3' ? 3 : r() < 0.5 ? 1 : 2;
      const ar = Number(insAr.run(sellerId, `AR-${i + 1}`, version, box, iso(60), iso(60)).lastInsertRowid);
      const checked = r() < 0.6 ? iso(r() * 30) : null;
      const code = checked && r() < 0.3 ? pick(CODES) : null;
      const migrated = state === 'switched_v3' || state === 'relinked_app_password';
      const path = migrated || state.startsWith('in_progress') ? (state.includes('v3') ? 'v3' : 'app_password') : null;
      const changed = iso(r() * 50);
      insMig.run(ar, state, path, state === 'needs_attention' ? 'connection_failed' : null, code, checked, migrated ? iso(r() * 40) : null, iso(60), changed, changed);
    }
  })();
}

interface Stats {
  n: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

function stats(samples: number[]): Stats {
  const s = [...samples].sort((a, b) => a - b);
  const at = (q: number) => Number(s[Math.min(s.length - 1, Math.floor(q * s.length))]!.toFixed(2));
  return { n: s.length, p50: at(0.5), p95: at(0.95), p99: at(0.99), max: Number(s[s.length - 1]!.toFixed(2)) };
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
function get(port: number, url: string, cookie: string): Promise<{ status: number; body: string; ms: number; bytes: number }> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const req = http.get({ host: '127.0.0.1', port, path: url, agent, headers: { cookie } }, (res) => {
      const chunks: Buffer[] = [];
      let bytes = 0;
      res.on('data', (c: Buffer) => {
        bytes += c.length;
        if (bytes < 2_000_000) chunks.push(c);
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), ms: performance.now() - t0, bytes }));
    });
    req.on('error', reject);
  });
}

async function main() {
  const dir = mkdtempSync(path.join(tmpdir(), 'mig-bench-'));
  const dbFile = path.join(dir, 'bench.db');
  const report: Record<string, unknown> = {
    date: new Date().toISOString(),
    machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? 'unknown', totalMemoryMb: Math.round(totalmem() / 1e6), freeMemoryMb: Math.round(freemem() / 1e6), node: process.version },
    rows: AUTORESPONDERS,
  };
  try {
    const db = openDatabase(dbFile);
    migrate(db);
    let t0 = performance.now();
    seed(db, AUTORESPONDERS);
    db.pragma('optimize');
    report.seedSeconds = Number(((performance.now() - t0) / 1000).toFixed(1));
    const counts = db.prepare(`SELECT (SELECT count(*) FROM autoresponders) AS autoresponders, (SELECT count(*) FROM sellers) AS sellers, (SELECT count(*) FROM account_index WHERE state != 'not_affected') AS listed`).get();
    report.data = counts;
    const staffId = Number(db.prepare(`INSERT INTO staff_users (email, password_hash, role, created_at, updated_at) VALUES ('bench@example.pl', 'x', 'agent', ?, ?)`).run(new Date().toISOString(), new Date().toISOString()).lastInsertRowid);
    const sessions = createSessionsRepository(db);
    const staffCookie = `${STAFF_COOKIE}=${sessions.create('staff', staffId, 3_600_000)}`;
    void SESSION_COOKIE;
    db.close();

    const config = loadConfig({ DATABASE_PATH: dbFile, APP_SECRET_KEY: KEY, DEMO: '0', LOG_LEVEL: 'warn', ALLEGRO_ENV: 'sandbox' });
    t0 = performance.now();
    const fastify = Fastify({ logger: false });
    await fastify.register(app, { config });
    await fastify.listen({ host: '127.0.0.1', port: 0 });
    const port = (fastify.server.address() as { port: number }).port;
    const first = await get(port, '/healthz', '');
    report.coldStartMs = Number((performance.now() - t0).toFixed(0));
    if (first.status !== 200) throw new Error(`health answered ${first.status}`);

    const scenarios: Record<string, string> = {
      'list, first page, no filter': '/staff/accounts',
      'list, state filter': '/staff/accounts?state=affected',
      'list, state + provider + version': '/staff/accounts?state=affected&provider=gmail&version=2',
      'list, error-code filter, sorted by last check': '/staff/accounts?code=MAIL_AUTH_FAILED&sort=checked&dir=desc',
      'list, search "łódź" (Polish, any case)': `/staff/accounts?q=${encodeURIComponent('łódź')}`,
      'list, search + state filter, 100 a page': `/staff/accounts?q=${encodeURIComponent('KOWALSKI')}&state=affected&size=100`,
      'list, inactive 30 days': '/staff/accounts?inactive=30',
    };
    // A deep page: walk 400 pages forward by keyset cursor, then measure that page.
    let url = '/staff/accounts?state=affected&size=50';
    for (let i = 0; i < 400; i++) {
      const res = await get(port, url, staffCookie);
      const next = /<a href="([^"]+)" rel="next">/.exec(res.body);
      if (!next) break;
      url = next[1]!.replace(/&amp;/g, '&').replace(/&#x3D;/g, '=');
    }
    scenarios['list, state filter, page ~400 (keyset cursor)'] = url;

    const results: Record<string, Stats & { status: number; target: string; met: boolean }> = {};
    for (const [name, u] of Object.entries(scenarios)) {
      for (let i = 0; i < 10; i++) await get(port, u, staffCookie); // warm-up
      const samples: number[] = [];
      let status = 0;
      for (let i = 0; i < SAMPLES; i++) {
        const r = await get(port, u, staffCookie);
        status = r.status;
        samples.push(r.ms);
      }
      const s = stats(samples);
      results[name] = { ...s, status, target: 'p95 < 50 ms', met: status === 200 && s.p95 < 50 };
      console.log(`${name}: p50 ${s.p50} ms, p95 ${s.p95} ms, p99 ${s.p99} ms (HTTP ${status})`);
    }
    report.list = results;

    // CSV export of every listed row: time and the server's memory while it streams.
    const rssBefore = process.memoryUsage().rss;
    let peakRss = rssBefore;
    const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 20);
    const csv = await get(port, '/staff/accounts.csv', staffCookie);
    clearInterval(sampler);
    const csvRows = csv.status === 200 ? (await new Promise<number>((resolve) => {
      // Count lines without keeping the file: fetch again, streaming.
      let lines = 0;
      http.get({ host: '127.0.0.1', port, path: '/staff/accounts.csv', headers: { cookie: staffCookie } }, (res) => {
        res.on('data', (c: Buffer) => {
          for (const b of c) if (b === 10) lines++;
        });
        res.on('end', () => resolve(lines - 1));
      });
    })) : 0;
    report.csv = {
      seconds: Number((csv.ms / 1000).toFixed(2)),
      megabytes: Number((csv.bytes / 1e6).toFixed(1)),
      rows: csvRows,
      rssGrowthMb: Number(((peakRss - rssBefore) / 1e6).toFixed(1)),
      target: 'under 3 s, memory flat',
      met: csv.status === 200 && csv.ms < 3000,
    };
    console.log(`CSV: ${csvRows} rows, ${(csv.bytes / 1e6).toFixed(1)} MB in ${(csv.ms / 1000).toFixed(2)} s; RSS grew ${((peakRss - rssBefore) / 1e6).toFixed(1)} MB`);
    await fastify.close();
    agent.destroy();

    writeFileSync(path.join(PROJECT_ROOT, 'bench', 'report.json'), JSON.stringify(report, null, 2) + '\n');
    writeFileSync(path.join(PROJECT_ROOT, 'bench', 'REPORT.md'), markdown(report));
    console.log('Wrote bench/REPORT.md and bench/report.json');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function markdown(r: Record<string, unknown>): string {
  const m = r.machine as Record<string, unknown>;
  const list = r.list as Record<string, Stats & { status: number; target: string; met: boolean }>;
  const csv = r.csv as Record<string, unknown>;
  const lines = [
    '# Benchmark report',
    '',
    `Run ${r.date} with \`npm run bench\`. Machine: ${m.cpus} × ${m.cpuModel}, ${m.totalMemoryMb} MB memory, Node ${m.node}.`,
    `Data: ${JSON.stringify(r.data)} (seeded in ${r.seedSeconds} s). Cold start to the first answer: ${r.coldStartMs} ms.`,
    '',
    `## Staff list (one connection, ${SAMPLES} requests each, after 10 warm-up requests; times in ms)`,
    '',
    '| Scenario | p50 | p95 | p99 | max | Target | Met |',
    '|---|---|---|---|---|---|---|',
    ...Object.entries(list).map(([name, s]) => `| ${name} | ${s.p50} | ${s.p95} | ${s.p99} | ${s.max} | ${s.target} | ${s.met ? 'yes' : '**no**'} |`),
    '',
    '## CSV export of every listed row',
    '',
    `${csv.rows} rows, ${csv.megabytes} MB in ${csv.seconds} s; the process's memory grew by ${csv.rssGrowthMb} MB while streaming (target: ${csv.target}; met: ${csv.met ? 'yes' : '**no**'}).`,
    '',
  ];
  return lines.join('\n');
}

main().catch((err) => {
  console.error('bench: could not measure:', err);
  process.exit(1);
});
