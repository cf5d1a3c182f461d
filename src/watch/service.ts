import type { FastifyBaseLogger } from 'fastify';
import { verifyMailbox, type MailCheckOptions } from '../mail/check.js';
import { BROKEN_AFTER_MIGRATION_REASONS, MIGRATED_STATES } from '../migration/states.js';
import type { Actor, Autoresponder, Migration, WatchIncident } from '../domain/model.js';
import type { Services } from '../composition.js';
import type { V3Service } from '../v3/switch.js';
import type { AllegroClient } from '../allegro/client.js';
import type { LaneItem, RunnerLane } from '../jobs/runner.js';
import type { SyncRow } from '../repositories/watch.js';
import { allegroVerdict, mailVerdict, type WatchVerdict } from './verdict.js';
import { nextSendTime, nextSlot, paceLimit, PACE_WINDOW_MS, retryDelayMs, type SendHours } from './schedule.js';
import type { NoticeSender } from './notice.js';

export const WATCH_ACTOR: Actor = { type: 'system', id: 'watch' };
/** How often newly migrated autoresponders are given a slot (and ones no longer migrated dropped). */
export const SYNC_MAX_MS = 5 * 60_000;
/** Migrations per transaction of a full pass (between them the event loop runs). */
const SYNC_CHUNK = 500;
/** Changed migrations one periodic sync takes; more, and a full pass follows. */
const SYNC_LIMIT = 20_000;
const SYNC_OVERLAP_MS = 60_000;
/** A full pass now and then heals what the periodic ones could miss (a change committed very late). */
export const FULL_SYNC_EVERY_MS = 6 * 3_600_000;

export interface WatchOptions {
  services: Services;
  v3: V3Service;
  allegroClient: AllegroClient | null;
  notices: NoticeSender;
  log: FastifyBaseLogger;
  checkOptions: MailCheckOptions;
  intervalMs: number;
  sendHours: SendHours;
  /** The watch's share of the job runner's global cap. */
  maxInFlight: number;
  /** Wakes the job runner (the watch's items run there). */
  wake: () => void;
}

const isBrokenReason = (r: string | null) => !!r && (BROKEN_AFTER_MIGRATION_REASONS as readonly string[]).includes(r);
const isMigrated = (m: Migration) => (MIGRATED_STATES as readonly string[]).includes(m.state);
/** Whether the watch covers this migration (the same rule as WATCHED_SQL in repositories/watch.ts). */
export const isWatched = (m: Migration) => isMigrated(m) || (m.state === 'needs_attention' && m.completedAt !== null && isBrokenReason(m.reasonCode));
/** What broke, shared by every autoresponder using it: the mailbox, or the Allegro authorization. */
const subjectOf = (a: Autoresponder) => (a.version === 3 ? `authorization:${a.authorizationId ?? `none-${a.id}`}` : `mailbox:${a.mailboxId}`);

/**
 * The watch: every migrated autoresponder is checked once per interval in its own slot (relinked: a
 * real IMAP and SMTP login with the stored app password; v3: one Message Center read with its
 * authorization), through the job runner's lane so the runner's caps hold. A check that needs the
 * seller moves the migration to "needs attention" with the reason, opens an incident and queues one
 * e-mail for the sending hours; one that is not the seller's fault is tried again later with backoff
 * and, after a day, shows as an outage; a passing check after a problem brings the migration back.
 * Every change is audited.
 */
export function createWatchService(opts: WatchOptions) {
  const { services, v3, log } = opts;
  const { db, repos, migrationService, secrets, now } = services;
  const interval = opts.intervalMs;
  let syncTimer: NodeJS.Timeout | null = null;
  let watched = 0;
  /** The start of the last sync: the next reads what changed since (null before the first full pass). */
  let syncedSince: string | null = null;
  /** When the next full pass is due (epoch ms of the service's clock). */
  let fullDue = 0;
  let fullRunning: Promise<{ added: number; removed: number; fixed: number }> | null = null;
  // Start times of checks in the pacing window (bounded by the pace limit).
  let starts: number[] = [];
  let inFlight = 0;
  const idleWaiters = new Set<() => void>();

  // ---- schedule ------------------------------------------------------------------------------------

  /**
   * Brings the schedule in line with these migrations: newly watched ones get their slot, ones no
   * longer watched are dropped (their open incident closed, a queued e-mail cancelled), and incidents
   * fixed meanwhile (the migration completed again) are closed. One transaction; idempotent.
   */
  function reconcile(rows: SyncRow[]): { added: number; removed: number; fixed: number } {
    const counts = { added: 0, removed: 0, fixed: 0 };
    const at = now();
    db.transaction(() => {
      for (const r of rows) {
        if (r.watched && !r.scheduled) {
          if (repos.watch.add(r.autoresponderId, nextSlot(r.autoresponderId, interval, at))) counts.added++;
        } else if (!r.watched && r.scheduled && r.status === 'waiting') {
          unwatch(r.autoresponderId);
          counts.removed++;
        }
        if (r.watched && r.openIncident !== null && r.completedAt && (MIGRATED_STATES as readonly string[]).includes(r.state)) {
          const incident = repos.watch.incident(r.openIncident)!;
          const fixedAt = r.completedAt >= incident.foundAt ? r.completedAt : null;
          if (fixedAt) {
            closeIncident(incident, 'migrated_again', fixedAt);
            counts.fixed++;
          }
        }
      }
    })();
    return counts;
  }

  const add = (a: { added: number; removed: number; fixed: number }, b: typeof a) => ({ added: a.added + b.added, removed: a.removed + b.removed, fixed: a.fixed + b.fixed });
  const report = (kind: string, c: { added: number; removed: number; fixed: number }) => {
    watched = repos.watch.count();
    if (c.added || c.removed || c.fixed) log.info({ kind, ...c, watched }, 'watch schedule updated');
    return c;
  };

  /**
   * The periodic sync: only the migrations changed since the last one (an index on updated_at), so
   * its cost follows the changes, not the database. A minute of overlap covers a transaction that
   * took its time stamp before the last sync and committed after it.
   */
  function sync(): { added: number; removed: number; fixed: number } {
    const started = now();
    let total = { added: 0, removed: 0, fixed: 0 };
    if (syncedSince !== null) {
      const since = new Date(Date.parse(syncedSince) - SYNC_OVERLAP_MS).toISOString();
      const rows = repos.watch.changedSince(since, SYNC_LIMIT);
      total = reconcile(rows);
      // More changes than one pass takes (an import, the first day): the full pass catches up.
      if (rows.length === SYNC_LIMIT) fullDue = 0;
    }
    syncedSince = started.toISOString();
    return report('changes', total);
  }

  /**
   * Every migration, in chunks of SYNC_CHUNK by id, yielding to the event loop between chunks (a
   * database of 100,000 never blocks the server for long). At start, and now and then to heal.
   */
  async function fullSync(): Promise<{ added: number; removed: number; fixed: number }> {
    if (fullRunning) return fullRunning;
    fullRunning = (async () => {
      const started = now();
      let total = { added: 0, removed: 0, fixed: 0 };
      for (let after = 0; ; ) {
        const rows = repos.watch.syncRows(after, SYNC_CHUNK);
        if (rows.length === 0) break;
        total = add(total, reconcile(rows));
        after = rows[rows.length - 1]!.autoresponderId;
        if (rows.length < SYNC_CHUNK) break;
        await new Promise((r) => setImmediate(r));
      }
      syncedSince = started.toISOString();
      fullDue = started.getTime() + FULL_SYNC_EVERY_MS;
      return report('full', total);
    })().finally(() => (fullRunning = null));
    return fullRunning;
  }

  /**
   * When it was fixed another way: the migration completed again after the problem was found (the
   * seller saved a new app password or authorized again, or a staff re-check passed).
   */
  function migratedAgainAt(m: Migration, incident: WatchIncident): string | null {
    return isMigrated(m) && m.completedAt && m.completedAt >= incident.foundAt ? m.completedAt : null;
  }

  /** Closes an incident and cancels its e-mail if it has not gone yet; audited. Inside a transaction. */
  function closeIncident(incident: WatchIncident, resolution: 'check_passed' | 'migrated_again' | 'changed' | 'not_watched', at: string): void {
    if (!repos.watch.resolve(incident.id, resolution, at)) return;
    const cancelled = repos.watch.cancelPendingNotice(incident.id);
    repos.audit.append({
      actor: WATCH_ACTOR,
      action: resolution === 'changed' ? 'watch.problem_changed' : 'watch.recovered',
      targetType: 'autoresponder',
      targetId: incident.autoresponderId,
      details: { incidentId: incident.id, reason: incident.reason, resolution, brokenSince: incident.foundAt, ...(cancelled ? { noticeCancelled: true } : {}) },
    });
  }

  // ---- one check -----------------------------------------------------------------------------------

  /**
   * Checks one watched autoresponder now and applies the outcome. Used by the lane; also directly by
   * the benchmark. Never throws for a failed login: the outcome is classified.
   */
  async function check(autoresponderId: number): Promise<WatchVerdict | null> {
    const a = repos.autoresponders.getById(autoresponderId);
    const m = repos.migrations.findByAutoresponder(autoresponderId);
    if (!a || !m || !isWatched(m)) {
      db.transaction(() => unwatch(autoresponderId))();
      return null;
    }
    return a.version === 3 ? checkAllegro(a, m) : checkMailbox(a, m);
  }

  /** No longer watched (switched back, reviewed, gone): its open incident closed, its schedule dropped. Inside a transaction. */
  function unwatch(autoresponderId: number): void {
    const open = repos.watch.openIncident(autoresponderId);
    if (open) closeIncident(open, 'not_watched', now().toISOString());
    repos.watch.remove(autoresponderId);
  }

  async function checkAllegro(a: Autoresponder, m: Migration): Promise<WatchVerdict> {
    let verdict: WatchVerdict;
    if (!opts.allegroClient) verdict = { kind: 'outage', code: 'MIG_ERR_ALLEGRO_NOT_CONFIGURED' };
    else if (!a.authorizationId) {
      repos.connectionChecks.record({ mailboxId: null, autoresponderId: a.id, kind: 'allegro', trigger: 'watch', ok: false, code: 'MIG_ERR_AUTHORIZE_AGAIN', protocol: 'allegro', detail: 'no authorization' });
      verdict = { kind: 'seller', reason: 'authorize_again', code: 'MIG_ERR_AUTHORIZE_AGAIN' };
    } else {
      // v3.check records the connection check; an authorization Allegro refuses (invalid_grant) is
      // marked invalid there and its migrations need attention ("authorize again").
      verdict = allegroVerdict(await v3.check(a.sellerId, a.id, a.authorizationId, 'watch'));
    }
    db.transaction(() => {
      migrationService.recordCheck(m.id, verdict.kind === 'ok' ? null : verdict.code);
      apply(a, verdict);
    })();
    return verdict;
  }

  async function checkMailbox(a: Autoresponder, m: Migration): Promise<WatchVerdict | null> {
    const mailbox = a.mailboxId ? repos.mailboxes.getById(a.mailboxId) : undefined;
    const stored = mailbox ? repos.mailboxes.getEncryptedSecret(mailbox.id) : null;
    if (!mailbox || !stored || mailbox.secretKind !== 'app_password') {
      // Nothing to log in with (should not happen to a relinked mailbox): looked at again next interval.
      log.warn({ autoresponderId: a.id, migration: m.state }, 'watch: no stored app password for a watched mailbox');
      repos.watch.release(a.id, nextSlot(a.id, interval, now()));
      return null;
    }
    // IMAP, then SMTP AUTH: the autoresponder reads with one and answers with the other.
    const result = await verifyMailbox(mailbox, secrets.decrypt(stored, 'mailbox-secret'), opts.checkOptions);
    const verdict = mailVerdict(result.ok ? null : result.code);
    return db.transaction(() => {
      // The seller may have saved a new password during the check: this result is about the old one.
      const superseded = repos.mailboxes.getEncryptedSecret(mailbox.id) !== stored;
      repos.connectionChecks.record({
        mailboxId: mailbox.id,
        autoresponderId: a.id,
        kind: 'mail',
        trigger: 'watch',
        ok: result.ok,
        code: result.ok ? null : result.code,
        protocol: result.ok ? 'imap+smtp' : result.protocol,
        detail: superseded ? 'superseded: the mailbox password changed during this check' : result.ok ? null : result.serverText,
      });
      if (superseded) {
        repos.watch.release(a.id, nextSlot(a.id, interval, now()));
        return null;
      }
      migrationService.recordCheck(m.id, result.ok ? null : result.code);
      apply(a, verdict);
      return verdict;
    })();
  }

  /** Applies a verdict: the schedule, the migration, the incident and its e-mail. Inside a transaction. */
  function apply(a: Autoresponder, verdict: WatchVerdict): void {
    const at = now();
    const iso = at.toISOString();
    const m = repos.migrations.findByAutoresponder(a.id)!;
    // The seller switched back (or staff marked it reviewed) during the check: nothing to say about it.
    if (!isWatched(m)) return unwatch(a.id);
    const open = repos.watch.openIncident(a.id);
    const next = nextSlot(a.id, interval, at);
    if (verdict.kind === 'outage') {
      const failures = (repos.watch.get(a.id)?.failures ?? 0) + 1;
      repos.watch.failed(a.id, verdict.code, new Date(at.getTime() + retryDelayMs(failures, interval)));
      return;
    }
    if (verdict.kind === 'ok') {
      const lastOk = repos.watch.get(a.id)?.lastOkAt ?? null;
      repos.watch.passed(a.id, next);
      // A passing check after a problem brings the migration back (a relinked mailbox needs its app password stored).
      let recovered = false;
      if (m.state === 'needs_attention' && isBrokenReason(m.reasonCode)) {
        const details = { recovered: true, trigger: 'watch', ...(open ? { incidentId: open.id } : {}) };
        if (a.version === 3) recovered = !!migrationService.transitionIfAllowed(m.id, 'reauthorized', 'switched_v3', { actor: WATCH_ACTOR, details });
        else if (repos.mailboxes.getById(a.mailboxId!)?.secretKind === 'app_password') {
          recovered = !!migrationService.transitionIfAllowed(m.id, 'relinked', 'relinked_app_password', { actor: WATCH_ACTOR, details });
        }
      }
      if (open) closeIncident(open, migratedAgainAt(m, open) ? 'migrated_again' : 'check_passed', migratedAgainAt(m, open) ?? iso);
      else if (recovered) {
        // Broken before the watch knew (a staff re-check found it): the recovery is audited all the same.
        repos.audit.append({ actor: WATCH_ACTOR, action: 'watch.recovered', targetType: 'autoresponder', targetId: a.id, details: { reason: m.reasonCode, resolution: 'check_passed', lastOk } });
      }
      return;
    }
    // The seller must act.
    repos.watch.sellerMustAct(a.id, next);
    if (m.state !== 'needs_attention' || m.reasonCode !== verdict.reason) {
      migrationService.transitionIfAllowed(m.id, 'needs_attention', 'needs_attention', { actor: WATCH_ACTOR, reason: verdict.reason, errorCode: verdict.code, details: { trigger: 'watch' } });
    }
    // One e-mail per problem: none again while it stays the same.
    if (open && open.reason === verdict.reason) return;
    let workedUntil = repos.watch.get(a.id)?.lastOkAt ?? m.completedAt;
    if (open) {
      workedUntil = open.workedUntil;
      closeIncident(open, 'changed', iso);
    }
    const subject = subjectOf(a);
    const incidentId = repos.watch.openIncidentFor({ autoresponderId: a.id, subject, reason: verdict.reason, code: verdict.code, workedUntil, foundAt: iso });
    // Two autoresponders on one mailbox (or one authorization) broke together: the seller hears once.
    const sibling = repos.watch.noticedSibling(subject, verdict.reason, incidentId);
    const notBefore = nextSendTime(at, opts.sendHours);
    if (!sibling) repos.watch.addNotice({ incidentId, sellerId: a.sellerId, notBefore });
    repos.audit.append({
      actor: WATCH_ACTOR,
      action: 'watch.broke',
      targetType: 'autoresponder',
      targetId: a.id,
      details: { incidentId, reason: verdict.reason, code: verdict.code, workedUntil, ...(sibling ? { noticeWithIncident: sibling } : { noticeNotBefore: notBefore.toISOString() }) },
    });
  }

  // ---- the lane in the job runner --------------------------------------------------------------------

  function paced(at: number): number {
    starts = starts.filter((t) => t > at - PACE_WINDOW_MS);
    return Math.max(0, paceLimit(watched, interval) - starts.length);
  }

  const lane: RunnerLane = {
    name: 'watch',
    maxInFlight: opts.maxInFlight,
    due(limit, at) {
      // E-mails first (they wait for nothing but the sending hours), then checks, paced.
      const items: LaneItem[] = repos.watch.dueNotices(at, limit).map((n) => ({ id: `n${n.id}`, key: `seller:${n.sellerId}`, host: null }));
      const room = Math.min(limit - items.length, paced(at.getTime()));
      if (room > 0) {
        for (const c of repos.watch.due(at, room)) {
          items.push(
            c.version === 3
              ? { id: `c${c.autoresponderId}`, key: `seller:${c.sellerId}:allegro`, host: 'allegro' }
              : { id: `c${c.autoresponderId}`, key: c.mailboxId ? `mailbox:${c.mailboxId}` : null, host: c.mailHost },
          );
        }
      }
      return items;
    },
    claim(item) {
      const id = Number(item.id.slice(1));
      if (item.id[0] === 'n') return repos.watch.claimNotice(id);
      if (!repos.watch.claim(id)) return false;
      starts.push(now().getTime());
      return true;
    },
    async run(item) {
      const id = Number(item.id.slice(1));
      inFlight++;
      try {
        if (item.id[0] === 'n') await opts.notices.send(id);
        else await check(id);
      } catch (err) {
        log.error({ err, item: item.id }, 'watch item failed');
        // Never left running: a check is taken up again later, an e-mail goes back to its queue.
        if (item.id[0] === 'c') repos.watch.release(id, new Date(now().getTime() + retryDelayMs(1, interval)));
        else opts.notices.failedToRun(id, err);
      } finally {
        inFlight--;
        if (inFlight === 0) for (const w of idleWaiters) w();
      }
    },
    recover() {
      return db.transaction(() => ({ checksResumed: repos.watch.resumeRunning(), ...opts.notices.recover() }))();
    },
    nextWakeAt() {
      const at = now().getTime();
      const times = [repos.watch.nextNoticeAt(), repos.watch.nextDueAt()].filter((t): t is string => t !== null).map(Date.parse);
      if (times.length === 0) return null;
      let next = Math.min(...times);
      if (next <= at) {
        // Due now but held back (pacing, caps): the pacing window reopens, or a finished item wakes the runner.
        next = paced(at) === 0 && starts.length ? starts[0]! + PACE_WINDOW_MS : at + 1000;
      }
      return next;
    },
  };

  return {
    lane,
    sync,
    fullSync,
    check,
    /**
     * Starts the schedule (at the server's start, after the runner recovered): a full pass in the
     * background (the server answers meanwhile), then a sync of the changes now and then.
     */
    start(): void {
      const tick = () => {
        const full = now().getTime() >= fullDue;
        (full ? fullSync() : Promise.resolve(sync()))
          .then(() => opts.wake())
          .catch((err: unknown) => log.error({ err }, 'watch schedule failed'));
      };
      tick();
      syncTimer = setInterval(tick, Math.max(1_000, Math.min(SYNC_MAX_MS, interval / 24)));
      syncTimer.unref();
    },
    /**
     * The demo's first start (demo/ loaded its data just now): every watched autoresponder that was
     * never checked is checked now instead of in its slot, which may be a day away, so the demo shows
     * the watch's verdicts within a minute. The checks go through the lane (its caps and pacing) as
     * any other; every later check keeps its slot. Returns how many were made due.
     */
    async firstChecksNow(): Promise<number> {
      // A full pass started before the data was loaded may have missed it: a new one after it.
      if (fullRunning) await fullRunning.catch(() => undefined);
      await fullSync();
      const due = repos.watch.uncheckedDueNow(now());
      opts.wake();
      return due;
    },
    stop(): void {
      if (syncTimer) clearInterval(syncTimer);
      syncTimer = null;
    },
    /**
     * For tests and the benchmark, whose clock may jump: syncs, wakes the runner and waits (bounded)
     * until nothing of the watch is due or in flight.
     */
    async runDue(timeoutMs = 60_000): Promise<void> {
      const end = Date.now() + timeoutMs;
      await fullSync();
      for (;;) {
        opts.wake();
        await new Promise((r) => setTimeout(r, 5));
        if (inFlight > 0) await new Promise<void>((resolve) => {
          const done = () => (idleWaiters.delete(done), resolve());
          idleWaiters.add(done);
          setTimeout(done, 200).unref();
        });
        const at = now();
        const due = repos.watch.due(at, 1).length + repos.watch.dueNotices(at, 1).length;
        if (inFlight === 0 && due === 0) return;
        if (Date.now() > end) throw new Error(`watch: items still due after ${timeoutMs} ms`);
      }
    },
    /** The lane's checks in flight right now. */
    inFlight: () => inFlight,
    /** Clears the pacing window (the benchmark measures checks back to back). */
    resetPace: () => void (starts = []),
    intervalMs: interval,
  };
}
export type WatchService = ReturnType<typeof createWatchService>;
