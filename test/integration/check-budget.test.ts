import { after, before, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { build } from '../helpers/build.js';
import { Agent, signIn } from '../helpers/agent.js';
import { startDovecot, type Dovecot } from '../helpers/dovecot.js';
import { startSmtp, type TestSmtp } from '../helpers/smtp.js';
import { startProxy, type TcpProxy } from '../helpers/tcp-proxy.js';
import { testCert } from '../helpers/tls.js';
import { MAX_VERIFICATIONS } from '../../src/checks/budget.js';

/**
 * One attempt budget per mailbox, whoever asks and however many ask at once: a login with the
 * seller's credential reserves its attempt before it connects, so concurrent requests cannot all pass
 * the check and then all log in. Counted at the server (a counting proxy in front of Dovecot, and
 * Dovecot's own log), not from what the app says.
 */

const WRONG = 'zzzzyyyyxxxxwwww';
const GOOD = 'plmkoijnbhuygvcf';
/** One Dovecot user per case, so the cases are independent. */
const WIZARD_USER = 'budzet.kreator@gmail.com';
const FETCH_USER = 'budzet.pobierz@gmail.com';
let dovecot: Dovecot;
let smtp: TestSmtp;
/** A counting pass-through in front of Dovecot per case: every IMAP connection the app opens for it. */
let wizardProxy: TcpProxy;
let fetchProxy: TcpProxy;

before(async () => {
  const now = Date.now();
  dovecot = await startDovecot([
    { user: WIZARD_USER, password: GOOD },
    { user: FETCH_USER, password: GOOD, messages: [{ from: 'Allegro <powiadomienia@allegro.pl>', subject: 'Nowa wiadomość od kupującego', date: new Date(now - 3600_000) }] },
  ]);
  smtp = await startSmtp({ security: 'starttls', users: { [WIZARD_USER]: GOOD, [FETCH_USER]: GOOD } });
  wizardProxy = await startProxy(dovecot.port);
  fetchProxy = await startProxy(dovecot.port);
});
after(async () => {
  await wizardProxy?.stop();
  await fetchProxy?.stop();
  await dovecot?.stop();
  await smtp?.stop();
});

/** A seller with one v2 autoresponder on a gmail.com mailbox whose IMAP goes through `proxy`. */
async function setup(t: TestContext, user: string, proxy: TcpProxy) {
  const { app } = await build(t, {
    env: {
      MAIL_HOST_ALLOWLIST: '127.0.0.1',
      MAIL_ADDRESS_ALLOWLIST: '127.0.0.1',
      MAIL_PORT_ALLOWLIST: `${dovecot.port},${proxy.port},${smtp.port}`,
      MAIL_TLS_CA_FILE: testCert().certFile,
      MAIL_CHECK_TIMEOUT_MS: '5000',
    },
  });
  const s = app.services;
  const seller = s.repos.sellers.insert({ externalId: `S-${user}`, email: `sklep@${user.split('@')[0]}.example.pl`, name: 'Sklep Budżet', allegroLogin: 'sklep_budzet' });
  const box = s.repos.mailboxes.insert({ sellerId: seller, email: user, imapHost: '127.0.0.1', imapPort: proxy.port, imapSecurity: 'tls', smtpHost: '127.0.0.1', smtpPort: smtp.port, smtpSecurity: 'starttls', username: user });
  s.repos.mailboxes.setEncryptedSecret(box, { ciphertext: s.secrets.encrypt('StareHasloKonta1', 'mailbox-secret'), kind: 'account_password', verifiedAt: null });
  s.repos.mailboxes.setDetection(box, { google: true, provider: 'gmail', rule: 'gmail_address', detail: 'gmail.com' });
  const ar = s.repos.autoresponders.insert({ sellerId: seller, externalId: `AR-${user}`, version: 2, mailboxId: box });
  s.detection.refreshAutoresponder(ar, { type: 'system' });
  const agent = new Agent(app);
  await signIn(agent, seller);
  await agent.get(`/mailboxes/${box}/app-password/3`);
  return { app, s, agent, box };
}

/** Dovecot's own record of IMAP logins for a user: accepted ones and refused ones. */
function dovecotLogins(user: string): number {
  return dovecot
    .log()
    .split('\n')
    .filter((l) => l.includes('imap-login:') && l.includes(`user=<${user}>`) && /Login: |auth failed/.test(l)).length;
}

/** The wizard's answers: its pages (2xx), POST → 303 → GET, the form again (422), the lock (429); never a 5xx. */
const WIZARD_STATUSES = new Set([200, 303, 422, 429]);

test('a doubled submission logs in once, and 15 concurrent wizard submissions of wrong app passwords: at most 5 logins reach the server, every answer is a wizard page', async (t) => {
  const { agent, box } = await setup(t, WIZARD_USER, wizardProxy);
  const before = { proxy: wizardProxy.total, dovecot: dovecotLogins(WIZARD_USER) };
  // A double-click: the same password twice at once is one login, and both answers tell its outcome.
  const twice = await Promise.all([0, 1].map(() => agent.post(`/mailboxes/${box}/app-password`, { app_password: WRONG })));
  assert.deepEqual(twice.map((r) => r.statusCode), [422, 422], 'both answers show the refused password');
  assert.equal(wizardProxy.total - before.proxy, 1, 'the same submission twice at once logs in once');
  // Then 15 different passwords at once (someone trying passwords, or a script): the budget holds.
  const letters = 'abcdefghijklmnopqrstuvwxyz';
  const wrong = (i: number) => WRONG.slice(0, 14) + letters[i % 26] + letters[(i * 7) % 26];
  const answers = await Promise.all(Array.from({ length: 15 }, (_, i) => agent.post(`/mailboxes/${box}/app-password`, { app_password: wrong(i) })));
  const logins = wizardProxy.total - before.proxy;

  assert.ok(logins <= MAX_VERIFICATIONS, `at most ${MAX_VERIFICATIONS} IMAP logins reached the server for 15 concurrent submissions, saw ${logins}`);
  // Dovecot writes its log a moment after the connection ends; what it wrote already must agree.
  const logged = dovecotLogins(WIZARD_USER) - before.dovecot;
  assert.ok(logged <= MAX_VERIFICATIONS, `Dovecot logged ${logged} logins for ${WIZARD_USER}`);
  assert.ok(logins >= 1, 'the budget was used, not refused outright');
  const statuses = answers.map((r) => r.statusCode);
  assert.ok(statuses.every((c) => WIZARD_STATUSES.has(c)), `only wizard pages, never a 5xx: ${statuses.join(', ')}`);
  assert.ok(statuses.includes(429), `the requests beyond the budget are told to wait: ${statuses.join(', ')}`);
  t.diagnostic(`15 concurrent wizard submissions: ${logins} logins reached Dovecot (1 of them the doubled submission's); answers ${[...new Set(statuses)].map((c) => `${c}×${statuses.filter((x) => x === c).length}`).join(', ')}`);
});

test('30 concurrent "Pobierz e-maile" after relinking: the logins stay within the one budget the wizard also used, every answer is a wizard page', async (t) => {
  const { agent, box, s } = await setup(t, FETCH_USER, fetchProxy);
  const start = fetchProxy.total;
  // Relinked through the wizard: one real IMAP login (and SMTP AUTH) with the right app password.
  const relinked = await agent.post(`/mailboxes/${box}/app-password`, { app_password: GOOD });
  assert.equal(relinked.statusCode, 303, relinked.body.slice(0, 300));
  assert.equal(s.repos.mailboxes.getById(box)!.secretKind, 'app_password');
  await agent.get(`/mailboxes/${box}/app-password/4`);
  const afterWizard = fetchProxy.total - start;
  assert.ok(afterWizard >= 1, 'the wizard logged in through the proxy');

  const answers = await Promise.all(Array.from({ length: 30 }, () => agent.post(`/mailboxes/${box}/app-password/fetch`)));
  const logins = fetchProxy.total - start;

  assert.ok(logins <= MAX_VERIFICATIONS, `the wizard and 30 concurrent "Pobierz e-maile" made ${logins} IMAP logins in one window (${afterWizard} by the wizard); at most ${MAX_VERIFICATIONS}`);
  const statuses = answers.map((r) => r.statusCode);
  assert.ok(statuses.every((c) => WIZARD_STATUSES.has(c)), `only wizard pages, never a 5xx: ${statuses.join(', ')}`);
  assert.ok(statuses.includes(200), 'the budget left after the wizard was used to show the inbox');
  t.diagnostic(`wizard then 30 concurrent "Pobierz e-maile": ${logins} logins reached Dovecot (${afterWizard} by the wizard); answers ${[...new Set(statuses)].map((c) => `${c}×${statuses.filter((x) => x === c).length}`).join(', ')}`);
});
