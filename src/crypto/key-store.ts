import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { SecretKeyError } from '../errors.js';
import { generateKeyText, makeKeyring, parseKey, type Keyring } from './secret-box.js';

/**
 * Where the keys come from: APP_SECRET_KEY (comma-separated, newest first) when set; otherwise a key
 * file (one key a line, newest first) created on first run with mode 0600.
 */
export type KeySource = { kind: 'env'; keys: string[] } | { kind: 'file'; file: string };

export interface LoadedKeys {
  keyring: Keyring;
  source: KeySource;
  /** Set when the key file was created by this call. */
  created: boolean;
  /** Set when the key file had looser permissions and was tightened to 0600. */
  tightened: boolean;
}

/** @throws {SecretKeyError} when a configured key is malformed or the file cannot be used. */
export function loadKeys(source: KeySource): LoadedKeys {
  if (source.kind === 'env') {
    return { keyring: makeKeyring(source.keys.map(parseKey)), source, created: false, tightened: false };
  }
  let created = false;
  let tightened = false;
  if (!existsSync(source.file)) {
    mkdirSync(path.dirname(source.file), { recursive: true });
    try {
      // 'wx': never overwrite a key another process created a moment ago.
      writeFileSync(source.file, generateKeyText() + '\n', { mode: 0o600, flag: 'wx' });
      created = true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  } else if ((statSync(source.file).mode & 0o077) !== 0) {
    chmodSync(source.file, 0o600);
    tightened = true;
  }
  const lines = readKeyFileTexts(source.file);
  if (lines.length === 0) throw new SecretKeyError(`key file ${source.file} holds no key`);
  return { keyring: makeKeyring(lines.map(parseKey)), source, created, tightened };
}

/** Atomically replaces the key file's content (write to a temporary file, then rename). */
export function writeKeyFile(file: string, keyTexts: string[]): void {
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, keyTexts.join('\n') + '\n', { mode: 0o600 });
  renameSync(tmp, file);
}

/** The keys in a key file, newest first; blank lines and # comments are skipped. */
export function readKeyFileTexts(file: string): string[] {
  return readFileSync(file, 'utf8')
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
}
