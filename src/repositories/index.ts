import type { Db } from '../db/database.js';
import { createAuditRepository } from './audit.js';
import { createAutorespondersRepository } from './autoresponders.js';
import { createMailboxesRepository } from './mailboxes.js';
import { createMigrationsRepository } from './migrations.js';
import { createMxCacheRepository } from './mx-cache.js';
import { createSellersRepository } from './sellers.js';

/** Every repository over one connection, prepared once. */
export function createRepositories(db: Db, now: () => Date = () => new Date()) {
  return {
    audit: createAuditRepository(db, now),
    sellers: createSellersRepository(db, now),
    mailboxes: createMailboxesRepository(db, now),
    autoresponders: createAutorespondersRepository(db, now),
    migrations: createMigrationsRepository(db, now),
    mxCache: createMxCacheRepository(db),
  };
}
export type Repositories = ReturnType<typeof createRepositories>;
