import type { FastifyBaseLogger } from 'fastify';
import { AWAITING_SELLER_STATES, BROKEN_AFTER_MIGRATION_REASONS, MIGRATED_STATES } from '../migration/states.js';
import { isTransientMailCode } from '../mail/classify.js';
import { isTransientAllegroCode } from '../allegro/errors.js';
import { formatDateTime, type I18n, type Lang } from '../i18n/index.js';
import type { Actor } from '../domain/model.js';
import type { Services } from '../composition.js';
import type { Mailer } from '../mail/mailer.js';
import type { MailRenderer } from '../mail/render.js';
import { checkImap, type MailCheckOptions } from '../mail/check.js';
import type { V3Service } from '../v3/switch.js';
import type { AllegroClient } from '../allegro/client.js';

/** A one-time sign-in link in a reminder stays valid this long (a sign-in e-mail's is 30 minutes). */
export const REMINDER_LINK_TTL_MS = 72 * 3_600_000;


/** What happened to one autoresponder in an action; `retry` asks the job runner to try again later. */
export type ActionOutcome =
  | { status: 'done'; outcome: string; detail?: string | null }
  | { status: 'failed'; outcome: string; detail?: string | null; retry?: boolean }
  | { status: 'skipped'; outcome: string; detail?: string | null }
  | { status: 'unknown'; outcome: string; detail?: string | null };


export interface StaffActionsDeps {
  services: Services;
  v3: V3Service;
  /** Null when Allegro is not configured: v3 re-checks then fail with MIG_ERR_ALLEGRO_NOT_CONFIGURED. */
  allegroClient: AllegroClient | null;
  mailer: Mailer;
  mail: MailRenderer;
  i18n: I18n;
  log: FastifyBaseLogger;
  publicUrl: string;
  reminderMinDays: number;
  migrationDeadline: Date | null;
  checkOptions: MailCheckOptions;
}

/**
 * What staff do to one autoresponder: re-check its connection, remind its seller, mark it reviewed,
 * reopen it, add a note. The account page calls these directly; bulk jobs call them per item. Each
 * is audited with the staff member as actor.
 */
export function createStaffActions(deps: StaffActionsDeps) {
  const { services, v3, mailer, i18n } = deps;
  const { db, repos, migrationService, secrets, now } = services;

  // ---- re-check ------------------------------------------------------------------------------

  /**
   * Logs in to the mailbox with the stored secret (IMAP), or for v3 reads the Message Center with the
   * seller's authorization. Same codes as the seller's own check; recorded as a connection check.
   */
  async function recheck(autoresponderId: number, trigger: 'staff' | 'bulk', actor: Actor): Promise<ActionOutcome> {
    const a = repos.autoresponders.getById(autoresponderId);
    const m = repos.migrations.findByAutoresponder(autoresponderId);
    if (!a || !m) return { status: 'skipped', outcome: 'MIG_ERR_NOT_FOUND' };

    if (a.version === 3) {
      if (!deps.allegroClient) return { status: 'failed', outcome: 'MIG_ERR_ALLEGRO_NOT_CONFIGURED' };
      if (!a.authorizationId) {
        db.transaction(() => {
          repos.connectionChecks.record({ mailboxId: null, autoresponderId: a.id, kind: 'allegro', trigger, ok: false, code: 'MIG_ERR_AUTHORIZE_AGAIN', protocol: 'allegro', detail: 'no authorization' });
          migrationService.recordCheck(m.id, 'MIG_ERR_AUTHORIZE_AGAIN');
        })();
        return { status: 'failed', outcome: 'MIG_ERR_AUTHORIZE_AGAIN' };
      }
      const r = await v3.check(a.sellerId, a.id, a.authorizationId, trigger);
      migrationService.recordCheck(m.id, r.ok ? null : r.code);
      if (r.ok) return { status: 'done', outcome: 'ok', detail: `threads=${r.count}${r.more ? '+' : ''}` };
      return { status: 'failed', outcome: r.code, detail: r.status ? `HTTP ${r.status}` : null, retry: isTransientAllegroCode(r.code) };
    }

    const mailbox = a.mailboxId ? repos.mailboxes.getById(a.mailboxId) : undefined;
    const stored = mailbox ? repos.mailboxes.getEncryptedSecret(mailbox.id) : null;
    if (!mailbox || !stored) return { status: 'skipped', outcome: 'MIG_ERR_NO_SECRET' };
    const result = await checkImap(mailbox, secrets.decrypt(stored, 'mailbox-secret'), deps.checkOptions);
    const code = result.ok ? null : result.code;
    const transient = !result.ok && isTransientMailCode(result.code);
    // The check took a while: if the seller saved a new password meanwhile, this result is about the
    // old one. It is recorded as a check of that password, and the migration is left as the seller made it.
    const superseded = db.transaction(() => {
      const changed = repos.mailboxes.getEncryptedSecret(mailbox.id) !== stored;
      repos.connectionChecks.record({
        mailboxId: mailbox.id,
        autoresponderId: a.id,
        kind: 'mail',
        trigger,
        ok: result.ok,
        code,
        protocol: result.ok ? 'imap' : result.protocol,
        detail: changed ? 'superseded: the mailbox password changed during this check' : result.ok ? null : result.serverText,
      });
      if (changed) return true;
      migrationService.recordCheck(m.id, code);
      const current = repos.migrations.getById(m.id)!;
      // A relinked mailbox that stops working needs the seller again; one that works again recovers.
      if (!result.ok && !transient && current.state === 'relinked_app_password') {
        migrationService.transition(m.id, 'needs_attention', 'needs_attention', { actor, reason: 'connection_failed', errorCode: result.code, details: { trigger } });
      } else if (result.ok && current.state === 'needs_attention' && (BROKEN_AFTER_MIGRATION_REASONS as readonly (string | null)[]).includes(current.reasonCode) && mailbox.secretKind === 'app_password') {
        migrationService.transition(m.id, 'relinked', 'relinked_app_password', { actor, details: { trigger, recovered: true } });
      }
      return false;
    })();
    if (superseded) return { status: 'skipped', outcome: 'MIG_ERR_CHANGED_DURING_CHECK' };
    if (result.ok) return { status: 'done', outcome: 'ok' };
    return { status: 'failed', outcome: result.code, detail: result.serverText, retry: transient };
  }

  // ---- reminder ------------------------------------------------------------------------------

  type ReminderContext = { jobId: number | null; itemId: number | null; staffId: number };

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
      .filter((a) => { const state = repos.migrations.findByAutoresponder(a.id)?.state; return !!state && AWAITING_SELLER_STATES.includes(state); })
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
      expiryHours: REMINDER_LINK_TTL_MS / 3_600_000,
    };
    return { seller, ...deps.mail.render('reminder', lang, data) };
  }

  /**
   * Sends the seller a reminder with a personal one-time sign-in link. Never twice within
   * REMINDER_MIN_DAYS, never twice in one job, and never again once the end of the message may have
   * reached the mail server.
   */
  async function remind(autoresponderId: number, ctx: ReminderContext, opts: { resendOf?: number } = {}): Promise<ActionOutcome> {
    const a = repos.autoresponders.getById(autoresponderId);
    if (!a) return { status: 'skipped', outcome: 'MIG_ERR_NOT_FOUND' };
    if (mailer.mode === 'none') return { status: 'failed', outcome: 'MIG_ERR_MAIL_NOT_CONFIGURED', retry: false };
    // A deliberate resend of the newest reminder, when it is unknown whether that one arrived: the
    // minimum interval is waived for it (the agent confirmed the risk of a second e-mail), nothing else.
    const latest = repos.reminders.latestFor(a.sellerId);
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
    let language: string;
    try {
      // The sign-in link is made only for a reminder that is really going out.
      const token = repos.loginTokens.issue(a.sellerId, REMINDER_LINK_TTL_MS);
      const mail = reminderMail(a.sellerId, open, `${deps.publicUrl}/login/verify?token=${encodeURIComponent(token)}&next=${encodeURIComponent('/migration')}`);
      language = mail.seller.language;
      await mailer.sendTracked({ to: mail.seller.email, subject: mail.subject, text: mail.text, html: mail.html }, () => repos.reminders.set(reminderId, 'committing'));
    } catch (err) {
      const committed = repos.reminders.statusOf(reminderId) === 'committing';
      const message = err instanceof Error ? err.message.replace(/\s+/g, ' ').slice(0, 200) : 'send failed';
      if (committed) {
        // The end of the message was sent and no answer came: it may have been delivered. Not retried.
        repos.reminders.set(reminderId, 'unknown', message);
        audit('reminder.uncertain', a, ctx, { error: message });
        return { status: 'unknown', outcome: 'MIG_ERR_SEND_UNCERTAIN', detail: message };
      }
      repos.reminders.set(reminderId, 'failed', message);
      return { status: 'failed', outcome: 'MIG_ERR_SEND_FAILED', detail: message, retry: true };
    }
    db.transaction(() => {
      repos.reminders.set(reminderId, 'sent');
      audit(resend ? 'reminder.resent' : 'reminder.sent', a, ctx, { language, autoresponders: open.length, ...(resend ? { previousReminderId: opts.resendOf } : {}) });
    })();
    return { status: 'done', outcome: 'sent' };
  }

  function audit(action: string, a: { id: number; sellerId: number }, ctx: ReminderContext, details: Record<string, unknown>) {
    repos.audit.append({ actor: { type: 'staff', id: ctx.staffId }, action, targetType: 'seller', targetId: a.sellerId, details: { autoresponderId: a.id, jobId: ctx.jobId, ...details } });
  }

  // ---- review, reopen, note ------------------------------------------------------------------

  function review(autoresponderId: number, note: string | null, actor: Actor, jobId: number | null = null): ActionOutcome {
    const m = repos.migrations.findByAutoresponder(autoresponderId);
    if (!m) return { status: 'skipped', outcome: 'MIG_ERR_NOT_FOUND' };
    if (m.state === 'reviewed') return { status: 'skipped', outcome: 'already_reviewed' };
    const moved = migrationService.transitionIfAllowed(m.id, 'reviewed', 'reviewed', { actor, details: { ...(note ? { note } : {}), ...(jobId ? { jobId } : {}) } });
    if (moved) return { status: 'done', outcome: 'reviewed' };
    // Refused by the state table (migration/states.ts); a migration that works is the common case, named as such.
    const state = repos.migrations.getById(m.id)?.state ?? m.state;
    return { status: 'skipped', outcome: state === 'reviewed' ? 'already_reviewed' : (MIGRATED_STATES as readonly string[]).includes(state) ? 'already_works' : 'not_allowed' };
  }

  function reopen(autoresponderId: number, actor: Actor): ActionOutcome {
    const m = repos.migrations.findByAutoresponder(autoresponderId);
    if (!m || m.state !== 'reviewed') return { status: 'skipped', outcome: 'not_reviewed' };
    migrationService.reopen(m.id, actor);
    return { status: 'done', outcome: 'reopened' };
  }

  function note(autoresponderId: number, text: string, actor: Actor): void {
    repos.audit.append({ actor, action: 'staff.note', targetType: 'autoresponder', targetId: autoresponderId, details: { note: text } });
  }

  // ---- one account, from its page ------------------------------------------------------------

  /** "Re-check now" on the account page: the check, and the agent's action in the audit log. */
  async function recheckNow(autoresponderId: number, staffId: number): Promise<ActionOutcome> {
    const actor: Actor = { type: 'staff', id: staffId };
    const o = await recheck(autoresponderId, 'staff', actor);
    repos.audit.append({ actor, action: 'staff.recheck', targetType: 'autoresponder', targetId: autoresponderId, details: { outcome: o.outcome } });
    return o;
  }

  /** "Send a reminder" on the account page; a reminder that did not go out is audited with its reason. */
  async function remindNow(autoresponderId: number, staffId: number): Promise<ActionOutcome> {
    const o = await remind(autoresponderId, { jobId: null, itemId: null, staffId });
    if (o.status !== 'done') repos.audit.append({ actor: { type: 'staff', id: staffId }, action: 'staff.remind_not_sent', targetType: 'autoresponder', targetId: autoresponderId, details: { outcome: o.outcome } });
    return o;
  }

  /**
   * "Wyślij ponownie" for a reminder whose fate is unknown (the process stopped after the end of the
   * message went to the mail server): sent again only after the agent confirmed the risk of a second
   * e-mail, and only while that reminder is still the seller's newest. Audited like "send a reminder".
   */
  async function resendUncertain(autoresponderId: number, reminderId: number, staffId: number): Promise<ActionOutcome> {
    const o = await remind(autoresponderId, { jobId: null, itemId: null, staffId }, { resendOf: reminderId });
    if (o.status !== 'done') repos.audit.append({ actor: { type: 'staff', id: staffId }, action: 'staff.remind_not_sent', targetType: 'autoresponder', targetId: autoresponderId, details: { outcome: o.outcome, resendOf: reminderId } });
    return o;
  }

  return { recheck, remind, review, reopen, note, reminderBlock, recheckNow, remindNow, resendUncertain };
}
export type StaffActions = ReturnType<typeof createStaffActions>;
