import type { Db } from '../db/database.js';
import { decryptSecret, encryptSecret, storedKeyId, type Keyring, type SecretPurpose } from './secret-box.js';
import type { AuditRepository } from '../repositories/audit.js';
import type { Actor } from '../domain/model.js';

/** Every encrypted column in the schema. Rotation walks exactly this list. */
export const ENCRYPTED_COLUMNS: readonly { table: string; column: string; purpose: SecretPurpose }[] = [
  { table: 'mailboxes', column: 'secret', purpose: 'mailbox-secret' },
  { table: 'allegro_authorizations', column: 'access_token', purpose: 'oauth-access-token' },
  { table: 'allegro_authorizations', column: 'refresh_token', purpose: 'oauth-refresh-token' },
  { table: 'oauth_states', column: 'code_verifier', purpose: 'oauth-pkce-verifier' },
];

export interface RotationResult {
  total: number;
  reencrypted: number;
  /** How many values each old key id held before the rotation. */
  byKeyBefore: Record<string, number>;
  primaryKeyId: string;
}

export function createSecretsService(keyring: Keyring) {
  return {
    keyring,
    encrypt: (plaintext: string, purpose: SecretPurpose) => encryptSecret(keyring, plaintext, purpose),
    decrypt: (stored: string, purpose: SecretPurpose) => decryptSecret(keyring, stored, purpose),
  };
}
export type SecretsService = ReturnType<typeof createSecretsService>;

/**
 * Re-encrypts every stored secret with the keyring's primary key, in one transaction: either all
 * values move to the new key or none does. Values already under the primary key are left alone.
 * @throws {import('../errors.js').SecretDecryptError} (and rolls back) when any value cannot be decrypted
 */
export function reencryptAll(db: Db, keyring: Keyring, audit: AuditRepository, actor: Actor): RotationResult {
  return db
    .transaction((): RotationResult => {
      const result: RotationResult = { total: 0, reencrypted: 0, byKeyBefore: {}, primaryKeyId: keyring.primary.id };
      for (const { table, column, purpose } of ENCRYPTED_COLUMNS) {
        const rows = db.prepare(`SELECT rowid AS id, ${column} AS value FROM ${table} WHERE ${column} IS NOT NULL`).all() as {
          id: number;
          value: string;
        }[];
        const update = db.prepare(`UPDATE ${table} SET ${column} = ? WHERE rowid = ?`);
        for (const row of rows) {
          result.total++;
          const keyId = storedKeyId(row.value);
          result.byKeyBefore[keyId] = (result.byKeyBefore[keyId] ?? 0) + 1;
          if (keyId === keyring.primary.id) continue;
          update.run(encryptSecret(keyring, decryptSecret(keyring, row.value, purpose), purpose), row.id);
          result.reencrypted++;
        }
      }
      audit.record(actor, keyring.primary.id, {
        action: 'secrets.rotated',
        details: { total: result.total, reencrypted: result.reencrypted, rotatedFrom: Object.keys(result.byKeyBefore) },
      });
      return result;
    })
    .immediate();
}
