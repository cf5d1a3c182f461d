import type { DetectionState, MigrationState } from '../migration/states.js';

/**
 * The domain's nouns: what the app stores and passes around, free of storage. Repositories read and
 * write these; services, presenters and routes import them from here, not from a repository.
 */

// ---- audit ----------------------------------------------------------------------------------

export type ActorType = 'system' | 'seller' | 'staff' | 'cli';

export interface Actor {
  type: ActorType;
  /** Seller id, staff id, or a label such as "import" / "demo". */
  id?: string | number | null;
}

// ---- sellers --------------------------------------------------------------------------------

export type Language = 'pl' | 'en';

export interface Seller {
  id: number;
  externalId: string;
  email: string;
  name: string;
  allegroLogin: string | null;
  language: Language;
  createdAt: string;
  updatedAt: string;
}

export type SellerInput = Pick<Seller, 'externalId' | 'email' | 'name' | 'allegroLogin'> & { language?: Language };

// ---- mailboxes ------------------------------------------------------------------------------

/**
 * Which rule decided a verdict. Kept with the verdict and shown to sellers and staff, so
 * "why is this affected?" always has an answer.
 */
export type MailboxRule =
  | 'gmail_address' // the address is @gmail.com / @googlemail.com
  | 'google_imap_host' // IMAP server is Google's
  | 'google_smtp_host' // SMTP server is Google's
  | 'workspace_mx' // the domain's MX hosts are Google's (Google Workspace)
  | 'not_google' // MX answered and none of the rules matched
  | 'mx_lookup_failed'; // DNS could not answer: unknown, check needed
export type AutoresponderRule = MailboxRule | 'version_3' | 'app_password_verified';

export type Provider = 'gmail' | 'workspace' | 'other' | 'unknown';

/** Detection's answer for one mailbox (detection/rules.ts). */
export interface MailboxVerdict {
  /** true: served by Google; false: not; null: could not tell. */
  google: boolean | null;
  provider: Provider;
  rule: MailboxRule;
  /** What matched: the host, the MX host, or the DNS error code. Never a secret. */
  detail: string | null;
}

/** Detection's answer for one autoresponder: the migration state it starts in, and why. */
export interface AutoresponderVerdict {
  state: DetectionState;
  rule: AutoresponderRule;
  detail: string | null;
}


export type Security = 'tls' | 'starttls' | 'none';

export type SecretKind = 'account_password' | 'app_password';

export interface ServerSettings {
  imapHost: string;
  imapPort: number;
  imapSecurity: Security;
  smtpHost: string;
  smtpPort: number;
  smtpSecurity: Security;
  username: string;
}

/** A mailbox as the app reads it. The encrypted secret is not part of it: see getSecret. */
export interface Mailbox extends ServerSettings {
  id: number;
  sellerId: number;
  email: string;
  hasSecret: boolean;
  secretKind: SecretKind | null;
  secretVerifiedAt: string | null;
  provider: Provider;
  detectionRule: MailboxRule | 'not_checked';
  detectionDetail: string | null;
  detectedAt: string | null;
  createdAt: string;
  updatedAt: string;
}

// ---- autoresponders -------------------------------------------------------------------------

export type Version = 1 | 2 | 3;

export interface Autoresponder {
  id: number;
  sellerId: number;
  externalId: string;
  version: Version;
  previousVersion: 1 | 2 | null;
  mailboxId: number | null;
  authorizationId: number | null;
  createdAt: string;
  updatedAt: string;
}

export interface ReplyTemplate {
  id: number;
  autoresponderId: number;
  position: number;
  name: string;
  subject: string;
  body: string;
  bodyFormat: 'html' | 'text';
}

export type ReplyTemplateInput = Pick<ReplyTemplate, 'name' | 'subject' | 'body' | 'bodyFormat'>;

// ---- migrations -----------------------------------------------------------------------------

export type MigrationPath = 'v3' | 'app_password';

export interface Migration {
  id: number;
  autoresponderId: number;
  state: MigrationState;
  previousState: MigrationState | null;
  path: MigrationPath | null;
  reasonCode: string | null;
  verdictRule: string;
  verdictDetail: string | null;
  attempts: number;
  lastErrorCode: string | null;
  lastCheckedAt: string | null;
  startedAt: string | null;
  completedAt: string | null;
  createdAt: string;
  updatedAt: string;
}

// ---- allegro-authorizations -----------------------------------------------------------------

export interface AllegroAuthorization {
  id: number;
  sellerId: number;
  allegroUserId: string;
  allegroLogin: string;
  accessExpiresAt: string;
  scopes: string;
  status: 'active' | 'invalid';
  invalidReason: string | null;
  /** NULL while the seller has not confirmed an account other than the expected one. */
  confirmedAt: string | null;
  refreshedAt: string | null;
  createdAt: string;
  updatedAt: string;
}

// ---- connection-checks ----------------------------------------------------------------------

export interface ConnectionCheck {
  id: number;
  mailboxId: number | null;
  autoresponderId: number | null;
  kind: 'mail' | 'allegro';
  trigger: 'seller' | 'staff' | 'bulk' | 'watch';
  ok: boolean;
  code: string | null;
  protocol: string | null;
  detail: string | null;
  authorizationId?: number | null;
  at: string;
}

// ---- jobs -----------------------------------------------------------------------------------

export const JOB_KINDS = ['recheck', 'remind', 'review'] as const;

export type JobKind = (typeof JOB_KINDS)[number];

export type JobStatus = 'queued' | 'running' | 'cancelling' | 'cancelled' | 'done';

export type ItemStatus = 'pending' | 'running' | 'done' | 'failed' | 'skipped' | 'cancelled' | 'unknown';

export interface Job {
  id: number;
  kind: JobKind;
  status: JobStatus;
  selection: 'ids' | 'filter';
  filter: string | null;
  ids: string | null;
  note: string | null;
  confirmedCount: number;
  total: number | null;
  createdBy: number;
  cancelledBy: number | null;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
}

export interface JobItem {
  id: number;
  jobId: number;
  autoresponderId: number;
  status: ItemStatus;
  attempts: number;
  nextAttemptAt: string | null;
  outcome: string | null;
  error: string | null;
  updatedAt: string;
}

// ---- the watch ------------------------------------------------------------------------------

/** A watched autoresponder's schedule and its run of failures that were not the seller's fault. */
export interface Watch {
  autoresponderId: number;
  status: 'waiting' | 'running';
  dueAt: string;
  failures: number;
  failingSince: string | null;
  failingCode: string | null;
  lastOkAt: string | null;
  checkedAt: string | null;
}

export type IncidentResolution = 'check_passed' | 'migrated_again' | 'changed' | 'not_watched';

/** A problem the seller must fix, found by the watch after the migration. */
export interface WatchIncident {
  id: number;
  autoresponderId: number;
  /** What broke: mailbox:<id> or authorization:<id> (autoresponders sharing it share one e-mail). */
  subject: string;
  reason: string;
  code: string;
  workedUntil: string | null;
  foundAt: string;
  resolvedAt: string | null;
  resolution: IncidentResolution | null;
}

export type NoticeStatus = 'pending' | 'sending' | 'committing' | 'sent' | 'unknown' | 'failed' | 'cancelled';

/** The e-mail that tells the seller about an incident. */
export interface WatchNotice {
  id: number;
  incidentId: number;
  sellerId: number;
  status: NoticeStatus;
  notBefore: string;
  attempts: number;
  error: string | null;
  createdAt: string;
  sentAt: string | null;
}

// ---- sessions -------------------------------------------------------------------------------

export type SessionKind = 'seller' | 'staff';

export interface Session {
  idHash: string;
  kind: SessionKind;
  subjectId: number;
  createdAt: string;
  lastSeenAt: string;
  expiresAt: string;
}

// ---- staff ----------------------------------------------------------------------------------

export const STAFF_ROLES = ['viewer', 'agent', 'admin'] as const;

export type StaffRole = (typeof STAFF_ROLES)[number];

export interface StaffUser {
  id: number;
  email: string;
  role: StaffRole;
  disabledAt: string | null;
  createdAt: string;
  updatedAt: string;
}

// ---- v3-drafts ------------------------------------------------------------------------------

export interface V3Draft {
  position: number;
  text: string;
  sourceHash: string;
  updatedAt: string;
}

// ---- the MX answers' cache (detection/mx-lookup.ts reads it, repositories/mx-cache.ts keeps it) ----

export interface MxCacheEntry {
  status: 'ok' | 'no_mx';
  hosts: string[];
  checkedAt: string;
}

export interface MxCacheStore {
  get(domain: string): MxCacheEntry | undefined;
  put(domain: string, entry: MxCacheEntry): void;
}
