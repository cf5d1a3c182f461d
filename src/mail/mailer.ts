import type { FastifyBaseLogger } from 'fastify';
import { Readable } from 'node:stream';
import { MailNotConfiguredError } from '../errors.js';

/**
 * nodemailer's parts, loaded at the first e-mail rather than at the server's start (a start answers
 * pages long before it sends anything).
 */
const loadParts = () =>
  Promise.all([
    import('nodemailer/lib/mail-composer'),
    import('nodemailer/lib/smtp-connection'),
    import('nodemailer/lib/shared'),
    import('nodemailer/lib/addressparser'),
  ]).then(([composer, connection, shared, address]) => ({
    MailComposer: composer.default,
    SMTPConnection: connection.default,
    parseConnectionUrl: shared.parseConnectionUrl,
    addressparser: address.default,
  }));
type NodemailerParts = Awaited<ReturnType<typeof loadParts>>;
let parts: Promise<NodemailerParts> | undefined;
const nodemailerParts = () => (parts ??= loadParts());


export interface OutgoingMail {
  to: string;
  subject: string;
  text: string;
  html: string;
}

export interface Mailer {
  readonly mode: 'smtp' | 'demo' | 'none';
  /**
   * Sends with a hook called synchronously just before the end of the message goes to the SMTP
   * server. Until then the server cannot have accepted the message (it only does on the final
   * "." of DATA), so a crash before the hook means "not sent" for certain; after it, "maybe sent"
   * (the duplicate window of RFC 1047, one round trip wide).
   */
  sendTracked(mail: OutgoingMail, beforeEnd: () => void): Promise<void>;
  close(): void;
}

/**
 * Outgoing mail through SMTP_URL: the transport only. Every e-mail goes through the outbox
 * (outbox/outbox.ts), which calls sendTracked and owns the rules (at most once, retries). Without it, demo mode accepts mail without sending it (and says
 * so in the log); outside demo mode sending fails with MIG_ERR_MAIL_NOT_CONFIGURED.
 */
export function createMailer(opts: {
  smtpUrl: string | undefined;
  from: string;
  demo: boolean;
  log: FastifyBaseLogger;
  extraCa?: string | undefined;
  /** Demo mode only: the e-mail not sent is handed here (the demo's mailbox shows it). */
  onDemoMail?: ((mail: OutgoingMail) => void) | undefined;
}): Mailer {
  const mode: Mailer['mode'] = opts.smtpUrl ? 'smtp' : opts.demo ? 'demo' : 'none';
  return {
    mode,
    async sendTracked(mail, beforeEnd) {
      if (mode === 'none') throw new MailNotConfiguredError();
      const { MailComposer } = await nodemailerParts();
      const raw = await new MailComposer({ from: opts.from, ...mail }).compile().build();
      if (mode === 'demo') {
        beforeEnd();
        opts.onDemoMail?.(mail);
        opts.log.info({ to: mail.to, subject: mail.subject }, 'demo mode: e-mail not sent (no SMTP_URL)');
        return;
      }
      // The SMTP dialogue is driven here (not through sendMail, which reads a message stream before it
      // connects), so that the hook runs after DATA and before the final ".".
      await sendRaw(await nodemailerParts(), opts.smtpUrl!, opts.extraCa, mail.to, raw, beforeEnd, opts.from);
    },
    close() {
      // Nothing is kept open: every e-mail has its own connection (sendRaw), closed when it is done.
    },
  };
}

/** The bare address of a From header such as '"Migracja" <no-reply@example.pl>'. */
function envelopeFrom(addressparser: NodemailerParts['addressparser'], from: string): string {
  const parsed = addressparser(from) as unknown as { address?: string }[];
  return parsed[0]?.address || from;
}

/** One message over one SMTP connection, with the end of DATA held until `beforeEnd` has run. */
function sendRaw(n: NodemailerParts, url: string, extraCa: string | undefined, to: string, raw: Buffer, beforeEnd: () => void, fromHeader: string): Promise<void> {
  const from = envelopeFrom(n.addressparser, fromHeader);
  const o = n.parseConnectionUrl(url) as { host?: string; port?: number; secure?: boolean; auth?: { user: string; pass: string }; [k: string]: unknown };
  const connection = new n.SMTPConnection({
    ...(o as object),
    connectionTimeout: 10_000,
    greetingTimeout: 10_000,
    socketTimeout: 20_000,
    ...(extraCa ? { tls: { ca: extraCa } } : {}),
  } as never);
  let step = 0;
  const message = new Readable({
    read() {
      if (step === 0) {
        step = 1;
        this.push(raw);
      } else if (step === 1) {
        step = 2;
        try {
          beforeEnd();
        } catch (err) {
          this.destroy(err as Error);
          return;
        }
        this.push(null);
      }
    },
  });
  return new Promise<void>((resolve, reject) => {
    let settled = false;
    const done = (err?: Error | null) => {
      if (settled) return;
      settled = true;
      if (err) {
        connection.close();
        reject(err);
      } else {
        connection.quit();
        resolve();
      }
    };
    connection.on('error', (err: Error) => done(err));
    connection.connect(() => {
      const send = () => connection.send({ from, to: [to] }, message as never, (err) => done(err));
      if (o.auth) connection.login(o.auth as never, (err) => (err ? done(err) : send()));
      else send();
    });
  });
}
