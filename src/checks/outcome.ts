import type { Db } from '../db/database.js';
import type { Repositories } from '../repositories/index.js';
import type { MigrationService } from '../migration/service.js';
import { BROKEN_AFTER_MIGRATION_REASONS, MIGRATED_STATES } from '../migration/states.js';
import type { Actor, Autoresponder, Migration, WatchIncident } from '../domain/model.js';
import type { Verdict } from './verdict.js';

const isBrokenReason = (r: string | null) => !!r && (BROKEN_AFTER_MIGRATION_REASONS as readonly string[]).includes(r);
export const isMigrated = (m: Pick<Migration, 'state'>) => (MIGRATED_STATES as readonly string[]).includes(m.state);
/**
 * Whether a migration is one whose connection is kept an eye on: migrated, or broken after its
 * migration (so it can recover). The same rule as WATCHED_SQL in repositories/watch.ts.
 */
export const isWatched = (m: Migration) => isMigrated(m) || (m.state === 'needs_attention' && m.completedAt !== null && isBrokenReason(m.reasonCode));
/** What broke, shared by every autoresponder using it: the mailbox, or the Allegro authorization. */
const subjectOf = (a: Autoresponder) => (a.version === 3 ? `authorization:${a.authorizationId ?? `none-${a.id}`}` : `mailbox:${a.mailboxId}`);

export type IncidentResolution = 'check_passed' | 'migrated_again' | 'changed' | 'not_watched';

export interface OutcomeDeps {
  db: Db;
  repos: Pick<Repositories, 'migrations' | 'mailboxes' | 'watch' | 'audit' | 'autoresponders'>;
  migrationService: MigrationService;
  now: () => Date;
  /** When the seller's e-mail about a new problem may go (the outbox's sending hours). */
  noticeNotBefore: (at: Date) => Date;
}

/**
 * What a check of a stored credential changes, whoever made it (the watch, a staff re-check, the
 * seller's "Pobierz e-maile"): the migration's last answer; a migrated autoresponder that the answer
 * says needs its seller moves to "needs attention" with the reason, an incident opens and one e-mail
 * is queued for the sending hours (one per problem, one per mailbox or authorization); a passing check
 * after a problem brings the migration back and closes the incident. Every change is audited.
 */
export function createOutcomes(deps: OutcomeDeps) {
  const { repos, migrationService, now } = deps;

  /**
   * When it was fixed another way: the migration completed again after the problem was found (the
   * seller saved a new app password or authorized again).
   */
  function migratedAgainAt(m: Migration, incident: WatchIncident): string | null {
    return isMigrated(m) && m.completedAt && m.completedAt >= incident.foundAt ? m.completedAt : null;
  }

  /**
   * Makes sure the seller hears of an open problem once: a notice is queued for this incident unless
   * it has one, or another open incident of the same mailbox (or authorization) and reason has one
   * that went or is on its way. Inside a transaction.
   */
  function ensureNotice(incident: WatchIncident): void {
    if (repos.watch.noticeOf(incident.id) || repos.watch.noticedSibling(incident.subject, incident.reason, incident.id)) return;
    const a = repos.autoresponders.getById(incident.autoresponderId);
    if (a) repos.watch.addNotice({ incidentId: incident.id, sellerId: a.sellerId, notBefore: deps.noticeNotBefore(now()) });
  }

  /**
   * An incident's e-mail was cancelled before it went (its autoresponder is no longer watched, or it
   * was fixed): an open sibling about the same problem takes the e-mail over, so the seller still hears.
   */
  function handOver(incident: WatchIncident): void {
    const sibling = repos.watch.openSiblings(incident.subject, incident.reason, incident.id)[0];
    if (sibling) ensureNotice(sibling);
  }

  /** Closes an incident and cancels its e-mail if it has not gone yet; audited. Inside a transaction. */
  function closeIncident(incident: WatchIncident, resolution: IncidentResolution, at: string, actor: Actor): void {
    if (!repos.watch.resolve(incident.id, resolution, at)) return;
    const cancelled = repos.watch.cancelPendingNotice(incident.id);
    // No longer watched (switched to version 3, marked reviewed) while the problem stays on a sibling:
    // the e-mail moves to it. Fixed or changed, the siblings follow at their own check.
    if (cancelled && resolution === 'not_watched') handOver(incident);
    const about = { incidentId: incident.id, reason: incident.reason };
    const closed = { brokenSince: incident.foundAt, ...(cancelled ? { noticeCancelled: true as const } : {}) };
    repos.audit.record(
      actor,
      incident.autoresponderId,
      resolution === 'changed'
        ? { action: 'watch.problem_changed', details: { ...about, resolution, ...closed } }
        : { action: 'watch.recovered', details: { ...about, resolution, ...closed } },
    );
  }

  /**
   * Applies a verdict to one autoresponder's migration. `full` says the check proved everything the
   * autoresponder needs (IMAP and SMTP, or the Message Center): only such a check brings a broken
   * migration back; a failure is a failure whichever part found it. Inside a transaction.
   */
  function apply(a: Autoresponder, verdict: Verdict, by: { actor: Actor; trigger: string; full: boolean }): void {
    const m = repos.migrations.findByAutoresponder(a.id);
    if (!m) return;
    migrationService.recordCheck(m.id, verdict.kind === 'ok' ? null : verdict.code);
    // Not migrated (never was, switched back, reviewed): the check is recorded, nothing else changes.
    if (!isWatched(m) || verdict.kind === 'outage') return;
    const iso = now().toISOString();
    const open = repos.watch.openIncident(a.id);
    if (verdict.kind === 'ok') {
      if (!by.full) return;
      let recovered = false;
      if (m.state === 'needs_attention' && isBrokenReason(m.reasonCode)) {
        const details = { recovered: true, trigger: by.trigger, ...(open ? { incidentId: open.id } : {}) };
        if (a.version === 3) recovered = !!migrationService.transitionIfAllowed(m.id, 'reauthorized', 'switched_v3', { actor: by.actor, details });
        else if (repos.mailboxes.getById(a.mailboxId!)?.secretKind === 'app_password') {
          recovered = !!migrationService.transitionIfAllowed(m.id, 'relinked', 'relinked_app_password', { actor: by.actor, details });
        }
      }
      if (open) {
        const again = migratedAgainAt(m, open);
        closeIncident(open, again ? 'migrated_again' : 'check_passed', again ?? iso, by.actor);
      } else if (recovered) {
        repos.audit.record(by.actor, a.id, { action: 'watch.recovered', details: { reason: m.reasonCode, resolution: 'check_passed', trigger: by.trigger } });
      }
      return;
    }
    // The seller must act.
    if (m.state !== 'needs_attention' || m.reasonCode !== verdict.reason) {
      migrationService.transitionIfAllowed(m.id, 'needs_attention', 'needs_attention', { actor: by.actor, reason: verdict.reason, errorCode: verdict.code, details: { trigger: by.trigger } });
    }
    // One e-mail per problem: none again while it stays the same (unless the one it had was cancelled
    // with a sibling's closing and none of them has one: then now).
    if (open && open.reason === verdict.reason) return ensureNotice(open);
    let workedUntil = repos.watch.get(a.id)?.lastOkAt ?? m.completedAt;
    if (open) {
      workedUntil = open.workedUntil;
      closeIncident(open, 'changed', iso, by.actor);
    }
    const subject = subjectOf(a);
    const incidentId = repos.watch.openIncidentFor({ autoresponderId: a.id, subject, reason: verdict.reason, code: verdict.code, workedUntil, foundAt: iso });
    // Two autoresponders on one mailbox (or one authorization) broke together: the seller hears once.
    const sibling = repos.watch.noticedSibling(subject, verdict.reason, incidentId);
    const notBefore = deps.noticeNotBefore(now());
    if (!sibling) repos.watch.addNotice({ incidentId, sellerId: a.sellerId, notBefore });
    repos.audit.record(by.actor, a.id, {
      action: 'watch.broke',
      details: { incidentId, reason: verdict.reason, code: verdict.code, workedUntil, trigger: by.trigger, ...(sibling ? { noticeWithIncident: sibling } : { noticeNotBefore: notBefore.toISOString() }) },
    });
  }

  /** Only the migration's last answer (a check of a new password, which says nothing of the stored one). */
  function record(a: Autoresponder, code: string | null): void {
    const m = repos.migrations.findByAutoresponder(a.id);
    if (m) migrationService.recordCheck(m.id, code);
  }

  return { apply, record, closeIncident, migratedAgainAt, handOver };
}
export type Outcomes = ReturnType<typeof createOutcomes>;
