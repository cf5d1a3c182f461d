import type { ConnectionCheck } from '../domain/model.js';

/** Why a mailbox will not take an app password, as far as the app knows. */
export type MailboxRefusal = 'imap_disabled' | 'app_password_rejected';

export interface RecommendationInput {
  /** Whether the app can switch to v3 at all (Allegro client configured). */
  v3Available: boolean;
  /** What the mailbox answered before, if it refused (see mailboxRefusal). */
  refusal: MailboxRefusal | null;
  /** How many v1/v2 autoresponders still to be fixed read this same mailbox (this one included). */
  sharedCount: number;
  /** Templates v3 could not send as they are (too long or empty), and by how many characters the long ones are over. */
  templatesToFix: { count: number; over: number };
}

export type Recommendation =
  | { choice: 'v3'; reason: 'imap_disabled' | 'app_password_rejected' | 'default' | 'templates_to_fix'; vars: Record<string, number> }
  | { choice: 'app_password'; reason: 'v3_unavailable' | 'shared_mailbox' | 'shared_mailbox_both'; vars: Record<string, number> };

/**
 * Which way out to recommend for one autoresponder, and why, from what the app knows. A mailbox that
 * refuses app passwords or IMAP leaves only v3; one app password fixing several autoresponders at
 * once beats switching each of them; otherwise v3, which no Google setting or password change can
 * break again — saying so when templates must first be shortened, and by how much (a one-time edit,
 * while an app password can stop working at every change of the Google password).
 */
export function recommend(i: RecommendationInput): Recommendation {
  if (!i.v3Available) return { choice: 'app_password', reason: 'v3_unavailable', vars: {} };
  if (i.refusal) return { choice: 'v3', reason: i.refusal, vars: {} };
  // Two are "both" in Polish ("oba"), never "all 2" ("wszystkie 2"): a reason, and a text, of its own.
  if (i.sharedCount >= 2) return { choice: 'app_password', reason: i.sharedCount === 2 ? 'shared_mailbox_both' : 'shared_mailbox', vars: { count: i.sharedCount } };
  if (i.templatesToFix.count > 0) return { choice: 'v3', reason: 'templates_to_fix', vars: { count: i.templatesToFix.count, chars: i.templatesToFix.over } };
  return { choice: 'v3', reason: 'default', vars: {} };
}

/** Failed app-password checks after which the app stops suggesting another one. */
export const REJECTIONS_BEFORE_V3 = 2;

/**
 * What the mailbox's recent checks say about app passwords: IMAP switched off (a Workspace domain
 * does that for all its users), or Google refusing app passwords again and again since the last
 * success. Checks are newest first; only the ones since the last success count.
 */
export function mailboxRefusal(checks: Pick<ConnectionCheck, 'ok' | 'code' | 'kind'>[], reasonCode: string | null): MailboxRefusal | null {
  if (reasonCode === 'imap_disabled' || reasonCode === 'app_password_rejected') return reasonCode;
  let rejected = 0;
  for (const c of checks) {
    if (c.kind !== 'mail') continue;
    if (c.ok) break;
    if (c.code === 'MAIL_IMAP_DISABLED') return 'imap_disabled';
    if (c.code === 'MAIL_AUTH_FAILED' && ++rejected >= REJECTIONS_BEFORE_V3) return 'app_password_rejected';
  }
  return null;
}
