import Database from 'better-sqlite3';
import { chmodSync, existsSync, linkSync, mkdirSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { MIGRATIONS } from '../db/migrations.js';
import { ENCRYPTED_COLUMNS } from '../crypto/secrets.js';
import { decryptSecret, type Keyring } from '../crypto/secret-box.js';

/** How far a copy is: SQLite pages (4 KiB each here) copied of the total. */
export interface CopyProgress {
  donePages: number;
  totalPages: number;
}

/** Why a backup or restore was refused; the CLI turns the reason into a sentence in both languages. */
export class BackupRefused extends Error {
  constructor(
    readonly reason: 'target-exists' | 'source-missing' | 'not-a-database' | 'damaged' | 'too-new' | 'key-mismatch',
    readonly detail: string,
  ) {
    super(`${reason}: ${detail}`);
  }
}

// Pages copied per step: 4096 pages are 16 MiB, a step of some tens of milliseconds, so progress moves
// and the server's writers are never held up for long (WAL: a reader never blocks the writer anyway).
const PAGES_PER_STEP = 4096;
// SQLite restarts an online backup when another process (the running server) writes between two
// steps. After this many restarts the rest is copied in one step: one read transaction, so it always
// finishes and is still a consistent snapshot.
const RESTARTS_BEFORE_ONE_STEP = 2;

/**
 * Copies the database `source` into a new file `target` with SQLite's online backup, while the server
 * may be running and writing: the copy is one consistent state of the database (a transaction in
 * flight is in it whole or not at all). The copy is written beside the target and then linked to its
 * name, which fails when the name exists: an existing file is never overwritten, even one created
 * by someone else during the copy.
 * @throws {BackupRefused} when the target exists or the source is missing
 */
export async function backupDatabase(source: string, target: string, onProgress?: (p: CopyProgress) => void): Promise<{ pages: number; bytes: number; restarts: number }> {
  if (existsSync(target)) throw new BackupRefused('target-exists', target);
  if (!existsSync(source)) throw new BackupRefused('source-missing', source);
  mkdirSync(path.dirname(path.resolve(target)), { recursive: true });
  const db = new Database(source, { fileMustExist: true });
  const partial = path.join(path.dirname(path.resolve(target)), `.${path.basename(target)}.${process.pid}.partial`);
  try {
    db.pragma('busy_timeout = 5000');
    let restarts = 0;
    let lastRemaining = Infinity;
    const done = await db.backup(partial, {
      progress: ({ totalPages, remainingPages }) => {
        if (remainingPages > lastRemaining) restarts++;
        lastRemaining = remainingPages;
        onProgress?.({ donePages: totalPages - remainingPages, totalPages });
        return restarts >= RESTARTS_BEFORE_ONE_STEP ? 0x7fffffff : PAGES_PER_STEP;
      },
    });
    onProgress?.({ donePages: done.totalPages, totalPages: done.totalPages });
    // The copy is one self-contained file: no write-ahead log beside it (the server turns WAL on again
    // when it opens a restored copy).
    const copy = new Database(partial, { fileMustExist: true });
    copy.pragma('journal_mode = DELETE');
    copy.close();
    // Personal data and encrypted secrets: readable by the owner only, as the key file.
    chmodSync(partial, 0o600);
    try {
      linkSync(partial, target);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new BackupRefused('target-exists', target);
      throw err;
    }
    return { pages: done.totalPages, bytes: statSync(target).size, restarts };
  } finally {
    db.close();
    rmSync(partial, { force: true });
  }
}

export interface BackupCheck {
  schemaVersion: number;
  /** Stored secrets (mailbox passwords, Allegro tokens) and how many the keyring decrypts. */
  secrets: number;
  decrypted: number;
}

/**
 * Checks a backup before it is restored: a SQLite file that passes `integrity_check`, a schema this
 * code knows (older is upgraded at the server's start), and every stored secret decrypts with the
 * keyring: a backup restored without its key would start and then fail on every mailbox.
 * @throws {BackupRefused} when any of these fails; `key-mismatch` names how many secrets failed
 */
export function checkBackup(file: string, keyring: Keyring): BackupCheck {
  if (!existsSync(file)) throw new BackupRefused('source-missing', file);
  let db: Database.Database;
  try {
    db = new Database(file, { readonly: true, fileMustExist: true });
    db.pragma('schema_version');
  } catch (err) {
    throw new BackupRefused('not-a-database', (err as Error).message);
  }
  try {
    const integrity = db.pragma('integrity_check', { simple: true });
    if (integrity !== 'ok') throw new BackupRefused('damaged', String(integrity));
    const schemaVersion = db.pragma('user_version', { simple: true }) as number;
    if (schemaVersion > MIGRATIONS.length) throw new BackupRefused('too-new', `${schemaVersion} > ${MIGRATIONS.length}`);
    let secrets = 0;
    let decrypted = 0;
    const tables = new Set(db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table'`).pluck().all() as string[]);
    for (const { table, column, purpose } of ENCRYPTED_COLUMNS) {
      if (!tables.has(table)) continue;
      for (const value of db.prepare(`SELECT ${column} FROM ${table} WHERE ${column} IS NOT NULL`).pluck().iterate() as Iterable<string>) {
        secrets++;
        try {
          decryptSecret(keyring, value, purpose);
          decrypted++;
        } catch {
          /* counted below */
        }
      }
    }
    if (decrypted < secrets) throw new BackupRefused('key-mismatch', `${secrets - decrypted}/${secrets}`);
    return { schemaVersion, secrets, decrypted };
  } finally {
    db.close();
  }
}

/**
 * Restores a backup as the database file `target` of a fresh installation: checked first
 * (`checkBackup`), then copied (SQLite's backup, so the copy is a clean database file with no
 * write-ahead log beside it) and linked to its name, never over an existing database.
 * @throws {BackupRefused} when the target (or its write-ahead log) exists, or the check fails
 */
export async function restoreDatabase(file: string, target: string, keyring: Keyring, onProgress?: (p: CopyProgress) => void): Promise<BackupCheck & { bytes: number }> {
  for (const f of [target, `${target}-wal`]) if (existsSync(f)) throw new BackupRefused('target-exists', f);
  const check = checkBackup(file, keyring);
  const { bytes } = await backupDatabase(file, target, onProgress);
  return { ...check, bytes };
}
