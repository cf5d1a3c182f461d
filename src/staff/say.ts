import type { I18n, Lang } from '../i18n/index.js';
import { formatDateTime } from '../i18n/index.js';
import type { Seller } from '../domain/model.js';
import type { AccountRow } from '../repositories/accounts.js';
import type { Repositories } from '../repositories/index.js';
import { sellerOverview, type OverviewOptions } from '../seller/overview.js';

/** The two ways of a migration, as support talks about them. */
export type SayPath = 'v3' | 'app_password' | 'works';

export interface SayModel {
  /** The seller's language: the cause, the next step and the message are written in it. */
  lang: Lang;
  path: SayPath;
  /** Why it does not answer buyers, in the words of the seller's own page (null when it works). */
  cause: string | null;
  /** What the seller does next, in the words of the seller's own page. */
  next: string;
  /** A ready message: an e-mail body, which is also what to say on the phone. */
  message: string;
  subject: string;
  /** "Napisz do sprzedawcy": the same message in the agent's mail program. */
  mailto: string;
}

/**
 * "Co powiedzieć sprzedawcy": the cause and the next step of one autoresponder exactly as the seller's
 * own migration page says them (the same page model, seller/overview.ts, in the seller's language), and
 * a ready message that fits the seller's way: for v3, no mailbox and no app-password deadline; for an
 * app password, the mailbox and the deadline. No internal ids, codes or state names: the seller reads it.
 */
export function sayModel(repos: Repositories, i18n: I18n, seller: Seller, row: AccountRow, opts: { publicUrl: string; overview: OverviewOptions }): SayModel {
  const lang = seller.language;
  const t = i18n.t(lang);
  const item = sellerOverview(repos, seller.id, opts.overview).items.find((i) => i.id === row.autoresponderId);
  const reasonCode = repos.migrations.findByAutoresponder(row.autoresponderId)?.reasonCode ?? null;
  // The cause: the card's own sentence (why it stopped, a problem found), or the watch's reason.
  const causeKey = item?.attention ?? item?.reason ?? (item?.brokeAfterMigration && reasonCode ? `reasons.${reasonCode}` : null);
  const v3 = row.version === 3 || item?.v3InProgress || item?.recommendation?.choice === 'v3' || item?.authorizeAgain;
  const path: SayPath = item?.working ? 'works' : v3 ? 'v3' : 'app_password';
  const next = !item
    ? t('staff.say.next.works')
    : item.authorizeAgain
      ? t('staff.say.next.authorizeAgain')
      : item.fixAppPassword
        ? t(item.fixAppPassword)
        : item.recommendation
          ? `${t(`recommend.${item.recommendation.choice}`)} ${t(`recommend.reasons.${item.recommendation.reason}`, { ...item.recommendation.vars, version: row.version })}`
          : item.v3InProgress
            ? t('staff.say.next.finishV3')
            : item.inProgress
              ? t('staff.say.next.finishApp')
              : item.working
                ? t('staff.say.next.works')
                : t('staff.say.next.open');
  // "Approve the access again" is its own cause and step: said once, as the step.
  const cause = causeKey && !item?.authorizeAgain ? t(causeKey) : null;
  const account = row.allegroLogin ?? seller.name;
  // The deadline is Google's, for autoresponders that read a mailbox and do not work yet.
  const deadline = opts.overview.deadline && row.version !== 3 && path !== 'works' ? formatDateTime(opts.overview.deadline.toISOString(), lang) : null;
  const lines = [
    t('staff.contact.mail.hello', { name: seller.name }),
    '',
    row.version !== 3 && row.mailboxEmail ? t('staff.contact.mail.about', { login: account, version: row.version, mailbox: row.mailboxEmail }) : t('staff.contact.mail.aboutV3', { login: account, version: row.version }),
    ...(cause ? [cause] : []),
    next,
    '',
    t(path === 'works' ? 'staff.say.mail.linkWorks' : 'staff.contact.mail.link', { url: `${opts.publicUrl}/login` }),
    ...(deadline ? [t('staff.contact.mail.deadline', { date: deadline })] : []),
    '',
    t('staff.contact.mail.regards'),
  ];
  const message = lines.join('\n');
  const subject = t('staff.contact.mail.subject', { login: account });
  const to = encodeURIComponent(seller.email).replace(/%40/g, '@');
  const mailto = `mailto:${to}?subject=${encodeURIComponent(subject)}&body=${encodeURIComponent(lines.join('\r\n'))}`;
  return { lang, path, cause, next, message, subject, mailto };
}
