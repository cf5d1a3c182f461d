import type { Db } from '../db/database.js';
import type { AccountFilter } from '../accounts/filter.js';

/** One counter of the funnel: accounts at a step, by the week of their seller's first reminder ('' = never reminded). */
export interface FunnelCount {
  cohort: string;
  step: 'excluded' | 'affected' | 'signed_in' | 'chose' | 'done';
  n: number;
}
type Step = FunnelCount['step'];

const STAGE_STEP = { not_reminded: 'affected', reminded: 'affected', signed_in: 'signed_in', chose: 'chose', done: 'done' } as const;
/** Every step of an account in the funnel (the others, not affected or reviewed, are 'excluded'). */
const IN_FUNNEL: readonly Step[] = ['affected', 'signed_in', 'chose', 'done'];
/** The furthest steps that count as having reached each step (a later step passed the earlier ones). */
const REACHED_STEPS: Record<NonNullable<AccountFilter['reached']>, readonly Step[]> = {
  signed_in: ['signed_in', 'chose', 'done'],
  chose: ['chose', 'done'],
  done: ['done'],
};

/** The funnel cells a filter selects: furthest steps, and the seller's reminder. */
interface Cells {
  steps: readonly Step[];
  /** null: reminded or not; 'none': never reminded; 'reminded': in any week; else the week of the first reminder. */
  cohort: string | null;
  /** The conditions contradict each other (a stage about a reminder, and never reminded). */
  empty: boolean;
}

/**
 * The funnel cells (step, cohort) that a filter's stage, "reached" and cohort select: the one
 * definition behind the list's rows (account_funnel) and, through the counters (funnel_counts), its
 * total and the overview's funnel figures, so a figure and the list it links to count the same rows.
 * Every funnel condition keeps to the accounts in the funnel (never a reviewed one). A stage other
 * than not_reminded is about a reminder: without a cohort it means reminded in any week.
 */
function cells(f: AccountFilter): Cells | null {
  if (!f.stage && !f.reached && !f.cohort) return null;
  let steps = f.stage ? [STAGE_STEP[f.stage]] : IN_FUNNEL;
  if (f.reached) steps = steps.filter((s) => REACHED_STEPS[f.reached!].includes(s));
  const cohort = f.cohort ?? (f.stage === 'not_reminded' ? 'none' : f.stage ? 'reminded' : null);
  const empty = steps.length === 0 || (f.stage === 'not_reminded' ? cohort !== 'none' : f.stage !== undefined && cohort === 'none');
  return { steps, cohort, empty };
}

/** The cells as SQL over account_funnel (NULL cohort: never reminded) or funnel_counts ('' for it). */
function cellSql(c: Cells, table: 'account_funnel' | 'funnel_counts'): { sql: string; params: unknown[] } {
  if (c.empty) return { sql: '0', params: [] };
  const parts: string[] = [];
  const params: unknown[] = [];
  parts.push(`step IN (${c.steps.map(() => '?').join(', ')})`);
  params.push(...c.steps);
  const never = table === 'account_funnel' ? 'cohort IS NULL' : `cohort = ''`;
  if (c.cohort === 'none') parts.push(never);
  else if (c.cohort === 'reminded') parts.push(table === 'account_funnel' ? 'cohort IS NOT NULL' : `cohort != ''`);
  else if (c.cohort !== null) (parts.push('cohort = ?'), params.push(c.cohort));
  return { sql: parts.join(' AND '), params };
}

/**
 * The migration funnel's counters (schema 8: funnel_counts, kept by triggers from reminders, sign-ins
 * and account_index), read in one small query whatever the number of accounts.
 */
export function createFunnelRepository(db: Db) {
  const counts = db.prepare(`SELECT cohort, step, n FROM funnel_counts WHERE n > 0 ORDER BY cohort, step`);
  const cohorts = db.prepare(`SELECT DISTINCT cohort FROM funnel_counts WHERE cohort != '' AND step != 'excluded' AND n > 0 ORDER BY cohort DESC`).pluck();
  const sums = new Map<string, import('better-sqlite3').Statement<unknown[]>>();
  return {
    counts: () => counts.all() as FunnelCount[],
    /** The weeks sellers of accounts in the funnel were first reminded in, newest first. */
    cohorts: () => cohorts.all() as string[],
    /** The exact number of accounts in the filter's funnel cells, from the counters (null: no funnel condition). */
    counted(f: AccountFilter): number | null {
      const c = cells(f);
      if (!c) return null;
      const w = cellSql(c, 'funnel_counts');
      let stmt = sums.get(w.sql);
      if (!stmt) sums.set(w.sql, (stmt = db.prepare<unknown[]>(`SELECT COALESCE(sum(n), 0) FROM funnel_counts WHERE ${w.sql}`).pluck()));
      return stmt.get(...w.params) as number;
    },
  };
}
export type FunnelRepository = ReturnType<typeof createFunnelRepository>;

/**
 * The list filter's funnel conditions, for the staff list's WHERE (accounts.ts): the accounts in the
 * filter's funnel cells (read through account_funnel's (step, cohort) index), or whose seller's last
 * reminder is at least N days old.
 */
export function funnelWhere(f: AccountFilter, now: Date): { parts: string[]; params: unknown[] } {
  const parts: string[] = [];
  const params: unknown[] = [];
  const c = cells(f);
  if (c) {
    const w = cellSql(c, 'account_funnel');
    parts.push(`autoresponder_id IN (SELECT autoresponder_id FROM account_funnel WHERE ${w.sql})`);
    params.push(...w.params);
  }
  if (f.remindedDays !== undefined) {
    parts.push('seller_id IN (SELECT seller_id FROM seller_funnel WHERE last_reminded_at <= ?)');
    params.push(new Date(now.getTime() - f.remindedDays * 86_400_000).toISOString());
  }
  return { parts, params };
}
