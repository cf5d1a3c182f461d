import type { AttentionReason } from '../migration/states.js';

/**
 * What one check of a stored credential means, whoever made it (the watch, a staff re-check, the
 * seller's "Pobierz e-maile"): one classification everywhere. Only a few answers need the seller: the mail server refusing the app
 * password, asking for a sign-in in the browser, or saying IMAP is off; Allegro refusing the refresh
 * token (invalid_grant). Everything else — timeouts, refused connections, DNS, TLS, the servers' own
 * errors, Allegro not answering — is not the seller's fault: tried again later, never an e-mail.
 */
export type Verdict =
  | { kind: 'ok' }
  | { kind: 'seller'; reason: AttentionReason; code: string }
  | { kind: 'outage'; code: string };

/** Seller-side codes of the mail check, and the attention reason each one gives the migration. */
const SELLER_MAIL_CODES: Readonly<Record<string, AttentionReason>> = {
  MAIL_AUTH_FAILED: 'app_password_rejected', // Google revokes every app password when the account password changes
  MAIL_APP_PASSWORD_REQUIRED: 'app_password_rejected',
  MAIL_WEB_LOGIN_REQUIRED: 'web_login_required', // the account is locked or Google wants a sign-in in the browser
  MAIL_IMAP_DISABLED: 'imap_disabled', // turned off in Gmail, or by the Workspace administrator
};

/** The verdict of a mail check's code (null: it passed). */
export function mailVerdict(code: string | null): Verdict {
  if (code === null) return { kind: 'ok' };
  const reason = SELLER_MAIL_CODES[code];
  return reason ? { kind: 'seller', reason, code } : { kind: 'outage', code };
}

/** The verdict of a Message Center read (v3): only an authorization Allegro no longer accepts is the seller's. */
export function allegroVerdict(r: { ok: true } | { ok: false; code: string; authorizeAgain: boolean }): Verdict {
  if (r.ok) return { kind: 'ok' };
  if (r.authorizeAgain || r.code === 'MIG_ERR_AUTHORIZE_AGAIN') return { kind: 'seller', reason: 'authorize_again', code: 'MIG_ERR_AUTHORIZE_AGAIN' };
  return { kind: 'outage', code: r.code };
}
