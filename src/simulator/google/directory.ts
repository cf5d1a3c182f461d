import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { z } from 'zod';
import { GMAIL_IMAP, GMAIL_SMTP, type GmailImapAnswer, type GmailSmtpAnswer } from '../../mail/gmail-answers.js';
import { DEMO_APP_PASSWORD, SEEDED_APP_PASSWORD } from './demo-passwords.js';
import { demoInbox, type DemoMessage } from './inbox.js';

const imapAnswer = z.enum(Object.keys(GMAIL_IMAP) as [keyof typeof GMAIL_IMAP, ...(keyof typeof GMAIL_IMAP)[]]);
const smtpAnswer = z.enum(Object.keys(GMAIL_SMTP) as [keyof typeof GMAIL_SMTP, ...(keyof typeof GMAIL_SMTP)[]]);

/** The demo situations shown on the sign-in page; each has a title and a note in the catalogs (demoSignIn.situations.*). */
export const DEMO_SITUATIONS = [
  'gmailAffected',
  'workspaceMx',
  'sharedMailbox',
  'inProgressV3',
  'relinked',
  'brokeAfterMigration',
  'switchedV3',
  'allegroWithdrawn',
  'notAffected',
  'appPasswordRequired',
  'invalidCredentials',
  'webLoginRequired',
  'imapDisabled',
  'imapDisabledForDomain',
  'tooManyConnections',
  'tooManyLogins',
] as const;
export type DemoSituation = (typeof DEMO_SITUATIONS)[number];

const googleFileSchema = z.object({
  mailboxes: z.record(
    z.string(),
    z.object({
      refuse: z.object({ imap: imapAnswer.optional(), smtp: smtpAnswer.optional() }).optional(),
      seededAppPasswordRevoked: z.boolean().optional(),
    }),
  ),
  signIn: z.array(z.object({ seller: z.string(), situation: z.enum(DEMO_SITUATIONS) })),
});
export type GoogleDemoFile = z.infer<typeof googleFileSchema>;

/** data/demo/google.json, validated. @throws when the file is invalid */
export function readGoogleDemoFile(demoDir: string): GoogleDemoFile {
  return googleFileSchema.parse(JSON.parse(readFileSync(path.join(demoDir, 'google.json'), 'utf8')));
}

export interface SimMailbox {
  address: string;
  /** The account password of the demo export: Gmail refuses it with "Application-specific password required". */
  accountPassword: string | null;
  refuse: { imap?: GmailImapAnswer; smtp?: GmailSmtpAnswer };
  seededAppPasswordRevoked: boolean;
}

export type LoginAnswer = { ok: true; address: string } | { ok: false; imap: GmailImapAnswer; smtp: GmailSmtpAnswer };

const INVALID: LoginAnswer = { ok: false, imap: GMAIL_IMAP.invalidCredentials, smtp: GMAIL_SMTP.invalidCredentials };
const APP_PASSWORD_REQUIRED: LoginAnswer = { ok: false, imap: GMAIL_IMAP.appPasswordRequired, smtp: GMAIL_SMTP.appPasswordRequired };

/**
 * Who the Google simulator knows: every mailbox of the demo export, each answering as its entry in
 * google.json says, with an INBOX made up for it at start.
 */
export function createDirectory(opts: { demoDir: string; now: Date }) {
  const file = readGoogleDemoFile(opts.demoDir);
  const rows = parse(readFileSync(path.join(opts.demoDir, 'autoresponders.csv')), { columns: true, bom: true, skip_empty_lines: true, trim: true }) as Record<string, string>[];
  const mailboxes = new Map<string, SimMailbox>();
  for (const r of rows) {
    const address = (r.mailbox_email ?? '').toLowerCase();
    if (!address || mailboxes.has(address)) continue;
    const entry = file.mailboxes[address];
    mailboxes.set(address, {
      address,
      accountPassword: r.mailbox_password || null,
      refuse: { imap: entry?.refuse?.imap && GMAIL_IMAP[entry.refuse.imap], smtp: entry?.refuse?.smtp && GMAIL_SMTP[entry.refuse.smtp] },
      seededAppPasswordRevoked: entry?.seededAppPasswordRevoked ?? false,
    });
  }
  for (const address of Object.keys(file.mailboxes)) {
    if (!mailboxes.has(address.toLowerCase())) throw new Error(`data/demo/google.json: ${address} is not a mailbox of autoresponders.csv`);
  }
  const inboxes = new Map<string, DemoMessage[]>();

  return {
    mailboxes,
    /** How Gmail would answer this login. Refusals of a mailbox come first: Google answers them whatever the password. */
    login(user: string, password: string, protocol: 'imap' | 'smtp'): LoginAnswer {
      const box = mailboxes.get(user.trim().toLowerCase());
      if (!box) return INVALID;
      const refusal = box.refuse[protocol];
      if (refusal) return protocol === 'imap' ? { ok: false, imap: refusal as GmailImapAnswer, smtp: GMAIL_SMTP.invalidCredentials } : { ok: false, imap: GMAIL_IMAP.invalidCredentials, smtp: refusal as GmailSmtpAnswer };
      // Google shows app passwords in groups of four; people paste them with spaces.
      const given = password.replace(/\s+/g, '');
      if (given === DEMO_APP_PASSWORD || (given === SEEDED_APP_PASSWORD && !box.seededAppPasswordRevoked)) return { ok: true, address: box.address };
      if (box.accountPassword && password === box.accountPassword) return APP_PASSWORD_REQUIRED;
      return INVALID;
    },
    /** The mailbox's INBOX, oldest first, the same for the life of the simulator. */
    inbox(address: string): DemoMessage[] {
      const key = address.toLowerCase();
      let messages = inboxes.get(key);
      if (!messages) {
        messages = demoInbox(key, opts.now);
        inboxes.set(key, messages);
      }
      return messages;
    },
  };
}
export type GoogleDirectory = ReturnType<typeof createDirectory>;
