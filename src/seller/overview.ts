import type { TFunction } from 'i18next';
import type { Repositories } from '../repositories/index.js';
import { mailboxVerdict } from '../detection/rules.js';
import { type Mailbox } from '../domain/model.js';
import { switchBackPossible } from '../v3/switch.js';
import { CHOOSABLE_STATES } from '../migration/states.js';

function reasonText(t: TFunction, rule: string, detail: string | null): string {
  return t(`rules.${rule}`, { detail: detail ?? '' });
}

/**
 * What the migration page shows for one seller: every autoresponder with its state and the reason,
 * what the seller can do, and the seller's Google mailboxes that no autoresponder uses.
 */
export function sellerOverview(repos: Repositories, sellerId: number, t: TFunction) {
  const mailboxes = new Map(repos.mailboxes.listBySeller(sellerId).map((m) => [m.id, m]));
  const migrations = new Map(repos.migrations.listBySeller(sellerId).map((m) => [m.autoresponderId, m]));
  const used = new Set<number>();
  const items = repos.autoresponders.listBySeller(sellerId).map((a) => {
    const m = migrations.get(a.id);
    const mailbox = a.mailboxId != null ? mailboxes.get(a.mailboxId) : undefined;
    if (mailbox) used.add(mailbox.id);
    const state = m?.state ?? 'unknown';
    const mailboxPath = a.version !== 3 && !!mailbox;
    return {
      id: a.id,
      externalId: a.externalId,
      version: a.version,
      mailbox: mailbox ? { id: mailbox.id, email: mailbox.email } : null,
      state,
      reason: reasonText(t, m?.verdictRule ?? 'version_3', m?.verdictDetail ?? null),
      attention: state === 'needs_attention' && m?.reasonCode ? t(`reasons.${m.reasonCode}`, { defaultValue: m.reasonCode }) : null,
      canChoose: mailboxPath && CHOOSABLE_STATES.includes(state),
      inProgress: state === 'in_progress_app_password',
      v3InProgress: state === 'in_progress_v3',
      // A v3 autoresponder: its details page, with the way back while the mailbox password is kept.
      v3Details: a.version === 3 && !!m && ['switched_v3', 'needs_attention'].includes(state),
      canSwitchBack: switchBackPossible(a, mailbox),
      previousVersion: a.previousVersion,
      authorizeAgain: a.version === 3 && state === 'needs_attention' && m?.reasonCode === 'authorize_again',
      canChange: mailboxPath && state === 'relinked_app_password',
      relinkedAt: state === 'relinked_app_password' ? m?.completedAt : null,
      switchedAt: state === 'switched_v3' ? m?.completedAt : null,
    };
  });
  const otherMailboxes = [...mailboxes.values()]
    .filter((mb) => !used.has(mb.id) && isGoogle(mb))
    .map((mb) => ({
      id: mb.id,
      email: mb.email,
      reason: reasonText(t, mb.detectionRule, mb.detectionDetail),
      relinkedAt: mb.secretKind === 'app_password' ? mb.secretVerifiedAt : null,
    }));
  return { items, otherMailboxes };
}

/** Served by Google, or not known yet (check needed): either way it may need an app password. */
function isGoogle(m: Mailbox): boolean {
  const v = mailboxVerdict(m);
  return !!v && v.google !== false;
}
