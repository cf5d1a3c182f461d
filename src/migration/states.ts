import { IllegalTransitionError, TransitionReasonError } from '../errors.js';

export const MIGRATION_STATES = [
  'affected',
  'not_affected',
  'unknown', // detection could not decide (MX lookup failed): check needed, never "not affected"
  'in_progress_v3',
  'in_progress_app_password',
  'switched_v3',
  'relinked_app_password',
  'needs_attention',
  'reviewed',
] as const;
export type MigrationState = (typeof MIGRATION_STATES)[number];

/** Verdict states: the ones detection itself may set and change. */
export const DETECTION_STATES = ['affected', 'not_affected', 'unknown'] as const satisfies readonly MigrationState[];
export type DetectionState = (typeof DETECTION_STATES)[number];

/** Why a migration needs attention. Stable codes, translated in the catalogs. */
export const ATTENTION_REASONS = [
  'authorize_again', // Allegro refresh token rejected (invalid_grant) or revoked
  'connection_failed', // a re-check of a relinked mailbox failed
  'app_password_rejected',
  'imap_disabled',
  'allegro_account_mismatch',
  'template_problem',
  'web_login_required', // Google blocked the sign-in: the seller must confirm it in the browser
] as const;
export type AttentionReason = (typeof ATTENTION_REASONS)[number];

/** States of a migrated autoresponder: it works (as far as the last check knows). */
export const MIGRATED_STATES = ['relinked_app_password', 'switched_v3'] as const satisfies readonly MigrationState[];
/**
 * Why a migrated autoresponder stopped working (a re-check or the watch found it). A migration that
 * needs attention for one of these after it was completed is still watched, so it can recover.
 */
export const BROKEN_AFTER_MIGRATION_REASONS = ['connection_failed', 'app_password_rejected', 'imap_disabled', 'web_login_required', 'authorize_again'] as const satisfies readonly AttentionReason[];

export const MIGRATION_EVENTS = [
  'detected',
  'start_v3',
  'start_app_password',
  'switched_v3',
  'relinked',
  'needs_attention',
  'reauthorized',
  'switched_back',
  'abandoned',
  'reviewed',
  'reopened',
] as const;
export type MigrationEvent = (typeof MIGRATION_EVENTS)[number];

interface TransitionRule {
  from: readonly MigrationState[];
  to: readonly MigrationState[];
  /** Whether the transition must carry a reason code. */
  needsReason?: boolean;
}

/** States in which the seller still has something to do: what a reminder is about (reviewed is settled by staff). */
export const AWAITING_SELLER_STATES: readonly MigrationState[] = ['affected', 'unknown', 'in_progress_v3', 'in_progress_app_password', 'needs_attention'];

const ALL_BUT_REVIEWED = MIGRATION_STATES.filter((s) => s !== 'reviewed');
const OPEN: readonly MigrationState[] = ['affected', 'unknown', 'needs_attention', 'reviewed'];

/**
 * The whole state machine, in one place. Any (state, event, target) not listed here is refused
 * with MIG_ERR_ILLEGAL_TRANSITION.
 */
export const TRANSITIONS: Readonly<Record<MigrationEvent, TransitionRule>> = {
  // Detection re-evaluates only the verdict states: it never undoes a seller's migration.
  detected: { from: DETECTION_STATES, to: DETECTION_STATES },
  start_v3: { from: [...OPEN, 'in_progress_app_password', 'in_progress_v3'], to: ['in_progress_v3'] },
  start_app_password: { from: [...OPEN, 'in_progress_v3', 'in_progress_app_password'], to: ['in_progress_app_password'] },
  switched_v3: { from: ['in_progress_v3'], to: ['switched_v3'] },
  // Relinking is also how an existing connection is edited and how a failed re-check recovers.
  relinked: {
    from: [...OPEN, 'in_progress_app_password', 'in_progress_v3', 'relinked_app_password'],
    to: ['relinked_app_password'],
  },
  needs_attention: {
    from: ['affected', 'unknown', 'in_progress_v3', 'in_progress_app_password', 'switched_v3', 'relinked_app_password', 'needs_attention'],
    to: ['needs_attention'],
    needsReason: true,
  },
  reauthorized: { from: ['needs_attention'], to: ['switched_v3'] },
  // Back to the mailbox version: the verdict is recomputed, so the target is a detection state.
  switched_back: { from: ['switched_v3', 'needs_attention'], to: DETECTION_STATES },
  abandoned: { from: ['in_progress_v3', 'in_progress_app_password'], to: DETECTION_STATES },
  // "Reviewed" is support settling what the seller still had to do (they close the business, they
  // answer buyers by hand…): it stops reminders and takes the migration out of what remains. So it
  // applies exactly where the seller has something to do. Not to a migration that works (switched_v3,
  // relinked_app_password): marking it would take a working autoresponder off the headline's count and
  // out of the watch, which then could not notice it break. Not to not_affected either: nobody has
  // anything to do there, and a reviewed migration is no longer re-evaluated by detection, so a move
  // of the mailbox to Google later would go unnoticed.
  reviewed: { from: AWAITING_SELLER_STATES, to: ['reviewed'] },
  // Reopening restores the state the migration had before it was marked reviewed (any state: older
  // records were marked reviewed from states the rule above no longer allows).
  reopened: { from: ['reviewed'], to: ALL_BUT_REVIEWED },
};

/** States in which the seller may still choose a way out (v3 or an app password) on their page. */
export const CHOOSABLE_STATES: readonly MigrationState[] = ['affected', 'unknown', 'needs_attention', 'in_progress_v3', 'in_progress_app_password', 'reviewed'];

export function isMigrationState(v: unknown): v is MigrationState {
  return typeof v === 'string' && (MIGRATION_STATES as readonly string[]).includes(v);
}

export interface TransitionRequest {
  from: MigrationState;
  event: MigrationEvent;
  to: MigrationState;
  reason?: string | null | undefined;
}

/**
 * Checks one transition against the table.
 * @throws {IllegalTransitionError} when the table does not allow it
 * @throws {TransitionReasonError} when the event needs a reason code and none was given
 */
export function assertTransition(req: TransitionRequest): void {
  const rule = TRANSITIONS[req.event];
  if (!rule || !rule.from.includes(req.from) || !rule.to.includes(req.to)) {
    throw new IllegalTransitionError(req.from, `${req.event} → ${req.to}`);
  }
  if (rule.needsReason && !req.reason) throw new TransitionReasonError(req.event);
}

export function canTransition(from: MigrationState, event: MigrationEvent, to: MigrationState): boolean {
  const rule = TRANSITIONS[event];
  return rule.from.includes(from) && rule.to.includes(to);
}
