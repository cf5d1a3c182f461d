/**
 * What the watch costs. Measured: one watch check of a relinked mailbox (a real IMAP login against the
 * private Dovecot and a real SMTP AUTH against smtp-server in its own process, then recording it),
 * one after another as the watch runs them at its default pace; and the database side over the
 * benchmark's 100,000 autoresponders (giving every migrated one its slot, the periodic sync, the due
 * query). Computed from those: the cost per hour of watching 100,000 autoresponders at the default
 * interval, in total and per mail host (and Allegro), by the mix of hosts in the data.
 *
 * `npm run bench` runs it with the rest; `npm run bench:watch` runs only this (about a minute) and
 * updates the watch section of bench/report.json and bench/REPORT.md.
 */
import type { FastifyInstance } from 'fastify';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { PROJECT_ROOT } from '../src/config.js';
import { freePort, waitForPort } from '../test/helpers/ports.js';
import { testCert } from '../test/helpers/tls.js';
import { stats, type Stats } from './stats.js';
import { FULL_SYNC_EVERY_MS, SYNC_MAX_MS } from '../src/watch/service.js';
import { CHECKS_KEPT_MS, PASSING_WATCH_CHECKS_KEPT_MS } from '../src/ops/maintenance.js';

export const WATCH_TARGET = 100_000;
const DEFAULT_INTERVAL_HOURS = 24;
/** Allegro requests per v3 check at 24 h: the access token (12 h) has expired, so a refresh, then GET /messaging/threads. */
const ALLEGRO_REQUESTS_PER_CHECK = 2;

const round = (n: number, d = 2) => Number(n.toFixed(d));


export interface WatchReport {
  checks: number;
  perCheck: { wallMs: Stats; appCpuMs: number; outcomes: Record<string, number>; loadAverage: number[] };
  db: { firstSyncMs: number; firstSyncAdded: number; firstSyncLongestBlockMs: number; fullSyncMs: number; steadySyncMs: number; dueQueryMs: number };
  data: { autoresponders: number; watched: number; mix: Record<string, number> };
  atDefault: {
    autoresponders: number;
    intervalHours: number;
    checksPerHour: number;
    checksPerSecond: number;
    appCpuSecondsPerHour: number;
    appCoreShare: number;
    openAtOnce: number;
    syncSecondsPerHour: number;
    connectionChecksPerDay: number;
    perHost: { host: string; autoresponders: number; checksPerHour: number; imapLoginsPerHour: number; smtpLoginsPerHour: number; apiRequestsPerHour: number; openAtOnce: number }[];
  };
}

/** The mailboxes' SMTP server in a child process (its CPU is then not the app's), on `port`. */
async function smtpChild(port: number, users: Record<string, string>) {
  const child = spawn(process.execPath, ['--import', 'tsx', 'bench/smtp-child.ts'], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, SMTP_PORT: String(port), SMTP_USERS: JSON.stringify(users), CERT_FILE: testCert().certFile, KEY_FILE: testCert().keyFile },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  await waitForPort(port, 30_000);
  return { port, stop: () => new Promise<void>((resolve) => (child.exitCode !== null ? resolve() : (child.once('exit', () => resolve()), child.kill('SIGTERM')))) };
}

/**
 * Runs the watch's own functions on the app (the watch lane itself is not started: the benchmark
 * calls it). `users` are Dovecot's users with `password`, on 127.0.0.1:`imapPort`.
 */
export async function benchWatch(fastify: FastifyInstance, p: { imapPort: number; smtpPort: number; users: string[]; password: string; checks: number }): Promise<WatchReport> {
  const { db, repos, secrets, migrationService } = fastify.services;
  const watch = fastify.watch;

  // ---- the database side over the seeded data ----
  // The first full pass gives every migrated autoresponder its slot, in chunks; the longest the event
  // loop waited meanwhile is how long the server could not answer.
  const delay = monitorEventLoopDelay({ resolution: 1 });
  delay.enable();
  let t0 = performance.now();
  const first = await watch.fullSync();
  const firstSyncMs = performance.now() - t0;
  delay.disable();
  t0 = performance.now();
  await watch.fullSync();
  const fullSyncMs = performance.now() - t0;
  // The periodic sync after five minutes at the default pace: about 350 checked migrations changed.
  const changed = db.prepare(`SELECT id FROM migrations ORDER BY random() LIMIT 350`).pluck().all() as number[];
  const steady: number[] = [];
  for (let i = 0; i < 20; i++) {
    for (const id of changed) migrationService.recordCheck(id, null);
    t0 = performance.now();
    watch.sync();
    steady.push(performance.now() - t0);
  }
  const due: number[] = [];
  const later = new Date(Date.now() + 3 * 3_600_000); // a few hundred items due, as after a short stop
  for (let i = 0; i < 200; i++) {
    t0 = performance.now();
    watch.lane.due(16, later);
    watch.lane.nextWakeAt();
    due.push(performance.now() - t0);
  }
  const mixRows = db
    .prepare(
      `SELECT CASE WHEN a.version = 3 THEN 'allegro' ELSE lower(mb.imap_host) END AS host, count(*) AS n
         FROM watches w JOIN autoresponders a ON a.id = w.autoresponder_id LEFT JOIN mailboxes mb ON mb.id = a.mailbox_id GROUP BY 1 ORDER BY 2 DESC`,
    )
    .all() as { host: string; n: number }[];
  const watchedInData = mixRows.reduce((n, r) => n + r.n, 0);

  // ---- one check at a time, as the watch runs them ----
  // The mailboxes' SMTP server, on the port the app's MAIL_PORT_ALLOWLIST was given.
  const smtp = await smtpChild(p.smtpPort, Object.fromEntries(p.users.map((u) => [u, p.password])));
  const smtpPort = p.smtpPort;
  try {
    const ids = db.transaction(() =>
      p.users.slice(0, p.checks).map((user, i) => {
        const sellerId = repos.sellers.insert({ externalId: `WATCH-BENCH-${i}`, email: `watch${i}@example.pl`, name: `Nadzór ${i}`, allegroLogin: null });
        const mailboxId = repos.mailboxes.insert({ sellerId, email: user, imapHost: '127.0.0.1', imapPort: p.imapPort, imapSecurity: 'tls', smtpHost: '127.0.0.1', smtpPort, smtpSecurity: 'tls', username: user });
        repos.mailboxes.setEncryptedSecret(mailboxId, { ciphertext: secrets.encrypt(p.password, 'mailbox-secret'), kind: 'app_password', verifiedAt: new Date().toISOString() });
        const id = repos.autoresponders.insert({ sellerId, externalId: `AR-WATCH-BENCH-${i}`, version: 2, mailboxId });
        const m = migrationService.create(id, { state: 'affected', rule: 'gmail_address', detail: null } as never, { type: 'system', id: 'bench' });
        migrationService.transition(m.id, 'relinked', 'relinked_app_password', { actor: { type: 'system', id: 'bench' } });
        return id;
      }),
    )();
    await watch.fullSync();
    // Two warm-up checks (TLS contexts, prepared statements), not counted.
    for (const id of ids.slice(0, 2)) await watch.check(id);
    const wall: number[] = [];
    const outcomes: Record<string, number> = {};
    const cpu0 = process.cpuUsage();
    for (const id of ids) {
      const s = performance.now();
      const v = await watch.check(id);
      wall.push(performance.now() - s);
      const key = v ? (v.kind === 'ok' ? 'ok' : `${v.kind}:${v.code}`) : 'skipped';
      outcomes[key] = (outcomes[key] ?? 0) + 1;
    }
    const cpu = process.cpuUsage(cpu0);
    const appCpuMs = (cpu.user + cpu.system) / 1000 / ids.length;
    const wallStats = stats(wall);

    // ---- at the default interval, over 100,000 autoresponders ----
    const perHour = WATCH_TARGET / DEFAULT_INTERVAL_HOURS;
    const perSecond = perHour / 3600;
    const syncsPerHour = 3_600_000 / Math.min(SYNC_MAX_MS, (DEFAULT_INTERVAL_HOURS * 3_600_000) / 24);
    const steadySync = stats(steady).mean;
    const perHost = mixRows.map((r) => {
      const autoresponders = Math.round((r.n / watchedInData) * WATCH_TARGET);
      const checksPerHour = round(autoresponders / DEFAULT_INTERVAL_HOURS, 0);
      const allegro = r.host === 'allegro';
      return {
        host: r.host,
        autoresponders,
        checksPerHour,
        imapLoginsPerHour: allegro ? 0 : checksPerHour,
        smtpLoginsPerHour: allegro ? 0 : checksPerHour,
        apiRequestsPerHour: allegro ? checksPerHour * ALLEGRO_REQUESTS_PER_CHECK : 0,
        // Little's law: arrivals per second × time each is open.
        openAtOnce: round((checksPerHour / 3600) * (wallStats.mean / 1000), 3),
      };
    });
    return {
      checks: ids.length,
      perCheck: { wallMs: wallStats, appCpuMs: round(appCpuMs), outcomes, loadAverage: loadavg().map((n) => round(n, 1)) },
      db: {
        firstSyncMs: round(firstSyncMs, 0),
        firstSyncAdded: first.added,
        firstSyncLongestBlockMs: round(delay.max / 1e6, 1),
        fullSyncMs: round(fullSyncMs, 0),
        steadySyncMs: round(steadySync),
        dueQueryMs: stats(due).mean,
      },
      data: { autoresponders: repos.autoresponders.count() - ids.length, watched: watchedInData, mix: Object.fromEntries(mixRows.map((r) => [r.host, round(r.n / watchedInData, 3)])) },
      atDefault: {
        autoresponders: WATCH_TARGET,
        intervalHours: DEFAULT_INTERVAL_HOURS,
        checksPerHour: round(perHour, 0),
        checksPerSecond: round(perSecond, 2),
        appCpuSecondsPerHour: round((perHour * appCpuMs) / 1000, 1),
        appCoreShare: round((perHour * appCpuMs) / 1000 / 3600, 4),
        openAtOnce: round(perSecond * (wallStats.mean / 1000), 2),
        syncSecondsPerHour: round((syncsPerHour * steadySync + (3_600_000 / FULL_SYNC_EVERY_MS) * fullSyncMs) / 1000, 2),
        connectionChecksPerDay: WATCH_TARGET * (24 / DEFAULT_INTERVAL_HOURS),
        perHost,
      },
    };
  } finally {
    await smtp.stop();
  }
}

/** REPORT.md with the section whose heading starts with `heading` replaced by `section`, or with it added at the end. */
export function withSection(md: string, heading: string, section: string): string {
  const start = md.indexOf(heading);
  if (start < 0) return `${md.replace(/\n*$/, '')}\n\n${section}`;
  // The section ends at the next heading, or at a marker of another section (<!-- import:start -->).
  const ends = ['\n## ', '\n<!-- '].map((m) => md.indexOf(m, start + 1)).filter((i) => i >= 0);
  const next = ends.length ? Math.min(...ends) : -1;
  return md.slice(0, start) + section.replace(/\n*$/, '\n') + (next < 0 ? '' : '\n' + md.slice(next + 1));
}

/** REPORT.md with its watch section replaced by `section`, or with it added at the end. */
export const withWatchSection = (md: string, section: string) => withSection(md, '## The watch over', section);

/** The report's section (bench/run.ts puts it in REPORT.md). */
export function watchMarkdown(w: WatchReport, date?: string): string[] {
  const d = w.atDefault;
  return [
    `## The watch over ${d.autoresponders.toLocaleString('en')} autoresponders at the default interval (${d.intervalHours} h)`,
    '',
    ...(date ? [`Measured ${date} (\`npm run bench:watch\`).`, ''] : []),
    `Measured: ${w.checks} watch checks of relinked mailboxes, one after another as the watch makes them (a real IMAP login against the private Dovecot, a real SMTP AUTH against smtp-server in its own process, recording the check, the migration and the schedule): wall time mean ${w.perCheck.wallMs.mean} ms, p95 ${w.perCheck.wallMs.p95} ms; **app CPU ${w.perCheck.appCpuMs} ms per check** (the app's own process; the mail servers are other processes). The machine is shared: its load average was ${w.perCheck.loadAverage.join(' / ')} on 2 cores, so wall times are long. Outcomes: ${Object.entries(w.perCheck.outcomes).map(([k, v]) => `${k} ${v}`).join(', ')}.`,
    `The database side over the ${w.data.autoresponders.toLocaleString('en')} seeded autoresponders (${w.data.watched.toLocaleString('en')} of them migrated, so watched): the first full pass gave ${w.db.firstSyncAdded.toLocaleString('en')} slots in ${w.db.firstSyncMs} ms, in chunks, the event loop never held up longer than ${w.db.firstSyncLongestBlockMs} ms; a full pass with nothing to do ${w.db.fullSyncMs} ms (every ${FULL_SYNC_EVERY_MS / 3_600_000} h); the periodic sync of five minutes of changes (350 migrations) ${w.db.steadySyncMs} ms; the runner's question "what is due" ${w.db.dueQueryMs} ms.`,
    '',
    '| Per hour, 100,000 watched | Cost |',
    '|---|---|',
    `| Checks | ${d.checksPerHour.toLocaleString('en')} (${d.checksPerSecond}/s, evenly: each autoresponder has its slot; catching up after a stop is paced to at most twice that) |`,
    `| App CPU | ${d.appCpuSecondsPerHour} s (${round(d.appCoreShare * 100, 2)} % of one core), counting every check at a mailbox check's cost (a v3 check is one or two HTTPS requests) |`,
    `| Connections open at once, on average | ${d.openAtOnce} (the caps are ${'`BULK_CONCURRENCY`'} and ${'`BULK_PER_HOST_CONCURRENCY`'}; the watch takes at most half the first) |`,
    `| Syncs (periodic and full) | ${d.syncSecondsPerHour} s of database time |`,
    `| Connection checks stored | ${d.connectionChecksPerDay.toLocaleString('en')} rows a day; the passing ones are kept ${PASSING_WATCH_CHECKS_KEPT_MS / 86_400_000} days (about ${(d.connectionChecksPerDay * PASSING_WATCH_CHECKS_KEPT_MS / 86_400_000).toLocaleString('en')} rows at a time), the rest ${CHECKS_KEPT_MS / 86_400_000} days |`,
    '',
    '| Mail host (mix of the data) | Autoresponders | Checks / hour | IMAP logins / hour | SMTP logins / hour | Allegro requests / hour | Open at once (avg) |',
    '|---|---|---|---|---|---|---|',
    ...d.perHost.map((h) => `| ${h.host} | ${h.autoresponders.toLocaleString('en')} | ${h.checksPerHour} | ${h.imapLoginsPerHour} | ${h.smtpLoginsPerHour} | ${h.apiRequestsPerHour} | ${h.openAtOnce} |`),
    '',
    `Each relinked mailbox costs its mail host one IMAP and one SMTP login a day (Gmail allows 15 IMAP connections per account; the watch holds one, for about ${Math.round(w.perCheck.wallMs.mean)} ms). A v3 autoresponder costs Allegro ${ALLEGRO_REQUESTS_PER_CHECK} requests a day (its access token lives 12 hours, so a refresh, then one Message Center read); Allegro's cost was not measured here (no network), only counted. Figures for the Allegro row use the mail check's wall time.`,
    '',
  ];
}

// `npm run bench:watch`: only this part, on its own 100,000 rows, then the report files updated.
if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const { mkdtempSync, rmSync, writeFileSync, existsSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const path = await import('node:path');
  const Fastify = (await import('fastify')).default;
  const app = (await import('../src/app.js')).default;
  const { loadConfig } = await import('../src/config.js');
  const { migrate, openDatabase } = await import('../src/db/database.js');
  const { startDovecot } = await import('../test/helpers/dovecot.js');
  const { seed } = await import('./seed.js');
  const rows = Number(process.env.BENCH_ROWS ?? 100_000);
  const checks = Number(process.env.BENCH_WATCH_CHECKS ?? 200);
  const password = 'abcdefghijklmnop';
  const users = Array.from({ length: checks }, (_, i) => `watch${i}@gmail.com`);
  const dir = mkdtempSync(path.join(tmpdir(), 'mig-bench-watch-'));
  const dovecot = await startDovecot(users.map((user) => ({ user, password })));
  let fastify: ReturnType<typeof Fastify> | undefined;
  try {
    const dbFile = path.join(dir, 'bench.db');
    const db = openDatabase(dbFile);
    migrate(db);
    seed(db, rows);
    db.pragma('optimize');
    db.close();
    const smtpPort = await freePort();
    fastify = Fastify({ logger: false });
    await fastify.register(app, {
      config: loadConfig({
        DATABASE_PATH: dbFile,
        APP_SECRET_KEY: 'GzLCjLOMBUgOzMG9YP+XAptXoFyWcYuW2tfp2EiU9Uk=',
        DEMO: '0', OPERATOR_NAME: 'Bench Operator', SUPPORT_EMAIL: 'pomoc@example.pl',
        LOG_LEVEL: 'warn',
        ALLEGRO_ENV: 'sandbox',
        MAIL_TLS_CA_FILE: testCert().certFile,
        MAIL_ADDRESS_ALLOWLIST: '127.0.0.1',
        MAIL_PORT_ALLOWLIST: `${dovecot.port},${smtpPort}`,
        // Measured by calling the watch, not left running beside the measurement.
        WATCH_ENABLED: '0',
      }),
    });
    await fastify.ready();
    const report = await benchWatch(fastify, { imapPort: dovecot.port, smtpPort, users, password, checks });
    console.log(JSON.stringify(report, null, 2));
    const file = path.join(PROJECT_ROOT, 'bench', 'report.json');
    const full = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>) : {};
    full.watch = { ...report, date: new Date().toISOString(), rows };
    writeFileSync(file, JSON.stringify(full, null, 2) + '\n');
    console.log('Updated the watch section of bench/report.json; rewriting bench/REPORT.md');
  } finally {
    await fastify?.close();
    await dovecot.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  // The watch's section of REPORT.md replaced (or added); the rest of the report is left as the last full run wrote it.
  const { readFileSync: read, writeFileSync: write } = await import('node:fs');
  const reportFile = path.join(PROJECT_ROOT, 'bench', 'REPORT.md');
  const full = JSON.parse(read(path.join(PROJECT_ROOT, 'bench', 'report.json'), 'utf8')) as { watch: WatchReport & { date: string } };
  write(reportFile, withWatchSection(read(reportFile, 'utf8'), watchMarkdown(full.watch, full.watch.date).join('\n')));
  console.log('Updated the watch section of bench/REPORT.md');
}
