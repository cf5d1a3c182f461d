import { MIGRATED_STATES } from '../migration/states.js';
import { isTransientMailCode } from '../mail/classify.js';
import { isTransientAllegroCode } from '../allegro/errors.js';
import type { Actor } from '../domain/model.js';
import type { Repositories } from '../repositories/index.js';
import type { MigrationService } from '../migration/service.js';
import type { Checks } from '../checks/service.js';
import type { ActionOutcome } from '../jobs/runner.js';
import type { Reminders } from './reminders.js';

export type { ActionOutcome };

export interface StaffActionsDeps {
  repos: Pick<Repositories, 'autoresponders' | 'migrations' | 'audit'>;
  migrationService: MigrationService;
  checks: Pick<Checks, 'checkMailbox' | 'checkAllegro'>;
  reminders: Reminders;
}

/**
 * What staff do to one autoresponder: re-check its connection, remind its seller, mark it reviewed,
 * reopen it, add a note. The account page calls these directly; bulk jobs call them per item. Each
 * is audited with the staff member as actor.
 */
export function createStaffActions(deps: StaffActionsDeps) {
  const { repos, migrationService } = deps;
  const { remind, reminderBlock } = deps.reminders;

  // ---- re-check ----------------------------------------------------------------------------

  /**
   * Logs in with the stored credential through the one door (checks/): the mailbox over IMAP and SMTP,
   * or, for v3, the Message Center with the seller's authorization. The same budget, verdict and
   * outcome as the watch's check; `leased` when the job runner already holds the connection's slots.
   */
  async function recheck(autoresponderId: number, trigger: 'staff' | 'bulk', actor: Actor, opts: { leased?: boolean } = {}): Promise<ActionOutcome> {
    const a = repos.autoresponders.getById(autoresponderId);
    const m = repos.migrations.findByAutoresponder(autoresponderId);
    if (!a || !m) return { status: 'skipped', outcome: 'MIG_ERR_NOT_FOUND' };
    const c =
      a.version === 3
        ? await deps.checks.checkAllegro({ autoresponder: a, authorizationId: a.authorizationId, trigger, actor, apply: true, leased: opts.leased })
        : a.mailboxId === null
          ? ({ status: 'no_secret' } as const)
          : await deps.checks.checkMailbox({ mailboxId: a.mailboxId, autoresponderId: a.id, purpose: 'verify', trigger, actor, leased: opts.leased });
    switch (c.status) {
      case 'not_configured':
        return { status: 'failed', outcome: 'MIG_ERR_ALLEGRO_NOT_CONFIGURED' };
      case 'no_secret':
        return { status: 'skipped', outcome: 'MIG_ERR_NO_SECRET' };
      case 'busy':
        // Its mailbox stayed busy (another check stuck): nothing was tried, worth another try.
        return { status: 'failed', outcome: 'MAIL_TIMEOUT', detail: 'busy', retry: true };
      case 'budget':
        // The mailbox's login budget is used up (the seller's tries, other checks): nothing was tried.
        return { status: 'failed', outcome: 'MIG_ERR_TOO_MANY_ATTEMPTS', detail: c.retryAt, retry: true };
    }
    if (c.superseded) return { status: 'skipped', outcome: 'MIG_ERR_CHANGED_DURING_CHECK' };
    const r = c.result;
    // A verdict younger than a minute (checks/): the page says so rather than pretending Google was asked again.
    if (c.reused && trigger === 'staff') return r.ok ? { status: 'done', outcome: 'ok', detail: 'reused' } : { status: 'failed', outcome: r.code, detail: 'reused' };
    if (r.ok) return { status: 'done', outcome: 'ok', detail: 'count' in r ? `threads=${r.count}${r.more ? '+' : ''}` : null };
    const detail = 'serverText' in r ? r.serverText : r.status ? `HTTP ${r.status}` : null;
    // A server busy or unreachable: worth another try later (a refusal, a bad name or certificate is not).
    return { status: 'failed', outcome: r.code, detail, retry: isTransientMailCode(r.code) || isTransientAllegroCode(r.code) };
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
    repos.audit.record(actor, autoresponderId, { action: 'staff.note', details: { note: text } });
  }

  // ---- one account, from its page ------------------------------------------------------------

  /** "Re-check now" on the account page: the check, and the agent's action in the audit log. */
  async function recheckNow(autoresponderId: number, staffId: number): Promise<ActionOutcome> {
    const actor: Actor = { type: 'staff', id: staffId };
    const o = await recheck(autoresponderId, 'staff', actor);
    repos.audit.record(actor, autoresponderId, { action: 'staff.recheck', details: { outcome: o.outcome } });
    return o;
  }

  /** "Send a reminder" on the account page; a reminder that did not go out is audited with its reason. */
  async function remindNow(autoresponderId: number, staffId: number): Promise<ActionOutcome> {
    const o = await remind(autoresponderId, { jobId: null, itemId: null, staffId });
    if (o.status !== 'done') repos.audit.record({ type: 'staff', id: staffId }, autoresponderId, { action: 'staff.remind_not_sent', details: { outcome: o.outcome } });
    return o;
  }

  /**
   * "Wyślij ponownie" for a reminder whose fate is unknown (the process stopped after the end of the
   * message went to the mail server): sent again only after the agent confirmed the risk of a second
   * e-mail, and only while that reminder is still the seller's newest. Audited like "send a reminder".
   */
  async function resendUncertain(autoresponderId: number, reminderId: number, staffId: number): Promise<ActionOutcome> {
    const o = await remind(autoresponderId, { jobId: null, itemId: null, staffId }, { resendOf: reminderId });
    if (o.status !== 'done') repos.audit.record({ type: 'staff', id: staffId }, autoresponderId, { action: 'staff.remind_not_sent', details: { outcome: o.outcome, resendOf: reminderId } });
    return o;
  }

  return { recheck, remind, review, reopen, note, reminderBlock, recheckNow, remindNow, resendUncertain };
}
export type StaffActions = ReturnType<typeof createStaffActions>;
