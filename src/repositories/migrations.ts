import type { Db } from '../db/database.js';
import type { MigrationState } from '../migration/states.js';
import type { MigrationPath, Migration, Autoresponder } from '../domain/model.js';

const COLUMNS = `id, autoresponder_id AS autoresponderId, state, previous_state AS previousState, path,
  reason_code AS reasonCode, verdict_rule AS verdictRule, verdict_detail AS verdictDetail, attempts,
  last_error_code AS lastErrorCode, last_checked_at AS lastCheckedAt, started_at AS startedAt,
  completed_at AS completedAt, created_at AS createdAt, updated_at AS updatedAt`;

/**
 * Plain storage of migration records. State changes go through the migration service, which checks
 * the state machine and writes the audit entry in the same transaction; this layer only persists.
 */
export function createMigrationsRepository(db: Db, now: () => Date = () => new Date()) {
  const byId = db.prepare(`SELECT ${COLUMNS} FROM migrations WHERE id = ?`);
  const byAutoresponder = db.prepare(`SELECT ${COLUMNS} FROM migrations WHERE autoresponder_id = ?`);
  // The seller's page: every autoresponder with its migration in one read, only the columns it shows.
  const cardsBySeller = db.prepare(
    `SELECT a.id, a.external_id AS externalId, a.version, a.previous_version AS previousVersion, a.mailbox_id AS mailboxId,
       m.state, m.reason_code AS reasonCode, m.verdict_rule AS verdictRule, m.completed_at AS completedAt
     FROM autoresponders a LEFT JOIN migrations m ON m.autoresponder_id = a.id WHERE a.seller_id = ? ORDER BY a.id`,
  );
  const insert = db.prepare(
    `INSERT INTO migrations (autoresponder_id, state, verdict_rule, verdict_detail, created_at, updated_at, state_changed_at)
     VALUES (@autoresponderId, @state, @verdictRule, @verdictDetail, @at, @at, @at)`,
  );
  const save = db.prepare(
    `UPDATE migrations SET state = @state, previous_state = @previousState, path = @path, reason_code = @reasonCode,
       verdict_rule = @verdictRule, verdict_detail = @verdictDetail, attempts = @attempts,
       last_error_code = @lastErrorCode, last_checked_at = @lastCheckedAt, started_at = @startedAt,
       completed_at = @completedAt, updated_at = @at,
       state_changed_at = CASE WHEN state = @state THEN state_changed_at ELSE @at END
     WHERE id = @id`,
  );
  const recordAttempt = db.prepare(
    `UPDATE migrations SET attempts = attempts + 1, last_error_code = @code, last_checked_at = @at, updated_at = @at WHERE id = @id`,
  );
  const countByState = db.prepare(`SELECT state, count(*) AS n FROM migrations GROUP BY state ORDER BY state`);
  return {
    getById: (id: number) => byId.get(id) as Migration | undefined,
    findByAutoresponder: (autoresponderId: number) => byAutoresponder.get(autoresponderId) as Migration | undefined,
    /**
     * Every autoresponder of a seller with its migration (null fields without one), in one read and
     * with only what the seller's migration page shows of them.
     */
    cardsOfSeller: (sellerId: number) => cardsBySeller.all(sellerId) as AutoresponderCard[],
    insert(m: { autoresponderId: number; state: MigrationState; verdictRule: string; verdictDetail: string | null }): number {
      return Number(insert.run({ ...m, at: now().toISOString() }).lastInsertRowid);
    },
    save(m: Migration): void {
      save.run({ ...m, at: now().toISOString() });
    },
    /** Counts a connection attempt and keeps its outcome code (null when it passed). */
    recordAttempt(id: number, code: string | null): void {
      recordAttempt.run({ id, code, at: now().toISOString() });
    },
    countByState: () => countByState.all() as { state: MigrationState; n: number }[],
  };
}
export type MigrationsRepository = ReturnType<typeof createMigrationsRepository>;

/** An autoresponder as the seller's migration page reads it, with its migration's state and reason. */
export type AutoresponderCard = Pick<Autoresponder, 'id' | 'externalId' | 'version' | 'previousVersion' | 'mailboxId'> & {
  state: MigrationState | null;
  reasonCode: string | null;
  verdictRule: string | null;
  completedAt: string | null;
};
