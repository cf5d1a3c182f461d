import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { build } from '../helpers/build.js';
import { startDovecot, type Dovecot } from '../helpers/dovecot.js';
import { startSmtp, type TestSmtp } from '../helpers/smtp.js';
import { testCert } from '../helpers/tls.js';
import { staffAgent } from '../helpers/staff.js';

/**
 * One mailbox, one verdict, one e-mail: a staff re-check ("Sprawdź połączenie teraz") and the watch
 * judge a relinked mailbox the same way (IMAP login and SMTP AUTH alike), so neither undoes the
 * other's verdict, and the seller hears once about one problem, whoever found it first.
 */

const USER = 'jeden.werdykt@gmail.com';
const GOOD = 'abcdefghijklmnop';
/** Dovecot takes the app password; the mailbox's SMTP server refuses it until the test says otherwise. */
let dovecot: Dovecot;
/** The mailbox's own SMTP server (like smtp.gmail.com:465): AUTH answers 535 5.7.8 for anyone not listed. */
let mailSmtp: TestSmtp;
const smtpUsers: Record<string, string> = {};
/** The app's outgoing relay (SMTP_URL): every e-mail to the seller lands here. */
let relay: TestSmtp;

before(async () => {
  dovecot = await startDovecot([{ user: USER, password: GOOD }]);
  mailSmtp = await startSmtp({ security: 'tls', users: smtpUsers });
  relay = await startSmtp({ security: 'plain' });
});
after(async () => {
  await dovecot?.stop();
  await mailSmtp?.stop();
  await relay?.stop();
});

test('IMAP works, SMTP AUTH is refused: a staff re-check and the watch reach the same verdict, the seller gets one e-mail, nothing flips back; once SMTP accepts, the next check recovers it', async (t) => {
  // 11:00 in Warsaw: inside the watch's sending hours (08–20), and every step below stays inside them.
  let clock = Date.parse('2026-12-12T10:00:00Z');
  const now = () => new Date(clock);
  const later = (minutes: number) => void (clock += minutes * 60_000);
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
      // The agent stays signed in while the test's clock moves on.
      STAFF_SESSION_IDLE_MINUTES: '600',
    },
  });
  const { repos, secrets, migrationService, db } = app.services;

  // A seller whose v2 autoresponder reads a mailbox relinked with an app password.
  const sellerEmail = 'sklep.werdykt@example.pl';
  const sellerId = repos.sellers.insert({ externalId: 'S-WERDYKT', email: sellerEmail, name: 'Sklep Werdykt', allegroLogin: 'sklep_werdykt' });
  const mailboxId = repos.mailboxes.insert({ sellerId, email: USER, imapHost: '127.0.0.1', imapPort: dovecot.port, imapSecurity: 'tls', smtpHost: '127.0.0.1', smtpPort: mailSmtp.port, smtpSecurity: 'tls', username: USER });
  repos.mailboxes.setEncryptedSecret(mailboxId, { ciphertext: secrets.encrypt(GOOD, 'mailbox-secret'), kind: 'app_password', verifiedAt: now().toISOString() });
  const id = repos.autoresponders.insert({ sellerId, externalId: 'AR-WERDYKT', version: 2, mailboxId });
  const m = migrationService.create(id, { state: 'affected', rule: 'gmail_address', detail: null } as never, { type: 'system', id: 'test' });
  migrationService.transition(m.id, 'relinked', 'relinked_app_password', { actor: { type: 'seller', id: sellerId } });

  const migration = () => repos.migrations.findByAutoresponder(id)!;
  const mails = () => relay.received.filter((r) => r.to.includes(sellerEmail));
  const audit = () => repos.audit.listForTarget('autoresponder', id).map((e) => e.action);
  const staff = await staffAgent(app, 'agent');
  /** "Sprawdź połączenie teraz" on the account page, as a signed-in agent. */
  const recheck = async () => {
    await staff.get(`/staff/accounts/${id}`);
    const res = await staff.post(`/staff/accounts/${id}/recheck`, {});
    assert.equal(res.statusCode, 303, `the re-check ran: ${res.statusCode} ${res.body.slice(0, 200)}`);
  };
  /** The watch's next check of this autoresponder, now (its slot made due; the clock stays in the sending hours). */
  const watchCheck = async () => {
    await app.watch.runDue();
    db.prepare(`UPDATE watches SET due_at = ? WHERE autoresponder_id = ?`).run(now().toISOString(), id);
    await app.watch.runDue();
  };
  // The watch knows this autoresponder (its schedule), as it would in production.
  await app.watch.runDue();
  assert.ok(repos.watch.get(id), 'the relinked autoresponder is watched');

  // 1. A staff re-check: SMTP AUTH is refused, so the autoresponder cannot answer buyers.
  later(5);
  await recheck();
  const found = migration();
  assert.equal(found.state, 'needs_attention', `a staff re-check with SMTP refused: the autoresponder cannot answer buyers, it needs the seller (got ${found.state})`);
  const reason = found.reasonCode;
  assert.ok(reason, 'with a reason');

  // 2. The watch's check: the same verdict, and one e-mail to the seller, whoever found it first.
  later(5);
  await watchCheck();
  assert.deepEqual([migration().state, migration().reasonCode], ['needs_attention', reason], 'the watch agrees with the staff re-check');
  assert.equal(mails().length, 1, 'exactly one e-mail to the seller about this problem');

  // 3. Again both: the verdict holds, nothing flips back to relinked, no second e-mail.
  const brokeAt = audit().indexOf('migration.needs_attention');
  assert.ok(brokeAt >= 0, `the break is in the audit log: ${audit().join(', ')}`);
  later(30);
  await recheck();
  assert.deepEqual([migration().state, migration().reasonCode], ['needs_attention', reason], 'a second staff re-check keeps the verdict');
  later(30);
  await watchCheck();
  assert.deepEqual([migration().state, migration().reasonCode], ['needs_attention', reason], 'a second watch check keeps the verdict');
  assert.ok(!audit().slice(brokeAt).includes('migration.relinked'), `never relinked after the break while SMTP is refused: ${audit().slice(brokeAt).join(', ')}`);
  assert.equal(mails().length, 1, 'still the one e-mail');

  // 4. SMTP accepts the app password again: the next check (a staff re-check) recovers it; the watch agrees.
  smtpUsers[USER] = GOOD;
  later(30);
  await recheck();
  assert.equal(migration().state, 'relinked_app_password', 'IMAP and SMTP work: relinked again');
  later(30);
  await watchCheck();
  assert.equal(migration().state, 'relinked_app_password', 'and the watch keeps it so');
  assert.equal(mails().length, 1, 'no e-mail for a recovery');
});
