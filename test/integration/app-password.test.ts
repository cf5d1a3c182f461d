import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { build } from '../helpers/build.js';
import { Agent, signIn } from '../helpers/agent.js';
import { startDovecot, type Dovecot } from '../helpers/dovecot.js';
import { startSmtp, type TestSmtp } from '../helpers/smtp.js';
import { testCert } from '../helpers/tls.js';

const JAN = 'jan.kowalski@gmail.com';
const FIRMA = 'biuro@firma-workspace.pl';
const APP_PASSWORD = 'qwerasdfzxcvtyui';
let dovecot: Dovecot;
let smtp: TestSmtp;

before(async () => {
  const now = Date.now();
  dovecot = await startDovecot([
    {
      user: JAN,
      password: APP_PASSWORD,
      messages: [
        { from: 'Hurtownia <faktury@hurtownia.pl>', subject: 'Faktura 11/2026', date: new Date(now - 7200_000) },
        { from: 'Allegro <powiadomienia@allegro.pl>', subject: 'Nowa wiadomość od kupującego anna_k', date: new Date(now - 3600_000) },
      ],
    },
    { user: FIRMA, password: APP_PASSWORD },
  ]);
  smtp = await startSmtp({
    security: 'starttls',
    users: { [JAN]: APP_PASSWORD, [FIRMA]: APP_PASSWORD },
    replies: { kontohaslogoogle: { code: 534, text: '5.7.9 Application-specific password required.' } },
  });
});
after(async () => {
  await dovecot?.stop();
  await smtp?.stop();
});

async function setup(t: import('node:test').TestContext) {
  const { app, logs } = await build(t, {
    env: {
      MAIL_HOST_ALLOWLIST: '127.0.0.1',
      MAIL_ADDRESS_ALLOWLIST: '127.0.0.1',
      MAIL_PORT_ALLOWLIST: `${dovecot.port},${smtp.port}`,
      MAIL_TLS_CA_FILE: testCert().certFile,
      MAIL_CHECK_TIMEOUT_MS: '5000',
    },
  });
  const s = app.services;
  const seller = s.repos.sellers.insert({ externalId: 'S1', email: JAN, name: 'Jan', allegroLogin: 'jan' });
  const mk = (email: string, host: string, imapPort: number, smtpPort: number, provider: 'gmail' | 'workspace') => {
    const id = s.repos.mailboxes.insert({ sellerId: seller, email, imapHost: host, imapPort, imapSecurity: 'tls', smtpHost: host, smtpPort, smtpSecurity: 'starttls', username: email });
    s.repos.mailboxes.setEncryptedSecret(id, { ciphertext: s.secrets.encrypt('StareHasloKonta1', 'mailbox-secret'), kind: 'account_password', verifiedAt: null });
    s.repos.mailboxes.setDetection(id, { google: true, provider, rule: provider === 'gmail' ? 'gmail_address' : 'workspace_mx', detail: provider === 'gmail' ? 'gmail.com' : 'aspmx.l.google.com' });
    return id;
  };
  const janBox = mk(JAN, '127.0.0.1', dovecot.port, smtp.port, 'gmail');
  const firmaBox = mk(FIRMA, 'mail.firma-workspace.pl', 993, 587, 'workspace');
  const ar = s.repos.autoresponders.insert({ sellerId: seller, externalId: 'AR1', version: 2, mailboxId: janBox });
  s.detection.refreshAutoresponder(ar, { type: 'system' });
  const agent = new Agent(app);
  await signIn(agent, seller);
  return { app, s, agent, janBox, firmaBox, ar, logs };
}

test('a good app password: verified for real, saved encrypted, migration relinked with its audit entry; the proof fetches mail', async (t) => {
  const { s, agent, janBox, ar, logs } = await setup(t);
  const migration = () => s.repos.migrations.findByAutoresponder(ar)!;
  await agent.get('/migration');
  assert.equal((await agent.post(`/mailboxes/${janBox}/app-password/start`)).headers.location, `/mailboxes/${janBox}/app-password/1`);
  assert.equal(migration().state, 'in_progress_app_password');
  for (const step of [1, 2, 3]) assert.match((await agent.get(`/mailboxes/${janBox}/app-password/${step}`)).body, new RegExp(`Krok ${step} z 4`));
  const res = await agent.post(`/mailboxes/${janBox}/app-password`, { app_password: 'qwer asdf-zxcv TYUI' });
  assert.equal(res.statusCode, 303, res.body.slice(0, 500));
  assert.equal(res.headers.location, `/mailboxes/${janBox}/app-password/4`);
  const box = s.repos.mailboxes.getById(janBox)!;
  assert.equal(box.secretKind, 'app_password');
  assert.ok(box.secretVerifiedAt);
  const stored = s.repos.mailboxes.getEncryptedSecret(janBox)!;
  assert.ok(!stored.includes(APP_PASSWORD));
  assert.equal(s.secrets.decrypt(stored, 'mailbox-secret'), APP_PASSWORD);
  assert.equal(migration().state, 'relinked_app_password');
  const actions = s.repos.audit.listForTarget('mailbox', janBox).map((e) => e.action);
  assert.ok(actions.includes('mailbox.relinked'));
  const done = await agent.get(`/mailboxes/${janBox}/app-password/4`);
  assert.match(done.body, /Gotowe — skrzynka działa/);
  const proof = await agent.post(`/mailboxes/${janBox}/app-password/fetch`);
  assert.equal(proof.statusCode, 200);
  assert.match(proof.body, /W skrzynce odbiorczej są 2 wiadomości/);
  assert.match(proof.body, /Nowa wiadomość od kupującego anna_k/);
  assert.doesNotMatch(proof.body, /Faktura 11\/2026/, 'only messages from allegro.pl are listed');
  // The migration page now says how and when.
  assert.match((await agent.get('/migration')).body, /Połączono hasłem do aplikacji/);
  // Editing later: the mailbox's page never shows the stored secret; a new app password is verified again.
  const edit = await agent.get(`/mailboxes/${janBox}/app-password/3`);
  assert.doesNotMatch(edit.body, new RegExp(APP_PASSWORD));
  const again = await agent.post(`/mailboxes/${janBox}/app-password`, { app_password: APP_PASSWORD });
  assert.equal(again.statusCode, 303);
  assert.equal(migration().state, 'relinked_app_password');
  assert.equal(s.repos.audit.listForTarget('mailbox', janBox).filter((e) => e.action === 'mailbox.relinked').length, 2);
  assert.ok(!logs.join('').includes(APP_PASSWORD), 'the app password never reaches the log');
});

test('a wrong app password: refused by the server with its code and next step; nothing saved; the attempt counted', async (t) => {
  const { s, agent, janBox, ar } = await setup(t);
  await agent.get(`/mailboxes/${janBox}/app-password/3`);
  const before = s.repos.mailboxes.getEncryptedSecret(janBox);
  const res = await agent.post(`/mailboxes/${janBox}/app-password`, { app_password: 'zzzzyyyyxxxxwwww' });
  assert.equal(res.statusCode, 422);
  assert.match(res.body, /Google odrzucił to hasło do aplikacji/);
  assert.match(res.body, /MAIL_AUTH_FAILED/);
  assert.match(res.body, /Pozostałe próby: 4 z 5/);
  assert.doesNotMatch(res.body, /zzzzyyyyxxxxwwww/, 'the pasted password is never rendered back');
  assert.equal(s.repos.mailboxes.getEncryptedSecret(janBox), before);
  assert.equal(s.repos.mailboxes.getById(janBox)!.secretKind, 'account_password');
  const m = s.repos.migrations.findByAutoresponder(ar)!;
  assert.equal(m.state, 'affected');
  assert.equal(m.attempts, 1);
  assert.equal(m.lastErrorCode, 'MAIL_AUTH_FAILED');
  assert.equal(s.repos.connectionChecks.listByMailbox(janBox)[0]?.code, 'MAIL_AUTH_FAILED');
});

test("an account password pasted in place of an app password is recognised from the server's answer", async (t) => {
  const { agent, janBox } = await setup(t);
  await agent.get(`/mailboxes/${janBox}/app-password/3`);
  // Dovecot refuses it at IMAP; the SMTP-only Gmail answer is covered in mail-check tests.
  const res = await agent.post(`/mailboxes/${janBox}/app-password`, { app_password: 'kontohaslogoogle' });
  assert.equal(res.statusCode, 422);
  assert.match(res.body, /MAIL_AUTH_FAILED|MAIL_APP_PASSWORD_REQUIRED/);
});

test('input errors are shown next to the field and never reach the server', async (t) => {
  const { s, agent, janBox, firmaBox } = await setup(t);
  await agent.get(`/mailboxes/${janBox}/app-password/3`);
  const short = await agent.post(`/mailboxes/${janBox}/app-password`, { app_password: 'abcd efgh ijkl' });
  assert.equal(short.statusCode, 422);
  assert.match(short.body, /id="app_password-error">Hasło do aplikacji ma dokładnie 16 liter/);
  assert.match(short.body, /aria-describedby="app_password-hint app_password-error"/);
  const digits = await agent.post(`/mailboxes/${janBox}/app-password`, { app_password: 'abcd efgh ijkl 1234' });
  assert.equal(digits.statusCode, 422);
  assert.equal(s.repos.connectionChecks.listByMailbox(janBox).length, 0, 'no server was contacted');

  // Workspace: the server fields are shown, pre-filled with Google's, replacing the company host.
  const ws = await agent.get(`/mailboxes/${firmaBox}/app-password/3`);
  assert.match(ws.body, /id="imap_host"[^>]*value="imap\.gmail\.com"/);
  assert.match(ws.body, /id="smtp_port"[^>]*value="465"/);
  // Only allow-listed hosts and mail ports: the form cannot be used to probe other machines.
  const probe = await agent.post(`/mailboxes/${firmaBox}/app-password`, { app_password: APP_PASSWORD, imap_host: '10.0.0.5', imap_port: '22', smtp_host: 'evil.example.com', smtp_port: '25' });
  assert.equal(probe.statusCode, 422);
  assert.match(probe.body, /id="imap_host-error">Dozwolone serwery: 127\.0\.0\.1/);
  assert.match(probe.body, /id="imap_port-error">Dozwolone porty:/);
  assert.match(probe.body, /value="10\.0\.0\.5"/, 'what was typed is kept');
  assert.match(probe.body, /href="\/mailboxes\/\d+\/app-password\/3\?lang(=|&#x3D;)en"/, 'the language switch leads to the GET page');
  assert.equal(s.repos.connectionChecks.listByMailbox(firmaBox).length, 0);
});

test('Workspace: the entered Google servers replace the stored company host once verified', async (t) => {
  const { s, agent, firmaBox } = await setup(t);
  await agent.get(`/mailboxes/${firmaBox}/app-password/3`);
  const res = await agent.post(`/mailboxes/${firmaBox}/app-password`, { app_password: APP_PASSWORD, imap_host: '127.0.0.1', imap_port: String(dovecot.port), smtp_host: '127.0.0.1', smtp_port: String(smtp.port) });
  assert.equal(res.statusCode, 303, res.body.slice(0, 300));
  const box = s.repos.mailboxes.getById(firmaBox)!;
  assert.deepEqual([box.imapHost, box.imapPort, box.smtpHost, box.smtpPort, box.secretKind], ['127.0.0.1', dovecot.port, '127.0.0.1', smtp.port, 'app_password']);
});

test('at most 5 verifications per mailbox in 15 minutes, and the page says when to try again', async (t) => {
  const { agent, janBox } = await setup(t);
  await agent.get(`/mailboxes/${janBox}/app-password/3`);
  for (let i = 0; i < 5; i++) assert.equal((await agent.post(`/mailboxes/${janBox}/app-password`, { app_password: 'zzzzyyyyxxxxwwww' })).statusCode, 422);
  const sixth = await agent.post(`/mailboxes/${janBox}/app-password`, { app_password: APP_PASSWORD });
  assert.equal(sixth.statusCode, 429);
  assert.match(sixth.body, /Wykorzystano 5 prób w ciągu 15 minut/);
  assert.match(sixth.body, /Kolejna próba będzie możliwa dziś o \d{2}:\d{2}|Kolejna próba będzie możliwa jutro o \d{2}:\d{2}/);
  assert.doesNotMatch(sixth.body, /name="app_password"/, 'the form is not offered while the limit holds');
});
