import fp from 'fastify-plugin';
import type { AppConfig } from '../config.js';
import type { Keyring } from '../crypto/secret-box.js';
import { migrate, openDatabase, type Db } from '../db/database.js';
import type { MxResolver } from '../detection/mx-lookup.js';
import { composeApp, createServices, keysFor, mailServerPolicyFor, resolverFor, type AppServices, type Services } from '../composition.js';
import { createI18n } from '../i18n/index.js';
import { CHECKS_PURGE_EVERY_MS, MAINTENANCE_INTERVAL_MS, purgeExpired, purgeOldChecks } from '../ops/maintenance.js';
import type { DemoWiring } from '../demo/wiring.js';
import { createMetrics, type Metrics } from '../ops/metrics.js';
import { createReadiness, type ReadinessProbe } from '../ops/readiness.js';
import { readOpsEnv, type OpsSettings } from '../ops/ops-env.js';

declare module 'fastify' {
  interface FastifyInstance extends AppServices {
    config: AppConfig;
    services: Services;
    /** Demo only: what the simulators plug in (undefined otherwise). */
    demo: DemoWiring | undefined;
    /** What the team running the service sees: /metrics, /readyz, and the stop's time limit. */
    ops: { metrics: Metrics; readiness: ReadinessProbe; settings: OpsSettings };
  }
}

/** The job runner is woken at least this often, so a stuck one shows on /readyz (three missed beats). */
export const RUNNER_HEARTBEAT_MS = 5_000;

export interface ServicesPluginOptions {
  config: AppConfig;
  /** Injected by tests; otherwise opened from config.databasePath (and closed with the app). */
  db?: Db;
  keyring?: Keyring;
  mxResolver?: MxResolver;
  now?: () => Date;
  /** Demo only (server.ts makes it): Google's mail hosts routed to the simulator, the wizard's demo password. */
  demo?: DemoWiring | undefined;
  /** METRICS_TOKEN and SHUTDOWN_TIMEOUT_MS; read from the environment when not given (ops/ops-env.ts). */
  ops?: Partial<OpsSettings>;
}

/**
 * Infrastructure: opens and migrates the database, loads the keyring, builds every service through
 * the composition root (src/composition.ts) and exposes them as typed decorators. It also ties the
 * background work (bulk jobs, clean-up of expired rows, the mailer) to the server's life.
 */
export default fp(
  async (fastify, opts: ServicesPluginOptions) => {
    const ownsDb = !opts.db;
    const db = opts.db ?? openDatabase(opts.config.databasePath);
    const migrated = migrate(db);
    if (migrated.from !== migrated.to) fastify.log.info({ schema: migrated }, 'database schema upgraded');
    let keyring = opts.keyring;
    if (!keyring) {
      const keys = keysFor(opts.config);
      keyring = keys.keyring;
      if (keys.created) fastify.log.warn({ file: opts.config.secretKeyFile }, 'created a new encryption key file; back it up');
      if (keys.tightened) fastify.log.warn({ file: opts.config.secretKeyFile }, 'key file permissions were too open; set to 0600');
    }
    const config = opts.config;
    const services = createServices({ db, keyring, mxResolver: opts.mxResolver ?? resolverFor(config), mxCacheTtlMs: config.mxCacheTtlMs, now: opts.now, mailServers: mailServerPolicyFor(config) });
    // Demo only (config refuses it otherwise): Google's mail hosts go to the local Google simulator.
    const settings = { ...readOpsEnv(), ...opts.ops };
    const metrics = createMetrics(db, { now: opts.now });
    const app = composeApp(services, { config, i18n: await createI18n(), log: fastify.log, mailRoutes: opts.demo?.mailRoutes, onDemoMail: opts.demo?.mailbox?.add, counters: { check: metrics.check, email: metrics.email, runner: metrics.runner } });
    let runnerRunning = false;
    const readiness = createReadiness({ db, keyring, runner: () => ({ ...metrics.pulse(), running: runnerRunning }), quietMs: RUNNER_HEARTBEAT_MS * 3 });
    if (app.mailer.mode === 'none') fastify.log.warn('SMTP_URL is not set: sign-in links and reminders cannot be sent');
    if (!app.allegroClient) fastify.log.warn('ALLEGRO_CLIENT_ID / ALLEGRO_CLIENT_SECRET are not set: switching to version 3 is unavailable');
    fastify.decorate('config', config);
    fastify.decorate('services', services);
    fastify.decorate('demo', opts.demo);
    fastify.decorate('ops', { metrics, readiness, settings });
    for (const [name, value] of Object.entries(app)) fastify.decorate(name as keyof AppServices, value as never);

    const { jobs, mailer } = app;
    // Unfinished bulk jobs go on where they stopped.
    fastify.addHook('onReady', async () => {
      const recovered = app.recover();
      const uncertain = Object.values(recovered.mails).reduce((n, k) => n + k.uncertain + k.again, 0);
      if (recovered.resumed + uncertain + recovered.interruptedChecks > 0) fastify.log.warn(recovered, 'work resumed after a restart');
      jobs.start();
      runnerRunning = true;
      // The runner is woken by work; the heartbeat also wakes it now and then (only once it has
      // started, after the recovery), so a pass is never far behind and /readyz can tell a runner
      // that stopped passing.
      heartbeat = setInterval(() => jobs.wake(), RUNNER_HEARTBEAT_MS);
      heartbeat.unref();
    });
    let heartbeat: NodeJS.Timeout | undefined;
    // The watch over migrated autoresponders: its schedule is kept by a timer, its items run in the
    // job runner (recovered above with the jobs). WATCH_ENABLED=0 leaves both off.
    if (config.watchEnabled) fastify.addHook('onReady', async () => app.watch.start());
    // Expired sessions, sign-in links and authorization requests are deleted now and then.
    let checksPurgedAt = 0;
    const tidy = () => {
      try {
        const purged = purgeExpired(services);
        if (Object.values(purged).some((n) => n > 0)) fastify.log.info({ purged }, 'expired sessions and links deleted');
      } catch (err) {
        fastify.log.error({ err }, 'maintenance failed');
      }
      if (Date.now() - checksPurgedAt < CHECKS_PURGE_EVERY_MS) return;
      checksPurgedAt = Date.now();
      purgeOldChecks(services)
        .then((n) => n > 0 && fastify.log.info({ rows: n }, 'old connection checks and watch incidents deleted'))
        .catch((err: unknown) => fastify.log.error({ err }, 'deleting old connection checks failed'));
    };
    const timer = setInterval(tidy, MAINTENANCE_INTERVAL_MS);
    timer.unref();
    fastify.addHook('onReady', async () => tidy());
    // The stop, in one hook and in order (separate onClose hooks run last added, first run, which
    // once closed the database before the job items in flight could settle): no new work; sign-in
    // links being sent, the watch's and the jobs' items in flight finish and settle (a retryable
    // failure goes back to the queue); then the mailer they used, then the database.
    fastify.addHook('onClose', async () => {
      readiness.stopping();
      clearInterval(heartbeat);
      clearInterval(timer);
      await app.signIn.idle();
      if (config.watchEnabled) await app.watch.stop();
      await jobs.stop();
      runnerRunning = false;
      await mailer.close();
      if (ownsDb) db.close();
    });
  },
  { name: 'services', fastify: '5.x' },
);
