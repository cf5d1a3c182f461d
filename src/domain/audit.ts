import type { DetectionState, MigrationEvent, MigrationState } from '../migration/states.js';
import type {
  ActorType,
  AutoresponderRule,
  IncidentResolution,
  ItemStatus,
  JobKind,
  Language,
  MailboxRule,
  Provider,
  SecretKind,
  ServerSettings,
  StaffRole,
  Version,
} from './model.js';

/**
 * The audit log's events: every action the app writes, with the kind of target it is about and its
 * details, typed. Writers go through `repos.audit.record(actor, targetId, event)`, so an unknown
 * action or a wrong field is a compile error; readers get the same union back and switch on
 * `action`. The names and detail keys are the ones stored since the first rows: an old row reads as
 * it was written (a key that older rows lack is optional here).
 */

/** An event with nothing to add. */
type NoDetails = { none?: never };
type Event<A extends string, T extends string, D> = { action: A; targetType: T; details: D };

// ---- migration: the state machine's door (migration/service.ts) ---------------------------------

/** What every transition records, whatever the event. */
export interface TransitionBase {
  from: MigrationState;
  to: MigrationState;
  /** The reason code given with the transition (needs_attention; a reopened one keeps its reason). */
  reason?: string;
}

/** A check brought a broken migration back (checks/outcome.ts). */
interface Recovery {
  recovered?: boolean;
  trigger?: string;
  incidentId?: number;
}

/** What each transition adds to its details (passed by the caller as `details`). */
export interface MigrationEventDetails {
  detected: { rule: AutoresponderRule };
  start_v3: {};
  start_app_password: {};
  /**
   * The seller's switch writes all four; the demo's steps write none. (It also passed
   * `mailboxSecretDeleted`, which the scrub of secret-looking keys always dropped: the deleted
   * password is its own entry, mailbox.secret_deleted.)
   */
  switched_v3: { authorizationId?: number; allegroLogin?: string; previousVersion?: Version; templates?: number };
  /** A seller's save names the mailbox; a check that brought it back is a Recovery. */
  relinked: { mailboxId?: number } & Recovery;
  /** A check says what found it; an authorization for another Allegro account names both accounts. */
  needs_attention: { trigger?: string; allegroLogin?: string; expectedLogin?: string };
  reauthorized: { authorizationId?: number; allegroLogin?: string } & Recovery;
  switched_back: { toVersion: 1 | 2 | null; templatesRestored: number };
  abandoned: {};
  reviewed: { note?: string; jobId?: number };
  reopened: {};
}

export type MigrationTransitionDetails<E extends MigrationEvent> = TransitionBase & MigrationEventDetails[E];

type MigrationTransitionEvents = { [E in MigrationEvent]: Event<`migration.${E}`, 'autoresponder', MigrationTransitionDetails<E>> }[MigrationEvent];

type MigrationEvents =
  | Event<'migration.created', 'autoresponder', { state: DetectionState; rule: AutoresponderRule }>
  | MigrationTransitionEvents;

// ---- sellers, mailboxes and autoresponders: the import, detection, the seller's own changes -------

type SellerEvents =
  | Event<'seller.created', 'seller', { externalId: string }>
  | Event<'seller.updated', 'seller', { externalId: string }>
  /** The seller's sign-in by link; `demo` for the demo's sign-in list. */
  | Event<'seller.signed_in', 'seller', { demo?: true }>;

type MailboxEvents =
  | Event<'mailbox.created', 'mailbox', { email: string }>
  | Event<'mailbox.servers_updated', 'mailbox', ServerSettings>
  | Event<'mailbox.secret_imported', 'mailbox', { kind: 'account_password' }>
  | Event<'mailbox.detected', 'mailbox', { provider: Provider; rule: MailboxRule; detail: string | null }>
  /** A verified app password saved (app-password/relink.ts); what it replaced. */
  | Event<'mailbox.relinked', 'mailbox', { imapHost: string; smtpHost: string; smtpPort: number; replaced: SecretKind | 'none' }>
  | Event<'mailbox.secret_deleted', 'mailbox', { reason: 'switched_v3' | 'seller_request'; autoresponderId: number }>;

type AutoresponderEvents =
  | Event<'autoresponder.created', 'autoresponder', { externalId: string; version: Version }>
  | Event<'autoresponder.updated', 'autoresponder', { version: Version; previous: Version }>
  /** Back from v3 to the mailbox version (v3/switch.ts); the migration's state then, if it has one. */
  | Event<'autoresponder.switched_back', 'autoresponder', { toVersion: 1 | 2 | null; migrationState: MigrationState | null }>;

type ImportEvents = Event<'import.completed', 'import', { rows: number; imported: number; updated: number; unchanged: number; rejected: number }>;

// ---- authorization at Allegro (allegro/authorization.ts) -----------------------------------------

interface AllegroAccount {
  authorizationId: number;
  allegroLogin: string;
}

type AllegroEvents =
  | Event<'allegro.authorized', 'seller', AllegroAccount & { expectedLogin: string | null; mismatch: boolean; scopes: string }>
  | Event<'allegro.account_confirmed', 'seller', AllegroAccount>
  | Event<'allegro.authorization_discarded', 'seller', AllegroAccount>
  /** The refresh token was refused: an OAuth code such as invalid_grant. */
  | Event<'allegro.authorization_invalid', 'authorization', { reason: string }>;

// ---- the key ring (crypto/secrets.ts) -------------------------------------------------------------

/**
 * `rotatedFrom`: the ids of the keys the secrets were encrypted with before. Older rows have
 * nothing here: the key was named `fromKeys`, which the scrub of secret-looking keys always dropped.
 */
type SecretsEvents = Event<'secrets.rotated', 'keyring', { total: number; reencrypted: number; rotatedFrom?: string[] }>;

// ---- staff: the console's users and their actions on one account ----------------------------------

interface StaffAccount {
  email: string;
  role: StaffRole;
}

type StaffEvents =
  | Event<'staff.signed_in', 'staff', NoDetails>
  | Event<'staff.signed_out', 'staff', NoDetails>
  /** Made in the console or by `npm run cli staff:create` (which also updates: staff.updated). */
  | Event<'staff.created', 'staff', StaffAccount>
  | Event<'staff.updated', 'staff', StaffAccount>
  /** The demo's administrator, made again on each start. */
  | Event<'staff.password_reset', 'staff', StaffAccount>
  | Event<'staff.role_changed', 'staff', { from: StaffRole; to: StaffRole }>
  | Event<'staff.disabled', 'staff', { sessionsEnded: number }>
  | Event<'staff.enabled', 'staff', NoDetails>
  /** An admin lifted the sign-in lockout of a staff address (its failed sign-ins forgotten). */
  | Event<'staff.unlocked', 'staff', { failuresCleared: number }>
  /** An admin set a new password for a staff user; every session of that user ended. */
  | Event<'staff.password_set', 'staff', { sessionsEnded: number }>
  | Event<'staff.note', 'autoresponder', { note: string }>
  | Event<'staff.recheck', 'autoresponder', { outcome: string }>
  /** "Send a reminder" (or "send again", `resendOf`) that did not send: the outcome says why. */
  | Event<'staff.remind_not_sent', 'autoresponder', { outcome: string; resendOf?: number }>
  /** The CSV export: the list's filter (as in its URL) and how many rows. */
  | Event<'staff.export', 'accounts', { filter: Record<string, string>; total: number; format?: 'keys' }>;

// ---- reminders (staff/reminders.ts): about the seller, from one autoresponder's page or a job -------

interface ReminderBase {
  autoresponderId: number;
  jobId: number | null;
}
interface ReminderSent extends ReminderBase {
  language: Language;
  /** How many of the seller's autoresponders the e-mail listed. */
  autoresponders: number;
}

type ReminderEvents =
  | Event<'reminder.sent', 'seller', ReminderSent>
  | Event<'reminder.resent', 'seller', ReminderSent & { previousReminderId: number }>
  | Event<'reminder.uncertain', 'seller', ReminderBase & { error: string }>;

// ---- bulk jobs (jobs/): the job itself, and each of its items on the autoresponder ------------------

export type JobScope = 'selected' | 'all' | 'failed';
/** How a job item ended (or that it will be tried again); `job.item.<status>`. */
export type JobItemAuditStatus = Extract<ItemStatus, 'done' | 'failed' | 'skipped' | 'unknown'> | 'retry';

type JobEvents =
  | Event<'job.created', 'job', { kind: JobKind; scope: JobScope; confirmed: number; filter?: Record<string, string>; retryOf?: number }>
  | Event<'job.cancel_requested', 'job', NoDetails>
  | Event<'job.started', 'job', { kind: JobKind; confirmed: number; total: number }>
  | Event<'job.finished', 'job', { kind: JobKind; counts: Record<ItemStatus, number> }>
  | Event<'job.cancelled', 'job', { kind: JobKind; counts: Record<ItemStatus, number> }>
  | { [S in JobItemAuditStatus]: Event<`job.item.${S}`, 'autoresponder', { jobId: number; kind: JobKind; outcome: string; attempt: number }> }[JobItemAuditStatus];

// ---- the watch over migrated autoresponders (checks/outcome.ts, watch/notice.ts) ------------------

/** Which incident, and its reason (an attention reason). */
interface IncidentRef {
  incidentId: number;
  reason: string;
}
interface IncidentClosed extends IncidentRef {
  brokenSince: string;
  noticeCancelled?: true;
}

type WatchEvents =
  | Event<'watch.broke', 'autoresponder', IncidentRef & {
    code: string;
    workedUntil: string | null;
    /** What found it (older rows lack it). */
    trigger?: string;
    /** Another autoresponder's incident whose e-mail covers this one, or when this one's may go. */
    noticeWithIncident?: number;
    noticeNotBefore?: string;
  }>
  /**
   * Closed: with an incident (check_passed, migrated_again, not_watched), or a recovery without one
   * (a check after a re-check had already found the problem: no incident, the reason maybe null).
   */
  | Event<'watch.recovered', 'autoresponder',
    | (IncidentClosed & { resolution: Exclude<IncidentResolution, 'changed'> })
    | { reason: string | null; resolution: 'check_passed'; trigger?: string; /** older rows */ lastOk?: string }>
  | Event<'watch.problem_changed', 'autoresponder', IncidentClosed & { resolution: 'changed' }>
  | Event<'watch.notice_sent', 'autoresponder', IncidentRef & { sellerId: number; language: Language; code: string }>
  /** `error`: the mail server's last words. */
  | Event<'watch.notice_uncertain', 'autoresponder', IncidentRef & { error: string }>
  /** `error`: the mail server's answer, or MIG_ERR_MAIL_NOT_CONFIGURED (then without code and attempts). */
  | Event<'watch.notice_failed', 'autoresponder', IncidentRef & { error: string; code?: string; attempts?: number }>
  /** Why it did not go: how the incident was closed, or the migration's state, or 'gone'. */
  | Event<'watch.notice_cancelled', 'autoresponder', IncidentRef & { why: IncidentResolution | MigrationState | 'gone' | null }>;

// ---- the union -------------------------------------------------------------------------------------

export type AuditEvent =
  | MigrationEvents
  | SellerEvents
  | MailboxEvents
  | AutoresponderEvents
  | ImportEvents
  | AllegroEvents
  | SecretsEvents
  | StaffEvents
  | ReminderEvents
  | JobEvents
  | WatchEvents;

export type AuditAction = AuditEvent['action'];
export type AuditTargetType = AuditEvent['targetType'];
/** One event by its name. */
export type AuditEventOf<A extends AuditAction> = Extract<AuditEvent, { action: A }>;

/**
 * Every action and the kind of target it is about: the run-time list of known names (a stored row
 * is read as its event only when its action is here and its target type matches). The mapped type
 * makes a missing, extra or mismatched action a compile error.
 */
export const AUDIT_TARGETS = {
  'migration.created': 'autoresponder',
  'migration.detected': 'autoresponder',
  'migration.start_v3': 'autoresponder',
  'migration.start_app_password': 'autoresponder',
  'migration.switched_v3': 'autoresponder',
  'migration.relinked': 'autoresponder',
  'migration.needs_attention': 'autoresponder',
  'migration.reauthorized': 'autoresponder',
  'migration.switched_back': 'autoresponder',
  'migration.abandoned': 'autoresponder',
  'migration.reviewed': 'autoresponder',
  'migration.reopened': 'autoresponder',
  'seller.created': 'seller',
  'seller.updated': 'seller',
  'seller.signed_in': 'seller',
  'mailbox.created': 'mailbox',
  'mailbox.servers_updated': 'mailbox',
  'mailbox.secret_imported': 'mailbox',
  'mailbox.detected': 'mailbox',
  'mailbox.relinked': 'mailbox',
  'mailbox.secret_deleted': 'mailbox',
  'autoresponder.created': 'autoresponder',
  'autoresponder.updated': 'autoresponder',
  'autoresponder.switched_back': 'autoresponder',
  'import.completed': 'import',
  'allegro.authorized': 'seller',
  'allegro.account_confirmed': 'seller',
  'allegro.authorization_discarded': 'seller',
  'allegro.authorization_invalid': 'authorization',
  'secrets.rotated': 'keyring',
  'staff.signed_in': 'staff',
  'staff.signed_out': 'staff',
  'staff.created': 'staff',
  'staff.updated': 'staff',
  'staff.password_reset': 'staff',
  'staff.unlocked': 'staff',
  'staff.password_set': 'staff',
  'staff.role_changed': 'staff',
  'staff.disabled': 'staff',
  'staff.enabled': 'staff',
  'staff.note': 'autoresponder',
  'staff.recheck': 'autoresponder',
  'staff.remind_not_sent': 'autoresponder',
  'staff.export': 'accounts',
  'reminder.sent': 'seller',
  'reminder.resent': 'seller',
  'reminder.uncertain': 'seller',
  'job.created': 'job',
  'job.cancel_requested': 'job',
  'job.started': 'job',
  'job.finished': 'job',
  'job.cancelled': 'job',
  'job.item.done': 'autoresponder',
  'job.item.failed': 'autoresponder',
  'job.item.skipped': 'autoresponder',
  'job.item.unknown': 'autoresponder',
  'job.item.retry': 'autoresponder',
  'watch.broke': 'autoresponder',
  'watch.recovered': 'autoresponder',
  'watch.problem_changed': 'autoresponder',
  'watch.notice_sent': 'autoresponder',
  'watch.notice_uncertain': 'autoresponder',
  'watch.notice_failed': 'autoresponder',
  'watch.notice_cancelled': 'autoresponder',
} as const satisfies { [A in AuditAction]: AuditEventOf<A>['targetType'] };

export const AUDIT_ACTIONS: readonly AuditAction[] = Object.keys(AUDIT_TARGETS) as AuditAction[];

export function isAuditAction(action: string): action is AuditAction {
  return Object.hasOwn(AUDIT_TARGETS, action);
}

// Both ways: every name in the table is an action of the union (the `satisfies` above rejects
// extra keys), and every action of the union is in the table.
type MissingFromTable = Exclude<AuditAction, keyof typeof AUDIT_TARGETS>;
const tableComplete: [MissingFromTable] extends [never] ? true : MissingFromTable = true;
void tableComplete;

/**
 * The repository drops detail keys that look like secrets (pass, secret, token, key), whatever a
 * caller passes. A typed key that the scrub would drop is never stored: a compile error here.
 */
type SecretLooking<K> = K extends string ? (Lowercase<K> extends `${string}${'pass' | 'secret' | 'token' | 'key'}${string}` ? K : never) : never;
type DetailKeys<E> = E extends { details: infer D } ? (D extends unknown ? keyof D : never) : never;
type ScrubbedKeys = SecretLooking<DetailKeys<AuditEvent>>;
const nothingScrubbed: [ScrubbedKeys] extends [never] ? true : ScrubbedKeys = true;
void nothingScrubbed;

// ---- writing ---------------------------------------------------------------------------------------

/**
 * What a writer passes: the action and its details (the target type follows from the action, see
 * AUDIT_TARGETS). Details may be left out when the event has none to require.
 */
export type AuditEventInput = InputOf<AuditEvent>;
/** The inputs of some actions, by name or pattern: `AuditInputOf<\`reminder.${string}\`>`. */
export type AuditInputOf<A extends string> = Extract<AuditEventInput, { action: A }>;
type InputOf<E> = E extends AuditEvent
  ? {} extends E['details']
    ? { action: E['action']; details?: E['details'] }
    : { action: E['action']; details: E['details'] }
  : never;

/**
 * The event of one migration transition, `migration.<event>`: what every transition records and
 * what this event adds. The one place a generic event and its details are joined: the signature
 * ties them (TypeScript cannot follow a generic into the union, hence the cast).
 */
export function migrationAuditEvent<E extends MigrationEvent>(event: E, base: TransitionBase, details: MigrationEventDetails[E] | undefined): AuditEventInput {
  return { action: `migration.${event}`, details: { ...base, ...details } } as AuditEventInput;
}

// ---- reading ---------------------------------------------------------------------------------------

interface AuditRow {
  id: number;
  at: string;
  actorType: ActorType;
  actorId: string | null;
  targetId: string | null;
}

/** A stored entry whose action is known: its event, typed. */
export type KnownAuditEntry = AuditRow & { known: true } & AuditEvent;

/** A stored entry of an action this version does not know (a newer or a retired one): as stored. */
export interface UnknownAuditEntry extends AuditRow {
  known: false;
  action: string;
  targetType: string;
  details: Record<string, unknown>;
}

export type AuditEntry = KnownAuditEntry | UnknownAuditEntry;

/** Narrows an entry to one event: `entries.find((e) => isAudit(e, 'job.created'))`. */
export function isAudit<A extends AuditAction>(e: AuditEntry, action: A): e is Extract<KnownAuditEntry, { action: A }> {
  return e.known && e.action === action;
}
