import type { Db } from '../db/database.js';
import type { MxCacheEntry, MxCacheStore } from '../domain/model.js';

export function createMxCacheRepository(db: Db): MxCacheStore {
  const get = db.prepare(`SELECT status, hosts, checked_at AS checkedAt FROM mx_cache WHERE domain = ?`);
  const put = db.prepare(
    `INSERT INTO mx_cache (domain, status, hosts, checked_at) VALUES (@domain, @status, @hosts, @checkedAt)
     ON CONFLICT (domain) DO UPDATE SET status = excluded.status, hosts = excluded.hosts, checked_at = excluded.checked_at`,
  );
  return {
    get(domain) {
      const r = get.get(domain) as { status: 'ok' | 'no_mx'; hosts: string; checkedAt: string } | undefined;
      return r ? { status: r.status, hosts: JSON.parse(r.hosts) as string[], checkedAt: r.checkedAt } : undefined;
    },
    put(domain, e: MxCacheEntry) {
      put.run({ domain, status: e.status, hosts: JSON.stringify(e.hosts), checkedAt: e.checkedAt });
    },
  };
}
