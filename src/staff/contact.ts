import type { I18n } from '../i18n/index.js';
import { formatDateTime } from '../i18n/index.js';
import type { Seller } from '../domain/model.js';
import type { AccountRow } from '../repositories/accounts.js';

/**
 * "Napisz do sprzedawcy": a mailto: link that opens the agent's own mail program with a subject and
 * a short body in the seller's language, naming what support needs to talk about: the Allegro
 * login, the autoresponder's version and mailbox, its state, where to sign in and the deadline.
 * No secrets and no internal ids. A link rather than a form: the agent writes from their own mailbox,
 * so the seller can simply answer, and the conversation stays in the support mailbox.
 */
export function contactLink(i18n: I18n, seller: Seller, row: AccountRow, opts: { publicUrl: string; deadline: Date | null }): string {
  const t = i18n.t(seller.language);
  const account = row.allegroLogin ?? seller.name;
  const lines = [
    t('staff.contact.mail.hello', { name: seller.name }),
    '',
    t(row.mailboxEmail ? 'staff.contact.mail.about' : 'staff.contact.mail.aboutV3', { login: account, version: row.version, mailbox: row.mailboxEmail ?? '' }),
    t('staff.contact.mail.state', { state: t(`states.${row.state}`) }),
    '',
    t('staff.contact.mail.link', { url: `${opts.publicUrl}/login` }),
    ...(opts.deadline ? [t('staff.contact.mail.deadline', { date: formatDateTime(opts.deadline.toISOString(), seller.language) })] : []),
    '',
    t('staff.contact.mail.regards'),
  ];
  const subject = t('staff.contact.mail.subject', { login: account });
  const to = encodeURIComponent(seller.email).replace(/%40/g, '@');
  return `mailto:${to}?subject=${encodeURIComponent(subject)}&body=${encodeURIComponent(lines.join('\r\n'))}`;
}
