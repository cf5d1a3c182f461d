import Database from 'better-sqlite3';
import { closeSync, existsSync, mkdirSync, openSync, statSync } from 'node:fs';
import { MigError } from '../errors.js';
import path from 'node:path';
import { MIGRATIONS } from './migrations.js';
import { warsawWeek } from '../i18n/warsaw.js';

export type Db = Database.Database;

/**
 * Case-folding for search: Unicode lower case (SQLite's own lower() knows only ASCII, so "ŁÓDŹ"
 * would not find "łódź"). Registered on every connection; the schema's triggers use it.
 */
export function fold(value: unknown): string {
  return typeof value === 'string' ? value.normalize('NFC').toLocaleLowerCase('pl') : '';
}

export interface MigrateResult {
  from: number;
  to: number;
}

/** The files SQLite keeps for one database: the database, its write-ahead log and its shared memory. */
export const databaseFiles = (file: string) => [file, `${file}-wal`, `${file}-shm`];

/**
 * The database holds sellers' data, staff password hashes and notes: no other user of the machine may
 * read it. A new folder is made 0700 and a new database file 0600 before SQLite opens it (SQLite
 * gives its -wal and -shm files the database file's mode); an existing file others can read is
 * refused, naming the fix, rather than changed behind the operator's back.
 * @throws {MigError} MIG_ERR_CONFIG when a database file is readable by group or others
 */
function makePrivate(file: string): void {
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const existing = databaseFiles(file).filter((f) => existsSync(f));
  const open = existing.find((f) => statSync(f).mode & 0o077);
  if (open) {
    const mode = (statSync(open).mode & 0o777).toString(8);
    throw new MigError('MIG_ERR_CONFIG', `the database file ${open} can be read by other users of this machine (mode ${mode}); make it private: chmod 600 ${existing.join(' ')} (and chmod 700 ${path.dirname(file)})`);
  }
  // 'a': never truncates a database another process created a moment ago.
  if (!existsSync(file)) closeSync(openSync(file, 'a', 0o600));
}

/**
 * Opens the database with the settings every connection needs: WAL (readers never block the
 * writer), foreign keys on, a busy timeout so a second process (the CLI while the server runs)
 * waits instead of failing.
 */
export function openDatabase(file: string): Db {
  if (file !== ':memory:') makePrivate(file);
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  db.pragma('synchronous = NORMAL');
  db.function('fold', { deterministic: true }, fold);
  // The migration funnel's cohort: the Monday of an instant's week in Warsaw (schema 8's triggers use it).
  db.function('warsaw_week', { deterministic: true }, warsawWeek);
  return db;
}

/**
 * Applies the migrations the database has not seen yet, each in one transaction with its
 * user_version bump. A database newer than this code is refused rather than guessed at.
 * @throws {Error} when the database was written by a newer version of the app.
 */
export function migrate(db: Db, migrations: readonly string[] = MIGRATIONS): MigrateResult {
  const from = db.pragma('user_version', { simple: true }) as number;
  if (from > migrations.length) {
    throw new Error(`Database schema version ${from} is newer than this app knows (${migrations.length})`);
  }
  for (let v = from; v < migrations.length; v++) {
    db.transaction(() => {
      db.exec(migrations[v]!);
      db.pragma(`user_version = ${v + 1}`);
    }).immediate();
  }
  return { from, to: migrations.length };
}

/** A readiness probe of the database, prepared once (a probe hit every few seconds should not compile SQL each time). Throws when the database is not usable. */
export function healthProbe(db: Db): () => void {
  const probe = db.prepare('SELECT count(*) FROM sqlite_master');
  return () => {
    probe.get();
  };
}
