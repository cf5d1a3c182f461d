import type { TFunction } from 'i18next';
import { NotFoundError } from '../errors.js';
import type { I18n, Lang } from '../i18n/index.js';
import { AWAITING_SELLER_STATES, canTransition, MIGRATED_STATES } from '../migration/states.js';
import type { Repositories } from '../repositories/index.js';
import type { StaffActions } from './actions.js';
import { sayModel } from './say.js';
import type { OverviewOptions } from '../seller/overview.js';
import { historyLine } from './history.js';

export interface AccountPageOptions {
  /** The agent's language: the history is written in it. */
  t: TFunction;
  /** The same language, for dates in the history's details (Europe/Warsaw). */
  lang?: Lang;
  i18n: I18n;
  publicUrl: string;
  deadline: Date | null;
  /** The seller's page model's options (seller/overview.ts): "Co powiedzieć sprzedawcy" uses its words. */
  overview: OverviewOptions;
}

/** Codes by which Google refused the stored password: another login with it changes nothing until the seller acts. */
const REFUSED_PASSWORD = ['MAIL_AUTH_FAILED', 'MAIL_APP_PASSWORD_REQUIRED', 'MAIL_WEB_LOGIN_REQUIRED'];

/**
 * The account page: seller, mailboxes (never the password), templates, migration, every connection
 * check and the history of one autoresponder on the list, in sentences.
 * @throws {NotFoundError} when the autoresponder is not on the list
 */
export function accountModel(repos: Repositories, actions: Pick<StaffActions, 'reminderBlock'>, id: number, opts: AccountPageOptions) {
  const row = repos.accounts.get(id);
  const a = repos.autoresponders.getById(id);
  if (!row || !a) throw new NotFoundError();
  const seller = repos.sellers.getById(a.sellerId)!;
  const mailboxes = repos.mailboxes.listBySeller(seller.id).map((m) => {
    // The mailbox line agrees with its newest check: "verified" only when no later check was refused.
    const newest = m.secretKind ? repos.connectionChecks.listByMailbox(m.id, 1)[0] : undefined;
    const refusedAfter = newest && !newest.ok && (!m.secretVerifiedAt || newest.at >= m.secretVerifiedAt) ? { at: newest.at, code: newest.code } : null;
    return {
    id: m.id,
    email: m.email,
    imap: `${m.imapHost}:${m.imapPort} (${m.imapSecurity})`,
    smtp: `${m.smtpHost}:${m.smtpPort} (${m.smtpSecurity})`,
    username: m.username,
    provider: m.provider,
    secretKind: m.secretKind,
    secretVerifiedAt: refusedAfter ? null : m.secretVerifiedAt,
    refusedAfter,
    usedHere: m.id === a.mailboxId,
  };
  });
  const migration = repos.migrations.findByAutoresponder(id)!;
  const checks = repos.connectionChecks.listForAutoresponder(id, a.mailboxId);
  const staffEmails = new Map<number, string | undefined>();
  const mailboxEmails = new Map(mailboxes.map((m) => [m.id, m.email]));
  const lookup = {
    staffEmail(staffId: number) {
      if (!staffEmails.has(staffId)) staffEmails.set(staffId, repos.staff.getById(staffId)?.email);
      return staffEmails.get(staffId);
    },
    mailboxEmail: (mailboxId: number) => mailboxEmails.get(mailboxId) ?? repos.mailboxes.getById(mailboxId)?.email,
  };
  const latestReminder = repos.reminders.latestFor(seller.id);
  const say = sayModel(repos, opts.i18n, seller, row, { publicUrl: opts.publicUrl, overview: opts.overview });
  const usedMailbox = mailboxes.find((m) => m.usedHere);
  const canRemind = sellerHasSomethingToDo(repos, seller.id);
  const canReview = canTransition(migration.state, 'reviewed', 'reviewed');
  return {
    row,
    seller,
    autoresponder: a,
    authorization: a.authorizationId ? repos.authorizations.getById(a.authorizationId) : undefined,
    mailboxes,
    templates: repos.autoresponders.listTemplates(id),
    migration,
    checks,
    lastCheck: lastCheck(checks[0], migration),
    timeline: repos.audit.timeline(id, a.mailboxId, seller.id).map((e) => historyLine(e, opts.t, lookup, opts.lang)),
    // What the agent is offered follows the rules, so a button never leads to "not possible": marking
    // reviewed and reopening as the state table allows, a reminder only to a seller with something to do.
    canReview,
    // Why "mark reviewed" is not offered (nothing when the migration is reviewed already: reopening is).
    reviewHint: canReview || migration.state === 'reviewed' ? null : (MIGRATED_STATES as readonly string[]).includes(migration.state) ? 'staff.account.noReview.works' : 'staff.account.noReview.other',
    canReopen: canTransition(migration.state, 'reopened', migration.previousState ?? 'affected'),
    canRemind,
    reminderBlock: canRemind ? actions.reminderBlock(seller.id, { jobId: null, itemId: null, staffId: 0 }) : null,
    lastReminder: latestReminder?.createdAt ?? null,
    // The newest reminder may or may not have arrived: staff may send it again, deliberately.
    uncertainReminder: canRemind && latestReminder?.status === 'unknown' ? latestReminder : null,
    say,
    contactHref: say.mailto,
    // What "Sprawdź połączenie teraz" will do when Google already refused the stored password.
    recheckRefused: usedMailbox?.refusedAfter && REFUSED_PASSWORD.includes(usedMailbox.refusedAfter.code ?? '') ? usedMailbox.refusedAfter : null,
    sellerViewHref: `/staff/accounts/${id}/seller-view`,
  };
}

/**
 * The last connection check, the same one the table below lists first: the seller's own checks in the
 * wizard count too (they are recorded on the mailbox), so the page never says "never" above a list of checks.
 */
function lastCheck(newest: { at: string; ok: boolean; code: string | null } | undefined, m: { lastCheckedAt: string | null; lastErrorCode: string | null }) {
  if (newest && (!m.lastCheckedAt || newest.at >= m.lastCheckedAt)) return { at: newest.at, ok: newest.ok, code: newest.code };
  if (m.lastCheckedAt) return { at: m.lastCheckedAt, ok: !m.lastErrorCode, code: m.lastErrorCode };
  return null;
}

/**
 * Whether any of the seller's autoresponders still waits for them (AWAITING_SELLER_STATES): what a
 * reminder is about. The reminder itself (staff/actions.ts) skips a seller without any as nothing_to_do.
 */
export function sellerHasSomethingToDo(repos: Pick<Repositories, 'autoresponders' | 'migrations'>, sellerId: number): boolean {
  return repos.autoresponders.listBySeller(sellerId).some((a) => {
    const state = repos.migrations.findByAutoresponder(a.id)?.state;
    return state !== undefined && AWAITING_SELLER_STATES.includes(state);
  });
}
