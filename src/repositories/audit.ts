import type { Db } from '../db/database.js';
import type { Actor } from '../domain/model.js';
import { AUDIT_TARGETS, isAuditAction, type AuditEntry, type AuditEventInput, type KnownAuditEntry } from '../domain/audit.js';

export type { AuditEntry } from '../domain/audit.js';

/** Keys that must never reach the audit log, whatever a caller passes. */
const SECRET_KEYS = /pass|secret|token|key/i;

function scrub(details: object): object {
  // Nearly always nothing to drop (an import writes a few entries per row): then the details as given.
  for (const k of Object.keys(details)) {
    if (SECRET_KEYS.test(k)) return Object.fromEntries(Object.entries(details).filter(([key]) => !SECRET_KEYS.test(key)));
  }
  return details;
}

/** A row as stored: the details still JSON. */
type Row = Omit<AuditEntry, 'known' | 'details'> & { details: string };

/**
 * A stored row as its event: the JSON parsed once, here. A row is its typed event when its action
 * is one this version writes, with that action's target type; any other (a retired or a newer
 * action) is kept as stored, so an old row never breaks a page.
 */
function read(r: Row): AuditEntry {
  const details = JSON.parse(r.details) as Record<string, unknown>;
  if (isAuditAction(r.action) && AUDIT_TARGETS[r.action] === r.targetType) {
    // The typed writer is the only writer of these names: the details are that event's.
    return { ...r, known: true, details } as KnownAuditEntry;
  }
  return { ...r, known: false, details };
}

/**
 * The append-only audit log. Callers write an entry inside the same transaction as the change it
 * describes; the table's triggers refuse UPDATE and DELETE.
 */
export function createAuditRepository(db: Db, now: () => Date = () => new Date()) {
  // Positional parameters: an import writes a few of these per row, and binding by name costs more.
  const insert = db.prepare(`INSERT INTO audit_log (at, actor_type, actor_id, action, target_type, target_id, details) VALUES (?, ?, ?, ?, ?, ?, ?)`);
  const byTarget = db.prepare(
    `SELECT id, at, actor_type AS actorType, actor_id AS actorId, action, target_type AS targetType,
            target_id AS targetId, details
       FROM audit_log WHERE target_type = ? AND target_id = ? ORDER BY id`,
  );
  const count = db.prepare(`SELECT count(*) AS n FROM audit_log`).pluck();
  const byTargets = db.prepare(
    `SELECT id, at, actor_type AS actorType, actor_id AS actorId, action, target_type AS targetType, target_id AS targetId, details
       FROM audit_log WHERE (target_type = 'autoresponder' AND target_id = @a) OR (target_type = 'mailbox' AND target_id = @m)
         OR (target_type = 'seller' AND target_id = @s) ORDER BY id DESC LIMIT @limit`,
  );
  return {
    /**
     * Records one event about one target (its type follows from the action). The only writer: an
     * unknown action or a wrong detail is a compile error (domain/audit.ts).
     */
    record(actor: Actor, targetId: string | number | null, event: AuditEventInput): number {
      const info = insert.run(
        now().toISOString(),
        actor.type,
        actor.id == null ? null : String(actor.id),
        event.action,
        AUDIT_TARGETS[event.action],
        targetId == null ? null : String(targetId),
        // Still scrubbed: a spread of an untyped object could carry a secret past the types.
        JSON.stringify(scrub(event.details ?? {})),
      );
      return Number(info.lastInsertRowid);
    },
    listForTarget(targetType: string, targetId: string | number): AuditEntry[] {
      return (byTarget.all(targetType, String(targetId)) as Row[]).map(read);
    },
    /** The timeline of an account: its autoresponder, mailbox and seller, newest first. */
    timeline(autoresponderId: number, mailboxId: number | null, sellerId: number, limit = 200): AuditEntry[] {
      return (byTargets.all({ a: String(autoresponderId), m: mailboxId == null ? null : String(mailboxId), s: String(sellerId), limit }) as Row[]).map(read);
    },
    count(): number {
      return count.get() as number;
    },
  };
}
export type AuditRepository = ReturnType<typeof createAuditRepository>;
