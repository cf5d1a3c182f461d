/**
 * Gmail's exact answers to a refused login, in one place: the classifier's unit tests read them from
 * here, and the demo's Google simulator sends them, so the simulator cannot drift from what the
 * classifier was tested against. The texts are Gmail's (without the per-request id Google appends).
 */

/** An IMAP refusal as Gmail sends it: `a1 NO [<code>] <text>`; imapflow reports serverResponseCode + responseText. */
export interface GmailImapAnswer {
  readonly responseCode: 'ALERT' | 'AUTHENTICATIONFAILED';
  readonly text: string;
}

/** An SMTP refusal as Gmail sends it: one or more `<code>-<line>` lines, the last `<code> <line>`. */
export interface GmailSmtpAnswer {
  readonly responseCode: number;
  readonly lines: readonly string[];
}

export const GMAIL_IMAP = {
  /** The account password where an app password is needed (2-Step Verification is on). */
  appPasswordRequired: { responseCode: 'ALERT', text: 'Application-specific password required: https://support.google.com/accounts/answer/185833 (Failure)' },
  /** A wrong or revoked app password. */
  invalidCredentials: { responseCode: 'AUTHENTICATIONFAILED', text: 'Invalid credentials (Failure)' },
  /** Google blocked the sign-in as suspicious. */
  webLoginRequired: { responseCode: 'ALERT', text: 'Please log in via your web browser: https://support.google.com/mail/accounts/answer/78754 (Failure)' },
  /** IMAP is off in the account's Gmail settings. */
  imapDisabled: { responseCode: 'ALERT', text: 'Your account is not enabled for IMAP use. Please visit your Gmail settings page and enable your account for IMAP access. (Failure)' },
  /** A Workspace administrator turned IMAP off for the domain. */
  imapDisabledForDomain: { responseCode: 'ALERT', text: 'IMAP access is disabled for your domain. Please contact your domain administrator for questions about this feature. (Failure)' },
  /** The account's 15 simultaneous IMAP connections are in use. */
  tooManyConnections: { responseCode: 'ALERT', text: 'Too many simultaneous connections. (Failure)' },
} as const satisfies Record<string, GmailImapAnswer>;

export const GMAIL_SMTP = {
  appPasswordRequired: { responseCode: 534, lines: ['5.7.9 Application-specific password required. For more information, go to', '5.7.9  https://support.google.com/mail/?p=InvalidSecondFactor'] },
  invalidCredentials: { responseCode: 535, lines: ['5.7.8 Username and Password not accepted. For more information, go to', '5.7.8  https://support.google.com/mail/?p=BadCredentials'] },
  webLoginRequired: {
    responseCode: 534,
    lines: ['5.7.14 <https://accounts.google.com/signin/continue?sarp=1&scc=1>', '5.7.14 Please log in via your web browser and then try again.', '5.7.14  Learn more at', '5.7.14  https://support.google.com/mail/answer/78754'],
  },
  tooManyLogins: { responseCode: 454, lines: ['4.7.0 Too many login attempts, please try again later.'] },
} as const satisfies Record<string, GmailSmtpAnswer>;

export type GmailImapAnswerName = keyof typeof GMAIL_IMAP;
export type GmailSmtpAnswerName = keyof typeof GMAIL_SMTP;

/** The reply as it crosses the wire and as nodemailer reports it (`response`): lines joined by a line feed. */
export function smtpReplyText(a: GmailSmtpAnswer): string {
  return a.lines.map((line, i) => `${a.responseCode}${i < a.lines.length - 1 ? '-' : ' '}${line}`).join('\n');
}
