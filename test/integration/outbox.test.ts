import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { build } from '../helpers/build.js';
import { startDovecot, type Dovecot } from '../helpers/dovecot.js';
import { startSmtp, type TestSmtp } from '../helpers/smtp.js';
import { testCert } from '../helpers/tls.js';
import { confirmationKeyOf, seedAccounts, staffAgent, waitForJob } from '../helpers/staff.js';
import { registerSecret } from '../helpers/transcript.js';
import { memoryDb, testServices } from '../helpers/core.js';
import { isAudit } from '../../src/domain/audit.js';

/**
 * The app's own e-mail (SMTP_URL) tells the relay's answers apart: a permanent refusal (5xx) is final
 * at once and says so; a temporary one (4xx) or a network error is tried again with backoff until it
 * goes. Seen from the relay: how many times it was asked for each recipient.
 */

/** The relay refuses this recipient for good (a mailbox that does not exist). */
const UNKNOWN = 'nieznany@sklep-odmowa.example.pl';
/** The relay asks to try this one later, twice, then takes the message. */
const LATER = 'pozniej@sklep-kolejka.example.pl';
/** The same two answers for the watch's e-mails, to other sellers (independent counts). */
const WATCH_UNKNOWN = 'nieznany@watch-odmowa.example.pl';
const WATCH_LATER = 'pozniej@watch-kolejka.example.pl';
const TEMPORARY_REFUSALS = 2;
/** The relay takes these to the end of DATA, then refuses: for now, and for good. */
const DATA_LATER = 'pozniej@dane-kolejka.example.pl';
const DATA_NEVER = 'nigdy@dane-odmowa.example.pl';

let relay: TestSmtp;
/** For the watch's case: mailboxes whose stored app password Google (Dovecot, and an SMTP server) refuses. */
let dovecot: Dovecot;
let mailSmtp: TestSmtp;
const GOOD = 'abcdefghijklmnop';
const REVOKED = 'cofnietehaslooo';

before(async () => {
  registerSecret(REVOKED);
  relay = await startSmtp({
    security: 'plain',
    rcpt(address, nth) {
      if (address === UNKNOWN || address === WATCH_UNKNOWN) return { code: 550, text: '5.1.1 user unknown' };
      if ((address === LATER || address === WATCH_LATER) && nth <= TEMPORARY_REFUSALS) return { code: 451, text: '4.3.0 try later' };
      return undefined;
    },
    dataReply(to) {
      if (to === DATA_LATER) return { code: 451, text: '4.7.1 try again later' };
      if (to === DATA_NEVER) return { code: 554, text: '5.7.1 message refused' };
      return undefined;
    },
  });
  dovecot = await startDovecot([
    { user: 'odmowa@gmail.com', password: GOOD },
    { user: 'kolejka@gmail.com', password: GOOD },
  ]);
  mailSmtp = await startSmtp({ security: 'tls', users: {} });
});
after(async () => {
  await relay?.stop();
  await dovecot?.stop();
  await mailSmtp?.stop();
});

const rcptsTo = (address: string) => relay.rcpts.filter((r) => r === address).length;
const mailsTo = (address: string) => relay.received.filter((m) => m.to.includes(address)).length;

test('a bulk reminder: 550 for one seller is final after one try (MIG_ERR_SEND_REFUSED), 451 for another is tried again with backoff until it goes', async (t) => {
  const { app } = await build(t, {
    env: {
      SMTP_URL: `smtp://127.0.0.1:${relay.port}`,
      PUBLIC_URL: 'https://migracja.example.pl',
      // Short backoff: the retries happen within the test.
      BULK_RETRY_BASE_MS: '20',
    },
  });
  const s = app.services;
  const [refused, delayed] = seedAccounts(s, [
    { name: 'Sklep Odmowa', email: UNKNOWN, mailbox: 'sklep.odmowa@gmail.com', sellerExternalId: 'R-ODMOWA' },
    { name: 'Sklep Kolejka', email: LATER, mailbox: 'sklep.kolejka@gmail.com', sellerExternalId: 'R-KOLEJKA' },
  ]);
  const a = await staffAgent(app, 'agent');
  await a.get('/staff/accounts');
  const confirm = await a.post('/staff/jobs/confirm', { action: 'remind', scope: 'all' });
  const started = await a.post('/staff/jobs', { action: 'remind', scope: 'all', confirmedCount: '2', confirmationKey: confirmationKeyOf(confirm.body) });
  assert.equal(started.statusCode, 303, started.body.slice(0, 300));
  const jobId = Number(/\d+$/.exec(started.headers.location as string)![0]);
  await waitForJob(app, jobId, 60_000);

  // What the relay saw.
  assert.equal(rcptsTo(UNKNOWN), 1, `a permanent refusal (550 5.1.1) is not tried again: the relay was asked ${rcptsTo(UNKNOWN)} times`);
  assert.ok(rcptsTo(LATER) >= 2, `a temporary refusal (451 4.3.0) is tried again: asked ${rcptsTo(LATER)} times`);
  assert.equal(mailsTo(LATER), 1, 'in the end the reminder went, once');
  assert.equal(mailsTo(UNKNOWN), 0);

  // What the job says.
  const problems = s.repos.jobs.problems(jobId);
  const refusedItem = problems.find((i) => i.autoresponderId === refused!.autoresponderId);
  assert.ok(refusedItem, `the refused reminder is among the job's problems: ${JSON.stringify(problems)}`);
  assert.deepEqual([refusedItem.status, refusedItem.outcome, refusedItem.attempts], ['failed', 'MIG_ERR_SEND_REFUSED', 1], 'failed, refused, after one attempt');
  assert.deepEqual(s.repos.jobs.autoresponderIds(jobId, 'done'), [delayed!.autoresponderId], 'the delayed reminder is done');
  const delayedAudit = s.repos.audit.listForTarget('autoresponder', delayed!.autoresponderId);
  const retries = delayedAudit.filter((e) => isAudit(e, 'job.item.retry'));
  assert.ok(retries.length >= 1 && retries.every((e) => e.details.outcome === 'MIG_ERR_SEND_FAILED'), `while retrying its outcome is MIG_ERR_SEND_FAILED: ${JSON.stringify(retries.map((e) => e.details))}`);
  assert.equal(delayedAudit.find((e) => isAudit(e, 'job.item.done'))?.details.outcome, 'sent');
  assert.ok(!s.repos.audit.listForTarget('autoresponder', refused!.autoresponderId).some((e) => e.action === 'job.item.retry'), 'the refused one was never put back for a retry');
});

test("the watch's e-mail: 550 makes the notice failed after one attempt; 451 leaves it to be tried again later, when it goes", async (t) => {
  // 11:00 in Warsaw: inside the sending hours, and the retries below stay inside them.
  let clock = Date.parse('2026-12-12T10:00:00Z');
  const now = () => new Date(clock);
  const { app } = await build(t, {
    now,
    env: {
      WATCH_ENABLED: '1',
      WATCH_SEND_HOURS: '8-20',
      MAIL_TLS_CA_FILE: testCert().certFile,
      MAIL_ADDRESS_ALLOWLIST: '127.0.0.1',
      MAIL_PORT_ALLOWLIST: `${dovecot.port},${mailSmtp.port}`,
      MAIL_CHECK_TIMEOUT_MS: '3000',
      SMTP_URL: `smtp://127.0.0.1:${relay.port}`,
      PUBLIC_URL: 'https://migracja.example.pl',
    },
  });
  const { repos, secrets, migrationService, db } = app.services;
  /** A relinked v2 autoresponder whose stored app password Google no longer accepts (revoked). */
  const relinked = (user: string, sellerEmail: string) => {
    const sellerId = repos.sellers.insert({ externalId: `S-${user}`, email: sellerEmail, name: `Sklep ${user.split('@')[0]}`, allegroLogin: null });
    const mailboxId = repos.mailboxes.insert({ sellerId, email: user, imapHost: '127.0.0.1', imapPort: dovecot.port, imapSecurity: 'tls', smtpHost: '127.0.0.1', smtpPort: mailSmtp.port, smtpSecurity: 'tls', username: user });
    repos.mailboxes.setEncryptedSecret(mailboxId, { ciphertext: secrets.encrypt(REVOKED, 'mailbox-secret'), kind: 'app_password', verifiedAt: now().toISOString() });
    const autoresponderId = repos.autoresponders.insert({ sellerId, externalId: `AR-${user}`, version: 2, mailboxId });
    const m = migrationService.create(autoresponderId, { state: 'affected', rule: 'gmail_address', detail: null } as never, { type: 'system', id: 'test' });
    migrationService.transition(m.id, 'relinked', 'relinked_app_password', { actor: { type: 'seller', id: sellerId } });
    return autoresponderId;
  };
  const refused = relinked('odmowa@gmail.com', WATCH_UNKNOWN);
  const delayed = relinked('kolejka@gmail.com', WATCH_LATER);
  const notice = (id: number) => {
    const incident = repos.watch.incidentsOfSeller(repos.autoresponders.getById(id)!.sellerId)[0];
    assert.ok(incident, `the watch found the problem of autoresponder ${id}`);
    return repos.watch.noticeOf(incident.id)!;
  };

  // Both checks due now: each finds the revoked app password and queues one e-mail, sent at once (11:00).
  await app.watch.runDue();
  db.prepare(`UPDATE watches SET due_at = ?`).run(now().toISOString());
  await app.watch.runDue();
  assert.equal(repos.migrations.findByAutoresponder(refused)!.state, 'needs_attention');
  assert.equal(repos.migrations.findByAutoresponder(delayed)!.state, 'needs_attention');

  // Time passes, five minutes at a time (bounded, within the sending hours), until the delayed e-mail went.
  for (let i = 0; i < 24 && notice(delayed).status !== 'sent'; i++) {
    clock += 5 * 60_000;
    await app.watch.runDue();
  }

  assert.equal(rcptsTo(WATCH_UNKNOWN), 1, `a permanent refusal (550 5.1.1) is not tried again: the relay was asked ${rcptsTo(WATCH_UNKNOWN)} times`);
  const r = notice(refused);
  assert.deepEqual([r.status, r.attempts], ['failed', 1], 'the notice failed after one attempt');
  assert.ok(repos.audit.listForTarget('autoresponder', refused).some((e) => e.action === 'watch.notice_failed'), 'and the failure is audited');

  assert.ok(rcptsTo(WATCH_LATER) >= 2, `a temporary refusal (451 4.3.0) is tried again later: asked ${rcptsTo(WATCH_LATER)} times`);
  const d = notice(delayed);
  assert.equal(d.status, 'sent', 'in the end the e-mail went');
  assert.ok(d.attempts >= 2, `after ${d.attempts} attempts`);
  assert.equal(mailsTo(WATCH_LATER), 1, 'once');
});

test('a refusal answered to the end of the message is a refusal, not "unknown": 451 there is tried again, 554 is final', async (t) => {
  const { app } = await build(t, { env: { SMTP_URL: `smtp://127.0.0.1:${relay.port}`, PUBLIC_URL: 'https://migracja.example.pl' } });
  const s = app.services;
  const [later, never] = seedAccounts(s, [
    { name: 'Sklep Dane Kolejka', email: DATA_LATER, mailbox: 'dane.kolejka@gmail.com', sellerExternalId: 'D-KOLEJKA' },
    { name: 'Sklep Dane Odmowa', email: DATA_NEVER, mailbox: 'dane.odmowa@gmail.com', sellerExternalId: 'D-ODMOWA' },
  ]);
  const { id: staffId } = s.repos.staff.upsert({ email: 'agentka@wsparcie.example', passwordHash: 'not-used', role: 'agent' });
  const ctx = { jobId: null, itemId: null, staffId };
  const first = await app.staffActions.remind(later!.autoresponderId, ctx);
  assert.deepEqual([first.status, first.outcome, first.status === 'failed' && first.retry], ['failed', 'MIG_ERR_SEND_FAILED', true], JSON.stringify(first));
  const second = await app.staffActions.remind(never!.autoresponderId, ctx);
  assert.deepEqual([second.status, second.outcome, second.status === 'failed' && second.retry], ['failed', 'MIG_ERR_SEND_REFUSED', false], JSON.stringify(second));
  // Neither is "unknown" (which would block the seller's next reminder for days): both can be reminded again.
  const statuses = s.db.prepare(`SELECT status FROM reminders ORDER BY id`).pluck().all();
  assert.deepEqual(statuses, ['failed', 'failed']);
  assert.equal(app.staffActions.reminderBlock(later!.sellerId, ctx), null);
});

test('a reminder sent just before a stop, whose job item was not yet settled, counts as sent after the restart: not "already reminded in this job", not sent again', async (t) => {
  // The state a SIGKILL leaves between the two writes: the reminder is "sent", its item still "running".
  const db = memoryDb();
  const s = testServices({ db });
  const [done, next] = seedAccounts(s, [
    { name: 'Sklep Wyslany', email: 'wyslany@sklep-restart.example.pl', mailbox: 'wyslany.restart@gmail.com', sellerExternalId: 'R-WYSLANY' },
    { name: 'Sklep Nastepny', email: 'nastepny@sklep-restart.example.pl', mailbox: 'nastepny.restart@gmail.com', sellerExternalId: 'R-NASTEPNY' },
  ]);
  const { id: staffId } = s.repos.staff.upsert({ email: 'agentka@wsparcie.example', passwordHash: 'not-used', role: 'agent' });
  const jobId = s.repos.jobs.create({ kind: 'remind', selection: 'ids', filter: null, ids: JSON.stringify([done!.autoresponderId, next!.autoresponderId]), note: null, confirmedCount: 2, createdBy: staffId });
  assert.ok(s.repos.jobs.start(jobId, [done!.autoresponderId, next!.autoresponderId]));
  const item = s.repos.jobs.pending(jobId, 10, new Date())[0];
  assert.ok(item && item.autoresponderId === done!.autoresponderId);
  assert.ok(s.repos.jobs.claim(item.id));
  const reminderId = s.repos.reminders.begin({ sellerId: done!.sellerId, jobId, itemId: item.id, staffId });
  s.repos.reminders.set(reminderId, 'sent');

  const { app } = await build(t, { db, env: { SMTP_URL: `smtp://127.0.0.1:${relay.port}`, PUBLIC_URL: 'https://migracja.example.pl' } });
  await waitForJob(app, jobId);
  const outcomes = db.prepare(`SELECT autoresponder_id AS id, status, outcome FROM job_items WHERE job_id = ? ORDER BY id`).all(jobId);
  assert.deepEqual(outcomes, [
    { id: done!.autoresponderId, status: 'done', outcome: 'sent' },
    { id: next!.autoresponderId, status: 'done', outcome: 'sent' },
  ]);
  assert.equal(mailsTo('wyslany@sklep-restart.example.pl'), 0, 'the reminder that went before the stop is not sent again');
  assert.equal(mailsTo('nastepny@sklep-restart.example.pl'), 1);
});
