import type { FastifyBaseLogger } from 'fastify';
import { formatDateTime, type Lang } from '../i18n/index.js';
import type { Db } from '../db/database.js';
import type { Repositories } from '../repositories/index.js';
import type { MailRenderer } from '../mail/render.js';
import type { WatchIncident, WatchNotice } from '../domain/model.js';
import { inSendHours, nextSendTime, type SendHours } from '../outbox/hours.js';
import { MAIL_LINK_TTL_MS, type Links } from '../outbox/links.js';
import { retryDelayMs, type DurableKind, type Outbox } from '../outbox/outbox.js';
import type { AuditInputOf } from '../domain/audit.js';

type NoticeAuditEvent = AuditInputOf<`watch.notice_${string}`>;

/** The one-time link in the e-mail stays valid this long (as a reminder's). */
export const NOTICE_LINK_TTL_MS = MAIL_LINK_TTL_MS;
/** Tries to hand the e-mail to the SMTP relay before giving up (about seven hours with the backoff). */
export const NOTICE_MAX_ATTEMPTS = 12;

const ACTOR = { type: 'system' as const, id: 'watch' };

/** Where the e-mail's link leads: straight to the fix (the wizard's step 2, or the Allegro consent). */
export function fixPath(incident: Pick<WatchIncident, 'reason' | 'autoresponderId'>, mailboxId: number | null): string {
  return incident.reason === 'authorize_again' || mailboxId === null ? `/autoresponders/${incident.autoresponderId}/v3/authorize` : `/mailboxes/${mailboxId}/app-password/2`;
}

export interface NoticeOptions {
  db: Db;
  repos: Pick<Repositories, 'watch' | 'migrations' | 'autoresponders' | 'sellers' | 'mailboxes' | 'authorizations' | 'audit'>;
  now: () => Date;
  outbox: Pick<Outbox, 'deliver' | 'mode'>;
  links: Links;
  mail: MailRenderer;
  log: FastifyBaseLogger;
  sendHours: SendHours;
  /** A cancelled e-mail's problem may still be open on a sibling autoresponder: it takes the e-mail over (checks/outcome.ts). */
  handOver: (incident: WatchIncident) => void;
}

/**
 * The watch's e-mails: one per incident, in the seller's language, only in the sending hours, with a
 * personal one-time link to the fix. Sent through the outbox (outbox/outbox.ts: 'committing' just
 * before the end of the message; a permanent refusal is not retried, a temporary one is, with backoff).
 */
export function createNoticeSender(opts: NoticeOptions) {
  const { db, repos, now, log } = opts;

  /** An e-mail's entry, on the autoresponder; its details name the incident (see `about`). */
  function audit(incident: WatchIncident, event: NoticeAuditEvent) {
    repos.audit.record(ACTOR, incident.autoresponderId, event);
  }
  const about = (incident: WatchIncident) => ({ incidentId: incident.id, reason: incident.reason });

  function render(incident: WatchIncident, link: string) {
    const a = repos.autoresponders.getById(incident.autoresponderId)!;
    const seller = repos.sellers.getById(a.sellerId)!;
    const lang: Lang = seller.language;
    const v3 = incident.reason === 'authorize_again';
    const mailbox = a.mailboxId !== null ? repos.mailboxes.getById(a.mailboxId) : undefined;
    const authorization = a.authorizationId !== null ? repos.authorizations.getById(a.authorizationId) : undefined;
    const data = {
      name: seller.name,
      v3,
      version: a.version,
      mailbox: mailbox?.email ?? '',
      login: authorization?.allegroLogin ?? seller.allegroLogin ?? '',
      since: formatDateTime(incident.foundAt, lang),
      causeKey: `mail.watchBroken.cause.${incident.reason}`,
      fixKey: `mail.watchBroken.fix.${incident.reason}`,
      buttonKey: v3 ? 'mail.watchBroken.buttonAllegro' : 'mail.watchBroken.buttonMailbox',
      link,
      expiryHours: NOTICE_LINK_TTL_MS / 3_600_000,
    };
    return { to: seller.email, lang, sellerId: seller.id, mailboxId: a.mailboxId, ...opts.mail.render('watch-broken', lang, data) };
  }

  function retryLater(n: WatchNotice, incident: WatchIncident, message: string, permanent = false, code = 'MIG_ERR_SEND_FAILED') {
    if (permanent || n.attempts >= NOTICE_MAX_ATTEMPTS) {
      db.transaction(() => {
        repos.watch.setNotice(n.id, 'failed', message);
        audit(incident, { action: 'watch.notice_failed', details: { ...about(incident), error: message, code, attempts: n.attempts } });
      })();
      return;
    }
    repos.watch.retryNotice(n.id, nextSendTime(new Date(now().getTime() + retryDelayMs(n.attempts)), opts.sendHours), message);
  }

  return {
    /** Sends one claimed notice (status 'sending'). Never throws for a failed send: it is stored. */
    async send(noticeId: number): Promise<void> {
      const n = repos.watch.notice(noticeId);
      if (!n || n.status !== 'sending') return;
      const incident = repos.watch.incident(n.incidentId)!;
      const m = repos.migrations.findByAutoresponder(incident.autoresponderId);
      // Fixed (or no longer watched) before the e-mail went: nothing to say any more.
      if (incident.resolvedAt || !m || m.state !== 'needs_attention') {
        db.transaction(() => {
          repos.watch.setNotice(n.id, 'cancelled');
          opts.handOver(incident);
          audit(incident, { action: 'watch.notice_cancelled', details: { ...about(incident), why: incident.resolvedAt ? incident.resolution : m?.state ?? 'gone' } });
        })();
        return;
      }
      if (!inSendHours(now(), opts.sendHours)) {
        repos.watch.retryNotice(n.id, nextSendTime(now(), opts.sendHours), 'outside the sending hours');
        return;
      }
      if (opts.outbox.mode === 'none') {
        db.transaction(() => {
          repos.watch.setNotice(n.id, 'failed', 'MIG_ERR_MAIL_NOT_CONFIGURED');
          audit(incident, { action: 'watch.notice_failed', details: { ...about(incident), error: 'MIG_ERR_MAIL_NOT_CONFIGURED' } });
        })();
        return;
      }
      const a = repos.autoresponders.getById(incident.autoresponderId)!;
      // The sign-in link is made only for an e-mail that is really going out.
      const link = opts.links.signIn(a.sellerId, NOTICE_LINK_TTL_MS, fixPath(incident, a.version === 3 ? null : a.mailboxId));
      const mail = render(incident, link);
      const d = await opts.outbox.deliver(
        { to: mail.to, subject: mail.subject, text: mail.text, html: mail.html },
        { commit: () => repos.watch.setNotice(n.id, 'committing'), committed: () => repos.watch.notice(n.id)?.status === 'committing' },
      );
      if (d.status === 'unknown') {
        // The end of the message went out and no answer came: it may have been delivered. Never resent.
        db.transaction(() => {
          repos.watch.setNotice(n.id, 'unknown', d.message);
          audit(incident, { action: 'watch.notice_uncertain', details: { ...about(incident), error: d.message } });
        })();
        log.warn({ noticeId: n.id, error: d.message }, 'watch e-mail: unknown whether it was delivered');
        return;
      }
      if (d.status === 'failed') {
        retryLater(n, incident, d.message, d.permanent, d.code);
        log.warn({ noticeId: n.id, error: d.message, permanent: d.permanent }, 'watch e-mail not sent');
        return;
      }
      db.transaction(() => {
        repos.watch.setNotice(n.id, 'sent');
        audit(incident, { action: 'watch.notice_sent', details: { ...about(incident), sellerId: a.sellerId, language: mail.lang, code: incident.code } });
      })();
    },

    /** A send that threw before its outcome was stored (a bug, not a mail server): never left 'sending'. */
    failedToRun(noticeId: number, err: unknown): void {
      const n = repos.watch.notice(noticeId);
      if (!n) return;
      const incident = repos.watch.incident(n.incidentId)!;
      const message = err instanceof Error ? err.message.slice(0, 200) : 'failed';
      if (n.status === 'committing') repos.watch.setNotice(n.id, 'unknown', message);
      else if (n.status === 'sending') retryLater(n, incident, message);
    },

    /** The outbox's view of these e-mails: how a stop's interrupted ones are found and settled (outbox.recover()). */
    durable: {
      name: 'watch_notices',
      interrupted: () => repos.watch.interruptedNotices(),
      again: (id: number, why: string) => repos.watch.retryNotice(id, nextSendTime(now(), opts.sendHours), why),
      uncertain: (id: number, why: string) => {
        repos.watch.setNotice(id, 'unknown', why);
        const incident = repos.watch.incident(repos.watch.notice(id)!.incidentId)!;
        audit(incident, { action: 'watch.notice_uncertain', details: { ...about(incident), error: 'the process stopped while the mail server was accepting the message' } });
      },
    } satisfies DurableKind,
  };
}
export type NoticeSender = ReturnType<typeof createNoticeSender>;
