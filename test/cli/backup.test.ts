import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PROJECT_ROOT } from '../../src/config.js';
import { migrate, openDatabase } from '../../src/db/database.js';
import { decryptSecret } from '../../src/crypto/secret-box.js';
import { ENCRYPTED_COLUMNS } from '../../src/crypto/secrets.js';
import { TEST_KEY_TEXT, testKeyring, testServices, freshKeyText } from '../helpers/core.js';
import { freePort, waitForPort } from '../helpers/ports.js';
import { startSmtp } from '../helpers/smtp.js';
import { exited, serverEnv, startServer, until } from '../helpers/child-server.js';
import { createStaff, seedAccounts, type SeedAccount } from '../helpers/staff.js';

const SELLERS = 150;

/** The CLI as a separate process (not spawnSync: the test keeps watching the server meanwhile). */
function cli(env: Record<string, string>, ...args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], { cwd: PROJECT_ROOT, env: { PATH: process.env.PATH, HOME: process.env.HOME, LOG_LEVEL: 'warn', ...env } });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d));
  child.stderr.on('data', (d: Buffer) => (err += d));
  const kill = setTimeout(() => child.kill('SIGKILL'), 60_000);
  return new Promise((resolve) => child.on('close', (code) => (clearTimeout(kill), resolve({ code, out, err }))));
}

const tableCounts = (file: string) => {
  const db = openDatabase(file);
  try {
    const tables = db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name`).pluck().all() as string[];
    return Object.fromEntries(tables.map((t) => [t, db.prepare(`SELECT count(*) FROM "${t}"`).pluck().get() as number]));
  } finally {
    db.close();
  }
};

test('backup while the server writes, then restore on a fresh folder: the restored server starts with the same data and every secret decrypts', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'mig-backup-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const dbFile = path.join(dir, 'app.db');
  const relay = await startSmtp({ security: 'plain', acceptDelayMs: 20 });
  t.after(() => relay.stop());

  // Sellers with stored mailbox passwords, and a reminder job the server works through (it writes
  // reminders, outbox rows, job items and audit entries all the while).
  const db = openDatabase(dbFile);
  migrate(db);
  const s = testServices({ db });
  const accounts: SeedAccount[] = [];
  for (let i = 0; i < SELLERS; i++) accounts.push({ name: `Sprzedawca ${i}`, email: `b${i}@example.pl`, mailbox: `b${i}@gmail.com`, secret: `Haslo-${i}-tajne` });
  seedAccounts(s, accounts);
  const staffId = await createStaff(s, 'agent@wsparcie.example', 'agent');
  s.repos.jobs.create({ kind: 'remind', selection: 'filter', filter: '{}', ids: null, note: null, confirmedCount: SELLERS, createdBy: staffId });
  db.close();

  const port = await freePort();
  const server = startServer(dir, serverEnv(dbFile, port, { SMTP_URL: `smtp://127.0.0.1:${relay.port}`, LOG_LEVEL: 'warn', BULK_CONCURRENCY: '4' }));
  t.after(() => void server.kill('SIGKILL'));
  await until(() => relay.received.length >= 10, 60_000, 'the server to start sending reminders');

  const backupFile = path.join(dir, 'kopie', 'app-backup.db');
  const env = { DATABASE_PATH: dbFile, APP_SECRET_KEY: TEST_KEY_TEXT, DEMO: '0', OPERATOR_NAME: 'Sklep Testowy sp. z o.o.', SUPPORT_EMAIL: 'pomoc@sklep-testowy.example' };
  const sentBefore = relay.received.length;
  const backup = await cli(env, 'backup', backupFile);
  const sentAfter = relay.received.length;
  assert.equal(backup.code, 0, backup.err);
  assert.match(backup.out, /Kopia zapisana \/ Backup written/);
  assert.match(backup.out, /Kopia nie zawiera klucza szyfrowania.*APP_SECRET_KEY/);
  assert.equal(statSync(backupFile).mode & 0o077, 0, 'the backup is readable by its owner only');
  t.diagnostic(`e-mails sent when the backup started: ${sentBefore}, when it ended: ${sentAfter}`);

  // A second backup to the same name is refused and the first copy is left as it was.
  const size = statSync(backupFile).size;
  const again = await cli(env, 'backup', backupFile);
  assert.equal(again.code, 1);
  assert.match(again.err, /Plik już istnieje, nie nadpisuję go/);
  assert.equal(statSync(backupFile).size, size);

  server.kill('SIGTERM');
  await exited(server);
  const copy = openDatabase(backupFile);
  assert.equal(copy.pragma('integrity_check', { simple: true }), 'ok');
  // The copy is one state of the database: every reminder written has its outbox row and job item.
  const sent = copy.prepare(`SELECT count(*) FROM reminders`).pluck().get() as number;
  const itemsSettled = copy.prepare(`SELECT count(*) FROM job_items WHERE status != 'pending'`).pluck().get() as number;
  assert.ok(sent > 0 && itemsSettled >= sent - 4, `reminders ${sent}, items started ${itemsSettled}`);
  copy.close();
  const inBackup = tableCounts(backupFile);

  // Restore into a fresh folder: a wrong key is refused before anything is written, the right one works.
  const fresh = path.join(dir, 'fresh');
  const restoredFile = path.join(fresh, 'app.db');
  const wrongKey = await cli({ DATABASE_PATH: restoredFile, APP_SECRET_KEY: freshKeyText(), DEMO: '0', OPERATOR_NAME: 'Sklep Testowy sp. z o.o.', SUPPORT_EMAIL: 'pomoc@sklep-testowy.example' }, 'restore', backupFile);
  assert.equal(wrongKey.code, 1);
  assert.match(wrongKey.err, /Klucz nie odczytuje sekretów z kopii; nic nie odtworzono/);
  const restore = await cli({ DATABASE_PATH: restoredFile, APP_SECRET_KEY: TEST_KEY_TEXT, DEMO: '0', OPERATOR_NAME: 'Sklep Testowy sp. z o.o.', SUPPORT_EMAIL: 'pomoc@sklep-testowy.example' }, 'restore', backupFile);
  assert.equal(restore.code, 0, restore.err);
  assert.match(restore.out, new RegExp(`sekrety odczytane kluczem / secrets read with the key: ${SELLERS}/${SELLERS}`));
  assert.deepEqual(tableCounts(restoredFile), inBackup, 'the restored database holds what the backup holds');
  // Restoring over an existing database is refused.
  const over = await cli({ DATABASE_PATH: restoredFile, APP_SECRET_KEY: TEST_KEY_TEXT, DEMO: '0', OPERATOR_NAME: 'Sklep Testowy sp. z o.o.', SUPPORT_EMAIL: 'pomoc@sklep-testowy.example' }, 'restore', backupFile);
  assert.equal(over.code, 1);
  assert.match(over.err, /Baza już istnieje/);

  // The restored server starts and answers; then every stored secret decrypts to what was stored.
  const port2 = await freePort();
  const restored = startServer(fresh, serverEnv(restoredFile, port2, { LOG_LEVEL: 'warn', SMTP_URL: `smtp://127.0.0.1:${relay.port}` }));
  t.after(() => void restored.kill('SIGKILL'));
  await waitForPort(port2, 30_000);
  const health = await fetch(`http://127.0.0.1:${port2}/healthz`);
  assert.equal(health.status, 200);
  restored.kill('SIGTERM');
  await exited(restored);
  const after = openDatabase(restoredFile);
  t.after(() => after.close());
  assert.equal(after.prepare(`SELECT count(*) FROM sellers`).pluck().get(), SELLERS);
  const keyring = testKeyring();
  let decrypted = 0;
  for (const { table, column, purpose } of ENCRYPTED_COLUMNS) {
    for (const row of after.prepare(`SELECT ${column} AS value FROM ${table} WHERE ${column} IS NOT NULL`).all() as { value: string }[]) {
      assert.match(decryptSecret(keyring, row.value, purpose), /^Haslo-\d+-tajne$/);
      decrypted++;
    }
  }
  assert.equal(decrypted, SELLERS);
});
