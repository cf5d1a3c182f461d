import type { Db } from '../db/database.js';
import { JOB_KINDS, type JobKind, type JobStatus, type ItemStatus, type Job, type JobItem } from '../domain/model.js';

/** A pending item with its account's seller, mailbox, mail host and version (null when the account is gone). */
export interface PendingItem extends JobItem {
  sellerId: number | null;
  mailboxId: number | null;
  mailHost: string | null;
  version: number | null;
}

const JOB_COLUMNS = `id, kind, status, selection, filter, ids, note, confirmed_count AS confirmedCount, total, created_by AS createdBy,
  cancelled_by AS cancelledBy, created_at AS createdAt, started_at AS startedAt, finished_at AS finishedAt`;
const ITEM_COLUMNS = `id, job_id AS jobId, autoresponder_id AS autoresponderId, status, attempts, next_attempt_at AS nextAttemptAt,
  outcome, error, updated_at AS updatedAt`;

/** A job as stored when it is made. */
type NewJobRow = { kind: JobKind; selection: 'ids' | 'filter'; filter: string | null; ids: string | null; note: string | null; confirmedCount: number; createdBy: number; resend?: boolean; retryOf?: number | null };

/** Bulk jobs and their items. The runner is the only writer of item status; pages only read. */
export function createJobsRepository(db: Db, now: () => Date = () => new Date()) {
  const insertJob = db.prepare(
    `INSERT INTO jobs (kind, status, selection, filter, ids, note, confirmed_count, created_by, created_at, updated_at)
     VALUES (@kind, 'queued', @selection, @filter, @ids, @note, @confirmedCount, @createdBy, @at, @at)`,
  );
  // The confirmation key's unique index decides between two POSTs of one page, even concurrent ones.
  const insertOnce = db.prepare(
    `INSERT INTO jobs (kind, status, selection, filter, ids, note, confirmed_count, created_by, created_at, updated_at, confirmation_key, resend, retry_of)
     VALUES (@kind, 'queued', @selection, @filter, @ids, @note, @confirmedCount, @createdBy, @at, @at, @confirmationKey, @resend, @retryOf)
     ON CONFLICT (confirmation_key) DO NOTHING`,
  );
  const byKey = db.prepare(`SELECT id FROM jobs WHERE confirmation_key = ?`).pluck();
  const isResend = db.prepare(`SELECT resend FROM jobs WHERE id = ?`).pluck();
  const retryOf = db.prepare(`SELECT retry_of FROM jobs WHERE id = ?`).pluck();
  const retriedBy = db.prepare(`SELECT id FROM jobs WHERE retry_of = ? ORDER BY id LIMIT 1`).pluck();
  const failedOutcomes = db.prepare(`SELECT outcome, autoresponder_id AS autoresponderId FROM job_items WHERE job_id = ? AND status = 'failed' ORDER BY id`);
  const byId = db.prepare(`SELECT ${JOB_COLUMNS} FROM jobs WHERE id = ?`);
  const recent = db.prepare(`SELECT ${JOB_COLUMNS} FROM jobs ORDER BY id DESC LIMIT ?`);
  const unfinished = db.prepare(`SELECT ${JOB_COLUMNS} FROM jobs WHERE status IN ('queued', 'running', 'cancelling') ORDER BY id`);
  const start = db.prepare(`UPDATE jobs SET status = 'running', total = @total, started_at = @at, updated_at = @at WHERE id = @id AND status = 'queued'`);
  const finish = db.prepare(`UPDATE jobs SET status = @status, finished_at = @at, updated_at = @at WHERE id = @id`);
  const cancel = db.prepare(`UPDATE jobs SET status = 'cancelling', cancelled_by = @by, updated_at = @at WHERE id = @id AND status IN ('queued', 'running')`);
  const insertItem = db.prepare(`INSERT OR IGNORE INTO job_items (job_id, autoresponder_id, status, updated_at) VALUES (?, ?, 'pending', ?)`);
  // With what each item competes for (its seller, mailbox, mail host), read in the same query.
  const pendingItems = db.prepare(
    `SELECT i.id, i.job_id AS jobId, i.autoresponder_id AS autoresponderId, i.status, i.attempts, i.next_attempt_at AS nextAttemptAt,
            i.outcome, i.error, i.updated_at AS updatedAt, a.seller_id AS sellerId, a.mailbox_id AS mailboxId, a.mail_host AS mailHost, a.version
       FROM job_items i LEFT JOIN account_index a ON a.autoresponder_id = i.autoresponder_id
      WHERE i.job_id = ? AND i.status = 'pending' AND (i.next_attempt_at IS NULL OR i.next_attempt_at <= ?)
      ORDER BY i.id LIMIT ?`,
  );
  const claim = db.prepare(`UPDATE job_items SET status = 'running', attempts = attempts + 1, updated_at = @at WHERE id = @id AND status = 'pending'`);
  const settle = db.prepare(
    `UPDATE job_items SET status = @status, outcome = @outcome, error = @error, next_attempt_at = NULL, updated_at = @at WHERE id = @id AND status = 'running'`,
  );
  const retry = db.prepare(
    `UPDATE job_items SET status = 'pending', outcome = @outcome, error = @error, next_attempt_at = @nextAt, updated_at = @at WHERE id = @id AND status = 'running'`,
  );
  const cancelPending = db.prepare(`UPDATE job_items SET status = 'cancelled', updated_at = ? WHERE job_id = ? AND status = 'pending'`);
  const counts = db.prepare(`SELECT status, count(*) AS n FROM job_items WHERE job_id = ? GROUP BY status`);
  const outcomes = db.prepare(`SELECT status, outcome, count(*) AS n FROM job_items WHERE job_id = ? AND status != 'pending' GROUP BY status, outcome ORDER BY n DESC`);
  const problems = db.prepare(
    `SELECT ${ITEM_COLUMNS} FROM job_items WHERE job_id = ? AND status IN ('failed', 'unknown') ORDER BY id LIMIT ?`,
  );
  const running = db.prepare(`SELECT ${ITEM_COLUMNS} FROM job_items WHERE job_id = ? AND status = 'running'`);
  const itemById = db.prepare(`SELECT ${ITEM_COLUMNS} FROM job_items WHERE id = ?`);
  const idsWithStatus = db.prepare(`SELECT autoresponder_id FROM job_items WHERE job_id = ? AND status = ? ORDER BY id`).pluck();
  const remaining = db.prepare(`SELECT count(*) FROM job_items WHERE job_id = ? AND status IN ('pending', 'running')`).pluck();
  const nextRetryAt = db.prepare(`SELECT min(next_attempt_at) FROM job_items WHERE job_id = ? AND status = 'pending'`).pluck();

  return {
    create(j: NewJobRow): number {
      return Number(insertJob.run({ ...j, at: now().toISOString() }).lastInsertRowid);
    },
    /**
     * Stores a confirmed job once per confirmation key: with a key already used nothing is stored and
     * the first job's id comes back (created: false). Call it inside the transaction that audits it.
     */
    createOnce(j: NewJobRow & { confirmationKey: string }): { id: number; created: boolean } {
      const r = insertOnce.run({ ...j, resend: j.resend ? 1 : 0, retryOf: j.retryOf ?? null, at: now().toISOString() });
      if (r.changes === 1) return { id: Number(r.lastInsertRowid), created: true };
      return { id: byKey.get(j.confirmationKey) as number, created: false };
    },
    get: (id: number) => byId.get(id) as Job | undefined,
    /** Whether the job resends uncertain reminders (its items waive the minimum interval for that one reminder). */
    isResend: (id: number) => isResend.get(id) === 1,
    /** The job whose failed items this one tries again, or null. */
    retryOf: (id: number) => (retryOf.get(id) as number | null | undefined) ?? null,
    /** The job that tried this one's failed items again, or null. */
    retriedBy: (id: number) => (retriedBy.get(id) as number | undefined) ?? null,
    /** A job's failed items with their outcome (which of them another try can change is the jobs service's rule). */
    failedItems: (jobId: number) => failedOutcomes.all(jobId) as { outcome: string | null; autoresponderId: number }[],
    recent: (limit = 20) => recent.all(limit) as Job[],
    unfinished: () => unfinished.all() as Job[],
    /** Makes the items and marks the job running, in one transaction: a crash leaves it queued, not half-made. */
    start(jobId: number, autoresponderIds: number[]): boolean {
      return db.transaction(() => {
        const at = now().toISOString();
        for (const id of autoresponderIds) insertItem.run(jobId, id, at);
        return start.run({ id: jobId, total: autoresponderIds.length, at }).changes === 1;
      })();
    },
    finish: (id: number, status: 'done' | 'cancelled') => finish.run({ id, status, at: now().toISOString() }),
    requestCancel: (id: number, by: number) => cancel.run({ id, by, at: now().toISOString() }).changes === 1,
    cancelPending: (jobId: number) => cancelPending.run(now().toISOString(), jobId).changes,
    /** The oldest pending items due now (a retry waits for its time), in id order. */
    pending: (jobId: number, limit: number, at: Date) => pendingItems.all(jobId, at.toISOString(), limit) as PendingItem[],
    /** Takes an item for processing; false when someone else did (or it is no longer pending). */
    claim: (id: number) => claim.run({ id, at: now().toISOString() }).changes === 1,
    settle(id: number, status: Exclude<ItemStatus, 'pending' | 'running'>, outcome: string | null, error: string | null = null): void {
      settle.run({ id, status, outcome, error: error?.slice(0, 500) ?? null, at: now().toISOString() });
    },
    retryLater(id: number, nextAt: Date, outcome: string | null, error: string | null): void {
      retry.run({ id, nextAt: nextAt.toISOString(), outcome, error: error?.slice(0, 500) ?? null, at: now().toISOString() });
    },
    running: (jobId: number) => running.all(jobId) as JobItem[],
    item: (id: number) => itemById.get(id) as JobItem | undefined,
    remaining: (jobId: number) => remaining.get(jobId) as number,
    nextRetryAt: (jobId: number) => nextRetryAt.get(jobId) as string | null,
    counts(jobId: number): Record<ItemStatus, number> {
      const c: Record<ItemStatus, number> = { pending: 0, running: 0, done: 0, failed: 0, skipped: 0, cancelled: 0, unknown: 0 };
      for (const r of counts.all(jobId) as { status: ItemStatus; n: number }[]) c[r.status] = r.n;
      return c;
    },
    outcomes: (jobId: number) => outcomes.all(jobId) as { status: ItemStatus; outcome: string | null; n: number }[],
    problems: (jobId: number, limit = 100) => problems.all(jobId, limit) as JobItem[],
    /** The autoresponders of a job's items that ended with this status (a retry of the failed ones reads these). */
    autoresponderIds: (jobId: number, status: ItemStatus) => idsWithStatus.all(jobId, status) as number[],
  };
}
export type JobsRepository = ReturnType<typeof createJobsRepository>;

export type ReminderStatus = 'sending' | 'committing' | 'sent' | 'unknown' | 'failed';

/**
 * Reminder e-mails. A row is written before the send and moved on as it goes; the minimum-interval
 * rule counts every row that may have reached the seller (all but 'failed').
 */
export function createRemindersRepository(db: Db, now: () => Date = () => new Date()) {
  const insert = db.prepare(
    `INSERT INTO reminders (seller_id, job_id, item_id, staff_id, status, created_at) VALUES (@sellerId, @jobId, @itemId, @staffId, 'sending', @at)`,
  );
  const set = db.prepare(`UPDATE reminders SET status = @status, error = @error, sent_at = CASE WHEN @status = 'sent' THEN @at ELSE sent_at END WHERE id = @id`);
  const lastFor = db.prepare(`SELECT max(created_at) FROM reminders WHERE seller_id = ? AND status != 'failed'`).pluck();
  const inJob = db.prepare(`SELECT id, status, item_id AS itemId FROM reminders WHERE job_id = ? AND seller_id = ? AND status != 'failed'`);
  const interrupted = db.prepare(`SELECT id, status, item_id AS itemId FROM reminders WHERE status IN ('sending', 'committing')`);
  const statusOf = db.prepare(`SELECT status FROM reminders WHERE id = ?`).pluck();
  const itemOf = db.prepare(`SELECT item_id FROM reminders WHERE id = ?`).pluck();
  const countSent = db.prepare(`SELECT count(*) FROM reminders WHERE status = 'sent'`).pluck();
  const latest = db.prepare(`SELECT id, status, created_at AS createdAt, job_id AS jobId FROM reminders WHERE seller_id = ? AND status != 'failed' ORDER BY created_at DESC, id DESC LIMIT 1`);
  return {
    begin: (r: { sellerId: number; jobId: number | null; itemId: number | null; staffId: number | null }) =>
      Number(insert.run({ ...r, at: now().toISOString() }).lastInsertRowid),
    set: (id: number, status: ReminderStatus, error: string | null = null) => set.run({ id, status, error, at: now().toISOString() }),
    lastFor: (sellerId: number) => lastFor.get(sellerId) as string | null,
    inJob: (jobId: number, sellerId: number) => inJob.get(jobId, sellerId) as { id: number; status: ReminderStatus; itemId: number | null } | undefined,
    interrupted: () => interrupted.all() as { id: number; status: 'sending' | 'committing'; itemId: number | null }[],
    countSent: () => countSent.get() as number,
    statusOf: (id: number) => statusOf.get(id) as ReminderStatus | undefined,
    /** The job item a reminder was sent for, if any. */
    itemOf: (id: number) => (itemOf.get(id) as number | null | undefined) ?? null,
    /** The seller's newest reminder that may have reached them (a resend is offered when it is 'unknown'). */
    latestFor: (sellerId: number) => latest.get(sellerId) as { id: number; status: ReminderStatus; createdAt: string; jobId: number | null } | undefined,
  };
}
export type RemindersRepository = ReturnType<typeof createRemindersRepository>;
