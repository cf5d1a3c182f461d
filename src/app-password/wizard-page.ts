import type { Repositories } from '../repositories/index.js';
import type { Mailbox } from '../domain/model.js';
import { provesNothingAboutPassword } from '../mail/classify.js';
import type { RelinkOutcome } from './relink.js';
import { MAX_CHECKS, MAX_VERIFICATIONS, type AttemptBudget } from '../checks/budget.js';
import { AWAITING_SELLER_STATES } from '../migration/states.js';
import { openProblem } from '../watch/pages.js';

/** The documented reasons Google shows no "App passwords" page (Google Account Help 185833), in the order a seller checks them. */
export const NO_APP_PASSWORDS_CAUSES = ['two_step_off', 'keys_only', 'workspace', 'advanced_protection', 'password_changed'] as const;

/**
 * The causes as one mailbox's seller should read them: for a work or school (Workspace) mailbox the
 * administrator is the likeliest cause, so it comes first; a gmail.com address cannot be one, so it
 * is left out.
 */
export function causesFor(mailbox: Pick<Mailbox, 'provider'>): readonly (typeof NO_APP_PASSWORDS_CAUSES)[number][] {
  if (mailbox.provider === 'gmail') return NO_APP_PASSWORDS_CAUSES.filter((c) => c !== 'workspace');
  return ['workspace', ...NO_APP_PASSWORDS_CAUSES.filter((c) => c !== 'workspace')];
}

/**
 * What every page of the app-password wizard knows besides its step: the autoresponders this mailbox
 * serves (each offered "switch to version 3" when the way through Google is closed), whether it is a
 * work or school (Workspace) mailbox and its domain (for the message to the administrator), and the
 * problem the watch found on it, if the seller has not fixed it yet.
 */
export function wizardContext(repos: Repositories, mailbox: Mailbox) {
  const autoresponders = repos.autoresponders
    .listByMailbox(mailbox.id)
    .filter((a) => a.version !== 3)
    .map((a) => {
      const state = repos.migrations.findByAutoresponder(a.id)?.state ?? 'unknown';
      return {
        id: a.id,
        externalId: a.externalId,
        version: a.version,
        templateNames: repos.autoresponders.listTemplates(a.id).slice(0, 3).map((x) => x.name),
        needsFix: AWAITING_SELLER_STATES.includes(state),
      };
    });
  const workspace = mailbox.provider !== 'gmail';
  return {
    autoresponders,
    /** More than one: every v3 button names its autoresponder. */
    several: autoresponders.length > 1,
    workspace,
    domain: mailbox.email.split('@')[1] ?? '',
    watchProblem: openProblem(repos, autoresponders.map((a) => a.id), 'mailbox'),
  };
}

/** A failed check as the wizard shows it: whether the seller is to blame, and the code for support. */
export function failureView(outcome: Extract<RelinkOutcome, { ok: false; protocol: 'imap' | 'smtp' }>) {
  return { code: outcome.code, notPassword: provesNothingAboutPassword(outcome.code) };
}

/** The attempt limit as the wizard shows it: which limit, and when the next try is possible. */
export function limitView(b: AttemptBudget) {
  if (!b.exhausted) return null;
  const checks = b.exhausted === 'checks';
  return { max: checks ? MAX_CHECKS : MAX_VERIFICATIONS, retryAt: b.retryAt, checks };
}
