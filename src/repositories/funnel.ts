import type { Db } from '../db/database.js';
import type { AccountFilter } from '../accounts/filter.js';

/** One counter of the funnel: accounts at a step, by the week of their seller's first reminder ('' = never reminded). */
export interface FunnelCount {
  cohort: string;
  step: 'excluded' | 'affected' | 'signed_in' | 'chose' | 'done';
  n: number;
}

/**
 * The migration funnel's counters (schema 8: funnel_counts, kept by triggers from reminders, sign-ins
 * and account_index), read in one small query whatever the number of accounts.
 */
export function createFunnelRepository(db: Db) {
  const counts = db.prepare(`SELECT cohort, step, n FROM funnel_counts WHERE n > 0 ORDER BY cohort, step`);
  return {
    counts: () => counts.all() as FunnelCount[],
  };
}
export type FunnelRepository = ReturnType<typeof createFunnelRepository>;

const STAGE_STEP = { not_reminded: 'affected', reminded: 'affected', signed_in: 'signed_in', chose: 'chose', done: 'done' } as const;

/**
 * The list filter's funnel conditions, for the staff list's WHERE (accounts.ts): the accounts stuck at
 * a step (read through account_funnel's (step, cohort) index), of one cohort, or whose seller's last
 * reminder is at least N days old.
 */
export function funnelWhere(f: AccountFilter, now: Date): { parts: string[]; params: unknown[] } {
  const parts: string[] = [];
  const params: unknown[] = [];
  if (f.stage || f.cohort) {
    const inner: string[] = [];
    if (f.stage) (inner.push('step = ?'), params.push(STAGE_STEP[f.stage]));
    if (f.cohort) (inner.push('cohort = ?'), params.push(f.cohort));
    else if (f.stage === 'not_reminded') inner.push('cohort IS NULL');
    else if (f.stage) inner.push('cohort IS NOT NULL');
    parts.push(`autoresponder_id IN (SELECT autoresponder_id FROM account_funnel WHERE ${inner.join(' AND ')})`);
  }
  if (f.remindedDays !== undefined) {
    parts.push('seller_id IN (SELECT seller_id FROM seller_funnel WHERE last_reminded_at <= ?)');
    params.push(new Date(now.getTime() - f.remindedDays * 86_400_000).toISOString());
  }
  return { parts, params };
}
