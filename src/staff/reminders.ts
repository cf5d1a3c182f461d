import { AWAITING_SELLER_STATES } from '../migration/states.js';
import { formatDateTime, type I18n, type Lang } from '../i18n/index.js';
import type { Db } from '../db/database.js';
import type { Repositories } from '../repositories/index.js';
import type { MailRenderer } from '../mail/render.js';
import { MAIL_LINK_TTL_MS, type Links } from '../outbox/links.js';
import type { DurableKind, Outbox } from '../outbox/outbox.js';
import type { ActionOutcome } from '../jobs/runner.js';
import type { AuditInputOf } from '../domain/audit.js';

type ReminderAuditEvent = AuditInputOf<`reminder.${string}`>;

/** A one-time sign-in link in a reminder stays valid this long (a sign-in e-mail's is 30 minutes). */
export const REMINDER_LINK_TTL_MS = MAIL_LINK_TTL_MS;

export type ReminderContext = { jobId: number | null; itemId: number | null; staffId: number };

export interface RemindersDeps {
  db: Db;
  repos: Pick<Repositories, 'reminders' | 'autoresponders' | 'migrations' | 'mailboxes' | 'sellers' | 'audit' | 'jobs'>;
  now: () => Date;
  outbox: Pick<Outbox, 'deliver' | 'mode'>;
  links: Links;
  mail: MailRenderer;
  i18n: I18n;
  reminderMinDays: number;
  migrationDeadline: Date | null;
  /** What happens on the deadline, in a language ('' when not said: seller/deadline.ts). */
  deadlineMeans?: (lang: Lang) => string;
}

/**
 * Reminders to sellers, from an agent or a bulk job: a personal one-time link to their migration.
 * The rules that are the reminder's own live here — never twice within REMINDER_MIN_DAYS, never twice
 * in one job (a unique index), only to a seller who still has something to do; that an e-mail goes
 * at most once is the outbox's promise (outbox/outbox.ts), which these rows keep as a durable kind.
 */
export function createReminders(deps: RemindersDeps) {
  const { db, repos, now, i18n } = deps;

  /** Why a seller may not be reminded now, or null. Synchronous on purpose: check and insert must not interleave. */
  function reminderBlock(sellerId: number, ctx: ReminderContext): string | null {
    if (ctx.jobId !== null && repos.reminders.inJob(ctx.jobId, sellerId)) return 'already_in_job';
    const last = repos.reminders.lastFor(sellerId);
    if (last && now().getTime() - Date.parse(last) < deps.reminderMinDays * 86_400_000) return 'recently_reminded';
    return null;
  }

  /** The seller's autoresponders that still need something from them (what a reminder is about). */
  function openAutoresponders(sellerId: number): { version: number; mailbox: string }[] {
    return repos.autoresponders
      .listBySeller(sellerId)
      .filter((a) => {
        const state = repos.migrations.findByAutoresponder(a.id)?.state;
        return !!state && AWAITING_SELLER_STATES.includes(state);
      })
      .map((a) => ({ version: a.version, mailbox: (a.mailboxId ? repos.mailboxes.getById(a.mailboxId)?.email : undefined) ?? '' }));
  }

  function reminderMail(sellerId: number, open: { version: number; mailbox: string }[], link: string) {
    const seller = repos.sellers.getById(sellerId)!;
    const lang: Lang = seller.language;
    const t = i18n.t(lang);
    const data = {
      name: seller.name,
      link,
      autoresponders: open.map((o) => ({ name: t('mail.reminder.autoresponder', { version: o.version }), mailbox: o.mailbox })),
      deadline: deps.migrationDeadline ? formatDateTime(deps.migrationDeadline.toISOString(), lang) : null,
      deadlineNote: deps.migrationDeadline ? deps.deadlineMeans?.(lang) || null : null,
      expiryHours: REMINDER_LINK_TTL_MS / 3_600_000,
    };
    return { seller, ...deps.mail.render('reminder', lang, data) };
  }

  /** A reminder's entry, about the seller: from which autoresponder (and job) it was sent. */
  function audit(a: { id: number; sellerId: number }, ctx: ReminderContext, event: ReminderAuditEvent) {
    repos.audit.record({ type: 'staff', id: ctx.staffId }, a.sellerId, event);
  }
  const about = (a: { id: number }, ctx: ReminderContext) => ({ autoresponderId: a.id, jobId: ctx.jobId });

  /**
   * Sends the seller a reminder. A deliberate resend (`resendOf`) of the newest reminder, when it is
   * unknown whether that one arrived, waives the minimum interval (the agent confirmed the risk of a
   * second e-mail), nothing else.
   */
  async function remind(autoresponderId: number, ctx: ReminderContext, opts: { resendOf?: number } = {}): Promise<ActionOutcome> {
    const a = repos.autoresponders.getById(autoresponderId);
    if (!a) return { status: 'skipped', outcome: 'MIG_ERR_NOT_FOUND' };
    // This very item already sent its reminder, and the process stopped before the item was settled
    // (the reminder and the item are two writes): the item resumes with what its reminder became, not
    // as "another item reminded this seller", and nothing is sent again.
    const own = ctx.jobId !== null && ctx.itemId !== null ? repos.reminders.inJob(ctx.jobId, a.sellerId) : undefined;
    if (own && own.itemId === ctx.itemId) {
      if (own.status === 'sent') return { status: 'done', outcome: 'sent' };
      return { status: 'unknown', outcome: 'MIG_ERR_SEND_UNCERTAIN', detail: 'the process stopped while this reminder was being sent' };
    }
    if (deps.outbox.mode === 'none') return { status: 'failed', outcome: 'MIG_ERR_MAIL_NOT_CONFIGURED', retry: false };
    const latest = repos.reminders.latestFor(a.sellerId);
    // A job confirmed as "resend the uncertain" resends each seller's newest reminder while it is still uncertain.
    if (opts.resendOf === undefined && ctx.jobId !== null && repos.jobs.isResend(ctx.jobId)) opts = { resendOf: latest?.status === 'unknown' ? latest.id : -1 };
    const resend = opts.resendOf !== undefined && latest?.id === opts.resendOf && latest.status === 'unknown';
    if (opts.resendOf !== undefined && !resend) return { status: 'skipped', outcome: 'not_uncertain' };
    const block = resend ? null : reminderBlock(a.sellerId, ctx);
    if (block) return { status: 'skipped', outcome: block };
    const open = openAutoresponders(a.sellerId);
    if (open.length === 0) return { status: 'skipped', outcome: 'nothing_to_do' };
    let reminderId: number;
    try {
      reminderId = repos.reminders.begin({ sellerId: a.sellerId, jobId: ctx.jobId, itemId: ctx.itemId, staffId: ctx.staffId });
    } catch (err) {
      // The unique index: another item of this job reminded the same seller a moment ago.
      if ((err as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE') return { status: 'skipped', outcome: 'already_in_job' };
      throw err;
    }
    // The sign-in link is made only for a reminder that is really going out.
    const mail = reminderMail(a.sellerId, open, deps.links.signIn(a.sellerId, REMINDER_LINK_TTL_MS, '/migration'));
    const d = await deps.outbox.deliver(
      { to: mail.seller.email, subject: mail.subject, text: mail.text, html: mail.html },
      { commit: () => repos.reminders.set(reminderId, 'committing'), committed: () => repos.reminders.statusOf(reminderId) === 'committing' },
    );
    if (d.status === 'unknown') {
      db.transaction(() => {
        repos.reminders.set(reminderId, 'unknown', d.message);
        audit(a, ctx, { action: 'reminder.uncertain', details: { ...about(a, ctx), error: d.message } });
      })();
      return { status: 'unknown', outcome: 'MIG_ERR_SEND_UNCERTAIN', detail: d.message };
    }
    if (d.status === 'failed') {
      repos.reminders.set(reminderId, 'failed', d.message);
      // A permanent refusal (5xx) is the relay's last word: not tried again.
      return { status: 'failed', outcome: d.code, detail: d.message, retry: !d.permanent };
    }
    db.transaction(() => {
      repos.reminders.set(reminderId, 'sent');
      const sent = { ...about(a, ctx), language: mail.seller.language, autoresponders: open.length };
      // resend implies resendOf (see above).
      audit(a, ctx, resend ? { action: 'reminder.resent', details: { ...sent, previousReminderId: opts.resendOf! } } : { action: 'reminder.sent', details: sent });
    })();
    return { status: 'done', outcome: 'sent' };
  }

  /** The outbox's view of reminders: a stop's interrupted ones found and settled (outbox.recover()). */
  const durable: DurableKind = {
    name: 'reminders',
    interrupted: () => repos.reminders.interrupted(),
    // Never accepted: failed, so it counts for nothing; its job item goes back to pending and sends again.
    again: (id, why) => repos.reminders.set(id, 'failed', why),
    uncertain: (id, why) => {
      repos.reminders.set(id, 'unknown', why);
      const itemId = repos.reminders.itemOf(id);
      if (itemId === null) return;
      // Its job item is settled as uncertain here: the runner's recovery then leaves it alone.
      const item = repos.jobs.item(itemId);
      if (!item || item.status !== 'running') return;
      const job = repos.jobs.get(item.jobId)!;
      repos.jobs.settle(item.id, 'unknown', 'MIG_ERR_SEND_UNCERTAIN', 'the process stopped while the mail server was accepting the message');
      repos.audit.record({ type: 'staff', id: job.createdBy }, item.autoresponderId, {
        action: 'job.item.unknown',
        details: { jobId: job.id, kind: job.kind, outcome: 'MIG_ERR_SEND_UNCERTAIN', attempt: item.attempts + 1 },
      });
    },
  };

  return { remind, reminderBlock, durable };
}
export type Reminders = ReturnType<typeof createReminders>;
