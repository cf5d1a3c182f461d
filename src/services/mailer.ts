import nodemailer, { type Transporter } from 'nodemailer';
import type { FastifyBaseLogger } from 'fastify';
import createError from '@fastify/error';

export const MailNotConfiguredError = createError('MIG_ERR_MAIL_NOT_CONFIGURED', 'Outgoing mail is not configured (SMTP_URL)', 503);

export interface OutgoingMail {
  to: string;
  subject: string;
  text: string;
  html: string;
}

export interface Mailer {
  readonly mode: 'smtp' | 'demo' | 'none';
  send(mail: OutgoingMail): Promise<void>;
  close(): void;
}

/**
 * Outgoing mail through SMTP_URL. Without it, demo mode accepts mail without sending it (and says
 * so in the log); outside demo mode sending fails with MIG_ERR_MAIL_NOT_CONFIGURED.
 */
export function createMailer(opts: { smtpUrl: string | undefined; from: string; demo: boolean; log: FastifyBaseLogger; extraCa?: string | undefined }): Mailer {
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
    async send(mail) {
      if (!transport) throw new MailNotConfiguredError();
      await transport.sendMail({ from: opts.from, ...mail });
      if (mode === 'demo') opts.log.info({ to: mail.to, subject: mail.subject }, 'demo mode: e-mail not sent (no SMTP_URL)');
    },
    close() {
      transport?.close();
    },
  };
}
