import { randomUUID } from 'node:crypto';
import { after, before, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { build } from '../helpers/build.js';
import { Agent, signIn } from '../helpers/agent.js';
import { startDovecot, type Dovecot } from '../helpers/dovecot.js';
import { freePort } from '../helpers/ports.js';
import { startSmtp, type TestSmtp } from '../helpers/smtp.js';
import { startProxy } from '../helpers/tcp-proxy.js';
import { testCert } from '../helpers/tls.js';
import { seedAccounts, staffAgent, waitForJob } from '../helpers/staff.js';
import { until } from '../helpers/child-server.js';

const GOOD = 'mnbvlkjhpoiuytre';
let dovecot: Dovecot;
let smtp: TestSmtp;

before(async () => {
  dovecot = await startDovecot(Array.from({ length: 20 }, (_, i) => ({ user: `box${i}@firma.pl`, password: GOOD })));
  smtp = await startSmtp({ security: 'starttls', users: { 'box10@firma.pl': GOOD } });
});
after(async () => {
  await dovecot?.stop();
  await smtp?.stop();
});

async function remindJob(t: TestContext, relayPort: number, env: Record<string, string>) {
  const { app } = await build(t, { env: { SMTP_URL: `smtp://127.0.0.1:${relayPort}`, PUBLIC_URL: 'https://migracja.example.pl', ...env } });
  const s = app.services;
  const rows = seedAccounts(s, Array.from({ length: 10 }, (_, i) => ({ name: `Sprzedawca ${i}`, email: `s${i}@example.pl`, mailbox: `s${i}@gmail.com` })));
  const agent = await staffAgent(app, 'agent');
  await agent.get('/staff/accounts');
  const started = await agent.post('/staff/jobs', { action: 'remind', scope: 'all', confirmedCount: '10', confirmationKey: randomUUID() });
  assert.equal(started.statusCode, 303);
  const jobId = Number(/\d+$/.exec(started.headers.location as string)![0]);
  const items = () => s.db.prepare(`SELECT status, attempts, outcome, next_attempt_at AS next, updated_at AS updated FROM job_items WHERE job_id = ?`).all(jobId) as { status: string; attempts: number; outcome: string | null; next: string | null; updated: string }[];
  const reminders = (status: string) => s.db.prepare(`SELECT count(*) FROM reminders WHERE job_id = ? AND status = ?`).pluck().get(jobId, status) as number;
  return { app, s, rows, jobId, items, reminders };
}

test('SMTP down during a reminder job: items wait and retry with backoff, none is lost or marked sent; once it is back each seller gets one e-mail', async (t) => {
  const port = await freePort(); // nothing listens here yet: the relay is down
  const r = await remindJob(t, port, { BULK_RETRY_BASE_MS: '600' });
  await until(() => r.items().every((i) => i.status === 'pending' && i.outcome === 'MIG_ERR_SEND_FAILED'), 10_000, 'a failed first attempt at every item');
  const waiting = r.items();
  assert.ok(waiting.every((i) => ['pending', 'running'].includes(i.status) && i.outcome === 'MIG_ERR_SEND_FAILED'), `every item waits for another try: ${JSON.stringify(waiting.filter((i) => i.outcome !== 'MIG_ERR_SEND_FAILED' || !['pending', 'running'].includes(i.status)))}`);
  for (const i of waiting) if (i.attempts === 1) assert.ok(Date.parse(i.next!) - Date.parse(i.updated) >= 300, `backoff before the second try (${i.next} after ${i.updated})`);
  assert.equal(r.reminders('sent'), 0, 'nothing is marked sent while the relay is down');
  assert.ok(r.reminders('failed') >= 10, 'each failed attempt is on record');

  const relay = await startSmtp({ security: 'plain', port }); // the relay comes back where the app expects it
  t.after(() => relay.stop());
  await waitForJob(r.app, r.jobId, 30_000);
  const done = r.items();
  assert.ok(done.every((i) => i.status === 'done' && i.outcome === 'sent'), JSON.stringify(done));
  assert.equal(relay.received.length, 10, 'ten e-mails');
  assert.equal(new Set(relay.received.flatMap((m) => m.to)).size, 10, 'one per seller');
  assert.equal(r.reminders('sent'), 10);
  const retries = r.s.db.prepare(`SELECT count(*) FROM audit_log WHERE action = 'job.item.retry' AND details LIKE ?`).pluck().get(`%"jobId":${r.jobId},%`) as number;
  assert.ok(retries >= 10, `each retry is audited (${retries})`);
});

test('SMTP down for the whole job: every item ends failed after its attempts, none marked sent, and the sellers can be reminded later', async (t) => {
  const port = await freePort();
  const r = await remindJob(t, port, { BULK_RETRY_BASE_MS: '20' });
  await waitForJob(r.app, r.jobId, 30_000);
  const items = r.items();
  assert.equal(items.length, 10, 'no item lost');
  assert.ok(items.every((i) => i.status === 'failed' && i.outcome === 'MIG_ERR_SEND_FAILED' && i.attempts === 4), JSON.stringify(items));
  assert.equal(r.reminders('sent'), 0);
  assert.equal(r.reminders('committing') + r.reminders('sending') + r.reminders('unknown'), 0, 'no reminder left in between');
  for (const row of r.rows) assert.equal(r.app.staffActions.reminderBlock(row.sellerId, { jobId: null, itemId: null, staffId: 1 }), null, 'not blocked as "recently reminded"');
  const page = await (await staffAgent(r.app, 'viewer', 'widz@wsparcie.example')).get(`/staff/jobs/${r.jobId}`);
  assert.match(page.body, /serwer poczty chwilowo nie przyjął e-maila/, 'the job page says what failed');
});

test('two agents re-check overlapping accounts while a seller saves an app password mid-check: no lost update, and the audit log tells it in order', async (t) => {
  // The seller's mailbox is reached through a slow proxy, so a staff check is in flight when the seller saves.
  const slow = await startProxy(dovecot.port, '127.0.0.1', { delayMs: 800 });
  const fast = await startProxy(dovecot.port);
  t.after(() => slow.stop());
  t.after(() => fast.stop());
  const { app } = await build(t, {
    env: {
      MAIL_TLS_CA_FILE: testCert().certFile,
      MAIL_HOST_ALLOWLIST: '127.0.0.1',
      MAIL_ADDRESS_ALLOWLIST: '127.0.0.1',
      MAIL_PORT_ALLOWLIST: `${dovecot.port},${smtp.port},${slow.port},${fast.port}`,
      MAIL_CHECK_TIMEOUT_MS: '5000',
      BULK_CONCURRENCY: '8',
      BULK_PER_HOST_CONCURRENCY: '4',
    },
  });
  const s = app.services;
  // 0–5 only in job A, 6–13 in both, 14–19 only in job B; all still on an old account password.
  const group = (i: number) => (i < 6 ? 'Alfa' : i < 14 ? 'Alfa Beta' : 'Beta');
  const rows = seedAccounts(
    s,
    Array.from({ length: 20 }, (_, i) => ({
      name: `${group(i)} sklep ${i}`,
      email: `s${i}@example.pl`,
      mailbox: `box${i}@firma.pl`,
      provider: 'workspace' as const,
      imapHost: '127.0.0.1',
      imapPort: i === 10 ? slow.port : fast.port,
      secret: 'stare-haslo-konta',
      secretKind: 'account_password' as const,
    })),
  );
  const target = rows[10]!;
  const seller = new Agent(app);
  await signIn(seller, target.sellerId);
  await seller.post(`/mailboxes/${target.mailboxId}/app-password/start`);
  await seller.get(`/mailboxes/${target.mailboxId}/app-password/3`);

  const a = await staffAgent(app, 'agent', 'agentka.a@wsparcie.example');
  const b = await staffAgent(app, 'agent', 'agent.b@wsparcie.example');
  await a.get('/staff/accounts');
  await b.get('/staff/accounts');
  const jobA = await a.post('/staff/jobs', { action: 'recheck', scope: 'all', q: 'Alfa', confirmedCount: '14', confirmationKey: randomUUID() });
  const jobB = await b.post('/staff/jobs', { action: 'recheck', scope: 'all', q: 'Beta', confirmedCount: '14', confirmationKey: randomUUID() });
  const ids = [jobA, jobB].map((r) => Number(/\d+$/.exec(r.headers.location as string)![0]));

  await until(() => slow.active >= 1, 10_000, "a staff check of the seller's mailbox in flight");
  const saved = await seller.post(`/mailboxes/${target.mailboxId}/app-password`, { app_password: GOOD, imap_host: '127.0.0.1', imap_port: String(dovecot.port), smtp_host: '127.0.0.1', smtp_port: String(smtp.port) });
  assert.equal(saved.statusCode, 303, 'the seller saved the app password');
  for (const id of ids) await waitForJob(app, id, 60_000);

  // The seller's work stands: relinked, no error, the new password stored.
  const m = s.repos.migrations.findByAutoresponder(target.autoresponderId)!;
  assert.equal(m.state, 'relinked_app_password');
  assert.equal(m.lastErrorCode, null);
  assert.equal(s.secrets.decrypt(s.repos.mailboxes.getEncryptedSecret(target.mailboxId!)!, 'mailbox-secret'), GOOD);
  assert.equal(slow.max, 1, 'never two connections to one mailbox, even from two jobs');

  // Each job: all its items, each settled once; the overlap checked by both.
  for (const id of ids) {
    const c = s.repos.jobs.counts(id);
    assert.equal(c.done + c.failed + c.skipped, 14, `job ${id}: ${JSON.stringify(c)}`);
  }
  const targetItems = s.db.prepare(`SELECT job_id AS jobId, status, outcome FROM job_items WHERE autoresponder_id = ? ORDER BY job_id`).all(target.autoresponderId) as { jobId: number; status: string; outcome: string }[];
  assert.equal(targetItems.length, 2);
  // One login at a time per mailbox (checks/): the seller's save waited for the check in flight, which
  // was about the old password then stored; the other job's check came after the save and passed.
  assert.ok(targetItems.some((i) => i.outcome === 'MAIL_AUTH_FAILED'), `the check in flight used the old password: ${JSON.stringify(targetItems)}`);
  assert.ok(targetItems.some((i) => i.outcome === 'ok'), 'the later check used the new password and passed');
  // The others still fail with their old password and keep their state.
  for (const r of rows.filter((x) => x !== target)) {
    const other = s.repos.migrations.findByAutoresponder(r.autoresponderId)!;
    assert.equal(other.state, 'affected');
    assert.equal(other.lastErrorCode, 'MAIL_AUTH_FAILED');
  }

  // The audit log, in order: the check in flight, then the seller's save, then the passing check.
  // The account's timeline as staff see it, oldest first.
  const story = s.repos.audit.timeline(target.autoresponderId, target.mailboxId, target.sellerId).reverse().map((e) => ({ ...e, details: JSON.stringify(e.details) }));
  const failed = story.find((e) => e.action.startsWith('job.item') && e.details?.includes('MAIL_AUTH_FAILED'));
  const passed = story.find((e) => e.action.startsWith('job.item') && e.details?.includes('"outcome":"ok"'));
  assert.ok(failed && passed, story.map((e) => `${e.action} ${e.details}`).join('\n'));
  const savedAt = story.find((e) => e.action === 'mailbox.relinked')!.id;
  assert.ok(failed.id < savedAt && savedAt < passed.id, 'the old check ended, then the seller saved, then the new check passed');
  assert.ok(!story.some((e) => e.details?.includes('needs_attention')), 'nothing moved the seller to needs attention');
});
