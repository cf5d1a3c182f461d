import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import { build } from '../helpers/build.js';
import { Agent, signIn } from '../helpers/agent.js';
import { startDovecot, type Dovecot } from '../helpers/dovecot.js';
import { startSmtp, type TestSmtp } from '../helpers/smtp.js';
import { freePort } from '../helpers/ports.js';
import { testCert } from '../helpers/tls.js';
import { INCONCLUSIVE_MAIL_CODES } from '../../src/mail/classify.js';
import { MAX_CHECKS, MAX_VERIFICATIONS } from '../../src/checks/budget.js';

const EMAIL = 'sklep.fair@gmail.com';
const APP_PASSWORD = 'plmkoijnbhuygvcf';
let dovecot: Dovecot;
let smtp: TestSmtp;
const servers: Server[] = [];
const sockets = new Set<Socket>();
/** A TCP server on a free loopback port that does `greet` with each connection; its sockets are ended in after(). */
async function rawServer(greet: (s: Socket) => void): Promise<number> {
  const port = await freePort();
  const server = createServer((s) => {
    sockets.add(s.on('error', () => {}).on('close', () => sockets.delete(s)));
    greet(s);
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  return port;
}
/** Speaks plain text where the app expects TLS: the handshake fails. */
let notTlsPort: number;
/** Accepts connections and never says a word: the greeting times out. */
let silentPort: number;
/** Answers like a Google front end in trouble, then hangs up. */
let failingPort: number;

before(async () => {
  dovecot = await startDovecot([{ user: EMAIL, password: APP_PASSWORD }]);
  smtp = await startSmtp({ security: 'starttls', users: { [EMAIL]: APP_PASSWORD } });
  notTlsPort = await rawServer((s) => s.write('* OK IMAP4rev1 ready, no TLS here\r\n'));
  silentPort = await rawServer(() => {});
  failingPort = await rawServer((s) => s.end('* BYE [UNAVAILABLE] Temporary System Problem. Try again later.\r\n'));
});
after(async () => {
  // A client that never closed its side would keep server.close() waiting: end them all.
  for (const s of sockets) s.destroy();
  await Promise.all(servers.map((server) => new Promise((r) => server.close(r))));
  await dovecot?.stop();
  await smtp?.stop();
});

async function setup(t: import('node:test').TestContext) {
  const closed = await freePort();
  const { app } = await build(t, {
    env: {
      MAIL_HOST_ALLOWLIST: '127.0.0.1',
      MAIL_ADDRESS_ALLOWLIST: '127.0.0.1',
      MAIL_PORT_ALLOWLIST: [dovecot.port, smtp.port, notTlsPort, silentPort, failingPort, closed].join(','),
      MAIL_TLS_CA_FILE: testCert().certFile,
      MAIL_CHECK_TIMEOUT_MS: '1500',
      // Version 3 is offered (the simulator's client; no call to Allegro is made here).
      ALLEGRO_ENV: 'simulator',
      SUPPORT_EMAIL: 'pomoc@wsparcie.example',
      OPERATOR_NAME: 'Sklepy Testowe sp. z o.o.',
    },
  });
  const s = app.services;
  const seller = s.repos.sellers.insert({ externalId: 'S-FAIR', email: EMAIL, name: 'Sklep Fair', allegroLogin: 'sklep_fair' });
  const box = s.repos.mailboxes.insert({ sellerId: seller, email: EMAIL, imapHost: '127.0.0.1', imapPort: closed, imapSecurity: 'tls', smtpHost: '127.0.0.1', smtpPort: smtp.port, smtpSecurity: 'starttls', username: EMAIL });
  s.repos.mailboxes.setDetection(box, { google: true, provider: 'gmail', rule: 'gmail_address', detail: 'gmail.com' });
  const ar = s.repos.autoresponders.insert({ sellerId: seller, externalId: 'AR-FAIR', version: 2, mailboxId: box });
  s.detection.refreshAutoresponder(ar, { type: 'system' });
  const agent = new Agent(app);
  await signIn(agent, seller);
  await agent.get(`/mailboxes/${box}/app-password/3`);
  /** Points the mailbox's IMAP at another port (what the check will reach). */
  const imapAt = (port: number) => s.repos.mailboxes.updateServers(box, { imapHost: '127.0.0.1', imapPort: port, imapSecurity: 'tls', smtpHost: '127.0.0.1', smtpPort: smtp.port, smtpSecurity: 'starttls', username: EMAIL });
  const lastCode = () => s.repos.connectionChecks.listByMailbox(box, 1)[0]?.code;
  return { s, agent, box, ar, imapAt, closed, lastCode };
}

test('infrastructure failures do not consume attempts, wrong passwords still do, and the lock says when and offers v3', async (t) => {
  const { agent, box, ar, imapAt, closed, lastCode } = await setup(t);
  const post = (pw = APP_PASSWORD) => agent.post(`/mailboxes/${box}/app-password`, { app_password: pw });

  // Four answers that prove nothing about the password: refused, TLS, silence, the server's own error.
  const seen: string[] = [];
  for (const port of [closed, notTlsPort, silentPort, failingPort]) {
    imapAt(port);
    const res = await post();
    const code = lastCode()!;
    seen.push(code);
    assert.ok(INCONCLUSIVE_MAIL_CODES.includes(code as never), `port ${port}: ${code} proves nothing about the password`);
    assert.equal(res.statusCode, 422, `${code}: the form again, nothing saved`);
    assert.match(res.body, /Google nie sprawdził hasła/, code);
    assert.match(res.body, /ta próba nie liczy się do limitu/, code);
    assert.match(res.body, /Pozostałe próby: 5 z 5 w ciągu 15 minut/, `${code}: no attempt used`);
    assert.doesNotMatch(res.body, /Sprawdź nazwę serwera|Sprawdź serwer i port/, `${code}: a Gmail user typed no server, so none is blamed`);
    // The ways on: the form to retry, version 3 for this very autoresponder, support with the code.
    assert.match(res.body, /name="app_password"/, `${code}: the form is there to retry`);
    assert.match(res.body, new RegExp(`action="/autoresponders/${ar}/v3/start"`), `${code}: one click to version 3`);
    assert.match(res.body, new RegExp(`mailto:pomoc@wsparcie\\.example\\?subject(=|&#x3D;)[^"]*${code}`), `${code}: the contact carries the code`);
  }
  assert.deepEqual(new Set(seen).size >= 3, true, `several different codes were produced: ${seen.join(', ')}`);

  // Wrong passwords against a real server: each one counts.
  imapAt(dovecot.port);
  for (let left = MAX_VERIFICATIONS - 1; left >= 0; left--) {
    const res = await post('zzzzyyyyxxxxwwww');
    if (left > 0) {
      assert.equal(res.statusCode, 422);
      assert.equal(lastCode(), 'MAIL_AUTH_FAILED');
      assert.match(res.body, /Google odrzucił to hasło do aplikacji/);
      assert.match(res.body, new RegExp(`Pozostałe próby: ${left} z 5`));
      assert.match(res.body, /Nie widzę opcji „Hasła do aplikacji”/, 'every failure leads to the "no App passwords" help');
    } else {
      // The fifth wrong password uses the last attempt: the page shows the lock at once.
      assert.equal(res.statusCode, 422);
      assert.match(res.body, /Wykorzystano 5 prób w ciągu 15 minut\. Kolejna próba będzie możliwa (dziś|jutro) o \d{2}:\d{2}\./);
    }
  }
  const locked = await post();
  assert.equal(locked.statusCode, 429);
  assert.match(locked.body, /Kolejna próba będzie możliwa (dziś|jutro) o \d{2}:\d{2}\./, 'the exact time');
  assert.doesNotMatch(locked.body, /name="app_password"/);
  assert.match(locked.body, new RegExp(`action="/autoresponders/${ar}/v3/start"`), 'the lock offers version 3');
  assert.match(locked.body, /href="\/migration"/, 'and a way back to the list, not only "Wstecz"');
});

test('checks that prove nothing are not unlimited either: after MAX_CHECKS in the window the form rests', async (t) => {
  const { agent, box, imapAt, closed } = await setup(t);
  imapAt(closed);
  for (let i = 0; i < MAX_CHECKS; i++) {
    const res = await agent.post(`/mailboxes/${box}/app-password`, { app_password: APP_PASSWORD });
    assert.equal(res.statusCode, 422, `check ${i + 1}`);
    if (i < MAX_CHECKS - 1) assert.match(res.body, /Pozostałe próby: 5 z 5/, `check ${i + 1} used no attempt`);
  }
  const rest = await agent.post(`/mailboxes/${box}/app-password`, { app_password: APP_PASSWORD });
  assert.equal(rest.statusCode, 429);
  assert.match(rest.body, new RegExp(`Tę skrzynkę sprawdzaliśmy już ${MAX_CHECKS} razy w ciągu 15 minut\\. Kolejne sprawdzenie będzie możliwe (dziś|jutro) o \\d{2}:\\d{2}\\.`));
});

test('the right password after infrastructure failures still works: nothing was used up', async (t) => {
  const { s, agent, box, imapAt, closed } = await setup(t);
  imapAt(closed);
  for (let i = 0; i < 6; i++) assert.match((await agent.post(`/mailboxes/${box}/app-password`, { app_password: APP_PASSWORD })).body, /Google nie sprawdził hasła/);
  imapAt(dovecot.port);
  const ok = await agent.post(`/mailboxes/${box}/app-password`, { app_password: APP_PASSWORD });
  assert.equal(ok.statusCode, 303, ok.body.slice(0, 400));
  assert.equal(s.repos.mailboxes.getById(box)!.secretKind, 'app_password');
});
