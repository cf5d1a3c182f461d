import type { Db } from '../db/database.js';
import type { AllegroAuthorization } from '../domain/model.js';

/** The encrypted token pair; callers decrypt through the secrets service. */
export interface StoredTokens {
  accessToken: string;
  refreshToken: string;
  accessExpiresAt: string;
}

const COLUMNS = `id, seller_id AS sellerId, allegro_user_id AS allegroUserId, allegro_login AS allegroLogin,
  access_expires_at AS accessExpiresAt, scopes, status, invalid_reason AS invalidReason, confirmed_at AS confirmedAt,
  refreshed_at AS refreshedAt, created_at AS createdAt, updated_at AS updatedAt`;

/** The seller's consents at Allegro. Tokens never leave this repository unencrypted: it only sees ciphertext. */
export function createAllegroAuthorizationsRepository(db: Db, now: () => Date = () => new Date()) {
  const byId = db.prepare(`SELECT ${COLUMNS} FROM allegro_authorizations WHERE id = ?`);
  const bySeller = db.prepare(`SELECT ${COLUMNS} FROM allegro_authorizations WHERE seller_id = ? ORDER BY updated_at DESC, id DESC`);
  const usable = db.prepare(
    `SELECT ${COLUMNS} FROM allegro_authorizations WHERE seller_id = ? AND status = 'active' AND confirmed_at IS NOT NULL
      ORDER BY updated_at DESC, id DESC LIMIT 1`,
  );
  const tokens = db.prepare(`SELECT access_token AS accessToken, refresh_token AS refreshToken, access_expires_at AS accessExpiresAt, version FROM allegro_authorizations WHERE id = ?`);
  const upsert = db.prepare(
    `INSERT INTO allegro_authorizations (seller_id, allegro_user_id, allegro_login, access_token, refresh_token, access_expires_at,
       scopes, status, invalid_reason, confirmed_at, refreshed_at, created_at, updated_at)
     VALUES (@sellerId, @allegroUserId, @allegroLogin, @accessToken, @refreshToken, @accessExpiresAt, @scopes, 'active', NULL,
       @confirmedAt, NULL, @at, @at)
     ON CONFLICT (seller_id, allegro_user_id) DO UPDATE SET allegro_login = excluded.allegro_login,
       access_token = excluded.access_token, refresh_token = excluded.refresh_token, access_expires_at = excluded.access_expires_at,
       scopes = excluded.scopes, status = 'active', invalid_reason = NULL,
       confirmed_at = coalesce(excluded.confirmed_at, allegro_authorizations.confirmed_at), updated_at = excluded.updated_at,
       version = allegro_authorizations.version + 1
     RETURNING id`,
  );
  // Both tokens and the expiry in one statement: a crash cannot leave a new access token with an old refresh token.
  // Every write of the pair bumps the version; a refresh passes the version it read, so a consent stored
  // while its request was on the way (a newer lineage of tokens) is never overwritten by the older one.
  const storeTokens = db.prepare(
    `UPDATE allegro_authorizations SET access_token = @accessToken, refresh_token = @refreshToken, access_expires_at = @accessExpiresAt,
       refreshed_at = @at, updated_at = @at, version = version + 1
     WHERE id = @id AND status = 'active' AND (@version IS NULL OR version = @version)`,
  );
  const markInvalid = db.prepare(`UPDATE allegro_authorizations SET status = 'invalid', invalid_reason = ?, updated_at = ? WHERE id = ?`);
  const confirm = db.prepare(`UPDATE allegro_authorizations SET confirmed_at = ?, updated_at = ? WHERE id = ? AND confirmed_at IS NULL`);
  const remove = db.prepare(`DELETE FROM allegro_authorizations WHERE id = ?`);
  return {
    getById: (id: number) => byId.get(id) as AllegroAuthorization | undefined,
    listBySeller: (sellerId: number) => bySeller.all(sellerId) as AllegroAuthorization[],
    /** The newest active, confirmed authorization of a seller. */
    findUsable: (sellerId: number) => usable.get(sellerId) as AllegroAuthorization | undefined,
    /** The encrypted pair and the version it was written at (for storeTokens' compare-and-set). */
    getTokens: (id: number) => tokens.get(id) as (StoredTokens & { version: number }) | undefined,
    /** Stores a fresh consent (encrypted tokens), replacing an earlier one for the same Allegro account. */
    upsert(a: { sellerId: number; allegroUserId: string; allegroLogin: string; scopes: string; confirmed: boolean } & StoredTokens): number {
      const at = now().toISOString();
      const row = upsert.get({ ...a, confirmedAt: a.confirmed ? at : null, at }) as { id: number };
      return row.id;
    },
    /**
     * Replaces the token pair after a refresh, only if the authorization is active and, when `version` is
     * given, still at that version (nothing stored it meanwhile); false otherwise.
     */
    storeTokens: (id: number, t: StoredTokens, version?: number) =>
      storeTokens.run({ id, accessToken: t.accessToken, refreshToken: t.refreshToken, accessExpiresAt: t.accessExpiresAt, version: version ?? null, at: now().toISOString() }).changes === 1,
    markInvalid: (id: number, reason: string) => void markInvalid.run(reason, now().toISOString(), id),
    confirm: (id: number) => confirm.run(now().toISOString(), now().toISOString(), id).changes === 1,
    delete: (id: number) => void remove.run(id),
  };
}
export type AllegroAuthorizationsRepository = ReturnType<typeof createAllegroAuthorizationsRepository>;
