import { randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { build } from '../helpers/build.js';
import { Agent } from '../helpers/agent.js';
import { startDovecot, type Dovecot } from '../helpers/dovecot.js';
import { decodeQuotedPrintable, startSmtp, type TestSmtp } from '../helpers/smtp.js';
import { startProxy, type TcpProxy } from '../helpers/tcp-proxy.js';
import { testCert } from '../helpers/tls.js';
import { confirmationKeyOf, seedAccounts, staffAgent, waitForJob, type SeedAccount } from '../helpers/staff.js';

const GOOD = 'abcdefghijklmnop';
const MAILBOXES = 160;
let dovecot: Dovecot;
let relay: TestSmtp;
/** The mailboxes' own SMTP (AUTH with the app password): a re-check logs in over IMAP and SMTP. */
let mailSmtp: TestSmtp;
let hostProxy: TcpProxy;
let sharedProxy: TcpProxy;

before(async () => {
  dovecot = await startDovecot(Array.from({ length: MAILBOXES }, (_, i) => ({ user: `box${i}@gmail.com`, password: GOOD })));
  relay = await startSmtp({ security: 'plain' });
  mailSmtp = await startSmtp({ security: 'tls', users: Object.fromEntries(Array.from({ length: 160 }, (_, i) => [`box${i}@gmail.com`, GOOD])) });
  hostProxy = await startProxy(dovecot.port);
  sharedProxy = await startProxy(dovecot.port);
});
after(async () => {
  await hostProxy?.stop();
  await sharedProxy?.stop();
  await dovecot?.stop();
  await relay?.stop();
  await mailSmtp?.stop();
});

async function setup(t: import('node:test').TestContext, env: Record<string, string> = {}) {
  return build(t, {
    env: {
      MAIL_TLS_CA_FILE: testCert().certFile,
      // Dovecot and the counting proxies in front of it, on loopback: allowed explicitly.
      MAIL_ADDRESS_ALLOWLIST: '127.0.0.1',
      MAIL_PORT_ALLOWLIST: `${dovecot.port},${hostProxy.port},${sharedProxy.port},${mailSmtp.port}`,
      MAIL_CHECK_TIMEOUT_MS: '5000',
      SMTP_URL: `smtp://127.0.0.1:${relay.port}`,
      PUBLIC_URL: 'https://migracja.example.pl',
      BULK_CONCURRENCY: '8',
      BULK_PER_HOST_CONCURRENCY: '4',
      ...env,
    },
  });
}

test('bulk re-check of 200 autoresponders against Dovecot: same codes as the seller path, caps held, one connection per mailbox', async (t) => {
  const { app } = await setup(t);
  const s = app.services;
  const accounts: SeedAccount[] = [];
  // 150 mailboxes through the counting proxy: 130 with the right app password, 20 with an old account password.
  for (let i = 0; i < 150; i++) {
    accounts.push({
      name: `Sprzedawca ${i}`,
      email: `box${i}@gmail.com`,
      mailbox: `box${i}@gmail.com`,
      imapHost: '127.0.0.1',
      imapPort: hostProxy.port,
      smtpPort: mailSmtp.port,
      secret: i < 130 ? GOOD : 'stare-haslo-konta',
      secretKind: i < 130 ? 'app_password' : 'account_password',
      state: i < 130 ? 'relinked_app_password' : 'affected',
    });
  }
  // 10 without a stored password: nothing to log in with.
  for (let i = 0; i < 10; i++) accounts.push({ name: `Bez hasła ${i}`, email: `nohash${i}@gmail.com`, mailbox: `nohash${i}@gmail.com` });
  const rows = seedAccounts(s, accounts);
  // One mailbox read by 40 autoresponders (v1 and v2 of one seller), behind its own proxy.
  const shared = seedAccounts(s, [{ name: 'Wspólna skrzynka', email: 'box150@gmail.com', mailbox: 'box150@gmail.com', imapHost: '127.0.0.1', imapPort: sharedProxy.port, smtpPort: mailSmtp.port, secret: GOOD, secretKind: 'app_password', sellerExternalId: 'SHARED' }])[0]!;
  seedAccounts(s, Array.from({ length: 39 }, () => ({ name: 'Wspólna skrzynka', email: 'box150@gmail.com', mailboxId: shared.mailboxId!, sellerExternalId: 'SHARED' })));

  const a = await staffAgent(app, 'agent');
  await a.get('/staff/accounts');
  const confirm = await a.post('/staff/jobs/confirm', { action: 'recheck', scope: 'all' });
  assert.match(confirm.body, /name="confirmedCount" value="200"/);
  const started = await a.post('/staff/jobs', { action: 'recheck', scope: 'all', confirmedCount: '200', confirmationKey: confirmationKeyOf(confirm.body) });
  const jobId = Number(/\d+$/.exec(started.headers.location as string)![0]);
  const progress = await a.get(`/staff/jobs/${jobId}`);
  // While running: a link to refresh, followed by a script; never a meta refresh (axe: critical).
  assert.doesNotMatch(progress.body, /http-equiv="refresh"/);
  assert.match(progress.body, /<script src="\/static\/staff-job.js" defer><\/script>/);
  assert.match(progress.body, new RegExp(`<a href="/staff/jobs/${jobId}">Odśwież teraz</a>`));
  assert.match(progress.body, /<progress id="job-progress" max="200"/);
  await waitForJob(app, jobId, 120_000);

  const counts = s.repos.jobs.counts(jobId);
  assert.deepEqual({ done: counts.done, failed: counts.failed, skipped: counts.skipped }, { done: 170, failed: 20, skipped: 10 });
  const outcomes = Object.fromEntries(s.repos.jobs.outcomes(jobId).map((o) => [`${o.status}:${o.outcome}`, o.n]));
  assert.equal(outcomes['failed:MAIL_AUTH_FAILED'], 20, 'a wrong password is classified as on the seller path');
  assert.equal(outcomes['skipped:MIG_ERR_NO_SECRET'], 10);
  // Caps: seen from outside the app, at the TCP level.
  assert.ok(hostProxy.max <= 4, `at most 4 connections to the host at once, saw ${hostProxy.max}`);
  assert.ok(hostProxy.max >= 2, `work was done in parallel (saw ${hostProxy.max})`);
  // One mailbox, one verdict (checks/): its 40 autoresponders share one login, not 40.
  assert.equal(sharedProxy.total, 1, 'the shared mailbox was logged in to once for its 40 autoresponders');
  assert.equal(sharedProxy.max, 1, 'never two connections to one mailbox');
  const stats = app.jobs.stats();
  assert.ok(stats.peak <= 8);
  // Results are recorded like the seller's: a check row and the migration's last code.
  const failedRow = rows[140]!;
  const m = s.repos.migrations.findByAutoresponder(failedRow.autoresponderId)!;
  assert.equal(m.lastErrorCode, 'MAIL_AUTH_FAILED');
  assert.ok(m.lastCheckedAt);
  // One check row per login: the 150 mailboxes, and the shared one once.
  assert.equal(s.db.prepare(`SELECT count(*) FROM connection_checks WHERE trigger = 'bulk'`).pluck().get(), 151);
  assert.equal(s.db.prepare(`SELECT count(*) FROM audit_log WHERE action LIKE 'job.item.%' AND details LIKE ?`).pluck().get(`%"jobId":${jobId},%`), 200);
  const summary = await a.get(`/staff/jobs/${jobId}`);
  assert.match(summary.body, /Podsumowanie/);
  assert.match(summary.body, /MAIL_AUTH_FAILED/);
  assert.doesNotMatch(summary.body, /http-equiv="refresh"/);
  // The list can now be filtered by that code.
  assert.match((await a.get('/staff/accounts?code=MAIL_AUTH_FAILED')).body, /20 autoresponderów/);
});

test('a relinked mailbox whose app password stops working needs attention after a re-check; it recovers when it works again', async (t) => {
  const { app } = await setup(t);
  const s = app.services;
  const [row] = seedAccounts(s, [{ name: 'Ola', email: 'box155@gmail.com', mailbox: 'box155@gmail.com', imapHost: '127.0.0.1', imapPort: dovecot.port, smtpPort: mailSmtp.port, secret: 'cofniete-haslo-xx', secretKind: 'app_password', state: 'relinked_app_password' }]);
  const a = await staffAgent(app, 'agent');
  await a.get(`/staff/accounts/${row!.autoresponderId}`);
  const res = await a.post(`/staff/accounts/${row!.autoresponderId}/recheck`, {});
  assert.equal(res.statusCode, 303);
  const page = await a.get(res.headers.location as string);
  assert.match(page.body, /Sprawdzenie: <span class="code-name">Google odrzucił hasło<\/span> <code class="code">MAIL_AUTH_FAILED<\/code>/);
  let m = s.repos.migrations.findByAutoresponder(row!.autoresponderId)!;
  assert.equal(m.state, 'needs_attention');
  // The same reason the watch gives (checks/verdict.ts): Google refused the stored app password.
  assert.equal(m.reasonCode, 'app_password_rejected');
  s.repos.mailboxes.setEncryptedSecret(row!.mailboxId!, { ciphertext: s.secrets.encrypt(GOOD, 'mailbox-secret'), kind: 'app_password', verifiedAt: new Date().toISOString() });
  await a.post(`/staff/accounts/${row!.autoresponderId}/recheck`, {});
  m = s.repos.migrations.findByAutoresponder(row!.autoresponderId)!;
  assert.equal(m.state, 'relinked_app_password');
  const audit = s.repos.audit.listForTarget('autoresponder', row!.autoresponderId).map((e) => `${e.actorType}:${e.action}`);
  assert.ok(audit.includes('staff:migration.needs_attention') && audit.includes('staff:staff.recheck'));
});

test('bulk reminders to 300 autoresponders of 250 sellers: one e-mail per seller, in their language, with a working one-time link; not again within REMINDER_MIN_DAYS', async (t) => {
  const { app } = await setup(t);
  const s = app.services;
  const accounts: SeedAccount[] = [];
  for (let i = 0; i < 250; i++) {
    accounts.push({ name: `Sprzedawca ${i}`, email: `sprzedawca${i}@example.pl`, mailbox: `sklep${i}@gmail.com`, language: i % 5 === 0 ? 'en' : 'pl', sellerExternalId: `R${i}` });
    if (i < 50) accounts.push({ name: `Sprzedawca ${i}`, email: `sprzedawca${i}@example.pl`, mailbox: `drugi${i}@gmail.com`, sellerExternalId: `R${i}` });
  }
  seedAccounts(s, accounts);
  const before = relay.received.length;
  const a = await staffAgent(app, 'agent');
  await a.get('/staff/accounts');
  const confirm = await a.post('/staff/jobs/confirm', { action: 'remind', scope: 'all' });
  assert.match(confirm.body, /Wysłać przypomnienie dla 300 autoresponderów\?/);
  const started = await a.post('/staff/jobs', { action: 'remind', scope: 'all', confirmedCount: '300', confirmationKey: confirmationKeyOf(confirm.body) });
  const jobId = Number(/\d+$/.exec(started.headers.location as string)![0]);
  await waitForJob(app, jobId, 120_000);

  const mails = relay.received.slice(before);
  assert.equal(mails.length, 250);
  const perRecipient = new Map<string, number>();
  for (const m of mails) for (const to of m.to) perRecipient.set(to, (perRecipient.get(to) ?? 0) + 1);
  assert.equal(perRecipient.size, 250);
  assert.ok([...perRecipient.values()].every((n) => n === 1), 'exactly one e-mail per seller');
  const counts = s.repos.jobs.counts(jobId);
  assert.deepEqual({ done: counts.done, skipped: counts.skipped, failed: counts.failed }, { done: 250, skipped: 50, failed: 0 });
  assert.equal(s.repos.jobs.outcomes(jobId).find((o) => o.outcome === 'already_in_job')?.n, 50);

  const en = mails.find((m) => m.to[0] === 'sprzedawca5@example.pl')!;
  const pl = mails.find((m) => m.to[0] === 'sprzedawca7@example.pl')!;
  assert.match(en.raw, /Subject: Reminder: your Allegro autoresponder needs attention/);
  assert.match(pl.raw, /Subject: =\?UTF-8\?[QB]\?/, 'Polish subject, encoded');
  assert.match(pl.raw, /Content-Type: text\/plain/);
  assert.match(pl.raw, /Content-Type: text\/html/);
  const body = decodeQuotedPrintable(pl.raw);
  assert.match(body, /Dzień dobry, Sprzedawca 7!/);
  assert.match(body, /sklep7@gmail\.com/);
  const link = /https:\/\/migracja\.example\.pl(\/login\/verify\?token=[A-Za-z0-9_-]+&next=%2Fmigration)/.exec(body)![1]!;
  // The link signs the seller in once.
  const seller = new Agent(app);
  const confirmPage = await seller.get(link);
  assert.equal(confirmPage.statusCode, 200);
  const token = new URL(link, 'http://x').searchParams.get('token')!;
  const signedIn = await seller.post('/login/verify', { token, next: '/migration' });
  assert.equal(signedIn.statusCode, 303);
  assert.equal((await seller.get('/migration')).statusCode, 200);
  assert.equal((await new Agent(app).get(link)).statusCode, 400, 'used once');

  // A second job right away: everyone was reminded recently.
  await a.get('/staff/accounts');
  const again = await a.post('/staff/jobs', { action: 'remind', scope: 'all', confirmedCount: '300', confirmationKey: randomUUID() });
  const job2 = Number(/\d+$/.exec(again.headers.location as string)![0]);
  await waitForJob(app, job2, 60_000);
  assert.equal(relay.received.length - before, 250, 'no new e-mail');
  assert.equal(s.repos.jobs.outcomes(job2).find((o) => o.outcome === 'recently_reminded')?.n, 300, 'both autoresponders of a seller are skipped');
  assert.equal(s.repos.reminders.countSent(), 250);
});

test('a job can be cancelled: items not started are cancelled, finished ones stay, the summary says so', async (t) => {
  const { app } = await setup(t, { BULK_CONCURRENCY: '1' });
  const s = app.services;
  seedAccounts(s, Array.from({ length: 40 }, (_, i) => ({ name: `C${i}`, email: `c${i}@example.pl`, mailbox: `c${i}@gmail.com` })));
  const a = await staffAgent(app, 'agent');
  await a.get('/staff/accounts');
  const started = await a.post('/staff/jobs', { action: 'remind', scope: 'all', confirmedCount: '40', confirmationKey: randomUUID() });
  const jobId = Number(/\d+$/.exec(started.headers.location as string)![0]);
  const end = Date.now() + 10_000;
  while (s.repos.jobs.counts(jobId).done < 3 && Date.now() < end) await new Promise((r) => setTimeout(r, 5));
  await a.get(`/staff/jobs/${jobId}`);
  const cancelled = await a.post(`/staff/jobs/${jobId}/cancel`, {});
  assert.equal(cancelled.statusCode, 303);
  await waitForJob(app, jobId);
  const counts = s.repos.jobs.counts(jobId);
  assert.equal(s.repos.jobs.get(jobId)!.status, 'cancelled');
  assert.ok(counts.cancelled > 0 && counts.done >= 3, JSON.stringify(counts));
  assert.equal(counts.done + counts.cancelled, 40);
  assert.match((await a.get(`/staff/jobs/${jobId}`)).body, /anulowane/);
});
