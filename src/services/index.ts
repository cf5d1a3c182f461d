import type { Db } from '../db/database.js';
import type { Keyring } from '../crypto/secret-box.js';
import { STRICT_MAIL_SERVER_POLICY, type MailServerPolicy } from '../domain/mail-servers.js';
import { createMxLookup, type MxResolver } from '../domain/mx-lookup.js';
import { createRepositories } from '../repositories/index.js';
import { createDetectionService } from './detection-service.js';
import { createMigrationService } from './migration-service.js';
import { createSecretsService } from './secrets.js';

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
 * The composition root of the domain: repositories and services over one connection. The HTTP
 * app, the CLI and the tests all build the same object, so no one wires services differently.
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
