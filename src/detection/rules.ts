import type { AutoresponderRule, AutoresponderVerdict, Mailbox, MailboxRule, MailboxVerdict, Provider } from '../domain/model.js';



export interface MailboxFacts {
  email: string;
  imapHost: string;
  smtpHost: string;
}

/** The answer of an MX lookup, after cache and resolver. */
export type MxAnswer =
  | { status: 'ok'; hosts: string[] }
  | { status: 'no_mx' }
  | { status: 'failed'; code: string };

export type MxLookup = (domain: string) => Promise<MxAnswer>;

const GMAIL_DOMAINS = new Set(['gmail.com', 'googlemail.com']);
const GOOGLE_MAIL_HOSTS = new Set([
  'imap.gmail.com',
  'smtp.gmail.com',
  'imap.googlemail.com',
  'smtp.googlemail.com',
  'smtp-relay.gmail.com',
]);
const GOOGLE_MX_SUFFIXES = ['google.com', 'googlemail.com'];

/** Lower-case, trimmed, without the trailing dot of a fully-qualified name. */
export function normalizeHost(host: string): string {
  return host.trim().toLowerCase().replace(/\.+$/, '');
}

/** The domain part of an address, normalized; '' when there is none. */
export function domainOf(email: string): string {
  const at = email.lastIndexOf('@');
  return at < 0 ? '' : normalizeHost(email.slice(at + 1));
}

export function isGoogleMailHost(host: string): boolean {
  return GOOGLE_MAIL_HOSTS.has(normalizeHost(host));
}

/** aspmx.l.google.com, alt1.aspmx.l.google.com, smtp.google.com, aspmx.googlemail.com … */
export function isGoogleMxHost(host: string): boolean {
  const h = normalizeHost(host);
  return GOOGLE_MX_SUFFIXES.some((s) => h.endsWith('.' + s));
}

/**
 * The rules that need no network, in order. Returns undefined when only DNS can decide.
 */
export function detectWithoutDns(m: MailboxFacts): MailboxVerdict | undefined {
  const domain = domainOf(m.email);
  if (GMAIL_DOMAINS.has(domain)) return { google: true, provider: 'gmail', rule: 'gmail_address', detail: domain };
  if (isGoogleMailHost(m.imapHost)) {
    return { google: true, provider: 'workspace', rule: 'google_imap_host', detail: normalizeHost(m.imapHost) };
  }
  if (isGoogleMailHost(m.smtpHost)) {
    return { google: true, provider: 'workspace', rule: 'google_smtp_host', detail: normalizeHost(m.smtpHost) };
  }
  return undefined;
}

/** Decides whether a mailbox is served by Google; MX is consulted only when the cheap rules did not match. */
export async function detectMailbox(m: MailboxFacts, lookupMx: MxLookup): Promise<MailboxVerdict> {
  return detectWithoutDns(m) ?? verdictFromMx(await lookupMx(domainOf(m.email)));
}

export function verdictFromMx(answer: MxAnswer): MailboxVerdict {
  if (answer.status === 'failed') {
    return { google: null, provider: 'unknown', rule: 'mx_lookup_failed', detail: answer.code };
  }
  if (answer.status === 'no_mx') return { google: false, provider: 'other', rule: 'not_google', detail: 'no MX' };
  const hosts = answer.hosts.map(normalizeHost);
  const google = hosts.find(isGoogleMxHost);
  if (google) return { google: true, provider: 'workspace', rule: 'workspace_mx', detail: google };
  return { google: false, provider: 'other', rule: 'not_google', detail: hosts.slice(0, 3).join(', ') || null };
}


export interface AutoresponderFacts {
  version: 1 | 2 | 3;
  /** The mailbox the autoresponder reads; absent for v3. */
  mailbox?: { verdict: MailboxVerdict; secretKind: 'account_password' | 'app_password' | null; secretVerifiedAt: string | null } | undefined;
}

/**
 * An autoresponder is affected when it is v1/v2 and its mailbox is served by Google and does not yet
 * use a verified app password. A mailbox whose provider is unknown makes the autoresponder unknown.
 */
export function autoresponderVerdict(a: AutoresponderFacts): AutoresponderVerdict {
  if (a.version === 3 || !a.mailbox) return { state: 'not_affected', rule: 'version_3', detail: null };
  const { verdict, secretKind, secretVerifiedAt } = a.mailbox;
  if (verdict.google === false) return { state: 'not_affected', rule: verdict.rule, detail: verdict.detail };
  if (secretKind === 'app_password' && secretVerifiedAt) {
    return { state: 'not_affected', rule: 'app_password_verified', detail: verdict.rule };
  }
  if (verdict.google === null) return { state: 'unknown', rule: verdict.rule, detail: verdict.detail };
  return { state: 'affected', rule: verdict.rule, detail: verdict.detail };
}

/** The stored verdict of a mailbox, in the shape detection produces. */
export function mailboxVerdict(m: Pick<Mailbox, 'detectionRule' | 'provider' | 'detectionDetail'>): MailboxVerdict | undefined {
  if (m.detectionRule === 'not_checked') return undefined;
  const google = m.detectionRule === 'not_google' ? false : m.detectionRule === 'mx_lookup_failed' ? null : true;
  return { google, provider: m.provider, rule: m.detectionRule, detail: m.detectionDetail };
}
