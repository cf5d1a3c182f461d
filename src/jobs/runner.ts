import type { FastifyBaseLogger } from 'fastify';
import { filterFromJson } from '../accounts/filter.js';
import type { PendingItem } from '../repositories/jobs.js';
import type { Job, JobItem } from '../domain/model.js';
import type { Services } from '../composition.js';
import type { ActionOutcome, StaffActions } from '../staff/actions.js';

/** Attempts per item before a transient failure is final, and the backoff between them. */
export const MAX_ATTEMPTS = 4;
export const BACKOFF_BASE_MS = 2_000;
export const BACKOFF_MAX_MS = 5 * 60_000;
/** Pending items a pump looks at per job: enough to get past a few busy hosts, bounded for large jobs. */
export const LOOKAHEAD = 400;

/** One item of a lane, with what it competes for: its key (a mailbox, a seller) and its mail host. */
export interface LaneItem {
  id: string;
  key: string | null;
  host: string | null;
}

/**
 * Background work that is not a staff job but shares the runner's limits (the watch): the same global
 * cap, the same per-host cap, never two items on one key (mailbox, seller) at once, whatever kind.
 * The lane keeps its own items durable; the runner only decides when each may start.
 */
export interface RunnerLane {
  name: string;
  /** At most this many of the lane's items at once (staff jobs keep the rest of the global cap). */
  maxInFlight: number;
  /** Items due now, in the order they should go; may return fewer (pacing). */
  due(limit: number, at: Date): LaneItem[];
  /** Takes an item; false when it is no longer due or someone else took it. */
  claim(item: LaneItem): boolean;
  /** Processes a claimed item and stores its outcome; must not throw. */
  run(item: LaneItem): Promise<void>;
  /** After a crash or restart, before start(): items left running go back (or are settled). */
  recover(): Record<string, number>;
  /** When the lane next has something due (epoch ms), or null. */
  nextWakeAt(): number | null;
}

export interface JobRunnerOptions {
  services: Services;
  actions: StaffActions;
  log: FastifyBaseLogger;
  /** Items in flight at once, over all jobs. */
  concurrency: number;
  /** Connections at once to one mail host (a mailbox never gets more than one). */
  perHost: number;
  backoffBaseMs?: number;
  /** Background work under the same caps (the watch). */
  lanes?: RunnerLane[];
}

export interface RunnerStats {
  inFlight: number;
  /** The most items in flight at once since start, overall and per host. */
  peak: number;
  peakPerHost: Record<string, number>;
}

/** Backoff with full jitter: a busy server is not hit by every item at the same moment. */
export function backoffMs(attempt: number, base = BACKOFF_BASE_MS): number {
  const cap = Math.min(BACKOFF_MAX_MS, base * 2 ** Math.max(0, attempt - 1));
  return Math.round(cap / 2 + Math.random() * (cap / 2));
}

/**
 * Processes bulk jobs in the background, from SQLite. Items are claimed one by one (pending →
 * running) and settled with their outcome, so after a crash `recover()` knows exactly what was
 * finished: running items go back to pending, except reminders whose end of message may already
 * have reached the mail server, which are reported as uncertain and never sent again.
 */
export function createJobRunner(opts: JobRunnerOptions) {
  const { services, actions, log } = opts;
  const { db, repos, now } = services;
  const base = opts.backoffBaseMs ?? BACKOFF_BASE_MS;
  // Keyed 'job:<item id>' or '<lane>:<lane item id>': job items and lane items share the caps.
  const inFlight = new Map<string, Promise<void>>();
  const lanes = opts.lanes ?? [];
  const laneLoad = new Map<string, number>();
  const hostLoad = new Map<string, number>();
  const busyKeys = new Set<string>();
  const stats: RunnerStats = { inFlight: 0, peak: 0, peakPerHost: {} };
  let stopping = false;
  let pumping = false;
  let again = false;
  let timer: NodeJS.Timeout | null = null;
  const listeners = new Set<(jobId: number) => void>();

  /** After a crash or restart: nothing is lost, nothing finished is redone, no reminder goes twice. */
  function recover(): { resumed: number; uncertain: number } {
    return db.transaction(() => {
      let uncertain = 0;
      const uncertainItems = new Set<number>();
      for (const r of repos.reminders.interrupted()) {
        if (r.status === 'sending') repos.reminders.set(r.id, 'failed', 'interrupted before the end of the message');
        else {
          repos.reminders.set(r.id, 'unknown', 'interrupted after the end of the message was sent');
          if (r.itemId !== null) uncertainItems.add(r.itemId);
          uncertain++;
        }
      }
      let resumed = 0;
      for (const job of repos.jobs.unfinished()) {
        for (const item of repos.jobs.running(job.id)) {
          if (uncertainItems.has(item.id)) {
            repos.jobs.settle(item.id, 'unknown', 'MIG_ERR_SEND_UNCERTAIN', 'the process stopped while the mail server was accepting the message');
            itemAudit(job, item, { status: 'unknown', outcome: 'MIG_ERR_SEND_UNCERTAIN' });
          } else {
            repos.jobs.retryLater(item.id, now(), item.outcome, item.error);
            resumed++;
          }
        }
      }
      for (const lane of lanes) {
        const r = lane.recover();
        if (Object.values(r).some((n) => n > 0)) log.warn({ lane: lane.name, ...r }, 'background work resumed after a restart');
      }
      return { resumed, uncertain };
    })();
  }

  function itemAudit(job: Job, item: JobItem, o: ActionOutcome) {
    repos.audit.append({
      actor: { type: 'staff', id: job.createdBy },
      action: `job.item.${o.status}`,
      targetType: 'autoresponder',
      targetId: item.autoresponderId,
      details: { jobId: job.id, kind: job.kind, outcome: o.outcome, attempt: item.attempts + 1 },
    });
  }

  /** Evaluates the job's selection now (the filter is re-read when the job starts) and makes its items. */
  function startJob(job: Job): void {
    const ids = job.selection === 'filter' ? repos.accounts.ids(filterFromJson(job.filter ?? '{}')) : repos.accounts.listedIds(JSON.parse(job.ids ?? '[]') as number[]);
    if (repos.jobs.start(job.id, ids)) {
      repos.audit.append({ actor: { type: 'staff', id: job.createdBy }, action: 'job.started', targetType: 'job', targetId: job.id, details: { kind: job.kind, confirmed: job.confirmedCount, total: ids.length } });
      log.info({ jobId: job.id, kind: job.kind, total: ids.length }, 'bulk job started');
    }
  }

  /** What an item competes for: its mailbox and mail host (re-check), its seller (reminder). */
  function resourcesOf(job: Job, item: PendingItem): { key: string | null; host: string | null } {
    if (job.kind === 'review' || item.sellerId === null) return { key: null, host: null };
    if (job.kind === 'remind') return { key: `seller:${item.sellerId}`, host: null };
    if (item.version === 3) return { key: `seller:${item.sellerId}:allegro`, host: 'allegro' };
    return { key: item.mailboxId ? `mailbox:${item.mailboxId}` : null, host: item.mailHost };
  }

  async function process(job: Job, item: JobItem, res: { key: string | null; host: string | null }): Promise<void> {
    let o: ActionOutcome;
    try {
      if (job.kind === 'recheck') o = await actions.recheck(item.autoresponderId, 'bulk', { type: 'staff', id: job.createdBy });
      else if (job.kind === 'remind') o = await actions.remind(item.autoresponderId, { jobId: job.id, itemId: item.id, staffId: job.createdBy });
      else o = actions.review(item.autoresponderId, job.note, { type: 'staff', id: job.createdBy }, job.id);
    } catch (err) {
      log.error({ err, jobId: job.id, itemId: item.id }, 'bulk job item failed');
      o = { status: 'failed', outcome: 'MIG_ERR_INTERNAL', detail: err instanceof Error ? err.message.slice(0, 200) : null, retry: true };
    } finally {
      if (res.key) busyKeys.delete(res.key);
      if (res.host) hostLoad.set(res.host, (hostLoad.get(res.host) ?? 1) - 1);
    }
    const attempt = item.attempts + 1;
    db.transaction(() => {
      if (o.status === 'failed' && o.retry && attempt < MAX_ATTEMPTS && !stopping) {
        repos.jobs.retryLater(item.id, new Date(now().getTime() + backoffMs(attempt, base)), o.outcome, o.detail ?? null);
        repos.audit.append({ actor: { type: 'staff', id: job.createdBy }, action: 'job.item.retry', targetType: 'autoresponder', targetId: item.autoresponderId, details: { jobId: job.id, kind: job.kind, outcome: o.outcome, attempt } });
      } else if (o.status === 'failed' && o.retry && stopping) {
        // Shutting down: the item is taken up again after the restart, this attempt not counted as final.
        repos.jobs.retryLater(item.id, now(), o.outcome, o.detail ?? null);
      } else {
        repos.jobs.settle(item.id, o.status, o.outcome, o.detail ?? null);
        itemAudit(job, item, o);
      }
    })();
  }

  function take(res: { key: string | null; host: string | null }) {
    if (res.key) busyKeys.add(res.key);
    if (res.host) {
      const n = (hostLoad.get(res.host) ?? 0) + 1;
      hostLoad.set(res.host, n);
      stats.peakPerHost[res.host] = Math.max(stats.peakPerHost[res.host] ?? 0, n);
    }
  }

  function track(id: string, p: Promise<void>) {
    inFlight.set(id, p);
    stats.inFlight = inFlight.size;
    stats.peak = Math.max(stats.peak, inFlight.size);
  }

  function launch(job: Job, item: JobItem, res: { key: string | null; host: string | null }) {
    take(res);
    const id = `job:${item.id}`;
    const p = process(job, item, res).finally(() => {
      inFlight.delete(id);
      stats.inFlight = inFlight.size;
      for (const l of listeners) l(job.id);
      wake();
    });
    track(id, p);
  }

  /** Whether an item may start now: a free slot, its key not busy, its host under the cap (Allegro has none). */
  const mayStart = (res: { key: string | null; host: string | null }) =>
    inFlight.size < opts.concurrency && !(res.key && busyKeys.has(res.key)) && !(res.host && res.host !== 'allegro' && (hostLoad.get(res.host) ?? 0) >= opts.perHost);

  /** Lanes get what staff jobs left of the global cap, each at most its own share. */
  function fillLanes(): void {
    for (const lane of lanes) {
      const room = Math.min(opts.concurrency - inFlight.size, lane.maxInFlight - (laneLoad.get(lane.name) ?? 0));
      if (stopping || room <= 0) continue;
      for (const item of lane.due(Math.min(LOOKAHEAD, room * 4 + 16), now())) {
        if (stopping || inFlight.size >= opts.concurrency || (laneLoad.get(lane.name) ?? 0) >= lane.maxInFlight) break;
        const id = `${lane.name}:${item.id}`;
        if (inFlight.has(id) || !mayStart(item)) continue;
        if (!lane.claim(item)) continue;
        take(item);
        laneLoad.set(lane.name, (laneLoad.get(lane.name) ?? 0) + 1);
        const p = lane
          .run(item)
          .catch((err: unknown) => log.error({ err, lane: lane.name, item: item.id }, 'background item failed'))
          .finally(() => {
            if (item.key) busyKeys.delete(item.key);
            if (item.host) hostLoad.set(item.host, (hostLoad.get(item.host) ?? 1) - 1);
            laneLoad.set(lane.name, (laneLoad.get(lane.name) ?? 1) - 1);
            inFlight.delete(id);
            stats.inFlight = inFlight.size;
            wake();
          });
        track(id, p);
      }
    }
  }

  function fill(job: Job): void {
    // Look a little further than the free slots (items waiting for a busy host or mailbox are passed
    // over), but not through every pending item on each pump: the oldest LOOKAHEAD are enough.
    const batch = repos.jobs.pending(job.id, LOOKAHEAD, now());
    for (const item of batch) {
      if (stopping || inFlight.size >= opts.concurrency) return;
      if (inFlight.has(`job:${item.id}`)) continue;
      const res = resourcesOf(job, item);
      if (!mayStart(res)) continue;
      if (!repos.jobs.claim(item.id)) continue;
      launch(job, item, res);
    }
  }

  function pumpOnce(): void {
    let nextWake: number | null = null;
    for (const job of repos.jobs.unfinished()) {
      if (job.status === 'queued') {
        if (stopping) continue;
        startJob(job);
      }
      const current = repos.jobs.get(job.id)!;
      if (current.status === 'cancelling') {
        repos.jobs.cancelPending(job.id);
        if (repos.jobs.remaining(job.id) === 0) finish(current, 'cancelled');
        continue;
      }
      if (current.status !== 'running') continue;
      fill(current);
      if (repos.jobs.remaining(job.id) === 0) finish(current, 'done');
      else {
        const retryAt = repos.jobs.nextRetryAt(job.id);
        if (retryAt) nextWake = Math.min(nextWake ?? Infinity, Date.parse(retryAt));
      }
    }
    // Staff jobs first: the lanes take what is left.
    if (!stopping) fillLanes();
    for (const lane of lanes) {
      const at = lane.nextWakeAt();
      if (at !== null) nextWake = Math.min(nextWake ?? Infinity, at);
    }
    if (timer) clearTimeout(timer);
    timer = null;
    if (nextWake !== null && !stopping) {
      // At most an hour ahead: a lane's next item may be a day away, and timers overflow past 24.8 days.
      timer = setTimeout(wake, Math.min(3_600_000, Math.max(20, nextWake - now().getTime())));
      timer.unref();
    }
  }

  function finish(job: Job, status: 'done' | 'cancelled') {
    db.transaction(() => {
      repos.jobs.finish(job.id, status);
      repos.audit.append({ actor: { type: 'staff', id: job.createdBy }, action: `job.${status === 'done' ? 'finished' : 'cancelled'}`, targetType: 'job', targetId: job.id, details: { kind: job.kind, counts: repos.jobs.counts(job.id) } });
    })();
    log.info({ jobId: job.id, status }, 'bulk job ended');
    for (const l of listeners) l(job.id);
  }

  function wake(): void {
    if (stopping) return;
    if (pumping) {
      again = true;
      return;
    }
    pumping = true;
    try {
      do {
        again = false;
        pumpOnce();
      } while (again);
    } catch (err) {
      log.error({ err }, 'job runner failed');
    } finally {
      pumping = false;
    }
  }

  return {
    recover,
    /** Resumes unfinished jobs (after recover()) and processes new ones as they come. */
    start(): void {
      stopping = false;
      wake();
    },
    wake,
    /** Stops taking new items and waits for those in flight (graceful shutdown). */
    async stop(): Promise<void> {
      stopping = true;
      if (timer) clearTimeout(timer);
      await Promise.allSettled([...inFlight.values()]);
    },
    stats: () => ({ ...stats, peakPerHost: { ...stats.peakPerHost } }),
    /** Called whenever an item or job of a job ends (tests and the benchmark wait on it). */
    onProgress(fn: (jobId: number) => void): () => void {
      listeners.add(fn);
      return () => listeners.delete(fn);
    },
  };
}
export type JobRunner = ReturnType<typeof createJobRunner>;
