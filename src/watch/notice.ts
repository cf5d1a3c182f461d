import type { FastifyBaseLogger } from 'fastify';
import { formatDateTime, type I18n, type Lang } from '../i18n/index.js';
import type { Services } from '../composition.js';
import type { Mailer } from '../mail/mailer.js';
import type { MailRenderer } from '../mail/render.js';
import type { WatchIncident, WatchNotice } from '../domain/model.js';
import { inSendHours, nextSendTime, type SendHours } from './schedule.js';

/** The one-time link in the e-mail stays valid this long (as a reminder's). */
export const NOTICE_LINK_TTL_MS = 72 * 3_600_000;
/** Tries to hand the e-mail to the SMTP relay before giving up (about seven hours with the backoff below). */
export const NOTICE_MAX_ATTEMPTS = 12;
const NOTICE_RETRY_BASE_MS = 2 * 60_000;
const NOTICE_RETRY_MAX_MS = 60 * 60_000;

const ACTOR = { type: 'system' as const, id: 'watch' };

/** Where the e-mail's link leads: straight to the fix (the wizard's step 2, or the Allegro consent). */
export function fixPath(incident: Pick<WatchIncident, 'reason' | 'autoresponderId'>, mailboxId: number | null): string {
  return incident.reason === 'authorize_again' || mailboxId === null ? `/autoresponders/${incident.autoresponderId}/v3/authorize` : `/mailboxes/${mailboxId}/app-password/2`;
}

export interface NoticeOptions {
  services: Services;
  mailer: Mailer;
  mail: MailRenderer;
  i18n: I18n;
  log: FastifyBaseLogger;
  publicUrl: string;
  sendHours: SendHours;
}

/**
 * Sends the watch's e-mails: one per incident, in the seller's language, only in the sending hours,
 * with a personal one-time link to the fix. Like reminders, the row is marked 'committing' just
 * before the end of the message goes to the SMTP server: after a crash before that mark the e-mail is
 * sent again (the server cannot have accepted it), after it never (reported as uncertain).
 */
export function createNoticeSender(opts: NoticeOptions) {
  const { services, mailer, log } = opts;
  const { db, repos, now } = services;

  function audit(action: string, incident: WatchIncident, details: Record<string, unknown>) {
    repos.audit.append({ actor: ACTOR, action, targetType: 'autoresponder', targetId: incident.autoresponderId, details: { incidentId: incident.id, reason: incident.reason, ...details } });
  }

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

  function retryLater(n: WatchNotice, incident: WatchIncident, message: string) {
    if (n.attempts >= NOTICE_MAX_ATTEMPTS) {
      db.transaction(() => {
        repos.watch.setNotice(n.id, 'failed', message);
        audit('watch.notice_failed', incident, { error: message, attempts: n.attempts });
      })();
      return;
    }
    const wait = Math.min(NOTICE_RETRY_MAX_MS, NOTICE_RETRY_BASE_MS * 2 ** Math.max(0, n.attempts - 1));
    repos.watch.retryNotice(n.id, nextSendTime(new Date(now().getTime() + wait), opts.sendHours), message);
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
          audit('watch.notice_cancelled', incident, { why: incident.resolvedAt ? incident.resolution : m?.state ?? 'gone' });
        })();
        return;
      }
      if (!inSendHours(now(), opts.sendHours)) {
        repos.watch.retryNotice(n.id, nextSendTime(now(), opts.sendHours), 'outside the sending hours');
        return;
      }
      if (mailer.mode === 'none') {
        db.transaction(() => {
          repos.watch.setNotice(n.id, 'failed', 'MIG_ERR_MAIL_NOT_CONFIGURED');
          audit('watch.notice_failed', incident, { error: 'MIG_ERR_MAIL_NOT_CONFIGURED' });
        })();
        return;
      }
      const a = repos.autoresponders.getById(incident.autoresponderId)!;
      // The sign-in link is made only for an e-mail that is really going out.
      const token = repos.loginTokens.issue(a.sellerId, NOTICE_LINK_TTL_MS);
      const link = `${opts.publicUrl}/login/verify?token=${encodeURIComponent(token)}&next=${encodeURIComponent(fixPath(incident, a.version === 3 ? null : a.mailboxId))}`;
      const mail = render(incident, link);
      try {
        await mailer.sendTracked({ to: mail.to, subject: mail.subject, text: mail.text, html: mail.html }, () => repos.watch.setNotice(n.id, 'committing'));
      } catch (err) {
        const message = err instanceof Error ? err.message.replace(/\s+/g, ' ').slice(0, 200) : 'send failed';
        if (repos.watch.notice(n.id)?.status === 'committing') {
          // The end of the message went out and no answer came: it may have been delivered. Never resent.
          db.transaction(() => {
            repos.watch.setNotice(n.id, 'unknown', message);
            audit('watch.notice_uncertain', incident, { error: message });
          })();
        } else retryLater(n, incident, message);
        log.warn({ noticeId: n.id, error: message }, 'watch e-mail not sent');
        return;
      }
      db.transaction(() => {
        repos.watch.setNotice(n.id, 'sent');
        audit('watch.notice_sent', incident, { sellerId: a.sellerId, language: mail.lang, code: incident.code });
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

    /** After a crash: 'sending' was never accepted by the server (sent again), 'committing' may have been (never resent). */
    recover(): { noticesResumed: number; noticesUncertain: number } {
      let noticesResumed = 0;
      let noticesUncertain = 0;
      for (const r of repos.watch.interruptedNotices()) {
        const incident = repos.watch.incident(repos.watch.notice(r.id)!.incidentId)!;
        if (r.status === 'sending') {
          repos.watch.retryNotice(r.id, nextSendTime(now(), opts.sendHours), 'interrupted before the end of the message');
          noticesResumed++;
        } else {
          repos.watch.setNotice(r.id, 'unknown', 'interrupted after the end of the message was sent');
          audit('watch.notice_uncertain', incident, { error: 'the process stopped while the mail server was accepting the message' });
          noticesUncertain++;
        }
      }
      return { noticesResumed, noticesUncertain };
    },
  };
}
export type NoticeSender = ReturnType<typeof createNoticeSender>;
