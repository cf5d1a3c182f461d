import { createHash, randomBytes } from 'node:crypto';
import type { AllegroClient } from './client.js';
import { AllegroError, AllegroOAuthError, AllegroTokenError, AuthorizationInvalidError } from './errors.js';
import type { Me } from './schemas.js';
import type { Actor } from '../domain/model.js';
import type { Db } from '../db/database.js';
import type { Repositories } from '../repositories/index.js';
import type { SecretsService } from '../crypto/secrets.js';
import type { MigrationService } from '../migration/service.js';

export interface AuthorizationDeps {
  db: Db;
  repos: Pick<Repositories, 'authorizations' | 'oauthStates' | 'sellers' | 'autoresponders' | 'migrations' | 'audit'>;
  secrets: SecretsService;
  migrationService: MigrationService;
  now: () => Date;
}

/** How long the seller has between leaving for Allegro and coming back. */
export const OAUTH_STATE_TTL_MS = 10 * 60_000;
/** Refresh this long before the access token expires, so a call never starts with a dying token. */
export const REFRESH_SKEW_MS = 5 * 60_000;

export type CallbackFailure =
  | 'state_unknown' // no such request (tampered, or the state of another app)
  | 'state_used' // the callback was opened twice
  | 'state_expired'
  | 'state_other_session' // started in another browser or session
  | 'denied' // the seller refused consent at Allegro
  | 'allegro_error' // Allegro returned an error instead of a code
  | 'exchange_failed' // the code could not be exchanged (expired, used, wrong client)
  | 'me_failed' // the tokens came, but /me could not be read
  | 'unavailable'; // Allegro did not answer

export type CallbackResult =
  | { ok: true; authorizationId: number; autoresponderId: number | null; login: string; expectedLogin: string | null; mismatch: boolean }
  | { ok: false; failure: CallbackFailure; autoresponderId: number | null; allegroCode?: string; traceId?: string };

const base64url = (b: Buffer) => b.toString('base64url');
export const pkceChallenge = (verifier: string) => base64url(createHash('sha256').update(verifier).digest());

const sameLogin = (a: string, b: string) => a.localeCompare(b, 'pl', { sensitivity: 'accent' }) === 0;

/**
 * The seller's authorizations at Allegro: the authorization-code flow with PKCE and a state bound to
 * the session, and access tokens that are refreshed before they expire and on 401 invalid_token.
 * Refreshes of one authorization never run twice at once (the refresh token rotates and the old one
 * lives only 60 s), and the new pair is stored in one statement, only if no consent was stored while the
 * refresh was on its way (compare-and-set on the authorization's version). A refresh answered invalid_grant
 * marks the authorization invalid and moves its v3 autoresponders to "needs attention: authorize again".
 */
export function createAuthorizationService(services: AuthorizationDeps, client: AllegroClient | null, log?: { warn(o: object, m: string): void; info(o: object, m: string): void }) {
  const { db, repos, secrets, migrationService, now } = services;
  const refreshing = new Map<number, Promise<string>>();

  const requireClient = () => {
    if (!client) throw new AllegroError('MIG_ERR_ALLEGRO_NOT_CONFIGURED', 'ALLEGRO_CLIENT_ID and ALLEGRO_CLIENT_SECRET are not set');
    return client;
  };

  /** Starts a consent request: returns the URL of Allegro's consent page. */
  function start(p: { sellerId: number; autoresponderId: number | null; sessionValue: string }): string {
    const c = requireClient();
    const state = base64url(randomBytes(24));
    const verifier = base64url(randomBytes(48));
    repos.oauthStates.create({
      state,
      sessionValue: p.sessionValue,
      sellerId: p.sellerId,
      autoresponderId: p.autoresponderId,
      codeVerifier: secrets.encrypt(verifier, 'oauth-pkce-verifier'),
      ttlMs: OAUTH_STATE_TTL_MS,
    });
    return c.authorizeUrl({ state, codeChallenge: pkceChallenge(verifier) });
  }

  /**
   * Handles Allegro's redirect back. Nothing is stored unless the code was exchanged and /me was read:
   * a refusal or an error leaves the database as it was (but for the used state).
   */
  async function complete(p: {
    sellerId: number;
    sessionValue: string | undefined;
    state: string;
    code?: string | undefined;
    error?: string | undefined;
  }): Promise<CallbackResult> {
    const c = requireClient();
    const consumed = repos.oauthStates.consume(p.state, p.sessionValue);
    if (!consumed.ok) return { ok: false, failure: `state_${consumed.error}`, autoresponderId: null };
    if (consumed.sellerId !== p.sellerId) return { ok: false, failure: 'state_other_session', autoresponderId: null };
    const autoresponderId = consumed.autoresponderId;
    if (p.error || !p.code) {
      return { ok: false, failure: p.error === 'access_denied' ? 'denied' : 'allegro_error', autoresponderId, allegroCode: p.error ?? 'no_code' };
    }
    const verifier = secrets.decrypt(consumed.codeVerifier, 'oauth-pkce-verifier');
    let tokens;
    let me: Me;
    try {
      tokens = await c.exchangeCode(p.code, verifier);
    } catch (err) {
      return failed(err, 'exchange_failed', autoresponderId);
    }
    try {
      me = await c.me(tokens.accessToken);
    } catch (err) {
      return failed(err, 'me_failed', autoresponderId);
    }
    const seller = repos.sellers.getById(p.sellerId)!;
    const expectedLogin = seller.allegroLogin;
    const mismatch = !!expectedLogin && !sameLogin(expectedLogin, me.login);
    const actor: Actor = { type: 'seller', id: p.sellerId };
    const authorizationId = db.transaction(() => {
      const id = repos.authorizations.upsert({
        sellerId: p.sellerId,
        allegroUserId: me.id,
        allegroLogin: me.login,
        scopes: tokens.scope,
        confirmed: !mismatch,
        accessToken: secrets.encrypt(tokens.accessToken, 'oauth-access-token'),
        refreshToken: secrets.encrypt(tokens.refreshToken, 'oauth-refresh-token'),
        accessExpiresAt: new Date(now().getTime() + tokens.expiresIn * 1000).toISOString(),
      });
      repos.audit.record(actor, p.sellerId, {
        action: 'allegro.authorized',
        details: { authorizationId: id, allegroLogin: me.login, expectedLogin, mismatch, scopes: tokens.scope },
      });
      if (mismatch && autoresponderId != null) {
        const m = repos.migrations.findByAutoresponder(autoresponderId);
        if (m) migrationService.transitionIfAllowed(m.id, 'needs_attention', 'needs_attention', { actor, reason: 'allegro_account_mismatch', details: { allegroLogin: me.login, expectedLogin } });
      }
      return id;
    })();
    return { ok: true, authorizationId, autoresponderId, login: me.login, expectedLogin, mismatch };
  }

  function failed(err: unknown, failure: CallbackFailure, autoresponderId: number | null): CallbackResult {
    if (!(err instanceof AllegroError)) throw err;
    log?.warn({ code: err.code, status: err.status, traceId: err.traceId, failure }, 'Allegro authorization failed');
    return {
      ok: false,
      // Allegro's own failure (5xx, a timeout) is not the seller's code expiring: say it is unavailable.
      failure: err.code === 'MIG_ERR_ALLEGRO_UNAVAILABLE' || (err.status ?? 0) >= 500 ? 'unavailable' : failure,
      autoresponderId,
      allegroCode: err instanceof AllegroOAuthError ? err.error : err.code,
      traceId: err.traceId,
    };
  }

  /** The seller confirms that a different Allegro account than expected is the right one. */
  function confirm(sellerId: number, authorizationId: number): boolean {
    const a = repos.authorizations.getById(authorizationId);
    if (!a || a.sellerId !== sellerId || a.status !== 'active') return false;
    return db.transaction(() => {
      const changed = repos.authorizations.confirm(authorizationId);
      if (changed) {
        repos.audit.record({ type: 'seller', id: sellerId }, sellerId, { action: 'allegro.account_confirmed', details: { authorizationId, allegroLogin: a.allegroLogin } });
      }
      return true;
    })();
  }

  /** Drops an authorization the seller did not want (a different account they will not confirm). */
  function discard(sellerId: number, authorizationId: number): void {
    const a = repos.authorizations.getById(authorizationId);
    if (!a || a.sellerId !== sellerId || a.confirmedAt) return;
    db.transaction(() => {
      repos.authorizations.delete(authorizationId);
      repos.audit.record({ type: 'seller', id: sellerId }, sellerId, { action: 'allegro.authorization_discarded', details: { authorizationId, allegroLogin: a.allegroLogin } });
    })();
  }

  /** Marks an authorization dead and every v3 autoresponder using it "needs attention: authorize again". */
  function invalidate(authorizationId: number, reason: string): void {
    db.transaction(() => {
      repos.authorizations.markInvalid(authorizationId, reason);
      const actor: Actor = { type: 'system', id: 'allegro' };
      repos.audit.record(actor, authorizationId, { action: 'allegro.authorization_invalid', details: { reason } });
      for (const a of repos.autoresponders.listByAuthorization(authorizationId)) {
        const m = repos.migrations.findByAutoresponder(a.id);
        if (a.version === 3 && m && m.reasonCode !== 'authorize_again') {
          migrationService.transitionIfAllowed(m.id, 'needs_attention', 'needs_attention', { actor, reason: 'authorize_again', errorCode: reason });
        }
      }
    })();
  }

  /**
   * Refreshes the token pair of one authorization, at most once at a time. `seenAccess` is the
   * encrypted access token the caller found wanting: if another caller has replaced it meanwhile, the
   * new one is used without a second refresh.
   */
  function refresh(authorizationId: number, seenAccess: string): Promise<string> {
    const running = refreshing.get(authorizationId);
    if (running) return running;
    const stored = repos.authorizations.getTokens(authorizationId);
    if (stored && stored.accessToken !== seenAccess && Date.parse(stored.accessExpiresAt) - now().getTime() > REFRESH_SKEW_MS) {
      return Promise.resolve(secrets.decrypt(stored.accessToken, 'oauth-access-token'));
    }
    const job = (async () => {
      const c = requireClient();
      const current = repos.authorizations.getById(authorizationId);
      const tokens = repos.authorizations.getTokens(authorizationId);
      if (!current || !tokens || current.status !== 'active') throw new AuthorizationInvalidError(authorizationId);
      try {
        const fresh = await c.refresh(secrets.decrypt(tokens.refreshToken, 'oauth-refresh-token'));
        // Compare-and-set: stored only if nothing wrote the pair while the request was on its way.
        const stored = repos.authorizations.storeTokens(
          authorizationId,
          {
            accessToken: secrets.encrypt(fresh.accessToken, 'oauth-access-token'),
            refreshToken: secrets.encrypt(fresh.refreshToken, 'oauth-refresh-token'),
            accessExpiresAt: new Date(now().getTime() + fresh.expiresIn * 1000).toISOString(),
          },
          tokens.version,
        );
        if (!stored) {
          // The seller consented again meanwhile: that newer pair stays, and is the one to use.
          const latest = repos.authorizations.getTokens(authorizationId);
          if (latest && latest.version !== tokens.version && repos.authorizations.getById(authorizationId)?.status === 'active') {
            log?.info({ authorizationId }, 'Allegro tokens refreshed, but a new consent was saved meanwhile; it is kept');
            return secrets.decrypt(latest.accessToken, 'oauth-access-token');
          }
          throw new AuthorizationInvalidError(authorizationId);
        }
        log?.info({ authorizationId }, 'Allegro tokens refreshed');
        return fresh.accessToken;
      } catch (err) {
        if (err instanceof AllegroOAuthError && (err.error === 'invalid_grant' || err.error === 'invalid_token')) {
          // The seller consented again while this refresh was on its way (the consent is stored in the same
          // row): the refused token is the old one, and the new pair is the one to use, not to invalidate.
          const latest = repos.authorizations.getTokens(authorizationId);
          if (latest && latest.refreshToken !== tokens.refreshToken && repos.authorizations.getById(authorizationId)?.status === 'active') {
            log?.info({ authorizationId }, 'Allegro refused an old refresh token; a new consent was saved meanwhile');
            return secrets.decrypt(latest.accessToken, 'oauth-access-token');
          }
          log?.warn({ authorizationId, error: err.error, traceId: err.traceId }, 'Allegro refused the refresh token; the seller must authorize again');
          invalidate(authorizationId, err.error);
          throw new AuthorizationInvalidError(authorizationId);
        }
        throw err;
      }
    })().finally(() => refreshing.delete(authorizationId));
    refreshing.set(authorizationId, job);
    return job;
  }

  /**
   * Runs an API call with a live access token: refreshed first when it is about to expire, and once
   * more when Allegro answers 401 invalid_token.
   * @throws {AuthorizationInvalidError} when the seller must authorize again
   */
  async function withToken<T>(authorizationId: number, fn: (accessToken: string) => Promise<T>): Promise<T> {
    const a = repos.authorizations.getById(authorizationId);
    const stored = repos.authorizations.getTokens(authorizationId);
    if (!a || !stored || a.status !== 'active') throw new AuthorizationInvalidError(authorizationId);
    const token =
      Date.parse(stored.accessExpiresAt) - now().getTime() <= REFRESH_SKEW_MS
        ? await refresh(authorizationId, stored.accessToken)
        : secrets.decrypt(stored.accessToken, 'oauth-access-token');
    try {
      return await fn(token);
    } catch (err) {
      if (!(err instanceof AllegroTokenError)) throw err;
      // refresh() uses a token someone else has stored meanwhile instead of refreshing again.
      const retryToken = await refresh(authorizationId, stored.accessToken);
      try {
        return await fn(retryToken);
      } catch (again) {
        if (again instanceof AllegroTokenError) {
          invalidate(authorizationId, again.error);
          throw new AuthorizationInvalidError(authorizationId);
        }
        throw again;
      }
    }
  }

  return { configured: !!client, start, complete, confirm, discard, invalidate, refresh, withToken };
}
export type AuthorizationService = ReturnType<typeof createAuthorizationService>;
