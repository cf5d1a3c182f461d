import type { FastifyBaseLogger } from 'fastify';
import { filterFromJson } from '../accounts/filter.js';
import type { Db } from '../db/database.js';
import type { Repositories } from '../repositories/index.js';
import type { PendingItem } from '../repositories/jobs.js';
import type { Job, JobItem, JobKind } from '../domain/model.js';
import type { Resources, Slots } from '../checks/slots.js';

/** What happened to one item; `retry` asks the runner to try again later. */
export type ActionOutcome =
  | { status: 'done'; outcome: string; detail?: string | null }
  | { status: 'failed'; outcome: string; detail?: string | null; retry?: boolean }
  | { status: 'skipped'; outcome: string; detail?: string | null }
  | { status: 'unknown'; outcome: string; detail?: string | null };

/**
 * One kind of bulk job (re-check, reminder, review), registered at the composition root: what an item
 * competes for, and how it is processed. The runner knows no kind; it knows items, caps and retries.
 */
export interface JobKindHandler {
  /** Its mailbox or seller (never two at once) and its mail host (capped). */
  resources(item: PendingItem): Resources;
  /** Processes one item; the runner holds its slots meanwhile (`leased`). */
  run(job: Job, item: JobItem): Promise<ActionOutcome> | ActionOutcome;
}

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

/** What the runner reports for the operators' figures (/metrics) and the readiness probe. */
export interface RunnerCounters {
  /** A pass over the jobs and lanes ended: ok, or it threw. */
  pumped(ok: boolean): void;
  /** A job's item settled: done, failed, skipped, unknown; retry (later, with backoff) or requeued (at a stop). */
  item(kind: JobKind, status: ActionOutcome['status'] | 'retry' | 'requeued'): void;
  /** A job ended. */
  job(kind: JobKind, status: 'done' | 'cancelled'): void;
}

export interface JobRunnerOptions {
  db: Db;
  repos: Pick<Repositories, 'jobs' | 'accounts' | 'audit'>;
  now: () => Date;
  kinds: Record<JobKind, JobKindHandler>;
  log: FastifyBaseLogger;
  /**
   * The caps every connection is held to (checks/slots.ts): items in flight at once, per mail host,
   * one per mailbox or seller. Shared with the requests of sellers and agents.
   */
  slots: Slots;
  backoffBaseMs?: number;
  /** Background work under the same caps (the watch). */
  lanes?: RunnerLane[];
  counters?: RunnerCounters;
}

export interface RunnerStats {
  inFlight: number;
  /** The most connections in flight at once since start (the runner's and requests'), overall and per host. */
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
 * finished: running items go back to pending. (The outbox settles first the e-mails a stop may have
 * sent, and with them their items: outbox/outbox.ts.) The runner knows no job kind: each is a handler.
 */
export function createJobRunner(opts: JobRunnerOptions) {
  const { db, repos, now, log, slots } = opts;
  const base = opts.backoffBaseMs ?? BACKOFF_BASE_MS;
  // Keyed 'job:<item id>' or '<lane>:<lane item id>': job items and lane items share the caps.
  const inFlight = new Map<string, Promise<void>>();
  const lanes = opts.lanes ?? [];
  const laneLoad = new Map<string, number>();
  let stopping = false;
  let pumping = false;
  let again = false;
  let timer: NodeJS.Timeout | null = null;
  const listeners = new Set<(jobId: number) => void>();

  /** After a crash or restart (after the outbox's recovery): nothing is lost, nothing finished is redone. */
  function recover(): { resumed: number } {
    return db.transaction(() => {
      let resumed = 0;
      for (const job of repos.jobs.unfinished()) {
        for (const item of repos.jobs.running(job.id)) {
          repos.jobs.retryLater(item.id, now(), item.outcome, item.error);
          resumed++;
        }
      }
      for (const lane of lanes) {
        const r = lane.recover();
        if (Object.values(r).some((n) => n > 0)) log.warn({ lane: lane.name, ...r }, 'background work resumed after a restart');
      }
      return { resumed };
    })();
  }

  function itemAudit(job: Job, item: JobItem, o: ActionOutcome) {
    repos.audit.record({ type: 'staff', id: job.createdBy }, item.autoresponderId, {
      action: `job.item.${o.status}`,
      details: { jobId: job.id, kind: job.kind, outcome: o.outcome, attempt: item.attempts + 1 },
    });
  }

  /** Evaluates the job's selection now (the filter is re-read when the job starts) and makes its items. */
  function startJob(job: Job): void {
    const ids = job.selection === 'filter' ? repos.accounts.ids(filterFromJson(job.filter ?? '{}')) : repos.accounts.listedIds(JSON.parse(job.ids ?? '[]') as number[]);
    if (repos.jobs.start(job.id, ids)) {
      repos.audit.record({ type: 'staff', id: job.createdBy }, job.id, { action: 'job.started', details: { kind: job.kind, confirmed: job.confirmedCount, total: ids.length } });
      log.info({ jobId: job.id, kind: job.kind, total: ids.length }, 'bulk job started');
    }
  }

  async function process(job: Job, item: JobItem, res: Resources): Promise<void> {
    let o: ActionOutcome;
    try {
      o = await opts.kinds[job.kind].run(job, item);
    } catch (err) {
      log.error({ err, jobId: job.id, itemId: item.id }, 'bulk job item failed');
      o = { status: 'failed', outcome: 'MIG_ERR_INTERNAL', detail: err instanceof Error ? err.message.slice(0, 200) : null, retry: true };
    } finally {
      slots.give(res);
    }
    const attempt = item.attempts + 1;
    try {
      settle(job, item, o, attempt);
    } catch (err) {
      // The item stays 'running' and is taken up again after a restart; the process goes on.
      log.error({ err, jobId: job.id, itemId: item.id }, 'settling a bulk job item failed');
    }
  }

  function settle(job: Job, item: JobItem, o: ActionOutcome, attempt: number): void {
    const status = db.transaction(() => {
      if (o.status === 'failed' && o.retry && attempt < MAX_ATTEMPTS && !stopping) {
        repos.jobs.retryLater(item.id, new Date(now().getTime() + backoffMs(attempt, base)), o.outcome, o.detail ?? null);
        repos.audit.record({ type: 'staff', id: job.createdBy }, item.autoresponderId, { action: 'job.item.retry', details: { jobId: job.id, kind: job.kind, outcome: o.outcome, attempt } });
        return 'retry' as const;
      } else if (o.status === 'failed' && o.retry && stopping) {
        // Shutting down: the item is taken up again after the restart, this attempt not counted as final.
        repos.jobs.retryLater(item.id, now(), o.outcome, o.detail ?? null);
        return 'requeued' as const;
      } else {
        repos.jobs.settle(item.id, o.status, o.outcome, o.detail ?? null);
        itemAudit(job, item, o);
        return o.status;
      }
    })();
    opts.counters?.item(job.kind, status);
  }

  function track(id: string, p: Promise<void>) {
    inFlight.set(id, p);
  }

  function launch(job: Job, item: JobItem, res: Resources) {
    const id = `job:${item.id}`;
    const p = process(job, item, res).finally(() => {
      inFlight.delete(id);
      for (const l of listeners) l(job.id);
      wake();
    });
    track(id, p);
  }

  /** Claims with the slots already taken: they are given back when the claim fails or throws (a busy database). */
  function claimed(claim: () => boolean, res: Resources): boolean {
    try {
      if (claim()) return true;
    } catch (err) {
      log.error({ err }, 'claiming an item failed');
    }
    slots.give(res);
    return false;
  }

  /** Lanes get what staff jobs left of the global cap, each at most its own share. */
  function fillLanes(): void {
    for (const lane of lanes) {
      const room = lane.maxInFlight - (laneLoad.get(lane.name) ?? 0);
      if (stopping || room <= 0) continue;
      for (const item of lane.due(Math.min(LOOKAHEAD, room * 4 + 16), now())) {
        if (stopping || (laneLoad.get(lane.name) ?? 0) >= lane.maxInFlight) break;
        const id = `${lane.name}:${item.id}`;
        if (inFlight.has(id) || !slots.tryTake(item)) continue;
        if (!claimed(() => lane.claim(item), item)) continue;
        laneLoad.set(lane.name, (laneLoad.get(lane.name) ?? 0) + 1);
        const p = lane
          .run(item)
          .catch((err: unknown) => log.error({ err, lane: lane.name, item: item.id }, 'background item failed'))
          .finally(() => {
            slots.give(item);
            laneLoad.set(lane.name, (laneLoad.get(lane.name) ?? 1) - 1);
            inFlight.delete(id);
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
      if (stopping) return;
      if (inFlight.has(`job:${item.id}`)) continue;
      const res = opts.kinds[job.kind].resources(item);
      if (!slots.tryTake(res)) continue;
      if (!claimed(() => repos.jobs.claim(item.id), res)) continue;
      launch(job, item, res);
    }
  }

  function pumpJob(job: Job, nextWake: number | null): number | null {
    if (job.status === 'queued') {
      if (stopping) return nextWake;
      startJob(job);
    }
    const current = repos.jobs.get(job.id)!;
    if (current.status === 'cancelling') {
      repos.jobs.cancelPending(job.id);
      if (repos.jobs.remaining(job.id) === 0) finish(current, 'cancelled');
      return nextWake;
    }
    if (current.status !== 'running') return nextWake;
    fill(current);
    if (repos.jobs.remaining(job.id) === 0) finish(current, 'done');
    else {
      const retryAt = repos.jobs.nextRetryAt(job.id);
      if (retryAt) nextWake = Math.min(nextWake ?? Infinity, Date.parse(retryAt));
    }
    return nextWake;
  }

  function pumpOnce(): void {
    let nextWake: number | null = null;
    for (const job of repos.jobs.unfinished()) {
      // One job that cannot be run (a filter the parser no longer takes) does not stop the others, nor the watch.
      try {
        nextWake = pumpJob(job, nextWake);
      } catch (err) {
        log.error({ err, jobId: job.id }, 'bulk job could not be run');
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
      repos.audit.record({ type: 'staff', id: job.createdBy }, job.id, { action: `job.${status === 'done' ? 'finished' : 'cancelled'}`, details: { kind: job.kind, counts: repos.jobs.counts(job.id) } });
    })();
    log.info({ jobId: job.id, status }, 'bulk job ended');
    opts.counters?.job(job.kind, status);
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
      opts.counters?.pumped(true);
    } catch (err) {
      log.error({ err }, 'job runner failed');
      opts.counters?.pumped(false);
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
    stats: (): RunnerStats => {
      const s = slots.stats();
      return { inFlight: inFlight.size, peak: s.peak, peakPerHost: s.peakPerHost };
    },
    /** Called whenever an item or job of a job ends (tests and the benchmark wait on it). */
    onProgress(fn: (jobId: number) => void): () => void {
      listeners.add(fn);
      return () => listeners.delete(fn);
    },
  };
}
export type JobRunner = ReturnType<typeof createJobRunner>;
