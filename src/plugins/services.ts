import fp from 'fastify-plugin';
import type { AppConfig } from '../config.js';
import { loadKeys, type LoadedKeys } from '../crypto/key-store.js';
import type { Keyring } from '../crypto/secret-box.js';
import { migrate, openDatabase, type Db } from '../db/database.js';
import type { MailServerPolicy } from '../domain/mail-servers.js';
import { fileMxResolver, systemMxResolver, type MxResolver } from '../domain/mx-lookup.js';
import { createServices, type Services } from '../services/index.js';
import path from 'node:path';
import { createI18n, type I18n } from '../i18n/index.js';
import { createMailer, type Mailer } from '../services/mailer.js';
import { createSignInService, type SignInService } from '../services/sign-in.js';
import { createRelinkService, type RelinkService } from '../services/relink.js';
import { createAllegroClient } from '../allegro/client.js';
import { createAuthorizationService, type AuthorizationService } from '../services/allegro-authorization.js';
import { createV3Service, type V3Service } from '../services/v3-switch.js';
import { MAINTENANCE_INTERVAL_MS, purgeExpired } from '../services/maintenance.js';
import { createStaffActions, type StaffActions } from '../services/staff-actions.js';
import { createJobRunner, type JobRunner } from '../services/job-runner.js';

declare module 'fastify' {
  interface FastifyInstance {
    config: AppConfig;
    services: Services;
    i18n: I18n;
    mailer: Mailer;
    signIn: SignInService;
    relink: RelinkService;
    allegro: AuthorizationService;
    v3: V3Service;
    staffActions: StaffActions;
    jobs: JobRunner;
  }
}

export interface ServicesPluginOptions {
  config: AppConfig;
  /** Injected by tests; otherwise opened from config.databasePath (and closed with the app). */
  db?: Db;
  keyring?: Keyring;
  mxResolver?: MxResolver;
  now?: () => Date;
}

export function resolverFor(config: AppConfig): MxResolver {
  return config.mxResolver === 'demo' ? fileMxResolver(path.join(config.demoDir, 'mx.json')) : systemMxResolver(config.dnsTimeoutMs);
}

/** The mail server policy the configuration sets, for the import and every mail connection. */
export function mailServerPolicyFor(config: AppConfig): MailServerPolicy {
  return { ports: config.mailPortAllowlist, allowedAddresses: config.mailAddressAllowlist };
}

export function keysFor(config: AppConfig): LoadedKeys {
  return loadKeys(config.secretKeys ? { kind: 'env', keys: config.secretKeys } : { kind: 'file', file: config.secretKeyFile });
}

/**
 * Infrastructure: the database (migrated on boot), the keyring, and the domain services, exposed
 * as typed decorators. Routes reach data only through `fastify.services`.
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
    const i18n = await createI18n();
    const mailer = createMailer({ smtpUrl: config.smtpUrl, from: config.mailFrom, demo: config.demo, log: fastify.log, extraCa: config.mailTlsCa });
    if (mailer.mode === 'none') fastify.log.warn('SMTP_URL is not set: sign-in links and reminders cannot be sent');
    fastify.decorate('config', config);
    fastify.decorate('services', services);
    fastify.decorate('i18n', i18n);
    fastify.decorate('mailer', mailer);
    fastify.decorate('signIn', createSignInService({ repos: services.repos, mailer, i18n, publicUrl: config.publicUrl, demo: config.demo, log: fastify.log, now: services.now }));
    const checkOptions = { timeoutMs: config.mailCheckTimeoutMs, extraCa: config.mailTlsCa, policy: services.mailServers };
    fastify.decorate('relink', createRelinkService(services, checkOptions));
    const a = config.allegro;
    const client =
      a.clientId && a.clientSecret
        ? createAllegroClient({ authUrl: a.authUrl, apiUrl: a.apiUrl, clientId: a.clientId, clientSecret: a.clientSecret, redirectUri: a.redirectUri, userAgent: a.userAgent, timeoutMs: a.timeoutMs, log: fastify.log })
        : null;
    if (!client) fastify.log.warn('ALLEGRO_CLIENT_ID / ALLEGRO_CLIENT_SECRET are not set: switching to version 3 is unavailable');
    const allegro = createAuthorizationService(services, client, fastify.log);
    fastify.decorate('allegro', allegro);
    const v3 = createV3Service(services, allegro);
    fastify.decorate('v3', v3);
    const staffActions = createStaffActions({
      services,
      v3,
      allegro,
      mailer,
      i18n,
      log: fastify.log,
      publicUrl: config.publicUrl,
      reminderMinDays: config.reminderMinDays,
      migrationDeadline: config.migrationDeadline,
      checkOptions,
    });
    fastify.decorate('staffActions', staffActions);
    const jobs = createJobRunner({ services, actions: staffActions, log: fastify.log, concurrency: config.bulkConcurrency, perHost: config.bulkPerHostConcurrency, backoffBaseMs: config.bulkRetryBaseMs });
    fastify.decorate('jobs', jobs);
    // Unfinished bulk jobs go on where they stopped.
    fastify.addHook('onReady', async () => {
      const recovered = jobs.recover();
      if (recovered.resumed + recovered.uncertain > 0) fastify.log.warn(recovered, 'bulk jobs resumed after a restart');
      jobs.start();
    });
    fastify.addHook('onClose', async () => jobs.stop());
    fastify.addHook('onClose', async () => mailer.close());
    // Expired sessions, sign-in links and authorization requests are deleted now and then.
    const tidy = () => {
      try {
        const purged = purgeExpired(services);
        if (Object.values(purged).some((n) => n > 0)) fastify.log.info({ purged }, 'expired sessions and links deleted');
      } catch (err) {
        fastify.log.error({ err }, 'maintenance failed');
      }
    };
    const timer = setInterval(tidy, MAINTENANCE_INTERVAL_MS);
    timer.unref();
    fastify.addHook('onReady', async () => tidy());
    fastify.addHook('onClose', async () => clearInterval(timer));
    if (ownsDb) {
      fastify.addHook('onClose', async () => {
        db.close();
      });
    }
  },
  { name: 'services', fastify: '5.x' },
);
