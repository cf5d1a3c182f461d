import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { migrate, openDatabase } from '../../src/db/database.js';
import { testServices } from '../helpers/core.js';
import { freePort, waitForPort } from '../helpers/ports.js';
import { startSmtp } from '../helpers/smtp.js';
import { exited, serverEnv, startServer, until } from '../helpers/child-server.js';
import { createStaff, seedAccounts, type SeedAccount } from '../helpers/staff.js';

const SELLERS = 60;

test('SIGTERM while a reminder job runs: /readyz says stopping, the e-mails in flight finish and settle, the database closes, exit 0; a restart finishes the job, every seller e-mailed once', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'mig-sigterm-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const dbFile = path.join(dir, 'app.db');
  // A slow relay (400 ms before it answers the end of the message): the stop lands inside sends.
  const relay = await startSmtp({ security: 'plain', acceptDelayMs: 400 });
  t.after(() => relay.stop());
  const db = openDatabase(dbFile);
  migrate(db);
  const s = testServices({ db });
  const accounts: SeedAccount[] = [];
  for (let i = 0; i < SELLERS; i++) accounts.push({ name: `Sprzedawca ${i}`, email: `t${i}@example.pl`, mailbox: `t${i}@gmail.com` });
  seedAccounts(s, accounts);
  const staffId = await createStaff(s, 'agent@wsparcie.example', 'agent');
  const jobId = s.repos.jobs.create({ kind: 'remind', selection: 'filter', filter: '{}', ids: null, note: null, confirmedCount: SELLERS, createdBy: staffId });
  db.close();

  const port = await freePort();
  const env = serverEnv(dbFile, port, { SMTP_URL: `smtp://127.0.0.1:${relay.port}`, LOG_LEVEL: 'info', BULK_CONCURRENCY: '4', SHUTDOWN_TIMEOUT_MS: '20000' });
  const server = startServer(dir, env);
  t.after(() => void server.kill('SIGKILL'));
  await waitForPort(port, 30_000);
  assert.equal((await fetch(`http://127.0.0.1:${port}/readyz`)).status, 200);
  await until(() => relay.received.length >= 8, 60_000, 'the first reminders');

  server.kill('SIGTERM');
  await exited(server);
  assert.equal(server.exitCode, 0, 'a clean stop');
  const log = readFileSync(path.join(dir, 'server.log'), 'utf8');
  assert.match(log, /shutting down: no new requests/);
  assert.match(log, /stopped: work in flight settled, database closed/);

  // Nothing was left half-done: no item running, no e-mail between 'sending' and its outcome.
  const after = openDatabase(dbFile);
  t.after(() => after.close());
  const count = (sql: string) => after.prepare(sql).pluck().get() as number;
  assert.equal(count(`SELECT count(*) FROM job_items WHERE status = 'running'`), 0);
  assert.equal(count(`SELECT count(*) FROM reminders WHERE status IN ('sending', 'committing', 'unknown')`), 0);
  const sentAtStop = count(`SELECT count(*) FROM reminders WHERE status = 'sent'`);
  assert.equal(relay.received.length, sentAtStop, 'every e-mail the relay took is recorded as sent, and only those');
  assert.ok(sentAtStop < SELLERS, `stopped before the end (${sentAtStop} sent)`);

  const second = startServer(dir, env);
  t.after(() => void second.kill('SIGKILL'));
  await until(() => (after.prepare(`SELECT status FROM jobs WHERE id = ?`).pluck().get(jobId) as string) === 'done', 60_000, 'the job to finish after the restart');
  second.kill('SIGTERM');
  await exited(second);
  const per = new Map<string, number>();
  for (const m of relay.received) for (const to of m.to) per.set(to, (per.get(to) ?? 0) + 1);
  assert.equal(per.size, SELLERS, 'every seller reminded');
  assert.deepEqual([...per].filter(([, n]) => n !== 1), [], 'none twice');
});
