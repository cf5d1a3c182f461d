import { openDatabase, migrate, type Db } from '../../src/db/database.js';
import { makeKeyring, parseKey, generateKeyText, type Keyring } from '../../src/crypto/secret-box.js';
import type { MxResolver } from '../../src/detection/mx-lookup.js';
import type { MailServerPolicy } from '../../src/mail/servers.js';
import { createServices } from '../../src/composition.js';

/** A fixed test key (never used outside tests). */
export const TEST_KEY_TEXT = 'dGVzdC1rZXktZm9yLXVuaXQtdGVzdHMtb25seS0wMDE=';

export function testKeyring(...extra: string[]): Keyring {
  return makeKeyring([TEST_KEY_TEXT, ...extra].map(parseKey));
}

export function freshKeyText(): string {
  return generateKeyText();
}

/** A resolver answering from a table; a domain mapped to an Error code string throws that code. */
export function tableResolver(table: Record<string, string[] | string>): MxResolver & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    async resolveMx(domain) {
      calls.push(domain);
      const e = table[domain];
      if (e === undefined) throw Object.assign(new Error('not found'), { code: 'ENOTFOUND' });
      if (typeof e === 'string') throw Object.assign(new Error(e), { code: e });
      return e.map((exchange, i) => ({ exchange, priority: 10 * (i + 1) }));
    },
  };
}

export function memoryDb(): Db {
  const db = openDatabase(':memory:');
  migrate(db);
  return db;
}

export function testServices(opts: { db?: Db; resolver?: MxResolver; now?: () => Date; keyring?: Keyring; mailServers?: MailServerPolicy } = {}) {
  const db = opts.db ?? memoryDb();
  return createServices({ db, keyring: opts.keyring ?? testKeyring(), mxResolver: opts.resolver ?? tableResolver({}), now: opts.now, mailServers: opts.mailServers });
}
