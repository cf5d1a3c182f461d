/**
 * Stable codes for what a mail server answered to a login. Each has a Polish and English explanation
 * with the next step in the catalogs (mailErrors.<CODE>). Decided from the reply code and text, never
 * from a library flag alone: imapflow sets authenticationFailed for every refused login.
 */
export const MAIL_CHECK_CODES = [
  'MAIL_APP_PASSWORD_REQUIRED', // an account password was pasted where an app password is needed
  'MAIL_AUTH_FAILED', // wrong or revoked app password, or app passwords forbidden by the Workspace admin
  'MAIL_WEB_LOGIN_REQUIRED', // Google blocked the sign-in: sign in through the browser first
  'MAIL_IMAP_DISABLED', // IMAP is off for the account or the whole Workspace domain
  'MAIL_TOO_MANY_CONNECTIONS', // Gmail's 15 simultaneous IMAP connections are in use
  'MAIL_TOO_MANY_LOGINS', // SMTP 454 4.7.0: wait and retry later
  'MAIL_DNS_FAILED', // the server name does not resolve
  'MAIL_CONNECTION_REFUSED', // nothing listens there / network unreachable
  'MAIL_TLS_FAILED', // the secure connection could not be set up
  'MAIL_TIMEOUT', // no answer in time
  'MAIL_SERVER_ERROR', // any other refusal
  'MAIL_HOST_NOT_ALLOWED', // the port, or an address the server resolves to, is outside the policy: no connection made
] as const;
export type MailCheckCode = (typeof MAIL_CHECK_CODES)[number];

/** Codes worth trying again later: the server was busy or unreachable, not refusing the password. */
export const TRANSIENT_MAIL_CODES: readonly MailCheckCode[] = ['MAIL_TOO_MANY_CONNECTIONS', 'MAIL_TOO_MANY_LOGINS', 'MAIL_TIMEOUT', 'MAIL_CONNECTION_REFUSED'];
export const isTransientMailCode = (code: string): boolean => (TRANSIENT_MAIL_CODES as readonly string[]).includes(code);

/**
 * Answers that prove nothing about the password: the server's name did not resolve, nothing answered
 * or it answered too late, the secure connection failed, the server failed with an error of its own,
 * or Google turned the login away for a while before looking at the password ("too many
 * simultaneous connections" — the seller's other mail apps share Gmail's 15 —, SMTP 454 "too many
 * login attempts, try later"). Google never judged the password, so such a check is not the seller's
 * fault and does not count against the seller's attempts (checks/budget.ts). Every other code is
 * Google's verdict on the login (refused password, account settings) and counts.
 */
export const INCONCLUSIVE_MAIL_CODES: readonly MailCheckCode[] = ['MAIL_DNS_FAILED', 'MAIL_CONNECTION_REFUSED', 'MAIL_TIMEOUT', 'MAIL_TLS_FAILED', 'MAIL_SERVER_ERROR', 'MAIL_TOO_MANY_CONNECTIONS', 'MAIL_TOO_MANY_LOGINS'];
export const provesNothingAboutPassword = (code: string | null | undefined): boolean => !!code && (INCONCLUSIVE_MAIL_CODES as readonly string[]).includes(code);

export interface MailErrorFacts {
  /** Node/network code (ENOTFOUND, ECONNREFUSED, ETIMEDOUT, CERT_…) or the library's (EAUTH, ESOCKET…). */
  code?: string | undefined;
  /** SMTP reply code (534, 535, 454…). */
  responseCode?: number | undefined;
  /** IMAP response code in brackets (ALERT, AUTHENTICATIONFAILED…). */
  serverResponseCode?: string | undefined;
  /** The server's reply text, or the error message. */
  text?: string | undefined;
}

const DNS_CODES = new Set(['ENOTFOUND', 'EAI_AGAIN', 'EDNS', 'ENODATA']);
const REFUSED_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE', 'ECONNECTION']);
const TIMEOUT_CODES = new Set(['ETIMEDOUT', 'ETIMEOUT', 'CONNECT_TIMEOUT', 'GREETING_TIMEOUT', 'UPGRADE_TIMEOUT', 'ESOCKETTIMEDOUT']);
const TLS_TEXT = /certificate|self[- ]signed|ssl|tls|handshake|wrong version number|unable to verify/i;

/** The facts of an error thrown by imapflow or nodemailer, whatever its shape. */
export function mailErrorFacts(err: unknown): MailErrorFacts {
  const e = (err ?? {}) as Record<string, unknown>;
  const str = (v: unknown) => (typeof v === 'string' ? v : undefined);
  return {
    code: str(e.code),
    responseCode: typeof e.responseCode === 'number' ? e.responseCode : undefined,
    serverResponseCode: str(e.serverResponseCode),
    text: [str(e.responseText), str(e.response), str(e.message)].filter(Boolean).join(' | '),
  };
}

function networkCode(f: MailErrorFacts): MailCheckCode | undefined {
  const code = f.code ?? '';
  const text = f.text ?? '';
  if (code === 'MAIL_HOST_NOT_ALLOWED') return 'MAIL_HOST_NOT_ALLOWED';
  if (DNS_CODES.has(code) || /ENOTFOUND|EAI_AGAIN/.test(text)) return 'MAIL_DNS_FAILED';
  if (TIMEOUT_CODES.has(code) || /timed? ?out/i.test(text)) return 'MAIL_TIMEOUT';
  if (REFUSED_CODES.has(code) || /ECONNREFUSED|EHOSTUNREACH|ENETUNREACH|ECONNRESET/.test(text)) return 'MAIL_CONNECTION_REFUSED';
  // UNABLE_TO_VERIFY_LEAF_SIGNATURE: a certificate from an authority nobody trusts ("unable to verify the first certificate").
  if (code.startsWith('CERT_') || code.startsWith('ERR_TLS') || code.startsWith('ERR_SSL') || code.includes('CERT') || code.startsWith('UNABLE_TO_') || code === 'EPROTO') return 'MAIL_TLS_FAILED';
  if ((code === 'ESOCKET' || code === 'ETLS') && TLS_TEXT.test(text)) return 'MAIL_TLS_FAILED';
  return undefined;
}

/** Classifies a failed IMAP login (imapflow). */
export function classifyImapError(f: MailErrorFacts): MailCheckCode {
  const net = networkCode(f);
  if (net) return net;
  const text = `${f.serverResponseCode ?? ''} ${f.text ?? ''}`;
  if (/application-specific password required/i.test(text)) return 'MAIL_APP_PASSWORD_REQUIRED';
  if (/log ?in via your web ?browser|WEBALERT/i.test(text)) return 'MAIL_WEB_LOGIN_REQUIRED';
  if (/not enabled for IMAP|IMAP access is disabled/i.test(text)) return 'MAIL_IMAP_DISABLED';
  if (/too many simultaneous connections/i.test(text)) return 'MAIL_TOO_MANY_CONNECTIONS';
  if (/AUTHENTICATIONFAILED|invalid credentials|authentication failed|AUTHORIZATIONFAILED/i.test(text)) return 'MAIL_AUTH_FAILED';
  return 'MAIL_SERVER_ERROR';
}

/** Classifies a failed SMTP AUTH (nodemailer's verify()). */
export function classifySmtpError(f: MailErrorFacts): MailCheckCode {
  const net = networkCode(f);
  if (net) return net;
  const text = f.text ?? '';
  const rc = f.responseCode;
  if (/5\.7\.9|application-specific password required/i.test(text)) return 'MAIL_APP_PASSWORD_REQUIRED';
  if (/5\.7\.14|log ?in via your web ?browser/i.test(text)) return 'MAIL_WEB_LOGIN_REQUIRED';
  if (rc === 454 || /too many login attempts/i.test(text)) return 'MAIL_TOO_MANY_LOGINS';
  if (rc === 535 || /5\.7\.8|username and password not accepted/i.test(text) || f.code === 'EAUTH') return 'MAIL_AUTH_FAILED';
  return 'MAIL_SERVER_ERROR';
}
