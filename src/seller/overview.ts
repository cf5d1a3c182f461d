import type { Repositories } from '../repositories/index.js';
import { mailboxVerdict } from '../detection/rules.js';
import type { AutoresponderCard } from '../repositories/migrations.js';
import type { MailboxSummary } from '../repositories/mailboxes.js';
import { switchBackPossible, type TemplateReview } from '../v3/switch.js';
import { V3_MAX_TEXT } from '../v3/templates.js';
import { AWAITING_SELLER_STATES, CHOOSABLE_STATES, type MigrationState } from '../migration/states.js';
import { mailboxRefusal, recommend } from './recommendation.js';
import { deadlineModel } from './deadline.js';
import { sellerHistory, type HistoryEntry } from '../watch/pages.js';
import type { Lang } from '../i18n/index.js';

/** States in which the autoresponder does not answer buyers until the seller acts. */
const NOT_WORKING = AWAITING_SELLER_STATES;

export interface OverviewOptions {
  /** Whether the app can switch to v3 (Allegro configured). */
  v3Available: boolean;
  /** The v3 review of an autoresponder's templates (drafts included), for "N templates to shorten". */
  review?: (autoresponderId: number) => TemplateReview[];
  deadline: Date | null;
  now: Date;
}

/** How many of a mailbox's newest logins the recommendation reads. */
const RECENT_CHECKS = 8;

/** How many template names a card shows before "and N more". */
const NAMES_SHOWN = 3;

/**
 * What the migration page shows for one seller, in the seller's words: every autoresponder titled by
 * its mailbox and templates (the id small, for support), whether it answers buyers, why not, what to
 * do with a recommendation and its reason; the seller's other Google mailboxes, each as it stands;
 * and the deadline. No detection detail (MX hosts, DNS errors): support sees that, not sellers.
 */
export function sellerOverview(repos: Repositories, sellerId: number, opts: OverviewOptions, history: Record<number, HistoryEntry[]> = {}) {
  // Each of these is one read for the whole page, with only the columns the page shows (the page is
  // opened often; a read per autoresponder, and whole rows, added up).
  const mailboxes = new Map(repos.mailboxes.listSummariesBySeller(sellerId).map((m) => [m.id, m]));
  // Every autoresponder with its migration: a card without one (state null) is 'unknown'.
  const autoresponders = repos.migrations.cardsOfSeller(sellerId);
  const templateNames = repos.autoresponders.templateNamesOfSeller(sellerId);
  const stateOf = (a: AutoresponderCard): MigrationState => a.state ?? 'unknown';
  // Autoresponders the watch found broken after their migration (one read): their card tells it in its history.
  const brokeAfterMigration = new Set(repos.watch.openIncidentsOfSeller(sellerId));
  /** The v1/v2 autoresponders still to be fixed that read a mailbox. */
  const toFixOn = (mailboxId: number) => autoresponders.filter((a) => a.version !== 3 && a.mailboxId === mailboxId && NOT_WORKING.includes(stateOf(a)));
  const checksOf = new Map<number, ReturnType<Repositories['connectionChecks']['recentOutcomes']>>();
  const checks = (mailboxId: number) => {
    let c = checksOf.get(mailboxId);
    // Only the newest few: a refusal is told from the last consecutive failures (REJECTIONS_BEFORE_V3).
    if (!c) checksOf.set(mailboxId, (c = repos.connectionChecks.recentOutcomes(mailboxId, RECENT_CHECKS)));
    return c;
  };

  const used = new Set<number>();
  const items = autoresponders.map((a) => {
    // Its migration, if it has one.
    const m = a.state !== null ? a : undefined;
    const mailbox = a.mailboxId != null ? mailboxes.get(a.mailboxId) : undefined;
    if (mailbox) used.add(mailbox.id);
    const state = stateOf(a);
    const mailboxPath = a.version !== 3 && !!mailbox;
    const canChoose = mailboxPath && CHOOSABLE_STATES.includes(state);
    const notWorking = NOT_WORKING.includes(state);

    // The templates: names for the title, and (when choosing) what v3 would need changed.
    const reviews = canChoose && opts.v3Available && opts.review ? opts.review(a.id) : null;
    const names = reviews ? reviews.map((r) => r.name) : (templateNames.get(a.id) ?? []);
    const toFix = reviews ? reviews.filter((r) => !r.ok) : [];
    const over = toFix.reduce((n, r) => n + Math.max(0, r.length - V3_MAX_TEXT), 0);

    const shared = mailbox ? toFixOn(mailbox.id) : [];
    // Read only for a card that offers the choice: the recommendation is its only use.
    const refusal = mailbox && canChoose ? mailboxRefusal(checks(mailbox.id), m?.reasonCode ?? null) : null;
    const recommendation = canChoose
      ? recommend({ v3Available: opts.v3Available, refusal, sharedCount: shared.length, templatesToFix: { count: toFix.length, over } })
      : null;
    return {
      id: a.id,
      externalId: a.externalId,
      version: a.version,
      mailbox: mailbox ? { id: mailbox.id, email: mailbox.email } : null,
      templateNames: names.slice(0, NAMES_SHOWN),
      moreTemplates: Math.max(0, names.length - NAMES_SHOWN),
      state,
      working: !notWorking,
      // Why it stopped, in the seller's words, only while it is not fixed.
      reason: notWorking && state !== 'needs_attention' && m ? sellerReasonKey(m.verdictRule ?? '') : null,
      // A problem the watch found is told once, in the card's history ("Działało do …. Przyczyna: …").
      attention: state === 'needs_attention' && m?.reasonCode && !brokeAfterMigration.has(a.id) ? `reasons.${m.reasonCode}` : null,
      brokeAfterMigration: state === 'needs_attention' && brokeAfterMigration.has(a.id),
      // Its mailbox worked with an app password until the watch found it refused: the fix starts at a new
      // app password (step 2), not at 2-Step Verification; what comes first depends on the reason.
      fixAppPassword:
        mailboxPath && state === 'needs_attention' && brokeAfterMigration.has(a.id) && mailbox?.secretKind === 'app_password' && m?.reasonCode
          ? `migration.fixApp.how.${m.reasonCode}`
          : null,
      canChoose,
      recommendation,
      recommendV3: recommendation?.choice === 'v3',
      templatesToFix: toFix.length ? { count: toFix.length, chars: over } : null,
      // Other autoresponders one app password fixes at the same time.
      sharedWith: shared.length > 1 ? shared.length - 1 : 0,
      inProgress: state === 'in_progress_app_password',
      v3InProgress: state === 'in_progress_v3',
      // A v3 autoresponder: its details page, with the way back while the mailbox password is kept.
      v3Details: a.version === 3 && !!m && ['switched_v3', 'needs_attention'].includes(state),
      canSwitchBack: switchBackPossible(a, mailbox),
      previousVersion: a.previousVersion,
      // Any problem of a v3 autoresponder is its authorization (refused, or given for another Allegro account).
      authorizeAgain: a.version === 3 && state === 'needs_attention',
      canChange: mailboxPath && state === 'relinked_app_password',
      // The watch's history of this card (views/partials/watch-history.hbs reads it from the card).
      history: history[a.id] ?? null,
      relinkedAt: state === 'relinked_app_password' ? m?.completedAt : null,
      switchedAt: state === 'switched_v3' ? m?.completedAt : null,
    };
  });
  const otherMailboxes = [...mailboxes.values()]
    .filter((mb) => !used.has(mb.id) && isGoogle(mb))
    .map((mb) => ({
      id: mb.id,
      email: mb.email,
      relinkedAt: mb.secretKind === 'app_password' ? mb.secretVerifiedAt : null,
    }));
  const toFix = items.filter((i) => !i.working).length;
  return {
    items,
    otherMailboxes,
    toFix,
    // Of those, the ones that read a mailbox (Google's change); the others are v3 needing a new consent.
    toFixMailbox: items.filter((i) => !i.working && i.version !== 3).length,
    // Every one of those worked after its migration until the watch found it broken: not Google's change of rules.
    onlyBrokeAfterMigration: toFix > 0 && items.every((i) => i.working || i.brokeAfterMigration),
    allWorking: items.length > 0 && toFix === 0,
    // The two ways are explained once above the cards (views/migration.hbs), not again in each card that
    // offers them: a seller with three affected autoresponders read the same paragraphs three times.
    waysExplained: items.some((i) => i.canChoose && !i.fixAppPassword),
    deadline: deadlineModel(opts.deadline, opts.now),
  };
}

/**
 * Everything the seller's migration page shows (the overview, the watch's history in each card),
 * read as one transaction: one moment of the database, and one read lock for the page's dozen reads.
 */
export function migrationPage(repos: Repositories, sellerId: number, lang: Lang, opts: OverviewOptions) {
  return repos.read(() => sellerOverview(repos, sellerId, opts, sellerHistory(repos, sellerId, lang, opts.now)));
}

/** The detection rule as a seller understands it: no MX hosts, no DNS codes. */
function sellerReasonKey(rule: string): string {
  switch (rule) {
    case 'gmail_address':
      return 'sellerReasons.gmail';
    case 'google_imap_host':
    case 'google_smtp_host':
      return 'sellerReasons.googleServers';
    case 'workspace_mx':
      return 'sellerReasons.workspace';
    case 'mx_lookup_failed':
      return 'sellerReasons.unknown';
    default:
      return 'sellerReasons.google';
  }
}

/** Served by Google, or not known yet (check needed): either way it may need an app password. */
function isGoogle(m: MailboxSummary): boolean {
  const v = mailboxVerdict(m);
  return !!v && v.google !== false;
}
