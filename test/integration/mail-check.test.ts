import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { checkImap, checkSmtp, fetchInboxProof, verifyMailbox, type InboxProof } from '../../src/mail/check.js';
import type { ServerSettings } from '../../src/domain/model.js';
import { startDovecot, type Dovecot } from '../helpers/dovecot.js';
import { startSmtp, type TestSmtp } from '../helpers/smtp.js';
import { freePort } from '../helpers/ports.js';
import { testCert } from '../helpers/tls.js';

const USER = 'jan.kowalski@gmail.com';
const APP_PASSWORD = 'qwerasdfzxcvtyui';
let dovecot: Dovecot;
let smtps: TestSmtp;
let smtpStarttls: TestSmtp;

before(async () => {
  const now = Date.now();
  dovecot = await startDovecot([
    {
      user: USER,
      password: APP_PASSWORD,
      messages: [
        { from: 'Sklep Dostawca <faktury@hurtownia.pl>', subject: 'Faktura 11/2026', date: new Date(now - 3 * 3600_000) },
        { from: 'Allegro <powiadomienia@allegro.pl>', subject: 'Kupujący zadał pytanie o ofertę', date: new Date(now - 2 * 3600_000) },
        { from: 'Allegro <powiadomienia@allegro.pl>', subject: 'Nowa wiadomość od kupującego anna_k', date: new Date(now - 3600_000) },
      ],
    },
  ]);
  const replies = { 'konto-haslo-google': { code: 534, text: '5.7.9 Application-specific password required. For more information, go to https://support.google.com/mail/?p=InvalidSecondFactor' } };
  smtps = await startSmtp({ security: 'tls', users: { [USER]: APP_PASSWORD }, replies });
  smtpStarttls = await startSmtp({ security: 'starttls', users: { [USER]: APP_PASSWORD } });
});
after(async () => {
  await dovecot?.stop();
  await smtps?.stop();
  await smtpStarttls?.stop();
});

const opts = () => ({ timeoutMs: 5000, extraCa: testCert().cert });
const settings = (over: Partial<ServerSettings> = {}): ServerSettings => ({
  imapHost: '127.0.0.1', imapPort: dovecot.port, imapSecurity: 'tls',
  smtpHost: '127.0.0.1', smtpPort: smtps.port, smtpSecurity: 'tls',
  username: USER, ...over,
});

test('a good app password passes IMAP (TLS) and SMTP (TLS), and STARTTLS on both', async () => {
  assert.deepEqual(await verifyMailbox(settings(), APP_PASSWORD, opts()), { ok: true });
  const starttls = settings({ imapPort: dovecot.starttlsPort, imapSecurity: 'starttls', smtpPort: smtpStarttls.port, smtpSecurity: 'starttls' });
  assert.deepEqual(await verifyMailbox(starttls, APP_PASSWORD, opts()), { ok: true });
});

test('a wrong password is refused by the real server with MAIL_AUTH_FAILED, and the password is not in the reply', async () => {
  const r = await checkImap(settings(), 'zlehaslozlehaslo', opts());
  assert.equal(r.ok, false);
  assert.equal(!r.ok && r.code, 'MAIL_AUTH_FAILED');
  assert.equal(!r.ok && r.protocol, 'imap');
  const s = await checkSmtp(settings(), 'zlehaslozlehaslo', opts());
  assert.equal(!s.ok && s.code, 'MAIL_AUTH_FAILED');
  assert.ok(!JSON.stringify([r, s]).includes('zlehaslozlehaslo'));
});

test("SMTP answering Gmail's 534-5.7.9 is classified as an account password pasted", async () => {
  const s = await checkSmtp(settings(), 'konto-haslo-google', opts());
  assert.equal(!s.ok && s.code, 'MAIL_APP_PASSWORD_REQUIRED');
});

test('IMAP OK but SMTP refused: the whole verification fails on SMTP', async () => {
  const r = await verifyMailbox(settings({ smtpPort: smtpStarttls.port, smtpSecurity: 'starttls', username: USER }), APP_PASSWORD, opts());
  assert.equal(r.ok, true, 'sanity: both servers know the user');
  const bad = await verifyMailbox(settings({ smtpPort: await freePort() }), APP_PASSWORD, opts());
  assert.equal(!bad.ok && bad.protocol, 'smtp');
  assert.equal(!bad.ok && bad.code, 'MAIL_CONNECTION_REFUSED');
});

test('unreachable host, unknown host and an untrusted certificate get their codes', async () => {
  const refused = await checkImap(settings({ imapPort: await freePort() }), APP_PASSWORD, opts());
  assert.equal(!refused.ok && refused.code, 'MAIL_CONNECTION_REFUSED');
  const dns = await checkImap(settings({ imapHost: 'imap.nie-ma-takiej-domeny.invalid' }), APP_PASSWORD, opts());
  assert.equal(!dns.ok && dns.code, 'MAIL_DNS_FAILED');
  const tls = await checkImap(settings(), APP_PASSWORD, { timeoutMs: 5000 }); // the test CA is not trusted
  assert.equal(!tls.ok && tls.code, 'MAIL_TLS_FAILED');
  const smtpTls = await checkSmtp(settings(), APP_PASSWORD, { timeoutMs: 5000 });
  assert.equal(!smtpTls.ok && smtpTls.code, 'MAIL_TLS_FAILED');
});

test('a server that accepts the connection but never greets times out with MAIL_TIMEOUT', async () => {
  const { createServer } = await import('node:net');
  const sockets: import('node:net').Socket[] = [];
  const silent = createServer((s) => sockets.push(s));
  const port = await freePort();
  await new Promise<void>((r) => silent.listen(port, '127.0.0.1', () => r()));
  try {
    const r = await checkImap(settings({ imapPort: port, imapSecurity: 'starttls' }), APP_PASSWORD, { timeoutMs: 800, extraCa: testCert().cert });
    assert.equal(!r.ok && r.code, 'MAIL_TIMEOUT');
  } finally {
    sockets.forEach((s) => s.destroy());
    silent.close();
  }
});

test('the inbox proof reads the seeded messages, newest first, and spots the ones from allegro.pl', async () => {
  const proof = (await fetchInboxProof(settings(), APP_PASSWORD, opts())) as InboxProof;
  assert.equal(proof.total, 3);
  assert.equal(proof.allegroCount, 2);
  assert.equal(proof.latest[0]?.subject, 'Nowa wiadomość od kupującego anna_k');
  assert.equal(proof.latest[0]?.fromAllegro, true);
  assert.equal(proof.latest[2]?.fromAllegro, false);
});
