import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Db } from '../db/database.js';
import type { CheckCount } from '../checks/service.js';
import type { MailCount } from '../outbox/outbox.js';
import type { RunnerCounters } from '../jobs/runner.js';
import { OUTAGE_AFTER_MS } from '../watch/schedule.js';
import type { RunnerPulse } from './readiness.js';

/**
 * The operators' figures at /metrics, in Prometheus' text format. The domain code never sees
 * prom-client: it calls the small counters it is given at the composition root (the checks'
 * `count`, the outbox's `count`, the runner's `counters`), and the states (jobs, items, incidents,
 * outages) are read from the database when scraped. No label ever holds an id, an e-mail address, a
 * host or a login: only kinds, outcomes, stable codes and route patterns. One registry per app (the
 * tests build many apps in one process).
 */
export function createMetrics(db: Db, opts: { now?: () => Date; processMetrics?: boolean } = {}) {
  const now = opts.now ?? (() => new Date());
  const registry = new Registry();
  const registers = [registry];
  if (opts.processMetrics !== false) collectDefaultMetrics({ register: registry });

  // A stable code is upper case letters, digits and underscores; anything else is not a label value.
  const code = (c: string | null) => (c === null ? 'none' : /^[A-Z][A-Z0-9_]{0,63}$/.test(c) ? c : 'OTHER');

  const checks = new Counter({
    name: 'migration_checks_total',
    help: 'Checks of a seller connection (mail login or Allegro read) by kind, trigger, outcome (ok, failed; budget and busy: no login made) and code',
    labelNames: ['kind', 'trigger', 'outcome', 'code'] as const,
    registers,
  });
  const emails = new Counter({
    name: 'migration_emails_total',
    help: 'E-mails handed to the SMTP relay by kind (sign_in, reminder, watch) and outcome (sent, refused for good, retried later, uncertain)',
    labelNames: ['kind', 'outcome'] as const,
    registers,
  });
  const items = new Counter({
    name: 'migration_job_items_settled_total',
    help: 'Bulk job items settled by kind and status (done, failed, skipped, unknown; retry: tried again later; requeued: at a stop)',
    labelNames: ['kind', 'status'] as const,
    registers,
  });
  const jobsEnded = new Counter({ name: 'migration_jobs_ended_total', help: 'Bulk jobs ended by kind and status', labelNames: ['kind', 'status'] as const, registers });
  const passes = new Counter({ name: 'migration_job_runner_passes_total', help: 'Passes of the job runner over jobs and the watch lane, by outcome', labelNames: ['outcome'] as const, registers });
  const lastPass = new Gauge({ name: 'migration_job_runner_last_pass_timestamp_seconds', help: 'When the job runner last ended a pass (Unix time)', registers });
  const http = new Histogram({
    name: 'migration_http_request_duration_seconds',
    help: 'Time to answer a request, by method, route pattern (never a path with an id) and status class',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers,
  });

  // States, read when scraped: cheap grouped counts over indexed columns.
  const jobsByState = db.prepare(`SELECT kind, status, count(*) AS n FROM jobs GROUP BY 1, 2`);
  const itemsOfUnfinished = db.prepare(
    `SELECT j.kind AS kind, i.status AS status, count(*) AS n FROM jobs j JOIN job_items i ON i.job_id = j.id
      WHERE j.status IN ('queued', 'running', 'cancelling') GROUP BY 1, 2`,
  );
  const incidents = db.prepare(`SELECT CASE WHEN resolved_at IS NULL THEN 'open' ELSE 'resolved' END AS state, reason, count(*) AS n FROM watch_incidents GROUP BY 1, 2`);
  const failing = db.prepare(`SELECT failing_since <= ? AS outage, COALESCE(failing_code, 'none') AS code, count(*) AS n FROM watches WHERE failing_since IS NOT NULL GROUP BY 1, 2`);
  const watchesDue = db.prepare(`SELECT count(*) FROM watches WHERE status = 'waiting' AND due_at <= ?`).pluck();

  const fromRows = <R extends { n: number }>(g: Gauge<string>, rows: R[], labels: (r: R) => Record<string, string>) => {
    g.reset();
    for (const r of rows) g.set(labels(r), r.n);
  };
  new Gauge({
    name: 'migration_jobs',
    help: 'Bulk jobs by kind and status',
    labelNames: ['kind', 'status'] as const,
    registers,
    collect() {
      fromRows(this, jobsByState.all() as { kind: string; status: string; n: number }[], (r) => ({ kind: r.kind, status: r.status }));
    },
  });
  new Gauge({
    name: 'migration_job_items',
    help: 'Items of unfinished bulk jobs by kind and status (pending growing while done stays: the lane is falling behind)',
    labelNames: ['kind', 'status'] as const,
    registers,
    collect() {
      fromRows(this, itemsOfUnfinished.all() as { kind: string; status: string; n: number }[], (r) => ({ kind: r.kind, status: r.status }));
    },
  });
  new Gauge({
    name: 'migration_watch_incidents',
    help: "The watch's incidents (a migrated autoresponder found broken by its seller's side) by state (open, resolved) and reason",
    labelNames: ['state', 'reason'] as const,
    registers,
    collect() {
      fromRows(this, incidents.all() as { state: string; reason: string; n: number }[], (r) => ({ state: r.state, reason: r.reason }));
    },
  });
  new Gauge({
    name: 'migration_watch_failing',
    help: 'Watched autoresponders failing through no fault of the seller, by code; outage="true" once failing for a day',
    labelNames: ['outage', 'code'] as const,
    registers,
    collect() {
      const dayAgo = new Date(now().getTime() - OUTAGE_AFTER_MS).toISOString();
      fromRows(this, failing.all(dayAgo) as { outage: number; code: string; n: number }[], (r) => ({ outage: r.outage ? 'true' : 'false', code: code(r.code) }));
    },
  });
  new Gauge({
    name: 'migration_watch_due',
    help: 'Watched autoresponders whose check is due now and not started (growing: the watch is falling behind)',
    registers,
    collect() {
      this.set(watchesDue.get(now().toISOString()) as number);
    },
  });

  let pulse: RunnerPulse = { at: null, ok: true };
  return {
    registry,
    /** The checks' counter (checks/service.ts). */
    check: (c: CheckCount) => checks.inc({ kind: c.kind, trigger: c.trigger, outcome: c.outcome, code: code(c.code) }),
    /** The outbox's counter (outbox/outbox.ts). */
    email: (m: MailCount) => emails.inc({ kind: m.kind, outcome: m.outcome }),
    /** The job runner's counters (jobs/runner.ts). */
    runner: {
      pumped(ok: boolean) {
        passes.inc({ outcome: ok ? 'ok' : 'failed' });
        pulse = { at: Date.now(), ok };
        lastPass.set(pulse.at! / 1000);
      },
      item: (kind, status) => items.inc({ kind, status }),
      job: (kind, status) => jobsEnded.inc({ kind, status }),
    } satisfies RunnerCounters,
    /** The runner's last pass, for the readiness probe. */
    pulse: (): RunnerPulse => pulse,
    /** One answered request: its route's pattern, or 'unmatched' (a 404 has no pattern, and its path is never a label). */
    request(method: string, route: string | undefined, status: number, seconds: number) {
      http.observe({ method, route: route ?? 'unmatched', status: `${Math.floor(status / 100)}xx` }, seconds);
    },
    text: () => registry.metrics(),
    contentType: registry.contentType,
  };
}
export type Metrics = ReturnType<typeof createMetrics>;
