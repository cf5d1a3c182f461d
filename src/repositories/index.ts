import type { Db } from '../db/database.js';
import { createAuditRepository } from './audit.js';
import { createAutorespondersRepository } from './autoresponders.js';
import { createMailboxesRepository } from './mailboxes.js';
import { createMigrationsRepository } from './migrations.js';
import { createMxCacheRepository } from './mx-cache.js';
import { createSellersRepository } from './sellers.js';
import { createLoginTokensRepository, createSessionsRepository } from './sessions.js';
import { createConnectionChecksRepository } from './connection-checks.js';
import { createAllegroAuthorizationsRepository } from './allegro-authorizations.js';
import { createOAuthStatesRepository } from './oauth-states.js';
import { createV3DraftsRepository } from './v3-drafts.js';
import { createStaffRepository } from './staff.js';
import { createAccountsRepository } from './accounts.js';
import { createJobsRepository, createRemindersRepository } from './jobs.js';
import { createFunnelRepository } from './funnel.js';
import { createWatchRepository } from './watch.js';

/** Every repository over one connection, prepared once. */
export function createRepositories(db: Db, now: () => Date = () => new Date()) {
  const inOneTransaction = db.transaction((reads: () => unknown) => reads());
  return {
    /**
     * Runs a page's reads as one transaction: they see one moment of the database, and SQLite's read
     * lock is taken once instead of by every statement (three system calls each, a few µs: more than
     * most of a page's indexed reads). Reads only: a write in it could fail once another connection
     * (the CLI) has written since its first read.
     */
    read: <T>(reads: () => T): T => inOneTransaction(reads) as T,
    audit: createAuditRepository(db, now),
    sellers: createSellersRepository(db, now),
    mailboxes: createMailboxesRepository(db, now),
    autoresponders: createAutorespondersRepository(db, now),
    migrations: createMigrationsRepository(db, now),
    mxCache: createMxCacheRepository(db),
    sessions: createSessionsRepository(db, now),
    loginTokens: createLoginTokensRepository(db, now),
    connectionChecks: createConnectionChecksRepository(db, now),
    authorizations: createAllegroAuthorizationsRepository(db, now),
    oauthStates: createOAuthStatesRepository(db, now),
    v3Drafts: createV3DraftsRepository(db, now),
    staff: createStaffRepository(db, now),
    accounts: createAccountsRepository(db, now),
    jobs: createJobsRepository(db, now),
    reminders: createRemindersRepository(db, now),
    funnel: createFunnelRepository(db),
    watch: createWatchRepository(db, now),
  };
}
export type Repositories = ReturnType<typeof createRepositories>;
