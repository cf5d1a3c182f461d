import { after, before, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { build } from '../helpers/build.js';
import { Agent, signIn } from '../helpers/agent.js';
import { startDovecot, type Dovecot } from '../helpers/dovecot.js';
import { decodeQuotedPrintable, startSmtp, type TestSmtp } from '../helpers/smtp.js';
import { testCert } from '../helpers/tls.js';
import { staffAgent } from '../helpers/staff.js';
import { allegroEnv, startSimulator, storeConsent } from '../helpers/allegro.js';
import type { FastifyInstance } from 'fastify';
import { formatDay } from '../../src/watch/pages.js';
import { isAudit } from '../../src/domain/audit.js';

const DAY = 86_400_000;
const GOOD = 'abcdefghijklmnop';
const USERS = ['anna@gmail.com', 'bartek@gmail.com', 'celina@gmail.com', 'dawid@gmail.com'];
let dovecot: Dovecot;
/** The mailboxes' own SMTP server (like smtp.gmail.com:465), and the app's outgoing relay. */
let mailSmtp: TestSmtp;
let smtpUsers: Record<string, string>;
let relay: TestSmtp;

before(async () => {
  dovecot = await startDovecot(USERS.map((user) => ({ user, password: GOOD })));
  smtpUsers = Object.fromEntries(USERS.map((u) => [u, GOOD]));
  mailSmtp = await startSmtp({ security: 'tls', users: smtpUsers });
  relay = await startSmtp({ security: 'plain' });
});
after(async () => {
  await dovecot?.stop();
  await mailSmtp?.stop();
  await relay?.stop();
});

/** A clock the test moves: the app's `now`, starting at 11:00 in Warsaw on 12 December. */
function clock(start = '2026-12-12T10:00:00Z') {
  let t = Date.parse(start);
  return { now: () => new Date(t), advance: (ms: number) => void (t += ms), set: (iso: string) => void (t = Date.parse(iso)) };
}

async function setup(t: TestContext, opts: { imapPort?: number; env?: Record<string, string> } = {}) {
  const c = clock();
  const imapPort = opts.imapPort ?? dovecot.port;
  const { app } = await build(t, {
    now: c.now,
    env: {
      WATCH_ENABLED: '1',
      MAIL_TLS_CA_FILE: testCert().certFile,
      MAIL_ADDRESS_ALLOWLIST: '127.0.0.1',
      MAIL_PORT_ALLOWLIST: `${imapPort},${mailSmtp.port}`,
      MAIL_CHECK_TIMEOUT_MS: '3000',
      SMTP_URL: `smtp://127.0.0.1:${relay.port}`,
      PUBLIC_URL: 'https://migracja.example.pl',
      // Slots fall at any hour: the sending hours are tested on their own, below.
      WATCH_SEND_HOURS: '0-24',
      ...opts.env,
    },
  });
  const { repos, secrets, migrationService } = app.services;
  /** A seller whose v2 autoresponder reads a mailbox relinked with an app password (Dovecot and smtp-server). */
  const relinked = (user: string, password = GOOD) => {
    const sellerId = repos.sellers.insert({ externalId: `S-${user}`, email: `sklep+${user.split('@')[0]}@example.pl`, name: `Sklep ${user.split('@')[0]}`, allegroLogin: null });
    const mailboxId = repos.mailboxes.insert({ sellerId, email: user, imapHost: '127.0.0.1', imapPort, imapSecurity: 'tls', smtpHost: '127.0.0.1', smtpPort: mailSmtp.port, smtpSecurity: 'tls', username: user });
    repos.mailboxes.setEncryptedSecret(mailboxId, { ciphertext: secrets.encrypt(password, 'mailbox-secret'), kind: 'app_password', verifiedAt: c.now().toISOString() });
    const autoresponderId = repos.autoresponders.insert({ sellerId, externalId: `AR-${user}`, version: 2, mailboxId });
    const m = migrationService.create(autoresponderId, { state: 'affected', rule: 'gmail_address', detail: null } as never, { type: 'system', id: 'test' });
    migrationService.transition(m.id, 'relinked', 'relinked_app_password', { actor: { type: 'seller', id: sellerId } });
    return { sellerId, mailboxId, autoresponderId, email: repos.sellers.getById(sellerId)!.email };
  };
  /** Moves the clock to the autoresponder's next check (never backwards). */
  const toNextCheck = (id: number) => c.set(new Date(Math.max(c.now().getTime(), Date.parse(repos.watch.get(id)!.dueAt))).toISOString());
  /** A day as the seller's page says it ("13 grudnia"). */
  const day = (d: Date | string) => formatDay(typeof d === 'string' ? d : d.toISOString(), 'pl', c.now());
  return { app, c, repos, relinked, toNextCheck, day };
}

/** Dovecot and the mailbox's SMTP server both take the new password, as Google does for one account. */
async function changePassword(user: string, password: string) {
  smtpUsers[user] = password;
  await dovecot.setPassword(user, password);
}

const mailsTo = (to: string) => relay.received.filter((m) => m.to.includes(to));
const state = (app: FastifyInstance, id: number) => {
  const m = app.services.repos.migrations.findByAutoresponder(id)!;
  return `${m.state}${m.reasonCode ? `/${m.reasonCode}` : ''}`;
};
const actions = (app: FastifyInstance, id: number) => app.services.repos.audit.listForTarget('autoresponder', id).map((e) => e.action);

test('a relinked mailbox whose password is changed on the server: the next watch moves it to needs attention and sends exactly one e-mail; the next sends none; a new app password brings it back', async (t) => {
  const { app, c, repos, relinked, day } = await setup(t);
  const a = relinked('anna@gmail.com');
  await app.watch.runDue();
  const scheduled = repos.watch.get(a.autoresponderId)!;
  assert.ok(Date.parse(scheduled.dueAt) > c.now().getTime() && Date.parse(scheduled.dueAt) <= c.now().getTime() + DAY, 'its slot is within the next 24 hours');

  // Day 1: the app password works (IMAP and SMTP).
  c.set(scheduled.dueAt);
  await app.watch.runDue();
  assert.equal(state(app, a.autoresponderId), 'relinked_app_password');
  const firstCheck = repos.connectionChecks.listForAutoresponder(a.autoresponderId, a.mailboxId)[0]!;
  assert.deepEqual([firstCheck.trigger, firstCheck.ok, firstCheck.protocol], ['watch', true, 'imap+smtp']);
  assert.equal(mailsTo(a.email).length, 0);
  const workedOn = c.now();

  // The seller changes the Google password: Google revokes the app password.
  await changePassword('anna@gmail.com', 'nowe-haslo-konta-google');
  c.advance(DAY);
  await app.watch.runDue();
  assert.equal(state(app, a.autoresponderId), 'needs_attention/app_password_rejected');
  assert.equal(repos.migrations.findByAutoresponder(a.autoresponderId)!.lastErrorCode, 'MAIL_AUTH_FAILED');
  const sent = mailsTo(a.email);
  assert.equal(sent.length, 1, 'exactly one e-mail');
  const body = decodeQuotedPrintable(sent[0]!.raw);
  assert.ok(body.includes('hasło Google zostało zmienione — Google unieważnia wtedy hasła do aplikacji'), 'the likely cause in plain words');
  assert.ok(body.includes('anna@gmail.com'), 'which mailbox');
  assert.ok(body.includes('Kupujący nie dostają teraz automatycznych odpowiedzi'), 'what it means for the business');
  const link = /https:\/\/migracja\.example\.pl(\/login\/verify\?token=[A-Za-z0-9_-]+&next=[^\s"<]+)/.exec(body)![1]!;
  assert.ok(link.includes(`&next=${encodeURIComponent(`/mailboxes/${a.mailboxId}/app-password/2`)}&lang=pl`), `straight to the wizard's step 2, in the seller's language: ${link}`);
  assert.ok(!/MAIL_AUTH_FAILED|needs_attention|app_password_rejected/.test(body), 'no codes or state names for the seller');
  for (const action of ['watch.broke', 'migration.needs_attention', 'watch.notice_sent']) assert.ok(actions(app, a.autoresponderId).includes(action), action);

  // The next watch: still broken, no second e-mail.
  c.advance(DAY);
  await app.watch.runDue();
  assert.equal(state(app, a.autoresponderId), 'needs_attention/app_password_rejected');
  assert.equal(mailsTo(a.email).length, 1, 'none again while the problem stays the same');
  assert.equal(repos.connectionChecks.listForAutoresponder(a.autoresponderId, a.mailboxId).filter((x) => x.trigger === 'watch' && !x.ok).length, 2);

  // Support sees it under "broke after migration".
  assert.equal(repos.accounts.count({ broke: true }), 1);
  const staff = await staffAgent(app, 'viewer');
  const list = await staff.get('/staff/accounts?broke=1');
  assert.equal(list.statusCode, 200);
  assert.match(list.body, /id="broke" name="broke" type="checkbox" value="1" checked/);
  assert.ok(list.body.includes('Sklep anna'));
  const overview = await staff.get('/staff');
  assert.match(overview.body, /href="\/staff\/accounts\?broke(=|&#x3D;)1">zepsute po migracji — sprzedawca musi działać<\/a> <span class="n">1<\/span>/);

  // The link signs the seller in and opens the wizard's step 2.
  const seller = new Agent(app);
  const confirm = await seller.get(link);
  assert.equal(confirm.statusCode, 200);
  const token = new URL(link, 'http://x').searchParams.get('token')!;
  const signedIn = await seller.post('/login/verify', { token, next: `/mailboxes/${a.mailboxId}/app-password/2` });
  assert.equal(signedIn.headers.location, `/mailboxes/${a.mailboxId}/app-password/2`);
  assert.equal((await seller.get(signedIn.headers.location as string)).statusCode, 200);
  const page = await seller.get('/migration');
  assert.match(page.body, new RegExp(`Działało do ${day(workedOn)} o \\d\\d:\\d\\d\\. Przyczyna: Google odrzucił hasło do aplikacji\\.`), 'the history on the seller\'s page (with the time)');

  // The seller makes a new app password and saves it (a real IMAP and SMTP login).
  c.advance(3_600_000);
  const fresh = 'qrstuvwxyzabcdef';
  await changePassword('anna@gmail.com', fresh);
  const mailbox = repos.mailboxes.getById(a.mailboxId)!;
  const saved = await app.relink.relink({ sellerId: a.sellerId, mailboxId: a.mailboxId, appPassword: fresh, servers: mailbox, actor: { type: 'seller', id: a.sellerId } });
  assert.ok(saved.ok, JSON.stringify(saved));
  assert.equal(state(app, a.autoresponderId), 'relinked_app_password');
  assert.match((await seller.get('/migration')).body, new RegExp(`Działało do ${day(workedOn)} o \\d\\d:\\d\\d, naprawione ${day(c.now())} o \\d\\d:\\d\\d\\.`), 'fixed at once on the seller\'s page');
  // …and for support at once too (the incident itself is closed by the next sync).
  assert.equal(repos.watch.incidentsOfSeller(a.sellerId)[0]!.resolvedAt, null);
  assert.equal(repos.watch.openCount(), 0, 'the overview no longer counts it');
  assert.equal(repos.accounts.count({ broke: true }), 0, 'nor does the list');
  c.advance(DAY);
  await app.watch.runDue();
  assert.equal(state(app, a.autoresponderId), 'relinked_app_password');
  const incident = repos.watch.incidentsOfSeller(a.sellerId)[0]!;
  assert.deepEqual([incident.resolution, incident.resolvedAt, incident.workedUntil], ['migrated_again', repos.migrations.findByAutoresponder(a.autoresponderId)!.completedAt, workedOn.toISOString()]);
  assert.ok(actions(app, a.autoresponderId).includes('watch.recovered'));
  assert.equal(repos.accounts.count({ broke: true }), 0);
  assert.equal(mailsTo(a.email).length, 1, 'still the one e-mail');
});

test('a passing check after the problem brings the migration back by itself (audited); a problem found at night is e-mailed at 08:00', async (t) => {
  const { app, c, repos, relinked, toNextCheck, day } = await setup(t, { env: { WATCH_SEND_HOURS: '8-20' } });
  const b = relinked('bartek@gmail.com');
  await app.watch.runDue();
  toNextCheck(b.autoresponderId);
  await app.watch.runDue();
  const workedOn = c.now();
  await changePassword('bartek@gmail.com', 'inne-haslo');
  // Its next check, moved to 21:30 in Warsaw: found at night.
  app.services.db.prepare(`UPDATE watches SET due_at = ? WHERE autoresponder_id = ?`).run('2026-12-13T20:30:00.000Z', b.autoresponderId);
  c.set('2026-12-13T20:30:00.000Z');
  await app.watch.runDue();
  assert.equal(state(app, b.autoresponderId), 'needs_attention/app_password_rejected');
  assert.equal(mailsTo(b.email).length, 0, 'none at night');
  const notice = repos.watch.noticeOf(repos.watch.openIncident(b.autoresponderId)!.id)!;
  assert.deepEqual([notice.status, notice.notBefore], ['pending', '2026-12-14T07:00:00.000Z']);
  c.set('2026-12-14T06:59:00.000Z');
  await app.watch.runDue();
  assert.equal(mailsTo(b.email).length, 0);
  c.set('2026-12-14T07:00:00.000Z');
  await app.watch.runDue();
  assert.equal(mailsTo(b.email).length, 1, '08:00 in Poland: the e-mail goes');

  // The password is back (the administrator undid the change): the next check passes and the migration recovers.
  await changePassword('bartek@gmail.com', GOOD);
  toNextCheck(b.autoresponderId);
  await app.watch.runDue();
  assert.equal(state(app, b.autoresponderId), 'relinked_app_password');
  const entries = app.services.repos.audit.listForTarget('autoresponder', b.autoresponderId);
  const relinkedAgain = entries.filter((e) => isAudit(e, 'migration.relinked')).at(-1)!;
  assert.deepEqual([relinkedAgain.actorType, relinkedAgain.actorId, relinkedAgain.details.recovered], ['system', 'watch', true]);
  const recovered = entries.find((e) => isAudit(e, 'watch.recovered'))!;
  assert.equal(recovered.details.resolution, 'check_passed');
  const seller = new Agent(app);
  await signIn(seller, b.sellerId);
  assert.match((await seller.get('/migration')).body, new RegExp(`Działało do ${day(workedOn)} o \\d\\d:\\d\\d, naprawione ${day(c.now())} o \\d\\d:\\d\\d\\.`));
  assert.equal(mailsTo(b.email).length, 1);
});

test('Dovecot stopped: no e-mail, retried with backoff; after a day an outage on the staff overview, not a seller\'s problem; back up, it passes', async (t) => {
  const own = await startDovecot([{ user: 'celina@gmail.com', password: GOOD }]);
  t.after(() => own.stop());
  const { app, c, repos, relinked, toNextCheck } = await setup(t, { imapPort: own.port });
  const x = relinked('celina@gmail.com');
  await app.watch.runDue();
  toNextCheck(x.autoresponderId);
  await app.watch.runDue();
  assert.equal(repos.watch.get(x.autoresponderId)!.failures, 0);

  await own.stop();
  c.advance(DAY);
  const brokeAt = c.now().getTime();
  let tries = 0;
  // Each retry when it is due, for a little over a day (bounded: the backoff reaches hours).
  while (c.now().getTime() - brokeAt < DAY + 4 * 3_600_000 && tries < 40) {
    await app.watch.runDue();
    tries++;
    const w = repos.watch.get(x.autoresponderId)!;
    assert.equal(w.failingCode, 'MAIL_CONNECTION_REFUSED');
    c.set(w.dueAt);
  }
  const w = repos.watch.get(x.autoresponderId)!;
  assert.ok(tries >= 6 && tries < 30, `retried ${tries} times in a day, with growing waits`);
  assert.equal(w.failures, tries);
  assert.equal(state(app, x.autoresponderId), 'relinked_app_password', 'not the seller\'s problem');
  assert.equal(mailsTo(x.email).length, 0, 'never an e-mail');
  assert.equal(repos.watch.openCount(), 0);
  const outages = repos.watch.outages(new Date(c.now().getTime() - DAY));
  assert.deepEqual(outages.map((o) => [o.host, o.code, o.n]), [['127.0.0.1', 'MAIL_CONNECTION_REFUSED', 1]]);
  const staff = await staffAgent(app, 'viewer');
  const overview = await staff.get('/staff');
  assert.match(overview.body, /<tr class="outage">\s*<td[^>]*>127\.0\.0\.1<\/td>\s*<td[^>]*><span class="code-name">serwer poczty nie przyjął połączenia<\/span> <code class="code">MAIL_CONNECTION_REFUSED<\/code>\s*<\/td>\s*<td[^>]*>1<\/td>/);

  // Dovecot comes back where it was: the next retry passes, the outage is gone.
  const back = await startDovecot([{ user: 'celina@gmail.com', password: GOOD }], { port: own.port, starttlsPort: own.starttlsPort });
  t.after(() => back.stop());
  await app.watch.runDue();
  const after = repos.watch.get(x.autoresponderId)!;
  assert.deepEqual([after.failures, after.failingSince], [0, null]);
  assert.equal(repos.watch.outages(new Date(c.now().getTime())).length, 0);
  assert.equal(state(app, x.autoresponderId), 'relinked_app_password');
  assert.equal(mailsTo(x.email).length, 0);
});

test('Allegro answering invalid_grant: one "authorize again" e-mail straight to the Allegro consent; the next watch sends none', async (t) => {
  const sim = await startSimulator(t);
  const { app, c, repos, toNextCheck } = await setup(t, { env: allegroEnv(sim.url) });
  const { migrationService } = app.services;
  // The seller's consent at the simulator, as the app's callback would store it.
  const sellerId = repos.sellers.insert({ externalId: 'S-v3', email: 'dawid.sklep@example.pl', name: 'Dawid', allegroLogin: 'sklep_testowy', language: 'en' });
  const authorizationId = await storeConsent(app.services, sim, { sellerId, login: 'sklep_testowy' });
  const id = repos.autoresponders.insert({ sellerId, externalId: 'AR-v3', version: 2, mailboxId: repos.mailboxes.insert({ sellerId, email: 'dawid@gmail.com', imapHost: 'imap.gmail.com', imapPort: 993, imapSecurity: 'tls', smtpHost: 'smtp.gmail.com', smtpPort: 465, smtpSecurity: 'tls', username: 'dawid@gmail.com' }) });
  repos.autoresponders.switchVersion(id, { version: 3, previousVersion: 2, authorizationId });
  const m = migrationService.create(id, { state: 'affected', rule: 'gmail_address', detail: null } as never, { type: 'system' });
  migrationService.transition(m.id, 'start_v3', 'in_progress_v3', { actor: { type: 'seller', id: sellerId } });
  migrationService.transition(m.id, 'switched_v3', 'switched_v3', { actor: { type: 'seller', id: sellerId } });

  await app.watch.runDue();
  toNextCheck(id);
  await app.watch.runDue();
  assert.equal(state(app, id), 'switched_v3');
  const ok = repos.connectionChecks.lastAllegroCheck(id)!;
  assert.deepEqual([ok.trigger, ok.ok], ['watch', true], 'one Message Center read');

  // The seller logs out of every device at Allegro: the refresh token is refused (invalid_grant).
  sim.state.revokeAccount('sklep_testowy');
  c.advance(DAY);
  await app.watch.runDue();
  assert.equal(state(app, id), 'needs_attention/authorize_again');
  const sent = mailsTo('dawid.sklep@example.pl');
  assert.equal(sent.length, 1);
  const body = decodeQuotedPrintable(sent[0]!.raw);
  assert.ok(body.includes('Allegro withdrew our app\'s access'), 'in the seller\'s language (English)');
  assert.ok(body.includes('sklep_testowy'));
  assert.ok(body.includes(`&next=${encodeURIComponent(`/autoresponders/${id}/v3/authorize`)}`), 'straight to the Allegro consent');
  assert.ok(body.includes('Sign in to Allegro again'));

  c.advance(DAY);
  await app.watch.runDue();
  assert.equal(mailsTo('dawid.sklep@example.pl').length, 1, 'no second e-mail');
  assert.equal(repos.connectionChecks.lastAllegroCheck(id)!.code, 'MIG_ERR_AUTHORIZE_AGAIN');
});
