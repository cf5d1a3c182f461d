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
import { createMailer, type OutgoingMail } from './mail/mailer.js';
import { createMailRenderer } from './mail/render.js';
import { createSlots } from './checks/slots.js';
import { createOutcomes } from './checks/outcome.js';
import { createChecks, type ChecksDeps } from './checks/service.js';
import { createOutbox, type MailCount } from './outbox/outbox.js';
import { createLinks } from './outbox/links.js';
import { nextSendTime } from './outbox/hours.js';
import { createReminders } from './staff/reminders.js';
import { createSignInService } from './seller/sign-in.js';
import { deadlineMeansIn } from './seller/deadline.js';
import { createRelinkService } from './app-password/relink.js';
import { createAllegroClient } from './allegro/client.js';
import { createAuthorizationService } from './allegro/authorization.js';
import { createV3Service } from './v3/switch.js';
import { createStaffActions } from './staff/actions.js';
import { createJobRunner, type RunnerCounters } from './jobs/runner.js';
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
  /** Demo only: where the demo mailer puts the e-mails it does not send (demo/mailbox.ts). */
  onDemoMail?: ((mail: OutgoingMail) => void) | undefined;
  /** The operators' figures (ops/metrics.ts), counted where each thing happens: checks, e-mails, job items. */
  counters?: AppCounters;
}

export interface AppCounters {
  check?: ChecksDeps['count'];
  email?: (mail: MailCount) => void;
  runner?: RunnerCounters;
}

/**
 * The composition root of the whole application: every service the app's routes use, built once
 * over the domain core with explicit dependencies. The Fastify plugin only decorates what this
 * returns and ties the background parts (job runner, mailer) to the server's life.
 */
export function composeApp(services: Services, deps: AppDeps) {
  const { config, i18n, log } = deps;
  const { db, repos, migrationService, secrets, now } = services;
  const checkOptions = { timeoutMs: config.mailCheckTimeoutMs, extraCa: config.mailTlsCa, policy: services.mailServers, routes: deps.mailRoutes };
  const mailer = createMailer({ smtpUrl: config.smtpUrl, from: config.mailFrom, demo: config.demo, log, extraCa: config.mailTlsCa, onDemoMail: deps.onDemoMail });
  // Every e-mail (sign-in links, reminders, the watch's) is rendered by this one renderer from views/mail/,
  // carries links made in one place, and goes out through the one outbox.
  const mail = createMailRenderer(i18n);
  const links = createLinks({ loginTokens: repos.loginTokens, sellers: repos.sellers, publicUrl: config.publicUrl });
  const outbox = createOutbox({ mailer, count: deps.counters?.email });
  const signIn = createSignInService({ repos, outbox: outbox.as('sign_in'), links, mail, demo: config.demo, log, now });

  const a = config.allegro;
  const allegroClient =
    a.clientId && a.clientSecret
      ? createAllegroClient({ authUrl: a.authUrl, apiUrl: a.apiUrl, clientId: a.clientId, clientSecret: a.clientSecret, redirectUri: a.redirectUri, userAgent: a.userAgent, timeoutMs: a.timeoutMs, log })
      : null;
  const allegro = createAuthorizationService(services, allegroClient, log);

  // The one door to "does this connection work now?" and the caps every connection is held to: the
  // job runner's items and the requests of sellers and agents share them.
  const slots = createSlots({ global: config.bulkConcurrency, perHost: config.bulkPerHostConcurrency });
  const outcomes = createOutcomes({ db, repos, migrationService, now, noticeNotBefore: (at) => nextSendTime(at, config.watchSendHours) });
  const checks = createChecks({
    db,
    repos,
    secrets,
    now,
    mail: checkOptions,
    slots,
    outcomes,
    readThreads: allegroClient ? (authorizationId, limit) => allegro.withToken(authorizationId, (token) => allegroClient.listThreads(token, { limit })) : null,
    count: deps.counters?.check,
  });
  const relink = createRelinkService({ db, repos, migrationService, secrets, now, checks });
  const v3 = createV3Service({ db, repos, migrationService, detection: services.detection, now, checks });

  const reminders = createReminders({ db, repos, now, outbox: outbox.as('reminder'), links, mail, i18n, reminderMinDays: config.reminderMinDays, migrationDeadline: config.migrationDeadline, deadlineMeans: (lang) => deadlineMeansIn(config, i18n, lang) });
  const staffActions = createStaffActions({ repos, migrationService, checks, reminders });
  const notices = createNoticeSender({ db, repos, now, outbox: outbox.as('watch'), links, mail, log, sendHours: config.watchSendHours, handOver: outcomes.handOver });
  outbox.register(reminders.durable);
  outbox.register(notices.durable);

  // The watch's checks and e-mails run in the job runner's lane: the same caps as bulk jobs, at most
  // half the global cap (staff jobs keep the rest).
  const watch = createWatchService({
    db,
    repos,
    now,
    checks,
    outcomes,
    notices,
    log,
    intervalMs: config.watchIntervalMs,
    maxInFlight: Math.max(1, Math.ceil(config.bulkConcurrency / 2)),
    wake: () => jobs.wake(),
  });
  const staffActor = (job: { createdBy: number }) => ({ type: 'staff' as const, id: job.createdBy });
  const jobs = createJobRunner({
    db,
    repos,
    now,
    log,
    slots,
    backoffBaseMs: config.bulkRetryBaseMs,
    lanes: config.watchEnabled ? [watch.lane] : [],
    counters: deps.counters?.runner,
    // The kinds of bulk job: what an item competes for, and what is done with it.
    kinds: {
      recheck: {
        resources: (item) =>
          item.sellerId === null ? { key: null, host: null } : item.version === 3 ? { key: `seller:${item.sellerId}:allegro`, host: 'allegro' } : { key: item.mailboxId ? `mailbox:${item.mailboxId}` : null, host: item.mailHost },
        run: (job, item) => staffActions.recheck(item.autoresponderId, 'bulk', staffActor(job), { leased: true }),
      },
      remind: {
        resources: (item) => ({ key: item.sellerId === null ? null : `seller:${item.sellerId}`, host: null }),
        run: (job, item) => reminders.remind(item.autoresponderId, { jobId: job.id, itemId: item.id, staffId: job.createdBy }),
      },
      review: {
        resources: () => ({ key: null, host: null }),
        run: (job, item) => staffActions.review(item.autoresponderId, job.note, staffActor(job), job.id),
      },
    },
  });
  // A connection given back by a request may let a waiting item start.
  slots.onFreed(() => jobs.wake());
  const jobService = createJobsService({ db, repos, runner: jobs });
  const staffSignIn = createStaffSignInService({ db, repos, now });
  const staffUsers = createStaffUsersService({ db, repos });
  const accountsExport = createAccountsExport({ repos, now });
  /** After a stop, before anything runs: logins cut off, e-mails in doubt, then the jobs. */
  const recover = () => {
    const interruptedChecks = checks.recover();
    const mails = db.transaction(() => outbox.recover())();
    const jobsResumed = jobs.recover();
    return { interruptedChecks, mails, ...jobsResumed };
  };
  return { i18n, mailer, outbox, signIn, relink, allegroClient, allegro, checks, outcomes, v3, staffActions, jobs, jobService, staffSignIn, staffUsers, accountsExport, watch, recover };
}
export type AppServices = ReturnType<typeof composeApp>;
