/**
 * `npx tsx bench/profile-seller.ts`: where a signed-in seller's `/migration` request spends its time.
 * Starts the app on a seeded database (BENCH_ROWS, default 10,000; BENCH_DB_CACHE reuses one), puts
 * the page under autocannon load (50 connections, BENCH_LOAD_SECONDS) with the V8 CPU profiler on,
 * and prints self and inclusive time by package or source file, and the busiest functions. The
 * profile itself is written to PROFILE_OUT when given (open it in Chrome's DevTools). Then it times
 * each hook of the app on its own (every hook function wrapped, requests one at a time through
 * inject) against the whole request and a bare route, so the hook stack's share is seen by hook
 * (HOOK_SRC=1 prints the start of each hook's source beside its number).
 */
import Fastify from 'fastify';
import { copyFileSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import app from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { migrate, openDatabase } from '../src/db/database.js';
import { MIGRATIONS } from '../src/db/migrations.js';
import { SESSION_COOKIE } from '../src/plugins/auth.js';
import { createSessionsRepository } from '../src/repositories/sessions.js';
import { formatHookTiming, hookTiming } from './hook-timing.js';
import { load } from './http-load.js';
import { closeAgent, get } from './list-growth.js';
import { seed } from './seed.js';

const ROWS = Number(process.env.BENCH_ROWS ?? 10_000);
const SECONDS = Number(process.env.BENCH_LOAD_SECONDS ?? 10);
const KEY = 'GzLCjLOMBUgOzMG9YP+XAptXoFyWcYuW2tfp2EiU9Uk=';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** A package name, a source file of the app, or the runtime, for a profile frame's URL. */
function area(url: string): string {
  if (!url) return '(runtime: GC, natives, idle)';
  const pkg = /node_modules\/((@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1]!;
  const src = /\/((src|bench)\/.*)$/.exec(url);
  if (src) return src[1]!;
  return url.startsWith('node:') ? url : url.split('/').slice(-2).join('/');
}

function summarise(p: Profile): string {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const self = new Map<number, number>();
  p.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (p.timeDeltas[i] ?? 0)));
  const idle = [...self].filter(([id]) => byId.get(id)!.callFrame.functionName === '(idle)').reduce((n, [, t]) => n + t, 0);
  const total = [...self.values()].reduce((a, b) => a + b, 0) - idle;
  const add = (m: Map<string, number>, k: string, t: number) => m.set(k, (m.get(k) ?? 0) + t);
  const selfArea = new Map<string, number>();
  const inclArea = new Map<string, number>();
  const selfFn = new Map<string, number>();
  for (const [id, t] of self) {
    const cf = byId.get(id)!.callFrame;
    if (cf.functionName === '(idle)') continue;
    add(selfArea, area(cf.url), t);
    add(selfFn, `${cf.functionName || '(anonymous)'} ${area(cf.url)}:${cf.lineNumber + 1}`, t);
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) seen.add(area(byId.get(cur)!.callFrame.url));
    for (const a of seen) add(inclArea, a, t);
  }
  const top = (m: Map<string, number>, k: number) =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, k)
      .map(([name, t]) => `  ${((100 * t) / total).toFixed(1).padStart(5)} %  ${name}`)
      .join('\n');
  return [
    `busy CPU sampled: ${(total / 1000).toFixed(0)} ms (idle ${(idle / 1000).toFixed(0)} ms)`,
    'self time by area:',
    top(selfArea, 20),
    'inclusive time by area (a frame of it anywhere on the stack):',
    top(inclArea, 25),
    'busiest functions (self):',
    top(selfFn, 30),
  ].join('\n');
}

async function main() {
  const dir = mkdtempSync(path.join(tmpdir(), 'mig-profile-'));
  const dbFile = path.join(dir, 'profile.db');
  const cached = process.env.BENCH_DB_CACHE ? path.join(process.env.BENCH_DB_CACHE, `seed-${ROWS}-schema${MIGRATIONS.length}.db`) : null;
  if (cached && existsSync(cached)) copyFileSync(cached, dbFile);
  const db = openDatabase(dbFile);
  if (!cached || !existsSync(cached)) (migrate(db), seed(db, ROWS));
  const sellerId = db.prepare(`SELECT seller_id FROM autoresponders GROUP BY seller_id HAVING count(*) >= 3 ORDER BY seller_id LIMIT 1`).pluck().get() as number;
  const cookie = `${SESSION_COOKIE}=${createSessionsRepository(db).create('seller', sellerId, 3_600_000)}`;
  db.close();

  const fastify = Fastify({ logger: false });
  try {
    await fastify.register(app, { config: loadConfig({ DATABASE_PATH: dbFile, APP_SECRET_KEY: KEY, DEMO: '0', OPERATOR_NAME: 'Bench Operator', SUPPORT_EMAIL: 'pomoc@example.pl', LOG_LEVEL: 'warn', ALLEGRO_ENV: 'sandbox' }) });
    await fastify.listen({ host: '127.0.0.1', port: 0 });
    const port = (fastify.server.address() as { port: number }).port;
    const first = await get(port, '/migration', cookie);
    if (first.status !== 200) throw new Error(`the seller page answered ${first.status}`);
    const browserCookie = [cookie, ...first.setCookies.map((c) => c.split(';')[0]!)].join('; ');
    const url = `http://127.0.0.1:${port}/migration`;
    await load(url, { connections: 50, seconds: 2, headers: { cookie: browserCookie } });

    const session = new Session();
    session.connect();
    await session.post('Profiler.enable');
    await session.post('Profiler.setSamplingInterval', { interval: 100 });
    await session.post('Profiler.start');
    const result = await load(url, { connections: 50, seconds: SECONDS, headers: { cookie: browserCookie } });
    const { profile } = (await session.post('Profiler.stop')) as unknown as { profile: Profile };
    session.disconnect();
    console.log(`/migration under load: ${result.rps} req/s, p50 ${result.p50} ms, p99 ${result.p99} ms (${first.bytes} bytes)`);
    console.log(summarise(profile));
    if (process.env.PROFILE_OUT) writeFileSync(process.env.PROFILE_OUT, JSON.stringify(profile));
    await fastify.close();
    console.log(formatHookTiming(await hookTiming(dbFile, browserCookie, 2000)));
  } finally {
    await fastify.close();
    closeAgent();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error('profile: could not measure:', err);
  process.exit(1);
});
