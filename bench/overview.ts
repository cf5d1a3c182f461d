/**
 * The overview (`/staff`, with the migration funnel) at 100,000 autoresponders: its own seed of the
 * funnel's history (reminders over eight weeks, sign-ins after some of them, through the same tables
 * and triggers the app writes), and the page's timing over one keep-alive connection.
 *
 * Used by bench/run.ts; `npm run bench:overview` runs only this (seed, start, measure, print), a cheap
 * way to check the overview without the whole benchmark.
 */
import http from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import Fastify from 'fastify';
import { openDatabase, type Db } from '../src/db/database.js';
import { createRepositories } from '../src/repositories/index.js';
import { codeFigures, todoFigures, funnelFigures, headlineFigures, providerFigures, stateFigures, versionFigures } from '../src/accounts/figures.js';
import { stats, type Stats } from './stats.js';

export const OVERVIEW_TARGET_MS = 50;

/** Deterministic pseudo-random numbers, as in seed.ts: every run seeds the same history. */
function rng(seed: number) {
  let s = seed >>> 0;
  return () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32);
}

/**
 * Reminds about 60% of the sellers whose accounts still wait for them, spread over the last eight
 * weeks, and has about a third of the reminded sign in a day later. Written as the app writes them
 * (a reminder row moved to 'sent', sellers.last_seen_at), so the triggers fill the funnel.
 */
export function seedFunnel(db: Db, now = Date.now()): { reminded: number; signedIn: number } {
  const r = rng(7);
  const sellers = db.prepare(`SELECT DISTINCT seller_id FROM account_index WHERE state IN ('affected', 'unknown', 'needs_attention', 'in_progress_v3', 'in_progress_app_password') ORDER BY seller_id`).pluck().all() as number[];
  const insert = db.prepare(`INSERT INTO reminders (seller_id, status, created_at) VALUES (?, 'sending', ?)`);
  const sent = db.prepare(`UPDATE reminders SET status = 'sent', sent_at = created_at WHERE id = ?`);
  const seen = db.prepare(`UPDATE sellers SET last_seen_at = ? WHERE id = ?`);
  let reminded = 0;
  let signedIn = 0;
  db.transaction(() => {
    for (const sellerId of sellers) {
      if (r() >= 0.6) continue;
      const at = now - Math.floor(r() * 56 * 86_400_000);
      sent.run(insert.run(sellerId, new Date(at).toISOString()).lastInsertRowid);
      reminded++;
      if (r() < 0.33 && at + 86_400_000 < now) {
        seen.run(new Date(at + 86_400_000).toISOString(), sellerId);
        signedIn++;
      }
    }
  })();
  return { reminded, signedIn };
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
function get(port: number, url: string, cookie: string): Promise<{ status: number; ms: number; body: string }> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    http
      .get({ host: '127.0.0.1', port, path: url, agent, headers: { cookie } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, ms: performance.now() - t0, body: Buffer.concat(chunks).toString('utf8') }));
      })
      .on('error', reject);
  });
}

export type OverviewReport = Stats & { status: number; funnelShown: boolean; target: string; met: boolean };

/** `/staff` signed in as staff: 10 warm-up requests, then `samples` timed ones, one at a time. */
export async function benchOverview(port: number, cookie: string, samples: number): Promise<OverviewReport> {
  for (let i = 0; i < 10; i++) await get(port, '/staff', cookie);
  const times: number[] = [];
  let status = 0;
  let body = '';
  for (let i = 0; i < samples; i++) {
    const res = await get(port, '/staff', cookie);
    status = res.status;
    body = res.body;
    times.push(res.ms);
  }
  const s = stats(times);
  const funnelShown = /class="funnel"/.test(body) && /<th scope="row">Przypomniano<\/th>/.test(body);
  return { ...s, status, funnelShown, target: `p95 < ${OVERVIEW_TARGET_MS} ms`, met: status === 200 && funnelShown && s.p95 < OVERVIEW_TARGET_MS };
}

/**
 * Where the overview's time goes, read straight from the database (mean of 5, ms): the funnel's
 * figures, the headline and the counts by state/version/provider/error, and the chart's progress query.
 */
export function overviewParts(file: string): { funnelMs: number; countsMs: number; progressMs: number; todoMs: number } {
  const db = openDatabase(file);
  try {
    const repos = createRepositories(db);
    const time = (f: () => unknown) => {
      f();
      const t0 = performance.now();
      for (let i = 0; i < 5; i++) f();
      return Number(((performance.now() - t0) / 5).toFixed(2));
    };
    const a = repos.accounts;
    return {
      funnelMs: time(() => funnelFigures(a, repos.funnel.cohorts())),
      countsMs: time(() => [headlineFigures(a), stateFigures(a), versionFigures(a), providerFigures(a), codeFigures(a, a.codes())]),
      progressMs: time(() => a.progress(new Date(Date.now() - 180 * 86_400_000).toISOString().slice(0, 10))),
      // "Do zrobienia dziś": reminders refused or uncertain, outages (each a list total read through its own index).
      todoMs: time(() => todoFigures(a, repos.watch.outages(new Date(Date.now() - 86_400_000)).map((o) => o.host))),
    };
  } finally {
    db.close();
  }
}

// `npm run bench:overview`: this figure alone.
if (import.meta.url === `file://${process.argv[1]}`) {
  const { default: app } = await import('../src/app.js');
  const { loadConfig } = await import('../src/config.js');
  const { migrate } = await import('../src/db/database.js');
  const { createSessionsRepository } = await import('../src/repositories/sessions.js');
  const { STAFF_COOKIE } = await import('../src/plugins/staff-auth.js');
  const { seed } = await import('./seed.js');
  const rows = Number(process.env.BENCH_ROWS ?? 100_000);
  // BENCH_DB_FILE: a database seeded by an earlier run (kept, not deleted), to measure again without seeding.
  const kept = process.env.BENCH_DB_FILE;
  const dir = mkdtempSync(path.join(tmpdir(), 'mig-bench-overview-'));
  const file = kept ?? path.join(dir, 'bench.db');
  try {
    const db = openDatabase(file);
    migrate(db);
    let t0 = performance.now();
    if (!kept || (db.prepare('SELECT count(*) FROM autoresponders').pluck().get() as number) === 0) {
      seed(db, rows);
      const funnel = seedFunnel(db);
      db.pragma('optimize');
      console.log(`seeded ${rows} autoresponders and the funnel (${funnel.reminded} sellers reminded, ${funnel.signedIn} signed in since) in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    }
    const at = new Date().toISOString();
    const staffId = Number(db.prepare(`INSERT INTO staff_users (email, password_hash, role, created_at, updated_at) VALUES ('bench@example.pl', 'x', 'viewer', ?, ?) ON CONFLICT (email) DO UPDATE SET role = 'viewer' RETURNING id`).pluck().get(at, at));
    const cookie = `${STAFF_COOKIE}=${createSessionsRepository(db).create('staff', staffId, 3_600_000)}`;
    db.close();
    const fastify = Fastify({ logger: false });
    await fastify.register(app, { config: loadConfig({ DATABASE_PATH: file, APP_SECRET_KEY: 'GzLCjLOMBUgOzMG9YP+XAptXoFyWcYuW2tfp2EiU9Uk=', DEMO: '0', OPERATOR_NAME: 'Bench Operator', SUPPORT_EMAIL: 'pomoc@example.pl', LOG_LEVEL: 'warn', ALLEGRO_ENV: 'sandbox', MIGRATION_DEADLINE: '2027-03-31' }) });
    await fastify.listen({ host: '127.0.0.1', port: 0 });
    t0 = performance.now();
    const r = await benchOverview((fastify.server.address() as { port: number }).port, cookie, Number(process.env.BENCH_SAMPLES ?? 200));
    console.log(`where the time goes (ms, straight from SQLite): ${JSON.stringify(overviewParts(file))}`);
    console.log(`overview /staff at ${rows} autoresponders: p50 ${r.p50} ms, p95 ${r.p95} ms, p99 ${r.p99} ms, max ${r.max} ms (HTTP ${r.status}, funnel shown: ${r.funnelShown}; target ${r.target}: ${r.met ? 'met' : 'MISSED'})`);
    await fastify.close();
  } finally {
    agent.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
}
