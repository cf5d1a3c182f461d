import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { checkImap, checkSmtp, fetchInboxProof, verifyMailbox, type InboxProof } from '../../src/mail/check.js';
import type { ServerSettings } from '../../src/domain/model.js';
import type { MailServerPolicy } from '../../src/mail/servers.js';
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

// These tests are about what real servers answer, on loopback and on ports picked at run time: the
// policy allows both explicitly (the policy itself: the tests at the end, and test/security/mail-servers.test.ts).
const ALL_PORTS = Array.from({ length: 65535 }, (_, i) => i + 1);
const policy: MailServerPolicy = { ports: ALL_PORTS, allowedAddresses: ['127.0.0.0/8'] };
const opts = () => ({ timeoutMs: 5000, extraCa: testCert().cert, policy });
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
  const tls = await checkImap(settings(), APP_PASSWORD, { timeoutMs: 5000, policy }); // the test CA is not trusted
  assert.equal(!tls.ok && tls.code, 'MAIL_TLS_FAILED');
  const smtpTls = await checkSmtp(settings(), APP_PASSWORD, { timeoutMs: 5000, policy });
  assert.equal(!smtpTls.ok && smtpTls.code, 'MAIL_TLS_FAILED');
});

test('a server that accepts the connection but never greets times out with MAIL_TIMEOUT', async () => {
  const { createServer } = await import('node:net');
  const sockets: import('node:net').Socket[] = [];
  const silent = createServer((s) => sockets.push(s));
  const port = await freePort();
  await new Promise<void>((r) => silent.listen(port, '127.0.0.1', () => r()));
  try {
    const r = await checkImap(settings({ imapPort: port, imapSecurity: 'starttls' }), APP_PASSWORD, { timeoutMs: 800, extraCa: testCert().cert, policy });
    assert.equal(!r.ok && r.code, 'MAIL_TIMEOUT');
  } finally {
    sockets.forEach((s) => s.destroy());
    silent.close();
  }
});

test('a failed check leaves no connection open: an untrusted certificate, a silent server, a STARTTLS that never completes (the watch makes thousands a day)', async () => {
  const net = await import('node:net');
  const tls = await import('node:tls');
  const cert = testCert();
  let open = 0;
  const count = (socket: import('node:net').Socket) => {
    open++;
    socket.on('close', () => open--).on('error', () => {});
  };
  const starttls = (greet: boolean) => (socket: import('node:net').Socket) => {
    count(socket);
    if (greet) socket.write('* OK [CAPABILITY IMAP4rev1 STARTTLS] ready\r\n');
    socket.on('data', (d) => {
      const [tag, command] = d.toString().split(' ');
      if (/^STARTTLS/i.test(command ?? '')) socket.write(`${tag} OK begin TLS now\r\n`); // and then silence
      else if (/^CAPABILITY/i.test(command ?? '')) socket.write(`* CAPABILITY IMAP4rev1 STARTTLS\r\n${tag} OK\r\n`);
    });
  };
  const untrusted = tls.createServer({ cert: cert.cert, key: cert.key }, (s) => s.write('* OK ready\r\n')).on('connection', count).on('tlsClientError', () => {});
  const servers = { untrusted, silent: net.createServer(starttls(false)), stalledStarttls: net.createServer(starttls(true)) };
  const ports: Record<string, number> = {};
  for (const [name, server] of Object.entries(servers)) {
    ports[name] = await freePort();
    await new Promise<void>((r) => server.listen(ports[name], '127.0.0.1', () => r()));
  }
  const settle = async (want: number) => {
    for (let i = 0; i < 50 && open !== want; i++) await new Promise((r) => setTimeout(r, 20));
  };
  try {
    // The count sees a connection left open (and its end).
    const raw = net.connect(ports.silent!, '127.0.0.1');
    await settle(1);
    assert.equal(open, 1, 'a raw connection is counted');
    raw.destroy();
    await settle(0);
    const fast = { timeoutMs: 400, policy }; // no extra CA: the test certificate is not trusted
    const cases: [Partial<ServerSettings>, string][] = [
      [{ imapPort: ports.untrusted!, imapSecurity: 'tls' }, 'MAIL_TLS_FAILED'],
      [{ imapPort: ports.silent!, imapSecurity: 'tls' }, 'MAIL_TIMEOUT'],
      [{ imapPort: ports.stalledStarttls!, imapSecurity: 'starttls' }, 'MAIL_TIMEOUT'],
    ];
    for (const [over, code] of cases) {
      for (let i = 0; i < 3; i++) {
        const r = await checkImap(settings(over), APP_PASSWORD, fast);
        assert.equal(!r.ok && r.code, code);
      }
    }
    const smtp = await checkSmtp(settings({ smtpPort: ports.untrusted!, smtpSecurity: 'tls' }), APP_PASSWORD, fast);
    assert.equal(smtp.ok, false);
    // Each connection was closed when its check returned (bounded wait for the last FINs).
    await settle(0);
    assert.equal(open, 0, 'connections the checks left open');
  } finally {
    for (const server of Object.values(servers)) server.close();
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

test('a name is resolved once, and the connection goes to that address with the name as TLS server name (no DNS rebinding between check and connect)', async () => {
  const answers = ['127.0.0.1', '10.0.0.7'];
  const asked: string[] = [];
  // A resolver that answers a loopback address first and a private one afterwards, as a rebinding attacker's would.
  const rebinding: MailServerPolicy = { ...policy, lookup: async (host) => (asked.push(host), [{ address: answers[Math.min(asked.length - 1, 1)]!, family: 4 }]) };
  const r = await checkImap(settings({ imapHost: 'localhost' }), APP_PASSWORD, { ...opts(), policy: rebinding });
  assert.deepEqual(r, { ok: true }, 'connected to the address that was checked; the certificate was checked for "localhost"');
  assert.deepEqual(asked, ['localhost'], 'one lookup per connection');
  // The second answer is private and not allowed: refused before any connection.
  const second = await checkSmtp(settings({ smtpHost: 'localhost' }), APP_PASSWORD, { ...opts(), policy: rebinding });
  assert.equal(!second.ok && second.code, 'MAIL_HOST_NOT_ALLOWED');
  // The certificate must carry the name: one for "localhost" does not pass as another host's.
  const wrongName = await checkImap(settings({ imapHost: 'imap.example.test' }), APP_PASSWORD, { ...opts(), policy: { ...policy, lookup: async () => [{ address: '127.0.0.1', family: 4 }] } });
  assert.equal(!wrongName.ok && wrongName.code, 'MAIL_TLS_FAILED');
});

test('without an explicit allowance, loopback and private servers and other ports are refused before connecting', async () => {
  const strict: MailServerPolicy = { ports: [993, 465], allowedAddresses: [] };
  const imap = await checkImap(settings(), APP_PASSWORD, { ...opts(), policy: strict });
  assert.deepEqual(imap, { ok: false, protocol: 'imap', code: 'MAIL_HOST_NOT_ALLOWED', serverText: null });
  const smtp = await checkSmtp(settings({ smtpHost: 'localhost' }), APP_PASSWORD, { ...opts(), policy: { ...strict, ports: ALL_PORTS } });
  assert.equal(!smtp.ok && smtp.code, 'MAIL_HOST_NOT_ALLOWED', 'localhost resolves to loopback');
  const port = await checkImap(settings(), APP_PASSWORD, { ...opts(), policy: { ports: [993], allowedAddresses: ['127.0.0.0/8'] } });
  assert.equal(!port.ok && port.code, 'MAIL_HOST_NOT_ALLOWED', 'a port outside the list');
  const proof = await fetchInboxProof(settings(), APP_PASSWORD, { ...opts(), policy: strict });
  assert.equal('code' in proof && proof.code, 'MAIL_HOST_NOT_ALLOWED');
});
