import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { migrate, openDatabase } from '../../src/db/database.js';
import { testServices } from '../helpers/core.js';
import { freePort, waitForPort } from '../helpers/ports.js';
import { startSmtp } from '../helpers/smtp.js';
import { record } from '../helpers/transcript.js';
import { exited, serverEnv, startServer, until } from '../helpers/child-server.js';
import { createStaff, seedAccounts, type SeedAccount } from '../helpers/staff.js';

const SELLERS = 220;

test('a reminder job killed (SIGKILL) halfway resumes after a restart: every seller gets exactly one e-mail, none twice, the job finishes', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'mig-restart-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const dbFile = path.join(dir, 'app.db');
  // A slow server (30 ms before it answers 250) so the kill can land inside a send.
  const relay = await startSmtp({ security: 'plain', acceptDelayMs: 30 });
  t.after(() => relay.stop());

  // Seed the file database: 220 sellers, 40 of them with two autoresponders, and a queued job.
  const db = openDatabase(dbFile);
  migrate(db);
  const s = testServices({ db });
  const accounts: SeedAccount[] = [];
  for (let i = 0; i < SELLERS; i++) {
    accounts.push({ name: `Sprzedawca ${i}`, email: `r${i}@example.pl`, mailbox: `r${i}@gmail.com`, sellerExternalId: `K${i}` });
    if (i < 40) accounts.push({ name: `Sprzedawca ${i}`, email: `r${i}@example.pl`, mailbox: `r${i}-2@gmail.com`, sellerExternalId: `K${i}` });
  }
  seedAccounts(s, accounts);
  const staffId = await createStaff(s, 'agent@wsparcie.example', 'agent');
  const jobId = s.repos.jobs.create({ kind: 'remind', selection: 'filter', filter: '{}', ids: null, note: null, confirmedCount: SELLERS + 40, createdBy: staffId });
  db.close();

  const port = await freePort();
  const env = serverEnv(dbFile, port, { SMTP_URL: `smtp://127.0.0.1:${relay.port}`, LOG_LEVEL: 'warn', BULK_CONCURRENCY: '4' });
  const first = startServer(dir, env);
  t.after(() => void first.kill('SIGKILL'));
  await until(() => relay.received.length >= 100, 60_000, '100 e-mails');
  first.kill('SIGKILL');
  await exited(first);
  const atKill = relay.received.length;
  assert.ok(atKill < SELLERS, `killed halfway (${atKill} sent)`);

  const second = startServer(dir, env);
  t.after(() => void second.kill('SIGKILL'));
  await waitForPort(port, 30_000);
  const reader = openDatabase(dbFile);
  t.after(() => reader.close());
  await until(() => (reader.prepare(`SELECT status FROM jobs WHERE id = ?`).pluck().get(jobId) as string) === 'done', 60_000, 'the job to finish after the restart');
  second.kill('SIGTERM');
  await exited(second);

  const perRecipient = new Map<string, number>();
  for (const m of relay.received) for (const to of m.to) perRecipient.set(to, (perRecipient.get(to) ?? 0) + 1);
  const twice = [...perRecipient].filter(([, n]) => n > 1);
  assert.deepEqual(twice, [], 'no seller got two reminders');

  const items = reader.prepare(`SELECT status, outcome, count(*) AS n FROM job_items WHERE job_id = ? GROUP BY 1, 2`).all(jobId) as { status: string; outcome: string; n: number }[];
  const count = (status: string, outcome?: string) => items.filter((i) => i.status === status && (!outcome || i.outcome === outcome)).reduce((n, i) => n + i.n, 0);
  assert.equal(count('pending') + count('running'), 0, 'nothing left unfinished');
  assert.equal(count('skipped', 'already_in_job'), 40);
  // Sent for certain, or uncertain (the process died after the end of the message went out): never resent.
  assert.equal(count('done', 'sent') + count('unknown'), SELLERS);
  const reminders = reader.prepare(`SELECT s.email, r.status FROM reminders r JOIN sellers s ON s.id = r.seller_id WHERE r.status != 'failed'`).all() as { email: string; status: string }[];
  assert.equal(reminders.length, SELLERS);
  for (const r of reminders) {
    const n = perRecipient.get(r.email) ?? 0;
    if (r.status === 'sent') assert.equal(n, 1, `${r.email}: sent once`);
    else assert.ok(r.status === 'unknown' && n <= 1, `${r.email}: ${r.status}, received ${n}`);
  }
  assert.ok(count('unknown') <= 4, 'at most the sends in flight at the kill are uncertain');
  t.diagnostic(`killed after ${atKill} e-mails; uncertain: ${count('unknown')}; failed attempts resent: ${reader.prepare("SELECT count(*) FROM reminders WHERE status = 'failed'").pluck().get()}`);
  // Every seller with a certain send got it (above). An uncertain one may or may not have reached the
  // server: the kill can fall after "committing" was written and before the end of the message left
  // (CI saw one such), which is exactly why it is "uncertain" and never resent on its own.
  const uncertainReceived = reminders.filter((r) => r.status === 'unknown' && perRecipient.has(r.email)).length;
  assert.equal(perRecipient.size, SELLERS - count('unknown') + uncertainReceived, 'every seller with a certain reminder got it; nobody else got one');
  t.diagnostic(`uncertain reminders the server had in fact received: ${uncertainReceived} of ${count('unknown')}`);
  const log = readFileSync(path.join(dir, 'server.log'), 'utf8');
  record('server-log', 'staff-jobs-restart child server', log);
  assert.match(log, /work resumed after a restart/);
});
