import type { Db } from '../db/database.js';
import { hashToken } from './sessions.js';

export interface OAuthState {
  sellerId: number;
  autoresponderId: number | null;
  /** Encrypted PKCE code verifier. */
  codeVerifier: string;
  createdAt: string;
}

export type ConsumeStateResult = ({ ok: true } & OAuthState) | { ok: false; error: 'unknown' | 'used' | 'expired' | 'other_session' };

/**
 * Authorization requests in flight. Only a hash of `state` is stored; a state is bound to the session
 * that started it and can be used once, so a callback replayed or opened in another browser fails.
 */
export function createOAuthStatesRepository(db: Db, now: () => Date = () => new Date()) {
  const insert = db.prepare(
    `INSERT INTO oauth_states (state_hash, session_hash, seller_id, autoresponder_id, code_verifier, created_at, expires_at)
     VALUES (?, ?, ?, ?, ?, ?, ?)`,
  );
  const get = db.prepare(
    `SELECT session_hash AS sessionHash, seller_id AS sellerId, autoresponder_id AS autoresponderId, code_verifier AS codeVerifier,
       created_at AS createdAt, expires_at AS expiresAt, used_at AS usedAt FROM oauth_states WHERE state_hash = ?`,
  );
  const use = db.prepare(`UPDATE oauth_states SET used_at = ? WHERE state_hash = ? AND used_at IS NULL`);
  const purge = db.prepare(`DELETE FROM oauth_states WHERE expires_at <= ?`);
  return {
    create(s: { state: string; sessionValue: string; sellerId: number; autoresponderId: number | null; codeVerifier: string; ttlMs: number }): void {
      const at = now();
      insert.run(hashToken(s.state), hashToken(s.sessionValue), s.sellerId, s.autoresponderId, s.codeVerifier, at.toISOString(), new Date(at.getTime() + s.ttlMs).toISOString());
    },
    /** Uses a state once. The atomic UPDATE makes two parallel callbacks with one state give one success. */
    consume(state: string, sessionValue: string | undefined): ConsumeStateResult {
      const h = hashToken(state);
      const row = get.get(h) as (OAuthState & { sessionHash: string; expiresAt: string; usedAt: string | null }) | undefined;
      if (!row) return { ok: false, error: 'unknown' };
      if (!sessionValue || row.sessionHash !== hashToken(sessionValue)) return { ok: false, error: 'other_session' };
      if (row.usedAt) return { ok: false, error: 'used' };
      if (Date.parse(row.expiresAt) <= now().getTime()) return { ok: false, error: 'expired' };
      if (use.run(now().toISOString(), h).changes !== 1) return { ok: false, error: 'used' };
      return { ok: true, sellerId: row.sellerId, autoresponderId: row.autoresponderId, codeVerifier: row.codeVerifier, createdAt: row.createdAt };
    },
    purgeExpired: () => purge.run(now().toISOString()).changes,
  };
}
export type OAuthStatesRepository = ReturnType<typeof createOAuthStatesRepository>;
