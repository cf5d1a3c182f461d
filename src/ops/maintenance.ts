import type { Db } from '../db/database.js';
import type { Repositories } from '../repositories/index.js';

/** What the tidy-up uses: the storage and the clock. */
export interface MaintenanceDeps {
  db: Db;
  repos: Repositories;
  now: () => Date;
}

/** How often the app tidies up, and how long an expired sign-in link still says "expired". */
export const MAINTENANCE_INTERVAL_MS = 10 * 60_000;
export const EXPIRED_LINK_KEPT_MS = 24 * 3_600_000;
const DAY = 24 * 3_600_000;
/** Connection checks are kept this long for support questions ("what did Google answer in March?")… */
export const CHECKS_KEPT_MS = 180 * DAY;
/** …and the watch's passing ones this long (100,000 watched autoresponders add 100,000 a day). */
export const PASSING_WATCH_CHECKS_KEPT_MS = 14 * DAY;
/**
 * A resolved watch incident (with its e-mail) is kept as long as the checks that found it: the seller's
 * history and support read them together; the audit log keeps the migration's own changes for good.
 */
export const RESOLVED_INCIDENTS_KEPT_MS = CHECKS_KEPT_MS;
/** Checks deleted per transaction, and transactions per run (a backlog goes in steps, the server answering between them). */
const CHECKS_BATCH = 2_000;
const CHECKS_BATCHES = 25;
/**
 * How often old checks are deleted: keeping times are counted in days, and each run reads again the
 * old checks that stay (the newest of a mailbox not checked for months), so not at every tidy-up.
 */
export const CHECKS_PURGE_EVERY_MS = 6 * 3_600_000;

export interface PurgeResult {
  sessions: number;
  loginTokens: number;
  oauthStates: number;
  staffSignInFailures: number;
}

/**
 * Deletes what has expired: seller sessions, old sign-in links and authorization requests that were
 * never completed (their PKCE verifiers included). Nothing of this is history: the audit log keeps
 * what happened. (Old connection checks: purgeOldChecks, less often.)
 */
export function purgeExpired(services: MaintenanceDeps): PurgeResult {
  const { db, repos, now } = services;
  return db.transaction(() => ({
    sessions: repos.sessions.purgeExpired(),
    loginTokens: repos.loginTokens.purgeExpired(new Date(now().getTime() - EXPIRED_LINK_KEPT_MS)),
    oauthStates: repos.oauthStates.purgeExpired(),
    // Failed staff sign-ins count for 15 minutes; a day is kept for support questions.
    staffSignInFailures: repos.staff.purgeFailures(new Date(now().getTime() - 24 * 3_600_000)),
  }))();
}

/**
 * Deletes connection checks past their keeping time (the newest of each mailbox and v3 autoresponder
 * always stays), then watch incidents resolved longer ago than that with their e-mails (never an open
 * one or one whose e-mail is still on its way), in batches of their own transaction with the event loop
 * free between them; a backlog larger than one run takes is finished by the next runs. Returns how many
 * rows went (checks and incidents).
 */
export async function purgeOldChecks(services: MaintenanceDeps): Promise<number> {
  const { db, repos, now } = services;
  const at = now().getTime();
  const cut = { before: new Date(at - CHECKS_KEPT_MS), passingBefore: new Date(at - PASSING_WATCH_CHECKS_KEPT_MS), limit: CHECKS_BATCH };
  const incidents = { before: new Date(at - RESOLVED_INCIDENTS_KEPT_MS), limit: CHECKS_BATCH };
  let deleted = 0;
  for (const purge of [() => repos.connectionChecks.purgeOld(cut), () => repos.watch.purgeResolved(incidents)]) {
    for (let i = 0; i < CHECKS_BATCHES; i++) {
      const n = db.transaction(purge)();
      deleted += n;
      if (n < CHECKS_BATCH) break;
      await new Promise((r) => setImmediate(r));
    }
  }
  return deleted;
}
