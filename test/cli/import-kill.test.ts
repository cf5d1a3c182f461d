import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PROJECT_ROOT } from '../../src/config.js';
import { openDatabase } from '../../src/db/database.js';
import { IMPORT_BATCH_ROWS } from '../../src/import/stream.js';
import { writeImportFile } from '../../bench/import-file.js';
import { exited, until } from '../helpers/child-server.js';

const ROWS = 12_000;

test('an import killed (SIGKILL) mid-file keeps the batches it committed; a second run finishes with every row once; a third changes nothing', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'mig-import-kill-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'eksport.csv');
  await writeImportFile(file, ROWS);
  const env = { PATH: process.env.PATH, HOME: process.env.HOME, DATABASE_PATH: path.join(dir, 'app.db'), SECRET_KEY_FILE: path.join(dir, 'secret.key'), DEMO: '0', OPERATOR_NAME: 'Sklep Testowy sp. z o.o.', SUPPORT_EMAIL: 'pomoc@sklep-testowy.example', MX_RESOLVER: 'demo', LOG_LEVEL: 'warn' };
  const cli = () => spawnSync(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'import', file], { cwd: PROJECT_ROOT, env, encoding: 'utf8', timeout: 300_000 });

  const first = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'import', file], { cwd: PROJECT_ROOT, env, stdio: 'ignore' });
  t.after(() => void first.kill('SIGKILL'));
  // Killed once the first batch is committed, while the next ones are being applied.
  let reader: ReturnType<typeof openDatabase> | null = null;
  const committed = () => {
    try {
      reader ??= openDatabase(env.DATABASE_PATH);
      return reader.prepare(`SELECT count(*) FROM autoresponders`).pluck().get() as number;
    } catch {
      return 0; // not created yet
    }
  };
  await until(() => committed() >= IMPORT_BATCH_ROWS || first.exitCode !== null, 240_000, 'the first batch');
  first.kill('SIGKILL');
  await exited(first);
  assert.equal(first.signalCode, 'SIGKILL', 'killed before it finished');
  const atKill = committed();
  assert.ok(atKill >= IMPORT_BATCH_ROWS && atKill < ROWS, `part of the file (${atKill} rows)`);
  assert.equal(atKill % IMPORT_BATCH_ROWS, 0, 'whole batches only: the one in flight was rolled back');

  const second = cli();
  assert.equal(second.status, 0, second.stderr);
  assert.match(second.stdout, new RegExp(`Wiersze / rows: ${ROWS}`));
  assert.match(second.stdout, new RegExp(`zaimportowane / imported:\\s+${ROWS - atKill}\\n`));
  assert.match(second.stdout, new RegExp(`bez zmian / unchanged:\\s+${atKill}\\n`));

  const db = reader!;
  const one = (sql: string) => db.prepare(sql).pluck().get() as number;
  assert.equal(one(`SELECT count(*) FROM autoresponders`), ROWS, 'every row');
  assert.equal(one(`SELECT count(DISTINCT external_id) FROM autoresponders`), ROWS, 'each once');
  assert.equal(one(`SELECT count(*) FROM migrations`), ROWS);
  assert.equal(one(`SELECT count(*) FROM sellers`), ROWS / 2);
  // The trigger-kept list and counters agree with the rows.
  assert.equal(one(`SELECT count(*) FROM account_index`), ROWS);
  assert.equal(one(`SELECT sum(n) FROM account_counts`), ROWS);
  assert.equal(one(`SELECT count(*) FROM audit_log WHERE action = 'import.completed'`), 1, 'the finished import is audited once');

  const third = cli();
  assert.equal(third.status, 0, third.stderr);
  assert.match(third.stdout, new RegExp(`bez zmian / unchanged:\\s+${ROWS}\\n`));
  assert.equal(one(`SELECT count(*) FROM autoresponders`), ROWS);
  db.close();
});
