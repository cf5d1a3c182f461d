import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { SecretDecryptError, SecretFormatError, SecretKeyError, SecretUnknownKeyError } from '../errors.js';

/**
 * Secrets at rest: AES-256-GCM, a fresh 96-bit IV per value, and the key id in the clear so a
 * keyring can hold old keys during rotation. Stored form (all parts base64url):
 *   v1.<keyId>.<iv>.<ciphertext>.<tag>
 * The purpose (e.g. "mailbox-secret") is bound as additional authenticated data, so a ciphertext
 * copied into a column of another purpose fails to decrypt instead of being misused.
 */
export type SecretPurpose = 'mailbox-secret' | 'oauth-access-token' | 'oauth-refresh-token' | 'oauth-pkce-verifier';

export interface SecretKey {
  readonly id: string;
  readonly bytes: Buffer;
}

export interface Keyring {
  /** The key new values are encrypted with. */
  readonly primary: SecretKey;
  /** Every key that can decrypt, primary included. */
  readonly byId: ReadonlyMap<string, SecretKey>;
}

const VERSION = 'v1';

/** Derives the public id of a key: it names the key without revealing anything usable about it. */
export function keyIdOf(bytes: Buffer): string {
  return createHash('sha256').update('secret-box key id\0').update(bytes).digest('hex').slice(0, 12);
}

/**
 * Parses one key written as 64 hex characters or base64/base64url of exactly 32 bytes.
 * @throws {SecretKeyError} when the text is not a 256-bit key.
 */
export function parseKey(text: string): SecretKey {
  const t = text.trim();
  let bytes: Buffer | undefined;
  if (/^[0-9a-fA-F]{64}$/.test(t)) bytes = Buffer.from(t, 'hex');
  else if (/^[A-Za-z0-9+/_-]{43}=?$/.test(t)) bytes = Buffer.from(t.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
  if (!bytes || bytes.length !== 32) {
    throw new SecretKeyError('a key must be 32 bytes, written as 64 hex characters or 44 base64 characters');
  }
  return { id: keyIdOf(bytes), bytes };
}

export function generateKeyText(): string {
  return randomBytes(32).toString('base64');
}

/** Builds a keyring; the first key is primary. Duplicate keys are dropped. */
export function makeKeyring(keys: SecretKey[]): Keyring {
  if (keys.length === 0) throw new SecretKeyError('no key configured');
  const byId = new Map<string, SecretKey>();
  for (const k of keys) if (!byId.has(k.id)) byId.set(k.id, k);
  return { primary: keys[0]!, byId };
}

// IVs are cut from a buffer of random bytes drawn 1,024 IVs at a time: one call into the system's
// random source per 1,024 values instead of one per value (a bulk import encrypts one per mailbox).
// Each IV is still 96 fresh random bits, used once; a buffer is never refilled, only replaced.
const IV_BYTES = 12;
const IVS_PER_DRAW = 1024;
let ivPool = Buffer.alloc(0);
let ivAt = 0;
function freshIv(): Buffer {
  if (ivAt + IV_BYTES > ivPool.length) {
    ivPool = randomBytes(IV_BYTES * IVS_PER_DRAW);
    ivAt = 0;
  }
  const iv = ivPool.subarray(ivAt, ivAt + IV_BYTES);
  ivAt += IV_BYTES;
  return iv;
}

export function encryptSecret(keyring: Keyring, plaintext: string, purpose: SecretPurpose): string {
  const iv = freshIv();
  const cipher = createCipheriv('aes-256-gcm', keyring.primary.bytes, iv);
  cipher.setAAD(Buffer.from(purpose, 'utf8'));
  const ct = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  const tag = cipher.getAuthTag();
  return [VERSION, keyring.primary.id, iv.toString('base64url'), ct.toString('base64url'), tag.toString('base64url')].join('.');
}

/** The key id a stored value was encrypted with. @throws {SecretFormatError} */
export function storedKeyId(stored: string): string {
  return splitStored(stored).keyId;
}

/**
 * @throws {SecretFormatError} the value is not a secret-box value
 * @throws {SecretUnknownKeyError} its key is not in the keyring
 * @throws {SecretDecryptError} it was altered, or belongs to another purpose
 */
export function decryptSecret(keyring: Keyring, stored: string, purpose: SecretPurpose): string {
  const { keyId, iv, ct, tag } = splitStored(stored);
  const key = keyring.byId.get(keyId);
  if (!key) throw new SecretUnknownKeyError(keyId);
  try {
    const decipher = createDecipheriv('aes-256-gcm', key.bytes, iv);
    decipher.setAAD(Buffer.from(purpose, 'utf8'));
    decipher.setAuthTag(tag);
    return Buffer.concat([decipher.update(ct), decipher.final()]).toString('utf8');
  } catch {
    throw new SecretDecryptError();
  }
}

function splitStored(stored: string): { keyId: string; iv: Buffer; ct: Buffer; tag: Buffer } {
  const parts = stored.split('.');
  if (parts.length !== 5 || parts[0] !== VERSION) throw new SecretFormatError();
  const [, keyId, iv, ct, tag] = parts as [string, string, string, string, string];
  const ivBuf = Buffer.from(iv, 'base64url');
  const tagBuf = Buffer.from(tag, 'base64url');
  if (!/^[0-9a-f]{12}$/.test(keyId) || ivBuf.length !== 12 || tagBuf.length !== 16) throw new SecretFormatError();
  return { keyId, iv: ivBuf, ct: Buffer.from(ct, 'base64url'), tag: tagBuf };
}
