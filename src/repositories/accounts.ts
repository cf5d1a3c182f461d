import type { Db } from '../db/database.js';
import { fold } from '../db/database.js';
import type { AccountFilter, Cursor, ListView, Sort } from '../staff/account-filter.js';
import type { MigrationState } from '../migration/states.js';
import { funnelWhere } from './funnel.js';

/** One row of the staff list (account_index, kept by triggers). */
export interface AccountRow {
  autoresponderId: number;
  migrationId: number;
  sellerId: number;
  sellerName: string;
  sellerEmail: string;
  allegroLogin: string | null;
  mailboxId: number | null;
  mailboxEmail: string | null;
  mailHost: string | null;
  provider: string;
  version: number;
  state: MigrationState;
  path: string | null;
  lastErrorCode: string | null;
  /** '' when never checked. */
  lastCheckedAt: string;
  activityAt: string;
}

const COLUMNS = `autoresponder_id AS autoresponderId, migration_id AS migrationId, seller_id AS sellerId, seller_name AS sellerName,
  seller_email AS sellerEmail, allegro_login AS allegroLogin, mailbox_id AS mailboxId, mailbox_email AS mailboxEmail,
  mail_host AS mailHost, provider, version, state, path, last_error_code AS lastErrorCode, last_checked_at AS lastCheckedAt,
  activity_at AS activityAt`;

/** Sort key → column. Every one is NOT NULL, so (column, id) row values order and compare totally. */
const SORT_COLUMNS: Record<Sort, { column: string; key: (r: AccountRow) => string | number }> = {
  name: { column: 'sort_name', key: (r) => fold(r.sellerName) },
  state: { column: 'state', key: (r) => r.state },
  version: { column: 'version', key: (r) => r.version },
  provider: { column: 'provider', key: (r) => r.provider },
  checked: { column: 'last_checked_at', key: (r) => r.lastCheckedAt },
  activity: { column: 'activity_at', key: (r) => r.activityAt },
};

export interface AccountPage {
  rows: AccountRow[];
  total: number;
  /** Cursors for the neighbouring pages, when there are any. */
  next: Cursor | null;
  prev: Cursor | null;
}

/**
 * Reads for the staff console: the filtered, sorted, keyset-paged list, its total, the counts of the
 * overview, and every matching id (bulk jobs, CSV) in id order.
 */
export function createAccountsRepository(db: Db, now: () => Date = () => new Date()) {
  function where(f: AccountFilter): { sql: string; params: unknown[] } {
    const parts = [`state != 'not_affected'`];
    const params: unknown[] = [];
    if (f.state) (parts.push('state = ?'), params.push(f.state));
    if (f.version) (parts.push('version = ?'), params.push(f.version));
    if (f.provider) (parts.push('provider = ?'), params.push(f.provider));
    if (f.code === 'none') parts.push('last_error_code IS NULL');
    else if (f.code) (parts.push('last_error_code = ?'), params.push(f.code));
    if (f.inactiveDays) (parts.push('activity_at < ?'), params.push(new Date(now().getTime() - f.inactiveDays * 86_400_000).toISOString()));
    if (f.q) {
      const q = fold(f.q);
      // Three characters or more: the trigram index (a quoted phrase of trigrams is an exact substring);
      // shorter: a scan, as a trigram index cannot answer it.
      if ([...q].length >= 3) (parts.push('autoresponder_id IN (SELECT rowid FROM account_search WHERE account_search MATCH ?)'), params.push(`"${q.replace(/"/g, '""')}"`));
      else (parts.push('instr(search, ?) > 0'), params.push(q));
    }
    const funnel = funnelWhere(f, now());
    (parts.push(...funnel.parts), params.push(...funnel.params));
    return { sql: parts.join(' AND '), params };
  }

  // Statements are prepared per shape and kept: a handful of filter combinations in practice.
  type Stmt = import('better-sqlite3').Statement<unknown[]>;
  const cache = new Map<string, Stmt>();
  const prepared = (sql: string): Stmt => {
    let s = cache.get(sql);
    if (!s) {
      if (cache.size > 500) cache.clear();
      s = db.prepare<unknown[]>(sql);
      cache.set(sql, s);
    }
    return s;
  };

  return {
    page(f: AccountFilter, v: ListView): AccountPage {
      const w = where(f);
      const { column, key } = SORT_COLUMNS[v.sort];
      const backwards = !!v.before;
      const asc = (v.dir === 'asc') !== backwards;
      const cursor = v.after ?? v.before;
      const cmp = cursor ? ` AND (${column}, autoresponder_id) ${asc ? '>' : '<'} (?, ?)` : '';
      const dir = asc ? 'ASC' : 'DESC';
      const sql = `SELECT ${COLUMNS} FROM account_index WHERE ${w.sql}${cmp} ORDER BY ${column} ${dir}, autoresponder_id ${dir} LIMIT ?`;
      const rows = prepared(sql).all(...w.params, ...(cursor ? [cursor.value, cursor.id] : []), v.size + 1) as AccountRow[];
      const more = rows.length > v.size;
      if (more) rows.pop();
      if (backwards) rows.reverse();
      const total = prepared(`SELECT count(*) FROM account_index WHERE ${w.sql}`).pluck().get(...w.params) as number;
      const at = (r: AccountRow | undefined) => (r ? { value: key(r), id: r.autoresponderId } : null);
      // Going forward there is a previous page whenever we came from a cursor; going back, there is a
      // next page (the one we came from) and a previous one if more rows were found.
      const next = backwards ? at(rows[rows.length - 1]) : more ? at(rows[rows.length - 1]) : null;
      const prev = backwards ? (more ? at(rows[0]) : null) : cursor ? at(rows[0]) : null;
      return { rows, total, next, prev };
    },

    count(f: AccountFilter): number {
      const w = where(f);
      return prepared(`SELECT count(*) FROM account_index WHERE ${w.sql}`).pluck().get(...w.params) as number;
    },

    /** Every matching autoresponder id, in id order (bulk jobs evaluate the filter with this). */
    ids(f: AccountFilter): number[] {
      const w = where(f);
      return prepared(`SELECT autoresponder_id FROM account_index WHERE ${w.sql} ORDER BY autoresponder_id`).pluck().all(...w.params) as number[];
    },

    /** Those of the given ids that are listed (exist and are not "not affected"). */
    listedIds(ids: number[]): number[] {
      const out: number[] = [];
      const stmt = prepared(`SELECT autoresponder_id FROM account_index WHERE autoresponder_id = ? AND state != 'not_affected'`).pluck();
      for (const id of ids) if (stmt.get(id) !== undefined) out.push(id);
      return out;
    },

    /** A chunk of matching rows after an id, in id order: the CSV export streams these. */
    chunk(f: AccountFilter, afterId: number, limit: number): AccountRow[] {
      const w = where(f);
      return prepared(`SELECT ${COLUMNS} FROM account_index WHERE ${w.sql} AND autoresponder_id > ? ORDER BY autoresponder_id LIMIT ?`).all(...w.params, afterId, limit) as AccountRow[];
    },

    get(autoresponderId: number): AccountRow | undefined {
      return prepared(`SELECT ${COLUMNS} FROM account_index WHERE autoresponder_id = ?`).get(autoresponderId) as AccountRow | undefined;
    },

    /** The error codes that occur (the list's filter options); read from the index, not by counting rows. */
    codes(): string[] {
      return prepared(`SELECT DISTINCT last_error_code FROM account_index WHERE last_error_code IS NOT NULL ORDER BY 1`).pluck().all() as string[];
    },

    /** Counts for the overview; `state` covers every migration, the others the listed ones. */
    counts(): { state: Record<string, number>; version: Record<string, number>; provider: Record<string, number>; code: Record<string, number> } {
      const group = (sql: string) =>
        Object.fromEntries((prepared(sql).raw(true).all() as [string | number | null, number][]).map(([k, n]) => [String(k ?? 'none'), n]));
      return {
        state: group(`SELECT state, count(*) FROM account_index GROUP BY state`),
        version: group(`SELECT version, count(*) FROM account_index WHERE state != 'not_affected' GROUP BY version`),
        provider: group(`SELECT provider, count(*) FROM account_index WHERE state != 'not_affected' GROUP BY provider`),
        code: group(`SELECT last_error_code, count(*) FROM account_index WHERE state != 'not_affected' AND last_error_code IS NOT NULL GROUP BY last_error_code ORDER BY 2 DESC`),
      };
    },

    /**
     * Migrated per day (by completion date) of the listed autoresponders that are migrated now, and how
     * many are listed: the overview's chart is drawn from these.
     */
    progress(): { listed: number; migratedByDay: { day: string; n: number }[]; firstDay: string | null } {
      const listed = prepared(`SELECT count(*) FROM account_index WHERE state != 'not_affected'`).pluck().get() as number;
      const migratedByDay = prepared(
        `SELECT substr(m.completed_at, 1, 10) AS day, count(*) AS n FROM migrations m JOIN account_index i ON i.migration_id = m.id
          WHERE i.state IN ('switched_v3', 'relinked_app_password') AND m.completed_at IS NOT NULL GROUP BY day ORDER BY day`,
      ).all() as { day: string; n: number }[];
      const firstDay = prepared(`SELECT substr(min(created_at), 1, 10) FROM migrations`).pluck().get() as string | null;
      return { listed, migratedByDay, firstDay };
    },
  };
}
export type AccountsRepository = ReturnType<typeof createAccountsRepository>;
