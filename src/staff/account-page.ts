import { NotFoundError } from '../errors.js';
import type { Repositories } from '../repositories/index.js';
import type { StaffActions } from './actions.js';

/**
 * The account page: seller, mailboxes (never the password), templates, migration, every connection
 * check and the audit timeline of one autoresponder on the list.
 * @throws {NotFoundError} when the autoresponder is not on the list
 */
export function accountModel(repos: Repositories, actions: Pick<StaffActions, 'reminderBlock'>, id: number) {
  const row = repos.accounts.get(id);
  const a = repos.autoresponders.getById(id);
  if (!row || !a) throw new NotFoundError();
  const seller = repos.sellers.getById(a.sellerId)!;
  const mailboxes = repos.mailboxes.listBySeller(seller.id).map((m) => ({
    id: m.id,
    email: m.email,
    imap: `${m.imapHost}:${m.imapPort} (${m.imapSecurity})`,
    smtp: `${m.smtpHost}:${m.smtpPort} (${m.smtpSecurity})`,
    username: m.username,
    provider: m.provider,
    secretKind: m.secretKind,
    secretVerifiedAt: m.secretVerifiedAt,
    usedHere: m.id === a.mailboxId,
  }));
  const migration = repos.migrations.findByAutoresponder(id)!;
  return {
    row,
    seller,
    autoresponder: a,
    authorization: a.authorizationId ? repos.authorizations.getById(a.authorizationId) : undefined,
    mailboxes,
    templates: repos.autoresponders.listTemplates(id),
    migration,
    checks: repos.connectionChecks.listForAutoresponder(id, a.mailboxId),
    timeline: repos.audit.timeline(id, a.mailboxId, seller.id).map((e) => ({ ...e, detailsText: Object.keys(e.details).length ? JSON.stringify(e.details) : '' })),
    reminderBlock: actions.reminderBlock(seller.id, { jobId: null, itemId: null, staffId: 0 }),
    lastReminder: repos.reminders.lastFor(seller.id),
  };
}
