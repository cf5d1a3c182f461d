import type { Db } from '../db/database.js';
import { fold } from '../db/database.js';
import { isStateGroup, OUTAGE_DAYS, searchWords, statesOf, TOTAL_CAP, type AccountFilter, type Cursor, type ListView, type Sort } from '../accounts/filter.js';
import { AWAITING_SELLER_STATES, type MigrationState } from '../migration/states.js';
import { createFunnelRepository, funnelWhere } from './funnel.js';
import { BROKE_SQL } from './watch.js';

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
/** The same columns of account_index aliased as i (when joined to the search index). */
const COLUMNS_I = COLUMNS.split(/,\s*/).map((c) => `i.${c.trim()}`).join(', ');

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
  /** Exact when `totalCapped` is false; otherwise TOTAL_CAP + 1, meaning "more than TOTAL_CAP". */
  total: number;
  totalCapped: boolean;
  /** Cursors for the neighbouring pages, when there are any. */
  next: Cursor | null;
  prev: Cursor | null;
}

/**
 * How a page is read: walk an index in the list's order testing each row (or, for a search, testing
 * ids against the search's matches), or collect the matches and sort them.
 */
export type PageStrategy = 'walk' | 'walk-search-set' | 'collect';

interface Query {
  sql: string;
  params: unknown[];
}

interface Attempt {
  strategy: PageStrategy;
  query: Query;
  /** Rows the walk may test before it gives up for the next attempt. */
  budget?: number;
}

/** A budgeted walk tests at most this many times the rows it is expected to (and never fewer than the minimum). */
const WALK_BUDGET_FACTOR = 2;
const WALK_BUDGET_MIN = 200;

class WalkBudgetSpent extends Error {}
/** Rows the running budgeted walk may still test (reads are synchronous: one walk runs at a time). */
let budgetLeft = Infinity;

/** The state, version and provider tokens of account_search's tags column (schema 7). */
const STATE_TAGS: Record<string, string> = {
  affected: 'Saf',
  unknown: 'Sun',
  in_progress_v3: 'Si3',
  in_progress_app_password: 'Sia',
  switched_v3: 'Ssw',
  relinked_app_password: 'Sre',
  needs_attention: 'Sna',
  reviewed: 'Srv',
};
const PROVIDER_TAGS: Record<string, string> = { gmail: 'Pgm', workspace: 'Pws', other: 'Pot', unknown: 'Pun' };

type EqColumn = 'state' | 'version' | 'provider' | 'code';
const filtered = (f: AccountFilter, c: EqColumn): boolean => f[c] !== undefined;
/** Whether an index led by this column reads the filter's rows in the list's order (a group of states is several ranges). */
const walkable = (f: AccountFilter, c: EqColumn): boolean => filtered(f, c) && !(c === 'state' && isStateGroup(f.state));
/** The state filter as SQL over a column: one state, or the states of a group. */
function stateTerm(f: AccountFilter): { sql: string; params: string[] } {
  const states = statesOf(f.state!);
  return { sql: states.length === 1 ? 'state = ?' : `state IN (${states.map(() => '?').join(', ')})`, params: [...states] };
}

/**
 * The indexes the list walks, per order: those led by an equality filter first (they read only the
 * filtered range), then the plain one. All end in autoresponder_id, so (column, id) keyset paging
 * seeks straight to the page.
 */
const WALKS: Record<Sort, { index: string; prefix?: EqColumn }[]> = {
  name: [
    { index: 'account_index_state_name', prefix: 'state' },
    { index: 'account_index_version_name', prefix: 'version' },
    { index: 'account_index_name' },
  ],
  checked: [{ index: 'account_index_error_checked', prefix: 'code' }, { index: 'account_index_checked' }],
  activity: [{ index: 'account_index_listed_activity' }],
  state: [{ index: 'account_index_state' }],
  version: [{ index: 'account_index_version_id' }],
  provider: [{ index: 'account_index_provider_id' }],
};

/** The index that reads exactly the rows of one equality filter, when matches are few enough to collect. */
const COLLECT_BY: Record<EqColumn, string> = {
  state: 'account_index_state',
  version: 'account_index_version_id',
  provider: 'account_index_provider',
  code: 'account_index_error_checked',
};

/**
 * Reads for the staff console: the filtered, sorted, keyset-paged list, its total, the counts of the
 * overview, and every matching id (bulk jobs, CSV) in id order.
 *
 * The list reads about one page of rows whatever the table size. Totals of the equality filters (state
 * or a group of states, version, provider, error code) come from account_counts, those of the funnel's
 * conditions from funnel_counts (the overview's figures are these totals); a search or "no activity
 * for N days" is counted up to TOTAL_CAP + 1 through its own index. With that count the page picks the
 * cheaper way: walk an index in the list's order and test each row (expected reads: page size × rows
 * in the walked range ÷ matches), or collect the matches through the filter's index and sort them
 * (reads: the matches).
 */
export function createAccountsRepository(db: Db, now: () => Date = () => new Date()) {
  const cutoff = (days: number) => new Date(now().getTime() - days * 86_400_000).toISOString();
  /** The search's words (any order, folded as the search text is), or undefined without a search. */
  const folded = (f: AccountFilter): string[] | undefined => {
    const w = f.q ? searchWords(f.q) : [];
    return w.length ? w : undefined;
  };
  /** A trigram index answers words of three characters or more. */
  const long = (w: string) => [...w].length >= 3;
  /** The index answers a search with at least one long word; shorter words are tested on the rows it yields. */
  const useFts = (q: string[] | undefined): q is string[] => q !== undefined && q.some(long);
  /** The search's words as substring tests of the row (only the short ones, when the index answers the rest). */
  const textTerms = (q: string[] | undefined, onlyShort: boolean, alias = ''): Query => {
    const words = (q ?? []).filter((w) => !onlyShort || !long(w));
    return { sql: words.map(() => `instr(${alias}search, ?) > 0`).join(' AND '), params: words };
  };
  const funnel = createFunnelRepository(db);

  /**
   * The to-do filters (accounts/figures.ts, "Do zrobienia dziś"): a reminder that failed for good or
   * is uncertain, an outage on a mail host. Each reads a few rows through its own index (job items
   * that failed, uncertain reminders, failing watches), never the whole table.
   */
  function todoTerms(f: AccountFilter, alias = ''): Query {
    const sql: string[] = [];
    const params: unknown[] = [];
    // The unary + keeps SQLite from reading every awaiting row by the state index: the few matches of
    // the subquery drive the read, the state is tested on each of them.
    const awaiting = `+${alias}state IN (${AWAITING_SELLER_STATES.map((s) => `'${s}'`).join(', ')})`;
    if (f.reminder === 'failed')
      sql.push(
        awaiting,
        // Not correlated with the outer row (its seller is read through x), so the few refused items drive the read.
        `${alias}autoresponder_id IN (SELECT ji.autoresponder_id FROM job_items ji INDEXED BY job_items_failed_outcome JOIN jobs j ON j.id = ji.job_id
           JOIN account_index x ON x.autoresponder_id = ji.autoresponder_id
           WHERE ji.status = 'failed' AND ji.outcome = 'MIG_ERR_SEND_REFUSED' AND j.kind = 'remind'
             AND NOT EXISTS (SELECT 1 FROM reminders r WHERE r.seller_id = x.seller_id AND r.status != 'failed' AND r.created_at > ji.updated_at))`,
      );
    if (f.reminder === 'uncertain')
      sql.push(
        awaiting,
        // The seller's newest reminder that may have reached them is uncertain (what "resend" acts on: reminders.latestFor).
        `${alias}seller_id IN (SELECT r.seller_id FROM reminders r INDEXED BY reminders_unknown WHERE r.status = 'unknown'
           AND NOT EXISTS (SELECT 1 FROM reminders r2 WHERE r2.seller_id = r.seller_id AND r2.status != 'failed' AND (r2.created_at > r.created_at OR (r2.created_at = r.created_at AND r2.id > r.id))))`,
      );
    if (f.outage) {
      sql.push(
        `${alias}autoresponder_id IN (SELECT autoresponder_id FROM watches WHERE failing_since IS NOT NULL AND failing_since <= ?)`,
        `(CASE WHEN ${alias}version = 3 THEN 'allegro' ELSE COALESCE(${alias}mail_host, '?') END) = ?`,
      );
      params.push(cutoff(OUTAGE_DAYS), f.outage);
    }
    return { sql: sql.join(' AND '), params };
  }
  const hasTodo = (f: AccountFilter) => !!(f.reminder || f.outage);

  /** Terms on account_index for the equality filters, optionally leaving out those already answered elsewhere. */
  function eqTerms(f: AccountFilter, skip: (c: EqColumn) => boolean = () => false): Query {
    const sql: string[] = [];
    const params: unknown[] = [];
    if (f.state && !skip('state')) {
      const st = stateTerm(f);
      (sql.push(st.sql), params.push(...st.params));
    }
    if (f.version && !skip('version')) (sql.push('version = ?'), params.push(f.version));
    if (f.provider && !skip('provider')) (sql.push('provider = ?'), params.push(f.provider));
    if (f.code === 'none' && !skip('code')) sql.push('last_error_code IS NULL');
    else if (f.code && !skip('code')) (sql.push('last_error_code = ?'), params.push(f.code));
    return { sql: sql.join(' AND '), params };
  }

  /** Every term of the filter on account_index; the search as a substring test of the row. */
  function rowTerms(f: AccountFilter, skip: (c: EqColumn) => boolean = () => false): Query {
    const sql = [`state != 'not_affected'`];
    const params: unknown[] = [];
    const eq = eqTerms(f, skip);
    if (eq.sql) (sql.push(eq.sql), params.push(...eq.params));
    if (f.inactiveDays) (sql.push('activity_at < ?'), params.push(cutoff(f.inactiveDays)));
    const text = textTerms(folded(f), false);
    if (text.sql) (sql.push(text.sql), params.push(...text.params));
    const funnel = funnelWhere(f, now());
    (sql.push(...funnel.parts), params.push(...funnel.params));
    if (f.broke) sql.push(BROKE_SQL);
    const todo = todoTerms(f);
    if (todo.sql) (sql.push(todo.sql), params.push(...todo.params));
    return { sql: sql.join(' AND '), params };
  }

  /** The search as an FTS5 query: each long word in the search column, and the tags of the filters that have one. */
  function ftsMatch(q: string[], f: AccountFilter): { match: string; tagged: (c: EqColumn) => boolean } {
    const parts = q.filter(long).map((w) => `search : "${w.replace(/"/g, '""')}"`);
    const tagged = new Set<EqColumn>();
    const tag = (c: EqColumn, t: string | undefined) => t && (parts.push(`tags : "${t}"`), tagged.add(c));
    if (f.state && isStateGroup(f.state)) {
      // A group of states: any of their tags.
      parts.push(`(${statesOf(f.state).map((s) => `tags : "${STATE_TAGS[s]}"`).join(' OR ')})`);
      tagged.add('state');
    } else if (f.state) tag('state', STATE_TAGS[f.state]);
    if (f.version) tag('version', `V0${f.version}`);
    if (f.provider) tag('provider', PROVIDER_TAGS[f.provider]);
    return { match: parts.join(' AND '), tagged: (c) => tagged.has(c) };
  }

  /** Rows of the search index joined to account_index, testing what the tags did not answer. */
  function ftsSource(q: string[], f: AccountFilter): { from: string; where: Query; residual: boolean } {
    const { match, tagged } = ftsMatch(q, f);
    const eq = eqTerms(f, tagged);
    const where = ['s.account_search MATCH ?'];
    const params: unknown[] = [match];
    if (eq.sql) (where.push(eq.sql), params.push(...eq.params));
    const short = textTerms(q, true, 'i.');
    if (short.sql) (where.push(short.sql), params.push(...short.params));
    if (f.inactiveDays) (where.push('activity_at < ?'), params.push(cutoff(f.inactiveDays)));
    const funnel = funnelWhere(f, now());
    (where.push(...funnel.parts), params.push(...funnel.params));
    if (f.broke) where.push(BROKE_SQL);
    const todo = todoTerms(f, 'i.');
    if (todo.sql) (where.push(todo.sql), params.push(...todo.params));
    return {
      // CROSS JOIN keeps the search index outermost: it yields only the matches, then each is looked up by id.
      from: 'account_search s CROSS JOIN account_index i ON i.autoresponder_id = s.rowid',
      where: { sql: where.join(' AND '), params },
      residual: where.length > 1,
    };
  }

  /** Exact count of listed rows for the equality filters alone, from the counters. */
  function counted(f: AccountFilter, only?: EqColumn): number {
    const sql = [`state != 'not_affected'`];
    const params: unknown[] = [];
    const use = (c: EqColumn) => only === undefined || only === c;
    if (f.state && use('state')) {
      const st = stateTerm(f);
      (sql.push(st.sql), params.push(...st.params));
    }
    if (f.version && use('version')) (sql.push('version = ?'), params.push(f.version));
    if (f.provider && use('provider')) (sql.push('provider = ?'), params.push(f.provider));
    if (f.code && use('code')) (sql.push('code = ?'), params.push(f.code === 'none' ? '' : f.code));
    return prepared(`SELECT COALESCE(sum(n), 0) FROM account_counts WHERE ${sql.join(' AND ')}`).pluck().get(...params) as number;
  }

  /**
   * The total from the counters, when they can tell: the equality filters alone (account_counts), or
   * the funnel's cells alone (funnel_counts). Null for a search, an activity or reminder-age filter,
   * "broke after migration", or the funnel combined with an equality filter.
   */
  function counterTotal(f: AccountFilter): number | null {
    if (f.q !== undefined || f.inactiveDays || f.broke || hasTodo(f) || f.remindedDays !== undefined) return null;
    if (!f.stage && !f.reached && !f.cohort) return counted(f);
    if (f.state || f.version || f.provider || f.code) return null;
    return funnel.counted(f);
  }

  /** The count query of what the counters cannot tell, reading at most `limit` matches (null: all). */
  function countQuery(f: AccountFilter, limit: number | null): Query {
    const q = folded(f);
    const lim = limit === null ? -1 : limit;
    if (useFts(q)) {
      const src = ftsSource(q, f);
      const inner = src.residual ? `SELECT 1 FROM ${src.from} WHERE ${src.where.sql}` : `SELECT 1 FROM account_search s WHERE ${src.where.sql}`;
      return { sql: `SELECT count(*) FROM (${inner} LIMIT ?)`, params: [...src.where.params, lim] };
    }
    const w = rowTerms(f);
    // The activity range with the equality filters read from the same index; a short search tests every row.
    const from = q === undefined && f.inactiveDays ? 'account_index INDEXED BY account_index_listed_activity' : 'account_index';
    return { sql: `SELECT count(*) FROM (SELECT 1 FROM ${from} WHERE ${w.sql} LIMIT ?)`, params: [...w.params, lim] };
  }

  /** The total: exact from the counters, else counted up to TOTAL_CAP + 1 (or to the end, when asked). */
  function total(f: AccountFilter, exact = false): { n: number; capped: boolean } {
    const fromCounters = counterTotal(f);
    if (fromCounters !== null) return { n: fromCounters, capped: false };
    const cq = countQuery(f, exact ? null : TOTAL_CAP + 1);
    const n = prepared(cq.sql).pluck().get(...cq.params) as number;
    return { n, capped: !exact && n > TOTAL_CAP };
  }

  /**
   * The ways to read one page, in the order to try them, given how many rows match (exact, or
   * TOTAL_CAP + 1 for "more"). A walk with a budget gives up when it has tested that many rows
   * without filling the page (the matches cluster somewhere in the order), and the next one is tried.
   */
  function planPage(f: AccountFilter, v: ListView, matches: number): Attempt[] {
    if (matches === 0) return [];
    const { column } = SORT_COLUMNS[v.sort];
    const backwards = !!v.before;
    const asc = (v.dir === 'asc') !== backwards;
    const cursor = v.after ?? v.before;
    const dir = asc ? 'ASC' : 'DESC';
    const keyset = (alias: string) => (cursor ? ` AND (${alias}${column}, ${alias}autoresponder_id) ${asc ? '>' : '<'} (?, ?)` : '');
    const tail = (alias: string) => `ORDER BY ${alias}${column} ${dir}, ${alias}autoresponder_id ${dir} LIMIT ?`;
    const after = [...(cursor ? [cursor.value, cursor.id] : []), v.size + 1];
    const q = folded(f);

    // The walk: the first index of this order whose leading equality column is filtered.
    const walk = WALKS[v.sort].find((w) => !w.prefix || walkable(f, w.prefix))!;
    const rangeBounded = v.sort === 'activity' && !!f.inactiveDays; // the range itself is the walked index's
    const walked = rangeBounded ? matches : walk.prefix ? counted(f, walk.prefix) : counted({});
    const walkCost = ((v.size + 1) * walked) / matches;
    const walkQuery = (w: Query): Query => ({
      sql: `SELECT ${COLUMNS} FROM account_index INDEXED BY ${walk.index} WHERE ${w.sql}${keyset('')} ${tail('')}`,
      params: [...w.params, ...after],
    });

    // Collecting reads the matches (and sorts them) through the narrowest source there is.
    let source: { from: string; where: Query; alias: string } | null = null;
    if (useFts(q)) {
      const src = ftsSource(q, f);
      source = { from: src.from, where: src.where, alias: 'i.' };
    } else if (f.inactiveDays) {
      source = { from: 'account_index INDEXED BY account_index_listed_activity', where: rowTerms(f), alias: '' };
    } else if ((f.broke || hasTodo(f)) && q === undefined) {
      // Broke after migration, a reminder problem, an outage: the matches are few, each row read by its id.
      source = { from: 'account_index', where: rowTerms(f), alias: '' };
    } else if (q === undefined) {
      const eqs = (['state', 'version', 'provider', 'code'] as const).filter((c) => filtered(f, c));
      if (eqs.length) {
        const sizes = new Map(eqs.map((c) => [c, counted(f, c)]));
        const best = eqs.reduce((a, b) => (sizes.get(a)! <= sizes.get(b)! ? a : b));
        source = { from: `account_index INDEXED BY ${COLLECT_BY[best]}`, where: rowTerms(f), alias: '' };
      }
    }
    if (source && matches <= walkCost) {
      const cols = source.alias ? COLUMNS_I : COLUMNS;
      const sql = `SELECT ${cols} FROM ${source.from} WHERE ${source.where.sql}${keyset(source.alias)} ${tail(source.alias)}`;
      return [{ strategy: 'collect', query: { sql, params: [...source.where.params, ...after] } }];
    }
    if (!useFts(q)) return [{ strategy: 'walk', query: walkQuery(rowTerms(f)) }];
    // A search walks testing each row's text, which costs a table read per row: cheap while matches
    // are spread through the order. When they cluster (a word that begins many names, sorted by name)
    // the walk stops after a few times the expected rows and walks again testing ids against the
    // search's matches, read once from the search index (the walk then reads only the index).
    const budget = Math.max(WALK_BUDGET_MIN, Math.ceil(WALK_BUDGET_FACTOR * walkCost));
    const budgeted = rowTerms(f);
    const noText = rowTerms({ ...f, q: undefined });
    const short = textTerms(q, true);
    if (short.sql) (noText.sql += ` AND ${short.sql}`), noText.params.push(...short.params);
    return [
      { strategy: 'walk', budget, query: walkQuery({ sql: `walk_budget(autoresponder_id) AND ${budgeted.sql}`, params: budgeted.params }) },
      {
        strategy: 'walk-search-set',
        query: walkQuery({
          sql: `autoresponder_id IN (SELECT rowid FROM account_search WHERE account_search MATCH ?) AND ${noText.sql}`,
          params: [ftsMatch(q, f).match, ...noText.params],
        }),
      },
    ];
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

  // Counts the rows a budgeted walk tests; past the budget it stops the statement (SQLite tests the
  // index-covered terms first, so this runs for every row the walk reaches).
  db.function('walk_budget', { deterministic: false }, (_id: unknown) => {
    if (--budgetLeft < 0) throw new WalkBudgetSpent();
    return 1;
  });

  /** Runs the attempts in order until one finishes within its budget. */
  function read(attempts: Attempt[]): { rows: AccountRow[]; used: number } {
    for (const [i, a] of attempts.entries()) {
      budgetLeft = a.budget ?? Infinity;
      try {
        return { rows: prepared(a.query.sql).all(...a.query.params) as AccountRow[], used: i };
      } catch (err) {
        if (!(err instanceof WalkBudgetSpent) || i === attempts.length - 1) throw err;
      } finally {
        budgetLeft = Infinity;
      }
    }
    return { rows: [], used: -1 };
  }

  /** The filter as one WHERE over account_index (bulk jobs and the CSV read every match in id order). */
  function where(f: AccountFilter): Query {
    const q = folded(f);
    if (!useFts(q)) return rowTerms(f);
    const w = rowTerms({ ...f, q: undefined });
    const short = textTerms(q, true);
    return {
      sql: `${w.sql}${short.sql ? ` AND ${short.sql}` : ''} AND autoresponder_id IN (SELECT rowid FROM account_search WHERE account_search MATCH ?)`,
      params: [...w.params, ...short.params, ftsMatch(q, f).match],
    };
  }

  return {
    /**
     * One page of the list and its total. `view.exactTotal` counts to the end when the total is
     * more than TOTAL_CAP (the "count exactly" link).
     */
    page(f: AccountFilter, v: ListView): AccountPage {
      const t = total(f, !!v.exactTotal);
      const { key } = SORT_COLUMNS[v.sort];
      const backwards = !!v.before;
      const cursor = v.after ?? v.before;
      const rows = read(planPage(f, v, t.n)).rows;
      const more = rows.length > v.size;
      if (more) rows.pop();
      if (backwards) rows.reverse();
      const at = (r: AccountRow | undefined) => (r ? { value: key(r), id: r.autoresponderId } : null);
      // Going forward there is a previous page whenever we came from a cursor; going back, there is a
      // next page (the one we came from) and a previous one if more rows were found.
      const next = backwards ? at(rows[rows.length - 1]) : more ? at(rows[rows.length - 1]) : null;
      const prev = backwards ? (more ? at(rows[0]) : null) : cursor ? at(rows[0]) : null;
      return { rows, total: t.n, totalCapped: t.capped, next, prev };
    },

    /**
     * How a page is read: the total, the count's plan (or 'counters'), and each way the page may be
     * read with SQLite's plan for it and whether it was the one used. Tests assert on these that no
     * list scenario scans the table or sorts it whole.
     */
    explain(f: AccountFilter, v: ListView): { total: number; countPlan: string[] | 'counters'; attempts: { strategy: PageStrategy; used: boolean; plan: string[] }[] } {
      const t = total(f, !!v.exactTotal);
      const attempts = planPage(f, v, t.n);
      const { used } = read(attempts);
      const plan = (qq: Query) => (db.prepare(`EXPLAIN QUERY PLAN ${qq.sql}`).all(...qq.params) as { detail: string }[]).map((r) => r.detail);
      return { total: t.n, countPlan: counterTotal(f) !== null ? 'counters' : plan(countQuery(f, v.exactTotal ? null : TOTAL_CAP + 1)), attempts: attempts.map((a, i) => ({ strategy: a.strategy, used: i === used, plan: plan(a.query) })) };
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

    /**
     * A chunk for the office CSV: the rows with the support number (the autoresponder's external id),
     * the seller's id and when the seller's last reminder that may have arrived went out (one index read each).
     */
    exportChunk(f: AccountFilter, afterId: number, limit: number): (AccountRow & { supportNumber: string; sellerExternalId: string; lastReminderAt: string | null })[] {
      const w = where(f);
      return prepared(
        `SELECT ${COLUMNS}, (SELECT external_id FROM autoresponders WHERE id = autoresponder_id) AS supportNumber,
                (SELECT external_id FROM sellers WHERE id = seller_id) AS sellerExternalId,
                (SELECT max(created_at) FROM reminders r WHERE r.seller_id = account_index.seller_id AND r.status != 'failed') AS lastReminderAt
           FROM account_index WHERE ${w.sql} AND autoresponder_id > ? ORDER BY autoresponder_id LIMIT ?`,
      ).all(...w.params, afterId, limit) as (AccountRow & { supportNumber: string; sellerExternalId: string; lastReminderAt: string | null })[];
    },

    get(autoresponderId: number): AccountRow | undefined {
      return prepared(`SELECT ${COLUMNS} FROM account_index WHERE autoresponder_id = ?`).get(autoresponderId) as AccountRow | undefined;
    },

    /** The error codes that occur (the list's filter options), from the counters. */
    codes(): string[] {
      return prepared(`SELECT DISTINCT code FROM account_counts WHERE code != '' AND n > 0 ORDER BY 1`).pluck().all() as string[];
    },

    /**
     * The exact number of listed rows matching the filter. The overview's figures (src/accounts/figures.ts)
     * are this very number for the filter each links to; counters answer most of them.
     */
    count(f: AccountFilter): number {
      return total(f, true).n;
    },

    /** Autoresponders detection found not affected: never listed, counted from the counters. */
    unlisted(): number {
      return prepared(`SELECT COALESCE(sum(n), 0) FROM account_counts WHERE state = 'not_affected'`).pluck().get() as number;
    },

    /**
     * Migrated per day (by completion date) of the autoresponders that are migrated now, and the day of
     * the first migration record: the overview's chart is drawn from these (counters and one index read).
     */
    progress(since?: string): { migratedByDay: { day: string; n: number }[]; firstDay: string | null; coveredAddedByDay: { day: string; n: number }[] } {
      const migratedByDay = prepared(`SELECT day, n FROM migrated_per_day WHERE n > 0 ORDER BY day`).all() as { day: string; n: number }[];
      const firstDay = prepared(`SELECT substr(min(created_at), 1, 10) FROM migrations`).pluck().get() as string | null;
      // The chart's history comes from recorded events only: an autoresponder counts as covered from the
      // day its migration record was made (an import today is not a migration on earlier days), read
      // from a counter per day kept by triggers (schema 14).
      const coveredAddedByDay = since ? (prepared(`SELECT day, n FROM covered_per_day WHERE day >= ? AND n > 0 ORDER BY day`).all(since) as { day: string; n: number }[]) : [];
      return { migratedByDay, firstDay, coveredAddedByDay };
    },
  };
}
export type AccountsRepository = ReturnType<typeof createAccountsRepository>;
