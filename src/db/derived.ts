import type { Db } from './database.js';
import { ACCOUNT_FUNNEL_ROWS, ACCOUNT_INDEX_ROWS } from './migrations.js';

/**
 * The derived tables (account_index, the console's search index, account_counts, account_funnel,
 * funnel_counts) written once per batch instead of once per row, for a bulk writer (the import).
 *
 * The schema's triggers keep them row by row; for an import that is most of a row's cost (the search
 * index's trigrams, a dozen indexes, the funnel), paid again for every row. Inside `deferred(fn)` the
 * triggers only note which accounts they would have rewritten (derived_pending, schema 15); at the end
 * of `fn`, in the same transaction, those accounts' rows are rewritten with one statement per table,
 * from the same definitions the triggers use. The flag that switches the triggers (derived_deferred)
 * is set and cleared inside the caller's write transaction, so no other connection ever sees it: every
 * other writer, at any time, goes through the triggers. A crash rolls the flag back with the rest.
 *
 * The tables end as the triggers would have left them (test/unit/derived-batch.test.ts), with one
 * difference of no meaning: a counter a row passed through on its way (an intermediate state within
 * the batch) is not left behind at 0.
 */
export function createDerivedBatch(db: Db) {
  const pending = `SELECT autoresponder_id FROM derived_pending`;
  const steps = [
    // Only accounts with a migration have a row (the triggers' join); the others are forgotten.
    `DELETE FROM derived_pending WHERE autoresponder_id NOT IN (SELECT autoresponder_id FROM migrations)`,
    // The rows about to be replaced come off the counters and out of the search index (a replace fires
    // no delete trigger, so the insert triggers did this row by row).
    `UPDATE account_counts SET n = n - o.k
       FROM (SELECT state, version, provider, COALESCE(last_error_code, '') AS code, count(*) AS k
               FROM account_index WHERE autoresponder_id IN (${pending}) GROUP BY 1, 2, 3, 4) AS o
      WHERE account_counts.state = o.state AND account_counts.version = o.version AND account_counts.provider = o.provider AND account_counts.code = o.code`,
    `DELETE FROM account_search WHERE rowid IN (SELECT autoresponder_id FROM account_index WHERE autoresponder_id IN (${pending}) AND state != 'not_affected')`,
    `INSERT OR REPLACE INTO account_index ${ACCOUNT_INDEX_ROWS} WHERE a.id IN (${pending})`,
    `INSERT INTO account_search (rowid, search, tags) SELECT autoresponder_id, search, tags FROM account_search_source WHERE autoresponder_id IN (${pending})`,
    `INSERT INTO account_counts (state, version, provider, code, n)
       SELECT state, version, provider, COALESCE(last_error_code, ''), count(*) FROM account_index WHERE autoresponder_id IN (${pending}) GROUP BY 1, 2, 3, 4
       ON CONFLICT DO UPDATE SET n = n + excluded.n`,
    `UPDATE funnel_counts SET n = n - o.k
       FROM (SELECT COALESCE(cohort, '') AS cohort, step, count(*) AS k FROM account_funnel WHERE autoresponder_id IN (${pending}) GROUP BY 1, 2) AS o
      WHERE funnel_counts.cohort = o.cohort AND funnel_counts.step = o.step`,
    `INSERT INTO account_funnel (autoresponder_id, seller_id, step, cohort)
       ${ACCOUNT_FUNNEL_ROWS} WHERE i.autoresponder_id IN (${pending})
       ON CONFLICT (autoresponder_id) DO UPDATE SET seller_id = excluded.seller_id, step = excluded.step, cohort = excluded.cohort`,
    `INSERT INTO funnel_counts (cohort, step, n)
       SELECT COALESCE(cohort, ''), step, count(*) FROM account_funnel WHERE autoresponder_id IN (${pending}) GROUP BY 1, 2
       ON CONFLICT (cohort, step) DO UPDATE SET n = n + excluded.n`,
    `DELETE FROM derived_pending`,
    `DELETE FROM derived_deferred`,
  ].map((sql) => db.prepare(sql));
  const defer = db.prepare(`INSERT INTO derived_deferred (id) VALUES (1)`);

  return {
    /**
     * Runs fn with the derived tables deferred, then writes them for every account fn touched.
     * Call inside the caller's write transaction (it is one: the flag must never be committed).
     * @throws {Error} when called outside a transaction, or nested in itself
     */
    deferred<T>(fn: () => T): T {
      if (!db.inTransaction) throw new Error('createDerivedBatch: deferred() must run inside a write transaction');
      defer.run();
      const result = fn();
      for (const step of steps) step.run();
      return result;
    },
  };
}
export type DerivedBatch = ReturnType<typeof createDerivedBatch>;
