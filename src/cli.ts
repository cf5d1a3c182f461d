import { closeSync, openSync } from 'node:fs';
import path from 'node:path';
import { ConfigError, loadConfig, readEnvironment, type AppConfig } from './config.js';
import { generateKeyText } from './crypto/secret-box.js';
import { migrate, openDatabase } from './db/database.js';
import { migErrorCode } from './errors.js';
import { importFile } from './import/stream.js';
import { createServices, keysFor, mailServerPolicyFor, resolverFor } from './composition.js';
import { rotateKey } from './ops/rotate-key.js';
import { backupDatabase, BackupRefused, restoreDatabase } from './ops/backup.js';
import { createProgress } from './ops/progress.js';
import { existsSync } from 'node:fs';
import { loadKeys } from './crypto/key-store.js';
import { parseArgs } from 'node:util';
import { createInterface } from 'node:readline/promises';
import { z } from 'zod';
import { hashPassword, PASSWORD_MAX, PASSWORD_MIN } from './crypto/password.js';
import { STAFF_ROLES } from './domain/model.js';
import { createI18n, type I18n } from './i18n/index.js';
import { bilingual } from './i18n/bilingual.js';

/** The password for staff:create: STAFF_PASSWORD, or one line of standard input (a prompt on a terminal). */
async function readPassword(prompt: string): Promise<string> {
  if (process.env.STAFF_PASSWORD) return process.env.STAFF_PASSWORD;
  const rl = createInterface({ input: process.stdin, output: process.stdin.isTTY ? process.stdout : undefined, terminal: false });
  try {
    return await rl.question(process.stdin.isTTY ? prompt : '');
  } finally {
    rl.close();
  }
}

/**
 * The help text. Every text is in both catalogs, printed Polish then English as the rest of the
 * command line; the command syntax is written once, with the Polish placeholder (PLIK.csv).
 */
function usage(i18n: I18n): string {
  const both = (key: string) => bilingual(i18n, `cli.usage.${key}`);
  const file = `${i18n.t('pl')('cli.usage.file')}.csv`;
  const command = (syntax: string, key: string) => `  ${syntax.padEnd(18)}${both(key)}`;
  const indent = ' '.repeat(20);
  return [
    `${both('usage')}: npm run cli -- <${both('command')}>`,
    '',
    command(`import ${file}`, 'import'),
    command('detect', 'detect'),
    command('rotate-key', 'rotateKey'),
    command('generate-key', 'generateKey'),
    command(`backup ${file.replace('.csv', '.db')}`, 'backup'),
    command(`restore ${file.replace('.csv', '.db')}`, 'restore'),
    `  staff:create --email E --role ${STAFF_ROLES.join('|')}`,
    // Too long for one line: Polish, then "/ English" below it.
    `${indent}${i18n.t('pl')('cli.usage.staffCreate')}`,
    `${indent}/ ${i18n.t('en')('cli.usage.staffCreate')}`,
    '',
    `${both('exitCodes')}: 0 ok, 1 ${both('exitError')}, 2 ${both('exitRejected')}.`,
  ].join('\n');
}

function openServices(config: AppConfig) {
  const db = openDatabase(config.databasePath);
  migrate(db);
  const keys = keysFor(config);
  return createServices({ db, keyring: keys.keyring, mxResolver: resolverFor(config), mxCacheTtlMs: config.mxCacheTtlMs, mailServers: mailServerPolicyFor(config) });
}

async function run(argv: string[]): Promise<number> {
  const [command, ...args] = argv;
  const i18n = await createI18n();
  const both = (key: string) => bilingual(i18n, `cli.${key}`);
  if (!command || command === 'help' || command === '--help' || command === '-h') {
    console.log(usage(i18n));
    return command ? 0 : 1;
  }
  if (command === 'generate-key') {
    console.log(generateKeyText());
    return 0;
  }
  const config = loadConfig(readEnvironment());
  const actor = { type: 'cli' as const, id: command };

  switch (command) {
    case 'import': {
      const file = args[0];
      if (!file || args.length > 1) {
        console.error(`${both('import.oneFile')}: npm run cli -- import ${i18n.t('pl')('cli.usage.file')}.csv`);
        return 1;
      }
      try {
        closeSync(openSync(file, 'r'));
      } catch (err) {
        console.error(`${both('import.unreadable')} ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
        return 1;
      }
      const services = openServices(config);
      // This connection only: inside the import's transaction, a write that fires triggers keeps a journal
      // of the pages it changes (to undo that statement alone), and SQLite moves that journal to a
      // temporary file once it passes 64 KiB; held in memory, a new account's migration record cost about
      // a third of what it did. Temporary data is never durable: the database's durability is unchanged.
      services.db.pragma('temp_store = MEMORY');
      // And a page cache of at most 128 MiB (the default is 2 MiB; a million rows' indexes are far larger)
      // with a checkpoint every 10,000 pages of WAL (40 MiB) instead of 1,000: a page written by several
      // batches is copied into the database once. Together about 6 % less CPU at 1M rows (each alone
      // showed nothing, nor both at 100k); memory stays bounded. Durability is unchanged (synchronous as set).
      services.db.pragma('cache_size = -131072');
      services.db.pragma('wal_autocheckpoint = 10000');
      try {
        // Streamed in batches: rows, rows per second and time left on a terminal, a line every 5 s in a log.
        const progress = createProgress({ unit: both('progress.rows'), left: both('progress.left') });
        const r = await importFile(file, services, { actor, fileName: path.basename(file), onProgress: (p) => progress.update(p.rows, p.totalRows) });
        progress.finish(r.rows, r.rows);
        // The counts line up: each label is padded to the longest one.
        const counts = (['imported', 'updated', 'unchanged', 'rejected'] as const).map((k) => [`${both(`import.${k}`)}:`, r[k]] as const);
        const width = Math.max(...counts.map(([label]) => label.length)) + 2;
        console.log(`${both('import.rows')}: ${r.rows}`);
        for (const [label, n] of counts) console.log(`  ${label.padEnd(width)}${n}`);
        if (r.ignoredColumns.length) console.log(`${both('import.ignoredColumns')}: ${r.ignoredColumns.join(', ')}`);
        const where = (p: { line: number; column: string | null }) => `${both('import.line')} ${p.line}${p.column ? `, ${both('import.column')} ${p.column}` : ''}`;
        for (const p of r.problems) console.log(`  ✗ ${where(p)}: ${p.reason}`);
        for (const n of r.notes) console.log(`  ℹ ${where(n)}: ${n.reason}`);
        return r.rejected ? 2 : 0;
      } finally {
        services.db.close();
      }
    }
    case 'detect': {
      const services = openServices(config);
      try {
        const s = await services.detection.redetectAll(actor);
        console.log(`${both('detect.mailboxes')}: ${s.mailboxes}; ${both('detect.changedVerdicts')}: ${s.changedMailboxes}; ${both('detect.changedMigrations')}: ${s.changedMigrations}`);
        return 0;
      } finally {
        services.db.close();
      }
    }
    case 'rotate-key': {
      const db = openDatabase(config.databasePath);
      migrate(db);
      try {
        const source = config.secretKeys ? ({ kind: 'env', keys: config.secretKeys } as const) : ({ kind: 'file', file: config.secretKeyFile } as const);
        if (source.kind === 'file') keysFor(config); // creates the file on a fresh install
        const services = createServices({ db, keyring: keysFor(config).keyring, mxResolver: resolverFor(config) });
        const r = rotateKey(db, source, services.repos.audit, actor);
        console.log(`${both('rotateKey.secrets')}: ${r.total}; ${both('rotateKey.reencrypted')}: ${r.reencrypted}; ${both('rotateKey.key')}: ${r.primaryKeyId}`);
        if (r.generated) console.log(`${both('rotateKey.newKeyFile')} ${config.secretKeyFile}. ${both('rotateKey.restart')}.`);
        else if (r.retiredKeyIds.length) console.log(`${both('rotateKey.retiredKeys')}: ${r.retiredKeyIds.join(', ')}`);
        return 0;
      } finally {
        db.close();
      }
    }
    case 'backup':
    case 'restore': {
      const file = args[0];
      if (!file || args.length > 1) {
        console.error(`${both(`${command}.oneFile`)}: npm run cli -- ${command} ${i18n.t('pl')('cli.usage.file')}.db`);
        return 1;
      }
      const progress = createProgress({ unit: both('progress.pages'), left: both('progress.left') });
      const onProgress = (p: { donePages: number; totalPages: number }) => progress.update(p.donePages, p.totalPages);
      const refused = (err: unknown) => {
        if (!(err instanceof BackupRefused)) throw err;
        const key = { 'target-exists': 'targetExists', 'source-missing': 'sourceMissing', 'not-a-database': 'notADatabase', damaged: 'damaged', 'too-new': 'tooNew', 'key-mismatch': 'keyMismatch' }[err.reason];
        console.error(`${both(`${command === 'backup' && err.reason !== 'target-exists' && err.reason !== 'source-missing' ? 'restore' : command}.${key}`)}: ${err.detail}`);
        return 1;
      };
      const where = config.secretKeys ? both('backup.keyEnv') : `${both('backup.keyFile')} ${config.secretKeyFile}`;
      if (command === 'backup') {
        try {
          const r = await backupDatabase(config.databasePath, file, onProgress);
          progress.finish(r.pages, r.pages);
          console.log(`${both('backup.done')}: ${file} (${both('backup.size')} ${(r.bytes / 1048576).toFixed(1)} MB)`);
          console.log(`${both('backup.keyNeeded')}: ${where}.`);
          return 0;
        } catch (err) {
          return refused(err);
        }
      }
      // A restore never makes a key: a new one would read nothing in the backup.
      if (!config.secretKeys && !existsSync(config.secretKeyFile)) {
        console.error(`${both('restore.noKey')} ${config.secretKeyFile} ${both('restore.orEnv')}.`);
        return 1;
      }
      const keyring = loadKeys(config.secretKeys ? { kind: 'env', keys: config.secretKeys } : { kind: 'file', file: config.secretKeyFile }).keyring;
      try {
        const r = await restoreDatabase(file, config.databasePath, keyring, onProgress);
        progress.finish(r.bytes / 4096, r.bytes / 4096);
        console.log(`${both('restore.done')} ${config.databasePath}; ${both('restore.secrets')}: ${r.decrypted}/${r.secrets}.`);
        console.log(`${both('restore.start')}.`);
        return 0;
      } catch (err) {
        return refused(err);
      }
    }
    case 'staff:create': {
      let parsed;
      try {
        parsed = parseArgs({ args, options: { email: { type: 'string' }, role: { type: 'string' } }, strict: true });
      } catch (err) {
        console.error(`${(err as Error).message}\n${both('usage.usage')}: npm run cli -- staff:create --email E --role ${STAFF_ROLES.join('|')}`);
        return 1;
      }
      const email = z.string().trim().max(254).pipe(z.email()).safeParse(parsed.values.email ?? '');
      if (!email.success) {
        console.error(`--email: ${both('staff.email')}`);
        return 1;
      }
      const role = z.enum(STAFF_ROLES).safeParse(parsed.values.role);
      if (!role.success) {
        console.error(`--role: ${both('staff.role')} ${STAFF_ROLES.join(', ')}`);
        return 1;
      }
      const password = (await readPassword(`${both('staff.password')}: `)).replace(/\r?\n$/, '');
      if (password.length < PASSWORD_MIN || password.length > PASSWORD_MAX) {
        console.error(bilingual(i18n, 'cli.staff.passwordLength', { min: PASSWORD_MIN, max: PASSWORD_MAX }));
        return 1;
      }
      const services = openServices(config);
      try {
        const passwordHash = await hashPassword(password);
        const r = services.db.transaction(() => {
          const result = services.repos.staff.upsert({ email: email.data, passwordHash, role: role.data });
          // A new password for an existing account ends its sessions: a cookie made with the old one stops working.
          if (!result.created) services.repos.sessions.destroyAllOf('staff', result.id);
          services.repos.audit.record(actor, result.id, { action: result.created ? 'staff.created' : 'staff.updated', details: { email: email.data, role: role.data } });
          return result;
        })();
        console.log(`${both(r.created ? 'staff.created' : 'staff.updated')}: ${email.data} (${role.data})`);
        return 0;
      } finally {
        services.db.close();
      }
    }
    default:
      console.error(`${both('usage.unknownCommand')}: ${command}\n\n${usage(i18n)}`);
      return 1;
  }
}

run(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    if (err instanceof ConfigError) console.error(err.message);
    else console.error(migErrorCode(err) ? `${migErrorCode(err)}: ${(err as Error).message}` : err);
    process.exit(1);
  },
);
