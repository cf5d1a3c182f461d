import path from 'node:path';
import type { FastifyBaseLogger } from 'fastify';
import type { AppConfig } from './config.js';
import type { Db } from './db/database.js';
import { loadKeys, type LoadedKeys } from './crypto/key-store.js';
import type { Keyring } from './crypto/secret-box.js';
import { createMxLookup, fileMxResolver, systemMxResolver, type MxResolver } from './detection/mx-lookup.js';
import { STRICT_MAIL_SERVER_POLICY, type MailServerPolicy } from './mail/servers.js';
import type { MailRoutes } from './mail/mail-route.js';
import type { I18n } from './i18n/index.js';
import { createMailer } from './mail/mailer.js';
import { createMailRenderer } from './mail/render.js';
import { createSignInService } from './seller/sign-in.js';
import { createRelinkService } from './app-password/relink.js';
import { createAllegroClient } from './allegro/client.js';
import { createAuthorizationService } from './allegro/authorization.js';
import { createV3Service } from './v3/switch.js';
import { createStaffActions } from './staff/actions.js';
import { createJobRunner } from './jobs/runner.js';
import { createJobsService } from './jobs/jobs.js';
import { createNoticeSender } from './watch/notice.js';
import { createWatchService } from './watch/service.js';
import { createStaffSignInService } from './staff/sign-in.js';
import { createStaffUsersService } from './staff/users.js';
import { createAccountsExport } from './staff/export.js';
import { createRepositories } from './repositories/index.js';
import { createDetectionService } from './detection/service.js';
import { createMigrationService } from './migration/service.js';
import { createSecretsService } from './crypto/secrets.js';

export interface ServicesOptions {
  db: Db;
  keyring: Keyring;
  /** Where MX answers come from: real DNS, the demo file, or a test table. */
  mxResolver: MxResolver;
  mxCacheTtlMs?: number;
  now?: () => Date;
  /** Where mail servers may be: the import checks rows with it, mail checks connections. Default: strict. */
  mailServers?: MailServerPolicy;
}

/**
 * The domain core: repositories and the services every entry point needs, over one connection. The
 * HTTP app, the CLI and the tests all build the same object, so no one wires services differently.
 */
export function createServices(opts: ServicesOptions) {
  const now = opts.now ?? (() => new Date());
  const repos = createRepositories(opts.db, now);
  const migrationService = createMigrationService({ db: opts.db, migrations: repos.migrations, audit: repos.audit, now });
  const lookupMx = createMxLookup({ resolver: opts.mxResolver, cache: repos.mxCache, ttlMs: opts.mxCacheTtlMs ?? 24 * 3_600_000, now });
  const detection = createDetectionService({ db: opts.db, repos, lookupMx, migrationService });
  const secrets = createSecretsService(opts.keyring);
  return { db: opts.db, repos, migrationService, detection, secrets, now, mailServers: opts.mailServers ?? STRICT_MAIL_SERVER_POLICY };
}
export type Services = ReturnType<typeof createServices>;

/** Where MX answers come from for this configuration: the demo file or real DNS. */
export function resolverFor(config: AppConfig): MxResolver {
  return config.mxResolver === 'demo' ? fileMxResolver(path.join(config.demoDir, 'mx.json')) : systemMxResolver(config.dnsTimeoutMs);
}

/** The mail server policy the configuration sets, for the import and every mail connection. */
export function mailServerPolicyFor(config: AppConfig): MailServerPolicy {
  return { ports: config.mailPortAllowlist, allowedAddresses: config.mailAddressAllowlist };
}

/** The encryption keys of this configuration (APP_SECRET_KEY, or the key file, created on first use). */
export function keysFor(config: AppConfig): LoadedKeys {
  return loadKeys(config.secretKeys ? { kind: 'env', keys: config.secretKeys } : { kind: 'file', file: config.secretKeyFile });
}

export interface AppDeps {
  config: AppConfig;
  i18n: I18n;
  log: FastifyBaseLogger;
  /** Demo only: Google's mail hosts routed to the local Google simulator (mail/mail-route.ts). */
  mailRoutes?: MailRoutes | undefined;
}

/**
 * The composition root of the whole application: every service the app's routes use, built once
 * over the domain core with explicit dependencies. The Fastify plugin only decorates what this
 * returns and ties the background parts (job runner, mailer) to the server's life.
 */
export function composeApp(services: Services, deps: AppDeps) {
  const { config, i18n, log } = deps;
  const checkOptions = { timeoutMs: config.mailCheckTimeoutMs, extraCa: config.mailTlsCa, policy: services.mailServers, routes: deps.mailRoutes };
  const mailer = createMailer({ smtpUrl: config.smtpUrl, from: config.mailFrom, demo: config.demo, log, extraCa: config.mailTlsCa });
  // Every e-mail (sign-in links, reminders) is rendered by this one renderer from views/mail/.
  const mail = createMailRenderer(i18n);
  const signIn = createSignInService({ repos: services.repos, mailer, mail, publicUrl: config.publicUrl, demo: config.demo, log, now: services.now });
  const relink = createRelinkService(services, checkOptions);
  const a = config.allegro;
  const allegroClient =
    a.clientId && a.clientSecret
      ? createAllegroClient({ authUrl: a.authUrl, apiUrl: a.apiUrl, clientId: a.clientId, clientSecret: a.clientSecret, redirectUri: a.redirectUri, userAgent: a.userAgent, timeoutMs: a.timeoutMs, log })
      : null;
  const allegro = createAuthorizationService(services, allegroClient, log);
  const v3 = createV3Service(services, allegro, allegroClient);
  const staffActions = createStaffActions({
    services,
    v3,
    allegroClient,
    mailer,
    mail,
    i18n,
    log,
    publicUrl: config.publicUrl,
    reminderMinDays: config.reminderMinDays,
    migrationDeadline: config.migrationDeadline,
    checkOptions,
  });
  // The watch's checks and e-mails run in the job runner's lane: the same global, per-host and
  // per-mailbox caps as bulk jobs, at most half the global cap (staff jobs keep the rest).
  const notices = createNoticeSender({ services, mailer, mail, i18n, log, publicUrl: config.publicUrl, sendHours: config.watchSendHours });
  const watch = createWatchService({
    services,
    v3,
    allegroClient,
    notices,
    log,
    checkOptions,
    intervalMs: config.watchIntervalMs,
    sendHours: config.watchSendHours,
    maxInFlight: Math.max(1, Math.ceil(config.bulkConcurrency / 2)),
    wake: () => jobs.wake(),
  });
  const jobs = createJobRunner({
    services,
    actions: staffActions,
    log,
    concurrency: config.bulkConcurrency,
    perHost: config.bulkPerHostConcurrency,
    backoffBaseMs: config.bulkRetryBaseMs,
    lanes: config.watchEnabled ? [watch.lane] : [],
  });
  const jobService = createJobsService({ db: services.db, repos: services.repos, runner: jobs });
  const staffSignIn = createStaffSignInService({ db: services.db, repos: services.repos, now: services.now });
  const staffUsers = createStaffUsersService({ db: services.db, repos: services.repos });
  const accountsExport = createAccountsExport({ repos: services.repos, now: services.now });
  return { i18n, mailer, signIn, relink, allegroClient, allegro, v3, staffActions, jobs, jobService, staffSignIn, staffUsers, accountsExport, watch };
}
export type AppServices = ReturnType<typeof composeApp>;
