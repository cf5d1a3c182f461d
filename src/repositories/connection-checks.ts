import type { Db } from '../db/database.js';
import type { ConnectionCheck } from '../domain/model.js';

const COLUMNS = `id, mailbox_id AS mailboxId, autoresponder_id AS autoresponderId, kind, trigger, ok, code, protocol, detail,
  authorization_id AS authorizationId, at`;

export function createConnectionChecksRepository(db: Db, now: () => Date = () => new Date()) {
  const insert = db.prepare(
    `INSERT INTO connection_checks (mailbox_id, autoresponder_id, kind, trigger, ok, code, protocol, detail, authorization_id, at)
     VALUES (@mailboxId, @autoresponderId, @kind, @trigger, @ok, @code, @protocol, @detail, @authorizationId, @at)`,
  );
  const windowStats = db.prepare(`SELECT count(*) AS count, min(at) AS oldest FROM connection_checks WHERE mailbox_id = ? AND trigger = ? AND at > ?`);
  const byMailbox = db.prepare(`SELECT ${COLUMNS} FROM connection_checks WHERE mailbox_id = ? ORDER BY id DESC LIMIT ?`);
  const lastAllegro = db.prepare(`SELECT ${COLUMNS} FROM connection_checks WHERE autoresponder_id = ? AND kind = 'allegro' ORDER BY id DESC LIMIT 1`);
  const forAutoresponder = db.prepare(
    `SELECT ${COLUMNS} FROM connection_checks WHERE autoresponder_id = ? OR (mailbox_id IS NOT NULL AND mailbox_id = ?) ORDER BY id DESC LIMIT ?`,
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
    /** How many checks of this trigger since a time, and when the oldest of them was. */
    since: (mailboxId: number, trigger: ConnectionCheck['trigger'], since: Date) =>
      windowStats.get(mailboxId, trigger, since.toISOString()) as { count: number; oldest: string | null },
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
    listByMailbox: (mailboxId: number, limit = 20) => (byMailbox.all(mailboxId, limit) as (Omit<ConnectionCheck, 'ok'> & { ok: number })[]).map(toCheck),
  };
}
export type ConnectionChecksRepository = ReturnType<typeof createConnectionChecksRepository>;
