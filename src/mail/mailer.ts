import nodemailer, { type Transporter } from 'nodemailer';
import type { FastifyBaseLogger } from 'fastify';
import MailComposer from 'nodemailer/lib/mail-composer';
import { Readable } from 'node:stream';
import SMTPConnection from 'nodemailer/lib/smtp-connection';
import { parseConnectionUrl } from 'nodemailer/lib/shared';
import addressparser from 'nodemailer/lib/addressparser';

import { MailNotConfiguredError } from '../errors.js';


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
  let transport: Transporter | undefined;
  let mode: Mailer['mode'] = 'none';
  if (opts.smtpUrl) {
    transport = nodemailer.createTransport(opts.smtpUrl, {
      from: opts.from,
      connectionTimeout: 10_000,
      greetingTimeout: 10_000,
      socketTimeout: 20_000,
      ...(opts.extraCa ? { tls: { ca: opts.extraCa } } : {}),
    } as never);
    mode = 'smtp';
  } else if (opts.demo) {
    transport = nodemailer.createTransport({ jsonTransport: true });
    mode = 'demo';
  }
  return {
    mode,
    async sendTracked(mail, beforeEnd) {
      if (!transport) throw new MailNotConfiguredError();
      const raw = await new MailComposer({ from: opts.from, ...mail }).compile().build();
      if (mode === 'demo') {
        beforeEnd();
        opts.onDemoMail?.(mail);
        opts.log.info({ to: mail.to, subject: mail.subject }, 'demo mode: e-mail not sent (no SMTP_URL)');
        return;
      }
      // The SMTP dialogue is driven here (not through sendMail, which reads a message stream before it
      // connects), so that the hook runs after DATA and before the final ".".
      await sendRaw(opts.smtpUrl!, opts.extraCa, envelopeFrom(opts.from), mail.to, raw, beforeEnd);
    },
    close() {
      transport?.close();
    },
  };
}

/** The bare address of a From header such as '"Migracja" <no-reply@example.pl>'. */
function envelopeFrom(from: string): string {
  const parsed = addressparser(from) as { address?: string }[];
  return parsed[0]?.address || from;
}

/** One message over one SMTP connection, with the end of DATA held until `beforeEnd` has run. */
function sendRaw(url: string, extraCa: string | undefined, from: string, to: string, raw: Buffer, beforeEnd: () => void): Promise<void> {
  const o = parseConnectionUrl(url) as { host?: string; port?: number; secure?: boolean; auth?: { user: string; pass: string }; [k: string]: unknown };
  const connection = new SMTPConnection({
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
