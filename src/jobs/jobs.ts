import type { Db } from '../db/database.js';
import type { Repositories } from '../repositories/index.js';
import type { Job, JobKind } from '../domain/model.js';
import { isAudit } from '../domain/audit.js';
import { filterParams, LISTED_STATES, statesOf, type AccountFilter } from '../accounts/filter.js';
import { canTransition, type MigrationState } from '../migration/states.js';
import type { JobRunner } from './runner.js';

export interface NewJob {
  kind: JobKind;
  /** The selected autoresponders, or null for "all matching the filter" (evaluated again at start). */
  ids: number[] | null;
  filter: AccountFilter;
  /** What the agent saw on the confirmation page. */
  confirmedCount: number;
  note: string | null;
  /** How the agent chose: the selected rows, all matching, or the failed items of an earlier job. */
  scope: 'selected' | 'all' | 'failed';
  /** For scope "failed": the job whose failed items this one tries again. */
  retryOf?: number | null;
  /** The confirmation page's one-time key: a second POST of the same page finds this job, not a new one. */
  confirmationKey: string;
  /** A reminder job that resends the reminders nobody knows arrived (the agent confirmed the risk of a second e-mail). */
  resend?: boolean;
}

/**
 * Outcomes another try cannot change: the seller must act (make an app password or migrate, sign in
 * at Google, authorize again, turn IMAP on) — counted apart as "czeka na sprzedawcę" — or the server
 * gave its last word (a reminder refused for good, an address outside the policy).
 */
export const WAITS_ON_SELLER: readonly string[] = ['MAIL_APP_PASSWORD_REQUIRED', 'MAIL_AUTH_FAILED', 'MAIL_WEB_LOGIN_REQUIRED', 'MAIL_IMAP_DISABLED', 'invalid_grant', 'invalid_token', 'MIG_ERR_NO_SECRET'];
export const FINAL_OUTCOMES: readonly string[] = ['MIG_ERR_SEND_REFUSED', 'MAIL_HOST_NOT_ALLOWED'];
/** Whether another try of a failed item could end differently. */
export const retryCanChange = (outcome: string | null): boolean => !outcome || (!WAITS_ON_SELLER.includes(outcome) && !FINAL_OUTCOMES.includes(outcome));

/** The word for an item done, per kind: sent (a reminder), checked (works), reviewed. */
const DONE_WORD: Record<JobKind, string> = { remind: 'sent', recheck: 'works', review: 'reviewed' };

/** The listed states the state table lets staff mark reviewed (read from the table, not listed again). */
const REVIEWABLE_STATES = LISTED_STATES.filter((s) => canTransition(s, 'reviewed', 'reviewed'));

/**
 * A bulk job's life outside the runner: created (stored and audited in one transaction, then the
 * runner is woken), cancelled on request, and summarised for the console. The runner
 * (jobs/runner.ts) takes jobs from the database and processes their items.
 */
export function createJobsService(deps: { db: Db; repos: Repositories; runner: Pick<JobRunner, 'wake'> }) {
  const { db, repos, runner } = deps;

  function summary(job: Job) {
    const counts = repos.jobs.counts(job.id);
    const total = job.total ?? job.confirmedCount;
    const finished = counts.done + counts.failed + counts.skipped + counts.cancelled + counts.unknown;
    const active = ['queued', 'running', 'cancelling'].includes(job.status);
    const creator = repos.staff.getById(job.createdBy);
    const failed = repos.jobs.failedItems(job.id);
    const waiting = failed.filter((i) => i.outcome !== null && WAITS_ON_SELLER.includes(i.outcome)).length;
    const final = failed.filter((i) => i.outcome !== null && FINAL_OUTCOMES.includes(i.outcome)).length;
    // What the job's line says wherever it is listed: "zakończone: 99 wysłano, 12 nie udało się, 11 nie wiadomo".
    const line = [
      { key: `staff.jobs.line.${DONE_WORD[job.kind]}`, n: counts.done },
      { key: 'staff.jobs.line.failed', n: counts.failed - waiting },
      { key: 'staff.jobs.line.waiting', n: waiting },
      { key: 'staff.jobs.line.unknown', n: counts.unknown },
      { key: 'staff.jobs.line.skipped', n: counts.skipped },
      { key: 'staff.jobs.line.cancelled', n: counts.cancelled },
    ].filter((p) => p.n > 0);
    return {
      ...job,
      counts,
      total,
      finished,
      percent: total ? Math.floor((finished / total) * 100) : active ? 0 : 100,
      active,
      creator: creator?.email ?? `#${job.createdBy}`,
      href: `/staff/jobs/${job.id}`,
      differs: job.total !== null && job.total !== job.confirmedCount,
      line,
      /** Items that failed or whose fate is unknown (the seller's part apart): the job needs a look. */
      troubled: counts.failed - waiting + counts.unknown > 0,
      waiting,
      final,
    };
  }

  return {
    /**
     * Stores the confirmed job and audits it, once per confirmation key: a key already used (a double
     * click, a resent form; also two POSTs at the same moment, which the unique key decides) makes no
     * second job and returns the first one with created: false.
     */
    create(j: NewJob, staffId: number): { id: number; created: boolean } {
      const actor = { type: 'staff' as const, id: staffId };
      const made = db.transaction(() => {
        const job = repos.jobs.createOnce({
          kind: j.kind,
          selection: j.ids ? 'ids' : 'filter',
          filter: j.ids ? null : JSON.stringify(filterParams(j.filter)),
          ids: j.ids ? JSON.stringify(j.ids) : null,
          note: j.note,
          confirmedCount: j.confirmedCount,
          createdBy: staffId,
          confirmationKey: j.confirmationKey,
          resend: !!j.resend,
          retryOf: j.retryOf ?? null,
        });
        if (job.created) repos.audit.record(actor, job.id, { action: 'job.created', details: { kind: j.kind, scope: j.scope, confirmed: j.confirmedCount, filter: j.ids ? undefined : filterParams(j.filter), ...(j.retryOf ? { retryOf: j.retryOf } : {}) } });
        return job;
      })();
      if (made.created) runner.wake();
      return made;
    },

    /**
     * How many of the selected autoresponders (or of those matching the filter) the state table lets
     * staff mark reviewed now: the review confirmation says how many will really be marked. A few
     * counts of the same filter, one per such state (from the counters when the filter has no search).
     */
    reviewable(ids: number[] | null, filter: AccountFilter): number {
      const allowed = (state: MigrationState) => (REVIEWABLE_STATES as readonly string[]).includes(state);
      if (ids) return ids.filter((id) => { const row = repos.accounts.get(id); return row !== undefined && allowed(row.state); }).length;
      // A state, or a group of them (accounts/filter.ts): only the reviewable ones of it count.
      const states = (filter.state ? statesOf(filter.state).filter(allowed) : REVIEWABLE_STATES) as (typeof REVIEWABLE_STATES)[number][];
      return states.reduce((n, state) => n + repos.accounts.count({ ...filter, state }), 0);
    },

    /** Asks the runner to stop the job; false when it is unknown or already finished. */
    cancel(jobId: number, staffId: number): boolean {
      const actor = { type: 'staff' as const, id: staffId };
      const requested = db.transaction(() => {
        if (!repos.jobs.requestCancel(jobId, staffId)) return false;
        repos.audit.record(actor, jobId, { action: 'job.cancel_requested' });
        return true;
      })();
      if (requested) runner.wake();
      return requested;
    },

    /**
     * The failed items of a finished job that another try can change, still on the list, for "ponów
     * nieudane" (what waits on the seller, or was refused for good, is not offered); undefined when the
     * job is unknown, still running, was already retried or has none.
     */
    failedOf(jobId: number): { jobId: number; kind: JobKind; ids: number[] } | undefined {
      const job = repos.jobs.get(jobId);
      if (!job || ['queued', 'running', 'cancelling'].includes(job.status)) return undefined;
      if (repos.jobs.retriedBy(jobId) !== null) return undefined;
      const ids = repos.accounts.listedIds(repos.jobs.failedItems(jobId).filter((i) => retryCanChange(i.outcome)).map((i) => i.autoresponderId));
      return ids.length ? { jobId, kind: job.kind, ids } : undefined;
    },

    /** The job that already tried this one's failed items again, or null. */
    retriedBy: (jobId: number) => repos.jobs.retriedBy(jobId),

    /** The job this one retries the failed items of, or null (older jobs: from their audit entry). */
    retryOfJob(jobId: number): number | null {
      const stored = repos.jobs.retryOf(jobId);
      if (stored !== null) return stored;
      const created = repos.audit.listForTarget('job', jobId).find((e) => isAudit(e, 'job.created'));
      return created?.details.retryOf ?? null;
    },

    get: (jobId: number) => {
      const job = repos.jobs.get(jobId);
      return job ? summary(job) : undefined;
    },
    recent: (limit: number) => repos.jobs.recent(limit).map(summary),
    summary,
  };
}
export type JobsService = ReturnType<typeof createJobsService>;
export type JobSummary = ReturnType<JobsService['summary']>;
