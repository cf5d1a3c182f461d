import type { Db } from '../db/database.js';
import { BROKEN_AFTER_MIGRATION_REASONS, MIGRATED_STATES } from '../migration/states.js';
import type { IncidentResolution, NoticeStatus, Watch, WatchIncident, WatchNotice } from '../domain/model.js';
export type { IncidentResolution, NoticeStatus, Watch, WatchIncident, WatchNotice };

const list = (values: readonly string[]) => values.map((v) => `'${v}'`).join(', ');

/**
 * Which migrations the watch covers, as SQL over `migrations m`: migrated ones, and those that broke
 * after their migration was completed (so that a passing check can bring them back).
 */
export const WATCHED_SQL = `(m.state IN (${list(MIGRATED_STATES)})
  OR (m.state = 'needs_attention' AND m.completed_at IS NOT NULL AND m.reason_code IN (${list(BROKEN_AFTER_MIGRATION_REASONS)})))`;

/** The staff list's "broke after migration" filter over account_index: an open incident (few rows, indexed). */
export const BROKE_SQL = `autoresponder_id IN (SELECT autoresponder_id FROM watch_incidents WHERE resolved_at IS NULL) AND state = 'needs_attention'`;

/** A watch item due now, with what it competes for in the job runner (its seller, mailbox and mail host). */
export interface DueCheck {
  autoresponderId: number;
  dueAt: string;
  sellerId: number;
  mailboxId: number | null;
  version: number;
  mailHost: string | null;
}

/** One migration as the watch's sync sees it. */
export interface SyncRow {
  autoresponderId: number;
  watched: boolean;
  scheduled: boolean;
  status: 'waiting' | 'running' | null;
  state: string;
  completedAt: string | null;
  openIncident: number | null;
}
type RawSyncRow = Omit<SyncRow, 'watched' | 'scheduled'> & { watched: number; scheduled: number };
const toSyncRow = (r: RawSyncRow): SyncRow => ({ ...r, watched: r.watched === 1, scheduled: r.scheduled === 1 });

const WATCH_COLUMNS = `autoresponder_id AS autoresponderId, status, due_at AS dueAt, failures, failing_since AS failingSince,
  failing_code AS failingCode, last_ok_at AS lastOkAt, checked_at AS checkedAt`;
const INCIDENT_COLUMNS = `id, autoresponder_id AS autoresponderId, subject, reason, code, worked_until AS workedUntil, found_at AS foundAt,
  resolved_at AS resolvedAt, resolution`;
/** How many of a seller's incidents their page reads: far more than it shows (a few per autoresponder). */
const SELLER_INCIDENTS = 50;

const INCIDENT_COLUMNS_I = `i.id, i.autoresponder_id AS autoresponderId, i.subject, i.reason, i.code, i.worked_until AS workedUntil,
  i.found_at AS foundAt, i.resolved_at AS resolvedAt, i.resolution`;
const NOTICE_COLUMNS = `id, incident_id AS incidentId, seller_id AS sellerId, status, not_before AS notBefore, attempts, error,
  created_at AS createdAt, sent_at AS sentAt`;

/**
 * The watch's storage: the schedule of every watched autoresponder (`watches`), the problems it found
 * (`watch_incidents`) and the e-mail of each (`watch_notices`). The watch service (src/watch/) is the
 * only writer; migration states change through the migration service, never here.
 */
export function createWatchRepository(db: Db, now: () => Date = () => new Date()) {
  const at = () => now().toISOString();
  // ---- the schedule ----
  // What the sync needs to know of a migration: watched or not, scheduled or not, fixed meanwhile or not.
  const SYNC_COLUMNS = `m.autoresponder_id AS autoresponderId, (${WATCHED_SQL}) AS watched, w.autoresponder_id IS NOT NULL AS scheduled,
    w.status AS status, m.state, m.completed_at AS completedAt,
    (SELECT i.id FROM watch_incidents i WHERE i.autoresponder_id = m.autoresponder_id AND i.resolved_at IS NULL) AS openIncident`;
  const byIdRange = db.prepare(
    `SELECT ${SYNC_COLUMNS} FROM migrations m LEFT JOIN watches w ON w.autoresponder_id = m.autoresponder_id
      WHERE m.autoresponder_id > ? ORDER BY m.autoresponder_id LIMIT ?`,
  );
  const changedSince = db.prepare(
    `SELECT ${SYNC_COLUMNS} FROM migrations m LEFT JOIN watches w ON w.autoresponder_id = m.autoresponder_id
      WHERE m.updated_at >= ? ORDER BY m.updated_at LIMIT ?`,
  );
  const insert = db.prepare(`INSERT OR IGNORE INTO watches (autoresponder_id, status, due_at, created_at, updated_at) VALUES (?, 'waiting', ?, ?, ?)`);
  const remove = db.prepare(`DELETE FROM watches WHERE autoresponder_id = ?`);
  const count = db.prepare(`SELECT count(*) FROM watches`).pluck();
  const get = db.prepare(`SELECT ${WATCH_COLUMNS} FROM watches WHERE autoresponder_id = ?`);
  const due = db.prepare(
    `SELECT w.autoresponder_id AS autoresponderId, w.due_at AS dueAt, a.seller_id AS sellerId, a.mailbox_id AS mailboxId, a.version,
            lower(mb.imap_host) AS mailHost
       FROM watches w JOIN autoresponders a ON a.id = w.autoresponder_id LEFT JOIN mailboxes mb ON mb.id = a.mailbox_id
      WHERE w.status = 'waiting' AND w.due_at <= ? ORDER BY w.due_at LIMIT ?`,
  );
  const nextDue = db.prepare(`SELECT min(due_at) FROM watches WHERE status = 'waiting'`).pluck();
  const claim = db.prepare(`UPDATE watches SET status = 'running', updated_at = @at WHERE autoresponder_id = @id AND status = 'waiting' AND due_at <= @at`);
  const release = db.prepare(`UPDATE watches SET status = 'waiting', due_at = @dueAt, updated_at = @at WHERE autoresponder_id = @id`);
  const passed = db.prepare(
    `UPDATE watches SET status = 'waiting', due_at = @dueAt, failures = 0, failing_since = NULL, failing_code = NULL, last_ok_at = @at,
            checked_at = @at, updated_at = @at WHERE autoresponder_id = @id`,
  );
  const sellerMustAct = db.prepare(
    `UPDATE watches SET status = 'waiting', due_at = @dueAt, failures = 0, failing_since = NULL, failing_code = NULL, checked_at = @at,
            updated_at = @at WHERE autoresponder_id = @id`,
  );
  const failed = db.prepare(
    `UPDATE watches SET status = 'waiting', due_at = @dueAt, failures = failures + 1, failing_since = COALESCE(failing_since, @at),
            failing_code = @code, checked_at = @at, updated_at = @at WHERE autoresponder_id = @id`,
  );
  const uncheckedDueNow = db.prepare(`UPDATE watches SET due_at = @at, updated_at = @at WHERE status = 'waiting' AND checked_at IS NULL AND due_at > @at`);
  const resumeRunning = db.prepare(`UPDATE watches SET status = 'waiting', updated_at = ? WHERE status = 'running'`);
  const outages = db.prepare(
    `SELECT CASE WHEN a.version = 3 THEN 'allegro' ELSE COALESCE(lower(mb.imap_host), '?') END AS host, w.failing_code AS code,
            count(*) AS n, min(w.failing_since) AS since
       FROM watches w JOIN autoresponders a ON a.id = w.autoresponder_id LEFT JOIN mailboxes mb ON mb.id = a.mailbox_id
      WHERE w.failing_since IS NOT NULL AND w.failing_since <= ? GROUP BY 1, 2 ORDER BY n DESC, host LIMIT ?`,
  );
  const failingCount = db.prepare(`SELECT count(*) FROM watches WHERE failing_since IS NOT NULL AND failing_since > ?`).pluck();

  // ---- incidents ----
  const openIncident = db.prepare(`SELECT ${INCIDENT_COLUMNS} FROM watch_incidents WHERE autoresponder_id = ? AND resolved_at IS NULL`);
  const incidentById = db.prepare(`SELECT ${INCIDENT_COLUMNS} FROM watch_incidents WHERE id = ?`);
  const insertIncident = db.prepare(
    `INSERT INTO watch_incidents (autoresponder_id, subject, reason, code, worked_until, found_at) VALUES (@autoresponderId, @subject, @reason, @code, @workedUntil, @foundAt)`,
  );
  const resolve = db.prepare(`UPDATE watch_incidents SET resolved_at = @resolvedAt, resolution = @resolution WHERE id = @id AND resolved_at IS NULL`);
  // Another open incident about the same mailbox (or authorization) and reason whose e-mail is out or on its way.
  const noticedSibling = db.prepare(
    `SELECT i.id FROM watch_incidents i JOIN watch_notices n ON n.incident_id = i.id
      WHERE i.subject = ? AND i.reason = ? AND i.resolved_at IS NULL AND i.id != ? AND n.status NOT IN ('failed', 'cancelled') LIMIT 1`,
  ).pluck();
  // The other open incidents about the same mailbox (or authorization) and reason.
  const openSiblings = db.prepare(`SELECT ${INCIDENT_COLUMNS} FROM watch_incidents WHERE subject = ? AND reason = ? AND resolved_at IS NULL AND id != ? ORDER BY id`);
  // Still broken: an incident the seller fixed meanwhile (the migration completed again) is closed only by the
  // next sync, but is not counted from the moment of the fix (as the list's filter, BROKE_SQL).
  const openOfSeller = db.prepare(
    `SELECT i.autoresponder_id FROM watch_incidents i JOIN autoresponders a ON a.id = i.autoresponder_id
      WHERE a.seller_id = ? AND i.resolved_at IS NULL`,
  ).pluck();
  const openCount = db.prepare(
    `SELECT count(*) FROM watch_incidents i JOIN migrations m ON m.autoresponder_id = i.autoresponder_id
      WHERE i.resolved_at IS NULL AND m.state = 'needs_attention'`,
  ).pluck();
  // Sorted here, not by SQLite: an ORDER BY that no index gives costs SQLite a temporary b-tree, and
  // with it a temporary file's set-up (~0.1 ms a call on a busy server, more than the whole read).
  // The join walks the seller's autoresponders and each one's incidents by index.
  const forSeller = db.prepare(
    `SELECT ${INCIDENT_COLUMNS_I} FROM watch_incidents i JOIN autoresponders a ON a.id = i.autoresponder_id WHERE a.seller_id = ?`,
  );

  // ---- notices ----
  const insertNotice = db.prepare(
    `INSERT INTO watch_notices (incident_id, seller_id, status, not_before, created_at, updated_at) VALUES (@incidentId, @sellerId, 'pending', @notBefore, @at, @at)`,
  );
  const noticeById = db.prepare(`SELECT ${NOTICE_COLUMNS} FROM watch_notices WHERE id = ?`);
  const noticeOf = db.prepare(`SELECT ${NOTICE_COLUMNS} FROM watch_notices WHERE incident_id = ?`);
  const dueNotices = db.prepare(`SELECT id, seller_id AS sellerId FROM watch_notices WHERE status = 'pending' AND not_before <= ? ORDER BY not_before, id LIMIT ?`);
  const nextNotice = db.prepare(`SELECT min(not_before) FROM watch_notices WHERE status = 'pending'`).pluck();
  const claimNotice = db.prepare(`UPDATE watch_notices SET status = 'sending', attempts = attempts + 1, updated_at = @at WHERE id = @id AND status = 'pending'`);
  const setNotice = db.prepare(
    `UPDATE watch_notices SET status = @status, error = @error, sent_at = CASE WHEN @status = 'sent' THEN @at ELSE sent_at END, updated_at = @at WHERE id = @id`,
  );
  const retryNotice = db.prepare(`UPDATE watch_notices SET status = 'pending', not_before = @notBefore, error = @error, updated_at = @at WHERE id = @id`);
  const cancelPending = db.prepare(`UPDATE watch_notices SET status = 'cancelled', updated_at = @at WHERE incident_id = @incidentId AND status = 'pending'`);
  const interruptedNotices = db.prepare(
    `SELECT n.id, n.status, i.autoresponder_id AS autoresponderId FROM watch_notices n JOIN watch_incidents i ON i.id = n.incident_id WHERE n.status IN ('sending', 'committing')`,
  );
  const noticeCounts = db.prepare(`SELECT status, count(*) AS n FROM watch_notices GROUP BY status`);

  // ---- retention ----
  // Incidents resolved before the cut go, their e-mail with them (ON DELETE CASCADE); never an open one,
  // nor one whose e-mail is still to be sent or its outcome unsettled.
  const purgeResolved = db.prepare(
    `DELETE FROM watch_incidents WHERE id IN (
       SELECT i.id FROM watch_incidents i INDEXED BY watch_incidents_resolved
        WHERE i.resolved_at IS NOT NULL AND i.resolved_at < @cut
          AND NOT EXISTS (SELECT 1 FROM watch_notices n WHERE n.incident_id = i.id AND n.status IN ('pending', 'sending', 'committing'))
        ORDER BY i.resolved_at LIMIT @limit)`,
  );

  return {
    // ---- the schedule ----
    /** Every migration after an autoresponder id, in id order, as the sync sees it (a full pass goes through all in chunks). */
    syncRows: (afterId: number, limit: number) => (byIdRange.all(afterId, limit) as RawSyncRow[]).map(toSyncRow),
    /** The migrations changed since a time (the periodic sync), oldest change first. */
    changedSince: (since: string, limit: number) => (changedSince.all(since, limit) as RawSyncRow[]).map(toSyncRow),
    add: (autoresponderId: number, dueAt: Date) => insert.run(autoresponderId, dueAt.toISOString(), at(), at()).changes === 1,
    remove: (autoresponderId: number) => void remove.run(autoresponderId),
    count: () => count.get() as number,
    get: (autoresponderId: number) => get.get(autoresponderId) as Watch | undefined,
    /** Checks due at `when`, the longest waiting first. */
    due: (when: Date, limit: number) => due.all(when.toISOString(), limit) as DueCheck[],
    nextDueAt: () => nextDue.get() as string | null,
    claim: (autoresponderId: number) => claim.run({ id: autoresponderId, at: at() }).changes === 1,
    /** Every scheduled autoresponder never checked yet becomes due now (the demo's first start); how many. */
    uncheckedDueNow: (dueAt: Date) => uncheckedDueNow.run({ at: dueAt.toISOString() }).changes,
    /** Back to waiting without a result (the check was superseded or could not be made). */
    release: (autoresponderId: number, dueAt: Date) => void release.run({ id: autoresponderId, dueAt: dueAt.toISOString(), at: at() }),
    passed: (autoresponderId: number, dueAt: Date) => void passed.run({ id: autoresponderId, dueAt: dueAt.toISOString(), at: at() }),
    sellerMustAct: (autoresponderId: number, dueAt: Date) => void sellerMustAct.run({ id: autoresponderId, dueAt: dueAt.toISOString(), at: at() }),
    failed: (autoresponderId: number, code: string, dueAt: Date) => void failed.run({ id: autoresponderId, code, dueAt: dueAt.toISOString(), at: at() }),
    resumeRunning: () => resumeRunning.run(at()).changes,
    /** Failing through no fault of the sellers since `before` or longer, by mail host (or Allegro) and code. */
    outages: (before: Date, limit = 20) => outages.all(before.toISOString(), limit) as { host: string; code: string; n: number; since: string }[],
    /** Failing, but for less time than an outage. */
    retrying: (after: Date) => failingCount.get(after.toISOString()) as number,

    // ---- incidents ----
    openIncident: (autoresponderId: number) => openIncident.get(autoresponderId) as WatchIncident | undefined,
    incident: (id: number) => incidentById.get(id) as WatchIncident | undefined,
    openIncidentFor(i: Omit<WatchIncident, 'id' | 'resolvedAt' | 'resolution'>): number {
      return Number(insertIncident.run(i).lastInsertRowid);
    },
    resolve: (id: number, resolution: IncidentResolution, resolvedAt: string) => resolve.run({ id, resolution, resolvedAt }).changes === 1,
    noticedSibling: (subject: string, reason: string, exceptId: number) => noticedSibling.get(subject, reason, exceptId) as number | undefined,
    openSiblings: (subject: string, reason: string, exceptId: number) => openSiblings.all(subject, reason, exceptId) as WatchIncident[],
    openCount: () => openCount.get() as number,
    /** The seller's autoresponders with an open incident (however many closed ones they have had). */
    openIncidentsOfSeller: (sellerId: number) => openOfSeller.all(sellerId) as number[],
    /** The seller's newest incidents (at most 50), newest first. */
    incidentsOfSeller: (sellerId: number) => (forSeller.all(sellerId) as WatchIncident[]).sort((x, y) => y.id - x.id).slice(0, SELLER_INCIDENTS),

    // ---- notices ----
    addNotice: (n: { incidentId: number; sellerId: number; notBefore: Date }) =>
      Number(insertNotice.run({ incidentId: n.incidentId, sellerId: n.sellerId, notBefore: n.notBefore.toISOString(), at: at() }).lastInsertRowid),
    notice: (id: number) => noticeById.get(id) as WatchNotice | undefined,
    noticeOf: (incidentId: number) => noticeOf.get(incidentId) as WatchNotice | undefined,
    dueNotices: (when: Date, limit: number) => dueNotices.all(when.toISOString(), limit) as { id: number; sellerId: number }[],
    nextNoticeAt: () => nextNotice.get() as string | null,
    claimNotice: (id: number) => claimNotice.run({ id, at: at() }).changes === 1,
    setNotice: (id: number, status: NoticeStatus, error: string | null = null) => void setNotice.run({ id, status, error: error?.slice(0, 300) ?? null, at: at() }),
    retryNotice: (id: number, notBefore: Date, error: string) => void retryNotice.run({ id, notBefore: notBefore.toISOString(), error: error.slice(0, 300), at: at() }),
    cancelPendingNotice: (incidentId: number) => cancelPending.run({ incidentId, at: at() }).changes === 1,
    interruptedNotices: () => interruptedNotices.all() as { id: number; status: 'sending' | 'committing'; autoresponderId: number }[],
    /** Deletes up to `limit` incidents resolved before `before`, with their e-mails; how many went. */
    purgeResolved: (o: { before: Date; limit: number }) => purgeResolved.run({ cut: o.before.toISOString(), limit: o.limit }).changes,
    noticeCounts(): Record<NoticeStatus, number> {
      const c: Record<NoticeStatus, number> = { pending: 0, sending: 0, committing: 0, sent: 0, unknown: 0, failed: 0, cancelled: 0 };
      for (const r of noticeCounts.all() as { status: NoticeStatus; n: number }[]) c[r.status] = r.n;
      return c;
    },
  };
}
export type WatchRepository = ReturnType<typeof createWatchRepository>;
