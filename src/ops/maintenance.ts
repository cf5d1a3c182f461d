import type { Services } from '../composition.js';

/** How often the app tidies up, and how long an expired sign-in link still says "expired". */
export const MAINTENANCE_INTERVAL_MS = 10 * 60_000;
export const EXPIRED_LINK_KEPT_MS = 24 * 3_600_000;

export interface PurgeResult {
  sessions: number;
  loginTokens: number;
  oauthStates: number;
  staffSignInFailures: number;
}

/**
 * Deletes what has expired: seller sessions, old sign-in links and authorization requests that were
 * never completed (their PKCE verifiers included). Nothing of this is history: the audit log keeps
 * what happened.
 */
export function purgeExpired(services: Services): PurgeResult {
  const { db, repos, now } = services;
  return db.transaction(() => ({
    sessions: repos.sessions.purgeExpired(),
    loginTokens: repos.loginTokens.purgeExpired(new Date(now().getTime() - EXPIRED_LINK_KEPT_MS)),
    oauthStates: repos.oauthStates.purgeExpired(),
    // Failed staff sign-ins count for 15 minutes; a day is kept for support questions.
    staffSignInFailures: repos.staff.purgeFailures(new Date(now().getTime() - 24 * 3_600_000)),
  }))();
}
