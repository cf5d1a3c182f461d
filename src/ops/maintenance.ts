import type { Services } from '../composition.js';

/** How often the app tidies up, and how long an expired sign-in link still says "expired". */
export const MAINTENANCE_INTERVAL_MS = 10 * 60_000;
export const EXPIRED_LINK_KEPT_MS = 24 * 3_600_000;
const DAY = 24 * 3_600_000;
/** Connection checks are kept this long for support questions ("what did Google answer in March?")… */
export const CHECKS_KEPT_MS = 180 * DAY;
/** …and the watch's passing ones this long (100,000 watched autoresponders add 100,000 a day). */
export const PASSING_WATCH_CHECKS_KEPT_MS = 14 * DAY;
/** Checks deleted per transaction, and transactions per tidy-up (a backlog goes in steps, the server answering between them). */
const CHECKS_BATCH = 2_000;
const CHECKS_BATCHES = 25;

export interface PurgeResult {
  sessions: number;
  loginTokens: number;
  oauthStates: number;
  staffSignInFailures: number;
  connectionChecks: number;
}

/**
 * Deletes what has expired: seller sessions, old sign-in links and authorization requests that were
 * never completed (their PKCE verifiers included), and connection checks past their keeping time.
 * Nothing of this is history: the audit log keeps what happened.
 */
export function purgeExpired(services: Services): PurgeResult {
  const { db, repos, now } = services;
  const expired = db.transaction(() => ({
    sessions: repos.sessions.purgeExpired(),
    loginTokens: repos.loginTokens.purgeExpired(new Date(now().getTime() - EXPIRED_LINK_KEPT_MS)),
    oauthStates: repos.oauthStates.purgeExpired(),
    // Failed staff sign-ins count for 15 minutes; a day is kept for support questions.
    staffSignInFailures: repos.staff.purgeFailures(new Date(now().getTime() - 24 * 3_600_000)),
  }))();
  return { ...expired, connectionChecks: purgeOldChecks(services) };
}

/**
 * Deletes connection checks past their keeping time (the newest of each mailbox and v3 autoresponder
 * always stays), in batches of their own transaction; a backlog larger than one tidy-up takes is
 * finished by the next ones.
 */
export function purgeOldChecks(services: Services): number {
  const { db, repos, now } = services;
  const at = now().getTime();
  const cut = { before: new Date(at - CHECKS_KEPT_MS), passingBefore: new Date(at - PASSING_WATCH_CHECKS_KEPT_MS), limit: CHECKS_BATCH };
  let deleted = 0;
  for (let i = 0; i < CHECKS_BATCHES; i++) {
    const n = db.transaction(() => repos.connectionChecks.purgeOld(cut))();
    deleted += n;
    if (n < CHECKS_BATCH) break;
  }
  return deleted;
}
