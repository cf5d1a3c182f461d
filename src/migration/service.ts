import type { Db } from '../db/database.js';
import type { AutoresponderVerdict } from '../domain/model.js';
import {
  assertTransition,
  canTransition,
  DETECTION_STATES,
  type MigrationEvent,
  type MigrationState,
} from './states.js';
import { IllegalTransitionError, NotFoundError } from '../errors.js';
import type { AuditRepository } from '../repositories/audit.js';
import { migrationAuditEvent, type MigrationEventDetails } from '../domain/audit.js';
import type { Actor } from '../domain/model.js';
import type { MigrationsRepository } from '../repositories/migrations.js';
import type { Migration, MigrationPath } from '../domain/model.js';

export type TransitionOptions<E extends MigrationEvent = MigrationEvent> = {
  actor: Actor;
  /** Reason code, required for needs_attention. */
  reason?: string | null;
  /** The verdict, for detected / switched_back / abandoned. */
  verdict?: AutoresponderVerdict;
  errorCode?: string | null;
} & TransitionDetails<E>;

/**
 * What the event adds to its audit entry (MigrationEventDetails in domain/audit.ts): required when
 * the event has a detail every entry carries, none at all when it has none.
 */
type TransitionDetails<E extends MigrationEvent> = [keyof MigrationEventDetails[E]] extends [never]
  ? { details?: undefined }
  : {} extends MigrationEventDetails[E]
    ? { details?: MigrationEventDetails[E] }
    : { details: MigrationEventDetails[E] };

const isDetectionState = (s: MigrationState) => (DETECTION_STATES as readonly string[]).includes(s);

/**
 * The only way a migration changes state: checks the state machine, updates the record and appends
 * the audit entry in one transaction.
 */
export function createMigrationService(deps: { db: Db; migrations: MigrationsRepository; audit: AuditRepository; now?: () => Date }) {
  const { db, migrations, audit } = deps;
  const now = deps.now ?? (() => new Date());

  // Inside `inBulk`, the caller's write transaction is all or nothing (any error rolls the whole of it
  // back), so a change joins it as it is; otherwise each change is its own transaction, or a savepoint
  // in the caller's. A savepoint per migration record was a tenth of an import's time.
  let bulk = 0;
  const atomically = <T>(fn: () => T): T => (bulk > 0 && db.inTransaction ? fn() : db.transaction(fn)());

  /**
   * @throws {IllegalTransitionError} when the state machine refuses the transition
   * @throws {NotFoundError} when there is no such migration
   */
  function transition<E extends MigrationEvent>(migrationId: number, event: E, to: MigrationState, opts: TransitionOptions<E>): Migration {
    return atomically(() => {
      const m = migrations.getById(migrationId);
      if (!m) throw new NotFoundError();
      assertTransition({ from: m.state, event, to, reason: opts.reason });
      const at = now().toISOString();
      const next: Migration = { ...m, state: to, previousState: m.state };
      switch (event) {
        case 'start_v3':
        case 'start_app_password': {
          const path: MigrationPath = event === 'start_v3' ? 'v3' : 'app_password';
          if (m.path !== path) next.startedAt = at;
          next.path = path;
          break;
        }
        case 'switched_v3':
        case 'relinked':
        case 'reauthorized':
          next.path = event === 'relinked' ? 'app_password' : 'v3';
          next.completedAt = at;
          next.reasonCode = null;
          next.lastErrorCode = null;
          break;
        case 'needs_attention':
          next.reasonCode = opts.reason!;
          next.lastErrorCode = opts.errorCode ?? opts.reason!;
          break;
        case 'detected':
        case 'switched_back':
        case 'abandoned':
          if (!opts.verdict || opts.verdict.state !== to) throw new IllegalTransitionError(m.state, `${event} → ${to} without its verdict`);
          next.verdictRule = opts.verdict.rule;
          next.verdictDetail = opts.verdict.detail;
          next.reasonCode = null;
          if (event !== 'detected') {
            next.path = null;
            next.startedAt = null;
            next.completedAt = null;
          }
          break;
        case 'reviewed':
          break;
        case 'reopened':
          // Back to where it was; only needs_attention keeps its reason.
          if (to !== 'needs_attention') next.reasonCode = null;
          break;
      }
      if (opts.errorCode !== undefined && event !== 'needs_attention') next.lastErrorCode = opts.errorCode;
      migrations.save(next);
      audit.record(
        opts.actor,
        m.autoresponderId,
        migrationAuditEvent(event, { from: m.state, to, ...(opts.reason ? { reason: opts.reason } : {}) }, (opts as TransitionOptions).details),
      );
      return migrations.getById(migrationId)!;
    });
  }

  /**
   * As `create`, returning only the new record's id: a bulk writer (the import, through detection)
   * that does not use the record does not read it back, once per row.
   */
  function add(autoresponderId: number, verdict: AutoresponderVerdict, actor: Actor): number {
    return atomically(() => {
      const id = migrations.insert({
        autoresponderId,
        state: verdict.state,
        verdictRule: verdict.rule,
        verdictDetail: verdict.detail,
      });
      audit.record(actor, autoresponderId, {
        action: 'migration.created',
        details: { state: verdict.state, rule: verdict.rule },
      });
      return id;
    });
  }

  return {
    transition,

    /**
     * Runs fn, a bulk writer's part of its own write transaction that is rolled back whole on any
     * error (the import's batch): the changes made in it take no savepoint each.
     * @throws {Error} outside a write transaction
     */
    inBulk<T>(fn: () => T): T {
      if (!db.inTransaction) throw new Error('migrationService.inBulk must run inside a write transaction');
      bulk++;
      try {
        return fn();
      } finally {
        bulk--;
      }
    },

    /**
     * Moves the migration when the state machine allows it from the state it has now (read in the
     * same transaction); otherwise leaves it as it is and returns null. For callers to whom a refused
     * transition is not an error (a re-check, an authorization that turns out to be for another account).
     */
    transitionIfAllowed<E extends MigrationEvent>(migrationId: number, event: E, to: MigrationState, opts: TransitionOptions<E>): Migration | null {
      return db.transaction(() => {
        const m = migrations.getById(migrationId);
        if (!m || !canTransition(m.state, event, to)) return null;
        return transition(migrationId, event, to, opts);
      })();
    },

    /** Whether the state machine allows this transition from the migration's current state. */
    allows(m: Pick<Migration, 'state'>, event: MigrationEvent, to: MigrationState): boolean {
      return canTransition(m.state, event, to);
    },

    /**
     * Records the outcome of a connection check on the migration (its last error code and when it
     * was tried); the state does not change. The check itself is stored by the caller with its detail.
     */
    recordCheck(migrationId: number, code: string | null): void {
      migrations.recordAttempt(migrationId, code);
    },

    /** Creates the migration record of a new autoresponder from its first verdict. */
    create(autoresponderId: number, verdict: AutoresponderVerdict, actor: Actor): Migration {
      return atomically(() => migrations.getById(add(autoresponderId, verdict, actor))!);
    },

    add,

    /**
     * Applies a fresh verdict. Only verdict states follow detection; a migration the seller or staff
     * have acted on keeps its state. Returns whether anything changed.
     */
    applyVerdict(m: Migration, verdict: AutoresponderVerdict, actor: Actor): boolean {
      if (!isDetectionState(m.state)) return false;
      if (m.state === verdict.state && m.verdictRule === verdict.rule && m.verdictDetail === verdict.detail) return false;
      transition(m.id, 'detected', verdict.state, { actor, verdict, details: { rule: verdict.rule } });
      return true;
    },

    /** Restores the state a reviewed migration had before it was marked reviewed. */
    reopen(migrationId: number, actor: Actor): Migration {
      const m = migrations.getById(migrationId);
      if (!m) throw new NotFoundError();
      return transition(migrationId, 'reopened', m.previousState ?? 'affected', { actor, reason: m.reasonCode });
    },
  };
}
export type MigrationService = ReturnType<typeof createMigrationService>;
