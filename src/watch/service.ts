import type { FastifyBaseLogger } from 'fastify';
import { MIGRATED_STATES } from '../migration/states.js';
import type { Actor, Autoresponder } from '../domain/model.js';
import type { Db } from '../db/database.js';
import type { Repositories } from '../repositories/index.js';
import type { LaneItem, RunnerLane } from '../jobs/runner.js';
import type { SyncRow } from '../repositories/watch.js';
import type { Checks } from '../checks/service.js';
import { isWatched, type Outcomes } from '../checks/outcome.js';
import type { Verdict } from '../checks/verdict.js';
import { nextSlot, paceLimit, PACE_WINDOW_MS, retryDelayMs } from './schedule.js';
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
  db: Db;
  repos: Pick<Repositories, 'watch' | 'autoresponders' | 'migrations'>;
  now: () => Date;
  /** The one door every check goes through, and what a verdict changes. */
  checks: Pick<Checks, 'checkMailbox' | 'checkAllegro'>;
  outcomes: Pick<Outcomes, 'closeIncident'>;
  notices: NoticeSender;
  log: FastifyBaseLogger;
  intervalMs: number;
  /** The watch's share of the job runner's global cap. */
  maxInFlight: number;
  /** Wakes the job runner (the watch's items run there). */
  wake: () => void;
}

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
  const { db, repos, now, log } = opts;
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

  const closeIncident = (incident: Parameters<Outcomes['closeIncident']>[0], resolution: Parameters<Outcomes['closeIncident']>[1], at: string) =>
    opts.outcomes.closeIncident(incident, resolution, at, WATCH_ACTOR);

  // ---- one check -----------------------------------------------------------------------------------

  /**
   * Checks one watched autoresponder now and applies the outcome. Used by the lane; also directly by
   * the benchmark. Never throws for a failed login: the outcome is classified.
   */
  async function check(autoresponderId: number): Promise<Verdict | null> {
    const a = repos.autoresponders.getById(autoresponderId);
    const m = repos.migrations.findByAutoresponder(autoresponderId);
    if (!a || !m || !isWatched(m)) {
      db.transaction(() => unwatch(autoresponderId))();
      return null;
    }
    return checkOne(a);
  }

  /** No longer watched (switched back, reviewed, gone): its open incident closed, its schedule dropped. Inside a transaction. */
  function unwatch(autoresponderId: number): void {
    const open = repos.watch.openIncident(autoresponderId);
    if (open) closeIncident(open, 'not_watched', now().toISOString());
    repos.watch.remove(autoresponderId);
  }

  /**
   * The check itself goes through the one door (checks/): a relinked mailbox over IMAP and SMTP with
   * its stored app password, a v3 autoresponder through its authorization. The door records it and
   * applies the verdict to the migration (needs attention, incident, e-mail, recovery); the watch keeps
   * only its schedule: the next slot, or a retry with backoff when the failure is not the seller's.
   */
  async function checkOne(a: Autoresponder): Promise<Verdict | null> {
    const c =
      a.version === 3
        ? await opts.checks.checkAllegro({ autoresponder: a, authorizationId: a.authorizationId, trigger: 'watch', actor: WATCH_ACTOR, apply: true, leased: true })
        : a.mailboxId === null
          ? ({ status: 'no_secret' } as const)
          : await opts.checks.checkMailbox({ mailboxId: a.mailboxId, autoresponderId: a.id, purpose: 'verify', trigger: 'watch', actor: WATCH_ACTOR, leased: true });
    const at = now();
    if (c.status === 'not_configured') return schedule(a, { kind: 'outage', code: 'MIG_ERR_ALLEGRO_NOT_CONFIGURED' }, at);
    if (c.status === 'no_secret') {
      // Nothing to log in with (should not happen to a relinked mailbox): looked at again next interval.
      log.warn({ autoresponderId: a.id }, 'watch: no stored app password for a watched mailbox');
      repos.watch.release(a.id, nextSlot(a.id, interval, at));
      return null;
    }
    if (c.status === 'busy') {
      repos.watch.release(a.id, new Date(at.getTime() + 5 * 60_000));
      return null;
    }
    if (c.status === 'budget') {
      // The mailbox's login budget is in use (the seller is trying passwords now): after it opens.
      repos.watch.release(a.id, new Date(Math.max(Date.parse(c.retryAt), at.getTime() + 60_000)));
      return null;
    }
    if (c.superseded) {
      repos.watch.release(a.id, nextSlot(a.id, interval, at));
      return null;
    }
    return schedule(a, c.verdict, at);
  }

  /** The watch's own part of a verdict: when this autoresponder is looked at again. */
  function schedule(a: Autoresponder, verdict: Verdict, at: Date): Verdict {
    db.transaction(() => {
      const m = repos.migrations.findByAutoresponder(a.id);
      // Switched back (or reviewed) during the check: no longer watched.
      if (!m || !isWatched(m)) return unwatch(a.id);
      const next = nextSlot(a.id, interval, at);
      if (verdict.kind === 'outage') {
        const failures = (repos.watch.get(a.id)?.failures ?? 0) + 1;
        repos.watch.failed(a.id, verdict.code, new Date(at.getTime() + retryDelayMs(failures, interval)));
      } else if (verdict.kind === 'ok') repos.watch.passed(a.id, next);
      else repos.watch.sellerMustAct(a.id, next);
    })();
    return verdict;
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
      // Its e-mails are recovered by the outbox (outbox/outbox.ts), with every other durable e-mail.
      return { checksResumed: repos.watch.resumeRunning() };
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
