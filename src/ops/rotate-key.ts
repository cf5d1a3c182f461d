import type { Db } from '../db/database.js';
import type { KeySource } from '../crypto/key-store.js';
import { readKeyFileTexts, writeKeyFile } from '../crypto/key-store.js';
import { generateKeyText, makeKeyring, parseKey } from '../crypto/secret-box.js';
import type { AuditRepository } from '../repositories/audit.js';
import type { Actor } from '../domain/model.js';
import { reencryptAll, type RotationResult } from '../crypto/secrets.js';

export interface RotateKeyResult extends RotationResult {
  /** Whether a new key was generated (key file) or the configured first key was used (APP_SECRET_KEY). */
  generated: boolean;
  retiredKeyIds: string[];
}

/**
 * Rotates the encryption key. With a key file: a new key is generated and written first (beside the
 * old ones, so a crash at any point leaves every value decryptable), all secrets are re-encrypted in
 * one transaction, and only then are the old keys removed from the file. With APP_SECRET_KEY the
 * operator supplies "new,old": everything moves to the first key, and the rest can then be removed.
 * @throws when any stored secret cannot be decrypted; nothing is changed then
 */
export function rotateKey(db: Db, source: KeySource, audit: AuditRepository, actor: Actor): RotateKeyResult {
  if (source.kind === 'env') {
    const keys = source.keys.map(parseKey);
    const result = reencryptAll(db, makeKeyring(keys), audit, actor);
    return { ...result, generated: false, retiredKeyIds: keys.slice(1).map((k) => k.id) };
  }
  const oldTexts = readKeyFileTexts(source.file);
  const newText = generateKeyText();
  writeKeyFile(source.file, [newText, ...oldTexts]);
  let result: RotationResult;
  try {
    result = reencryptAll(db, makeKeyring([newText, ...oldTexts].map(parseKey)), audit, actor);
  } catch (err) {
    writeKeyFile(source.file, oldTexts);
    throw err;
  }
  writeKeyFile(source.file, [newText]);
  return { ...result, generated: true, retiredKeyIds: oldTexts.map((t) => parseKey(t).id) };
}
