import type { Db } from '../db/database.js';
import type { ActorType, Actor } from '../domain/model.js';

export interface AuditEntryInput {
  actor: Actor;
  action: string;
  targetType: string;
  targetId?: string | number | null;
  details?: Record<string, unknown>;
}

export interface AuditEntry {
  id: number;
  at: string;
  actorType: ActorType;
  actorId: string | null;
  action: string;
  targetType: string;
  targetId: string | null;
  details: Record<string, unknown>;
}

/** Keys that must never reach the audit log, whatever a caller passes. */
const SECRET_KEYS = /pass|secret|token|key/i;

function scrub(details: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(details).filter(([k]) => !SECRET_KEYS.test(k)));
}

/**
 * The append-only audit log. Callers write an entry inside the same transaction as the change it
 * describes; the table's triggers refuse UPDATE and DELETE.
 */
export function createAuditRepository(db: Db, now: () => Date = () => new Date()) {
  const insert = db.prepare(
    `INSERT INTO audit_log (at, actor_type, actor_id, action, target_type, target_id, details)
     VALUES (@at, @actorType, @actorId, @action, @targetType, @targetId, @details)`,
  );
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
  const parse = (r: Omit<AuditEntry, 'details'> & { details: string }): AuditEntry => ({ ...r, details: JSON.parse(r.details) });
  return {
    append(e: AuditEntryInput): number {
      const info = insert.run({
        at: now().toISOString(),
        actorType: e.actor.type,
        actorId: e.actor.id == null ? null : String(e.actor.id),
        action: e.action,
        targetType: e.targetType,
        targetId: e.targetId == null ? null : String(e.targetId),
        details: JSON.stringify(scrub(e.details ?? {})),
      });
      return Number(info.lastInsertRowid);
    },
    listForTarget(targetType: string, targetId: string | number): AuditEntry[] {
      return (byTarget.all(targetType, String(targetId)) as (Omit<AuditEntry, 'details'> & { details: string })[]).map(parse);
    },
    /** The timeline of an account: its autoresponder, mailbox and seller, newest first. */
    timeline(autoresponderId: number, mailboxId: number | null, sellerId: number, limit = 200): AuditEntry[] {
      return (byTargets.all({ a: String(autoresponderId), m: mailboxId == null ? null : String(mailboxId), s: String(sellerId), limit }) as (Omit<AuditEntry, 'details'> & { details: string })[]).map(parse);
    },
    count(): number {
      return count.get() as number;
    },
  };
}
export type AuditRepository = ReturnType<typeof createAuditRepository>;
