import type { Statement } from 'better-sqlite3';
import type { Db } from '../db/database.js';
import type { ConnectionCheck } from '../domain/model.js';

const COLUMNS = `id, mailbox_id AS mailboxId, autoresponder_id AS autoresponderId, kind, trigger, ok, code, protocol, detail,
  authorization_id AS authorizationId, at`;

export function createConnectionChecksRepository(db: Db, now: () => Date = () => new Date()) {
  const insert = db.prepare(
    `INSERT INTO connection_checks (mailbox_id, autoresponder_id, kind, trigger, ok, code, protocol, detail, authorization_id, at)
     VALUES (@mailboxId, @autoresponderId, @kind, @trigger, @ok, @code, @protocol, @detail, @authorizationId, @at)`,
  );
  const reserve = db.prepare(
    `INSERT INTO connection_checks (mailbox_id, autoresponder_id, kind, trigger, ok, code, protocol, detail, authorization_id, at, running)
     VALUES (@mailboxId, @autoresponderId, @kind, @trigger, 0, NULL, NULL, NULL, @authorizationId, @at, 1)`,
  );
  const finish = db.prepare(`UPDATE connection_checks SET running = 0, ok = @ok, code = @code, protocol = @protocol, detail = @detail WHERE id = @id AND running = 1`);
  // Every login of a mailbox in the budget's window, whoever asked, the running ones included.
  const inWindow = db.prepare(`SELECT ok, code, running, at FROM connection_checks WHERE mailbox_id = ? AND kind = 'mail' AND at > ? ORDER BY at DESC, id DESC LIMIT ?`);
  const interrupt = db.prepare(
    `UPDATE connection_checks SET running = 0, ok = 0, code = 'MIG_ERR_CHECK_INTERRUPTED', detail = 'the process stopped during this check' WHERE running = 1`,
  );
  // Newest first along the (mailbox_id, at) index: one index step, not a sort of the mailbox's whole history.
  const byMailbox = db.prepare(`SELECT ${COLUMNS} FROM connection_checks WHERE mailbox_id = ? AND running = 0 ORDER BY at DESC, id DESC LIMIT ?`);
  // One statement per limit, the limit written into the SQL: a bound LIMIT (or any second parameter
  // SQLite's planner may read, such as running = ?, which a partial index names) makes SQLite prepare
  // the statement again at every run, several µs against a fraction of one.
  const outcomesByMailbox = new Map<number, Statement>();
  const outcomes = (limit: number) => {
    let s = outcomesByMailbox.get(limit);
    if (!s) outcomesByMailbox.set(limit, (s = db.prepare(`SELECT kind, ok, code FROM connection_checks WHERE mailbox_id = ? AND running = 0 ORDER BY at DESC, id DESC LIMIT ${Math.trunc(limit)}`)));
    return s;
  };
  const lastAllegro = db.prepare(`SELECT ${COLUMNS} FROM connection_checks WHERE autoresponder_id = ? AND kind = 'allegro' AND running = 0 ORDER BY id DESC LIMIT 1`);
  const forAutoresponder = db.prepare(
    `SELECT ${COLUMNS} FROM connection_checks WHERE (autoresponder_id = ? OR (mailbox_id IS NOT NULL AND mailbox_id = ?)) AND running = 0 ORDER BY id DESC LIMIT ?`,
  );
  // Old checks, oldest first, never the newest of a mailbox (mail) or of an autoresponder (Allegro): the
  // pages show the last known answer however old it is. Two deletes, each walking its own index up to its
  // cut: every check before the long cut, and the watch's passing checks before the short one.
  const NOT_NEWEST = `((c.kind = 'mail' AND EXISTS (SELECT 1 FROM connection_checks n WHERE n.mailbox_id = c.mailbox_id AND n.id > c.id))
      OR (c.kind = 'allegro' AND EXISTS (SELECT 1 FROM connection_checks n WHERE n.autoresponder_id = c.autoresponder_id AND n.kind = 'allegro' AND n.id > c.id)))`;
  const purgeAll = db.prepare(
    `DELETE FROM connection_checks WHERE id IN (
       SELECT c.id FROM connection_checks c INDEXED BY connection_checks_at WHERE c.at < @cut AND ${NOT_NEWEST} ORDER BY c.at LIMIT @limit)`,
  );
  const purgePassing = db.prepare(
    `DELETE FROM connection_checks WHERE id IN (
       SELECT c.id FROM connection_checks c INDEXED BY connection_checks_watch_passed
        WHERE c.trigger = 'watch' AND c.ok = 1 AND c.at < @cut AND ${NOT_NEWEST} ORDER BY c.at LIMIT @limit)`,
  );
  const toCheck = (r: Omit<ConnectionCheck, 'ok'> & { ok: number }): ConnectionCheck => ({ ...r, ok: r.ok === 1 });
  return {
    record(c: Omit<ConnectionCheck, 'id' | 'at'>): number {
      return Number(insert.run({ authorizationId: null, ...c, ok: c.ok ? 1 : 0, at: now().toISOString() }).lastInsertRowid);
    },
    /** The latest Allegro (v3) check of an autoresponder. */
    lastAllegroCheck(autoresponderId: number): ConnectionCheck | undefined {
      const r = lastAllegro.get(autoresponderId) as (Omit<ConnectionCheck, 'ok'> & { ok: number }) | undefined;
      return r ? toCheck(r) : undefined;
    },
    /**
     * Writes a login down before it connects (checks/ only): it counts against the mailbox's budget
     * from this moment, and is completed by finish() with its outcome.
     */
    reserve(c: Pick<ConnectionCheck, 'mailboxId' | 'autoresponderId' | 'kind' | 'trigger'> & { authorizationId?: number | null }): number {
      return Number(reserve.run({ authorizationId: null, ...c, at: now().toISOString() }).lastInsertRowid);
    },
    finish(id: number, o: Pick<ConnectionCheck, 'ok' | 'code' | 'protocol' | 'detail'>): void {
      finish.run({ id, ok: o.ok ? 1 : 0, code: o.code, protocol: o.protocol, detail: o.detail });
    },
    /** The mailbox's mail logins since a time, newest first (running ones too), at most `limit`. */
    window: (mailboxId: number, since: Date, limit: number) =>
      (inWindow.all(mailboxId, since.toISOString(), limit) as { ok: number; code: string | null; running: number; at: string }[]).map((r) => ({ ok: r.ok === 1, code: r.code, running: r.running === 1, at: r.at })),
    /** After a restart: logins left running were cut off; they stay counted (they may have reached the server). */
    interruptRunning: (): number => interrupt.run().changes,
    /** Checks of an autoresponder and of its mailbox (seller relinks included), newest first. */
    listForAutoresponder: (autoresponderId: number, mailboxId: number | null, limit = 100) =>
      (forAutoresponder.all(autoresponderId, mailboxId, limit) as (Omit<ConnectionCheck, 'ok'> & { ok: number })[]).map(toCheck),
    /**
     * Deletes up to `limit` checks made before `before` (all kinds), then, in what is left of `limit`, the
     * watch's passing checks made before `passingBefore` (they only say "it worked"; the watch keeps the
     * time of the last one), never the newest check of a mailbox or of a v3 autoresponder. How many went.
     */
    purgeOld(o: { before: Date; passingBefore: Date; limit: number }): number {
      const n = purgeAll.run({ cut: o.before.toISOString(), limit: o.limit }).changes;
      return n < o.limit ? n + purgePassing.run({ cut: o.passingBefore.toISOString(), limit: o.limit - n }).changes : n;
    },
    /** The outcomes (kind, ok, code) of a mailbox's newest checks, newest first: what a recommendation reads. */
    recentOutcomes: (mailboxId: number, limit: number) =>
      (outcomes(limit).all(mailboxId) as { kind: ConnectionCheck['kind']; ok: number; code: string | null }[]).map((r) => ({ kind: r.kind, ok: r.ok === 1, code: r.code })),
    listByMailbox: (mailboxId: number, limit = 20) => (byMailbox.all(mailboxId, limit) as (Omit<ConnectionCheck, 'ok'> & { ok: number })[]).map(toCheck),
  };
}
export type ConnectionChecksRepository = ReturnType<typeof createConnectionChecksRepository>;
