/**
 * The caps on connections, shared by everyone who opens one: the job runner's items (bulk re-checks,
 * reminders, the watch) and the requests of sellers and agents. At most `global` at once, at most
 * `perHost` to one mail host (Google counts connections from our address), and never two at once on
 * one key (a mailbox, an Allegro authorization, a seller's e-mail): the second waits for the first.
 * 'allegro' is not a mail host and has no per-host cap (Allegro limits per user, not per address).
 */
export interface Resources {
  key: string | null;
  host: string | null;
}

export interface SlotStats {
  inUse: number;
  /** The most in use at once since start, overall and per host. */
  peak: number;
  peakPerHost: Record<string, number>;
}

export function createSlots(opts: { global: number; perHost: number }) {
  let inUse = 0;
  const keys = new Set<string>();
  const hosts = new Map<string, number>();
  const stats: SlotStats = { inUse: 0, peak: 0, peakPerHost: {} };
  const waiters: { res: Resources; wake: () => void }[] = [];
  const freed = new Set<() => void>();

  const capped = (host: string | null) => host !== null && host !== 'allegro';
  const fits = (r: Resources) => inUse < opts.global && !(r.key && keys.has(r.key)) && !(capped(r.host) && (hosts.get(r.host!) ?? 0) >= opts.perHost);

  function takeNow(r: Resources): void {
    inUse++;
    if (r.key) keys.add(r.key);
    if (r.host) {
      const n = (hosts.get(r.host) ?? 0) + 1;
      hosts.set(r.host, n);
      stats.peakPerHost[r.host] = Math.max(stats.peakPerHost[r.host] ?? 0, n);
    }
    stats.inUse = inUse;
    stats.peak = Math.max(stats.peak, inUse);
  }

  /**
   * Takes the slots if they are free now; true when taken (give them back with give()). Those who wait
   * (requests of sellers and agents) go first: nothing takes their key, nor the room they wait for,
   * so a stream of job items never starves a request.
   */
  function tryTake(r: Resources): boolean {
    if (!fits(r)) return false;
    // A waiter not held up by its key waits for room: the last global slot, or a slot at its host.
    const waitingForRoom = waiters.some((w) => !(w.res.key && keys.has(w.res.key)) && (inUse + 1 >= opts.global || (capped(w.res.host) && w.res.host === r.host)));
    if (waitingForRoom || (r.key && waiters.some((w) => w.res.key === r.key))) return false;
    takeNow(r);
    return true;
  }

  function give(r: Resources): void {
    inUse = Math.max(0, inUse - 1);
    if (r.key) keys.delete(r.key);
    if (r.host) hosts.set(r.host, Math.max(0, (hosts.get(r.host) ?? 1) - 1));
    stats.inUse = inUse;
    // Waiters in their order, each once its slots are free.
    for (let i = 0; i < waiters.length; ) {
      const w = waiters[i]!;
      if (fits(w.res)) {
        waiters.splice(i, 1);
        takeNow(w.res);
        w.wake();
      } else i++;
    }
    for (const l of freed) l();
  }

  /**
   * Waits (first come, first served per key) until the slots are free, and takes them: true. False
   * when they were not free within `waitMs` (nothing taken): a caller never waits for ever.
   */
  function take(r: Resources, waitMs: number): Promise<boolean> {
    if (tryTake(r)) return Promise.resolve(true);
    return new Promise<boolean>((resolve) => {
      const w = { res: r, wake: () => (clearTimeout(timer), resolve(true)) };
      const timer = setTimeout(() => {
        const i = waiters.indexOf(w);
        if (i >= 0) waiters.splice(i, 1);
        resolve(false);
      }, waitMs);
      waiters.push(w);
    });
  }

  return {
    tryTake,
    give,
    take,
    /** Runs fn holding the slots, and gives them back however it ends; `busy` when they stayed taken for `waitMs`. */
    async with<T, B>(r: Resources, waitMs: number, fn: () => Promise<T>, busy: () => B): Promise<T | B> {
      if (!(await take(r, waitMs))) return busy();
      try {
        return await fn();
      } finally {
        give(r);
      }
    },
    /** Called after every give (the job runner starts what now fits). */
    onFreed(fn: () => void): () => void {
      freed.add(fn);
      return () => freed.delete(fn);
    },
    busy: (key: string) => keys.has(key),
    waiting: () => waiters.length,
    stats: (): SlotStats => ({ ...stats, peakPerHost: { ...stats.peakPerHost } }),
  };
}
export type Slots = ReturnType<typeof createSlots>;
