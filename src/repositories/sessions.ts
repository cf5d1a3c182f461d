import { createHash, randomBytes } from 'node:crypto';
import type { Db } from '../db/database.js';
import type { SessionKind, Session } from '../domain/model.js';

export const hashToken = (value: string) => createHash('sha256').update(value).digest('hex');
export const newToken = () => randomBytes(32).toString('base64url');

const COLUMNS = `id_hash AS idHash, kind, subject_id AS subjectId, created_at AS createdAt, last_seen_at AS lastSeenAt, expires_at AS expiresAt`;

/**
 * Server-side sessions. The cookie carries a random value; only its hash is stored, so a copy of the
 * database does not let anyone sign in.
 */
export function createSessionsRepository(db: Db, now: () => Date = () => new Date()) {
  const insert = db.prepare(
    `INSERT INTO sessions (id_hash, kind, subject_id, created_at, last_seen_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)`,
  );
  const get = db.prepare(`SELECT ${COLUMNS} FROM sessions WHERE id_hash = ?`);
  const touch = db.prepare(`UPDATE sessions SET last_seen_at = ?, expires_at = ? WHERE id_hash = ?`);
  const remove = db.prepare(`DELETE FROM sessions WHERE id_hash = ?`);
  const purge = db.prepare(`DELETE FROM sessions WHERE expires_at <= ?`);
  const removeAllOf = db.prepare(`DELETE FROM sessions WHERE kind = ? AND subject_id = ?`);
  // A session ends at the first of: idle too long, or older than its absolute lifetime.
  const endOf = (createdAt: number, at: number, idleMs: number, maxMs: number) => new Date(Math.min(at + idleMs, createdAt + maxMs)).toISOString();
  return {
    /**
     * Creates a session and returns the cookie value (shown once, never stored). It ends after `idleMs`
     * without a request, and `maxMs` after it began whatever happens.
     */
    create(kind: SessionKind, subjectId: number, idleMs: number, maxMs = Number.POSITIVE_INFINITY): string {
      const value = newToken();
      const at = now();
      insert.run(hashToken(value), kind, subjectId, at.toISOString(), at.toISOString(), endOf(at.getTime(), at.getTime(), idleMs, maxMs));
      return value;
    },
    /**
     * The live session for a cookie value, sliding its expiry, never past `maxMs` after it began;
     * undefined when unknown, idle too long or too old.
     */
    resume(value: string, idleMs: number, maxMs = Number.POSITIVE_INFINITY): Session | undefined {
      const s = get.get(hashToken(value)) as Session | undefined;
      const at = now();
      if (!s) return undefined;
      const created = Date.parse(s.createdAt);
      if (Date.parse(s.expiresAt) <= at.getTime() || at.getTime() - created >= maxMs) {
        remove.run(s.idHash);
        return undefined;
      }
      // Write at most once a minute: a page with many requests costs one UPDATE.
      if (at.getTime() - Date.parse(s.lastSeenAt) > 60_000) {
        touch.run(at.toISOString(), endOf(created, at.getTime(), idleMs, maxMs), s.idHash);
      }
      return s;
    },
    destroy(value: string): void {
      remove.run(hashToken(value));
    },
    /** Ends every session of one person (a disabled staff account, a new password); returns how many there were. */
    destroyAllOf: (kind: SessionKind, subjectId: number) => removeAllOf.run(kind, subjectId).changes,
    purgeExpired: () => purge.run(now().toISOString()).changes,
  };
}
export type SessionsRepository = ReturnType<typeof createSessionsRepository>;

export function createLoginTokensRepository(db: Db, now: () => Date = () => new Date()) {
  const insert = db.prepare(`INSERT INTO login_tokens (seller_id, token_hash, created_at, expires_at) VALUES (?, ?, ?, ?)`);
  const find = db.prepare(`SELECT id, seller_id AS sellerId, expires_at AS expiresAt, used_at AS usedAt FROM login_tokens WHERE token_hash = ?`);
  const use = db.prepare(`UPDATE login_tokens SET used_at = ? WHERE id = ? AND used_at IS NULL`);
  const recent = db.prepare(`SELECT count(*) FROM login_tokens WHERE seller_id = ? AND created_at > ?`).pluck();
  const purgeTokens = db.prepare(`DELETE FROM login_tokens WHERE expires_at <= ?`);
  return {
    /** Issues a one-time token; returns the token (for the e-mail only). */
    issue(sellerId: number, ttlMs: number): string {
      const token = newToken();
      const at = now();
      insert.run(sellerId, hashToken(token), at.toISOString(), new Date(at.getTime() + ttlMs).toISOString());
      return token;
    },
    /** Looks a token up without using it. */
    peek(token: string): { id: number; sellerId: number; expiresAt: string; usedAt: string | null } | undefined {
      return find.get(hashToken(token)) as never;
    },
    /**
     * Uses a token once. Returns the seller id, or why it cannot be used.
     * The UPDATE … WHERE used_at IS NULL makes two simultaneous uses impossible.
     */
    consume(token: string): { sellerId: number } | { error: 'unknown' | 'expired' | 'used' } {
      const t = find.get(hashToken(token)) as { id: number; sellerId: number; expiresAt: string; usedAt: string | null } | undefined;
      if (!t) return { error: 'unknown' };
      if (t.usedAt) return { error: 'used' };
      if (Date.parse(t.expiresAt) <= now().getTime()) return { error: 'expired' };
      if (use.run(now().toISOString(), t.id).changes !== 1) return { error: 'used' };
      return { sellerId: t.sellerId };
    },
    countSince: (sellerId: number, since: Date) => recent.get(sellerId, since.toISOString()) as number,
    /** Deletes tokens that expired before `before` (kept a while, so an old link still says "expired"). */
    purgeExpired: (before: Date) => purgeTokens.run(before.toISOString()).changes,
  };
}
export type LoginTokensRepository = ReturnType<typeof createLoginTokensRepository>;
