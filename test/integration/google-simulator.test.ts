import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ImapFlow } from 'imapflow';
import nodemailer from 'nodemailer';
import { PROJECT_ROOT } from '../../src/config.js';
import { GMAIL_IMAP, GMAIL_SMTP, smtpReplyText, type GmailImapAnswer, type GmailSmtpAnswer } from '../../src/mail/gmail-answers.js';
import { checkImap, fetchInboxProof, verifyMailbox, type InboxProof } from '../../src/mail/check.js';
import { STRICT_MAIL_SERVER_POLICY } from '../../src/mail/servers.js';
import type { ServerSettings } from '../../src/domain/model.js';
import { ensureSimulatorCertificates } from '../../src/simulator/google/certificates.js';
import { DEMO_APP_PASSWORD, SEEDED_APP_PASSWORD } from '../../src/simulator/google/demo-passwords.js';
import { MAX_CONNECTIONS_PER_ACCOUNT } from '../../src/simulator/google/imap.js';
import { googleSimulatorRoutes } from '../../src/simulator/google/routes.js';
import { startGoogleSimulator, type GoogleSimulator } from '../../src/simulator/google/server.js';
import { registerSecret } from '../helpers/transcript.js';
import { build } from '../helpers/build.js';
import { fileMxResolver } from '../../src/detection/mx-lookup.js';
import { loadDemoIfEmpty } from '../../src/demo/demo.js';
import { demoAuthorizations, startSimulator } from '../../src/simulator/server.js';
import { freePort } from '../helpers/ports.js';
import { Agent } from '../helpers/agent.js';
import { memoryDb } from '../helpers/core.js';

const DEMO_DIR = path.join(PROJECT_ROOT, 'data/demo');
const GOOD = 'anna.nowak.sklep@gmail.com';
const ACCOUNT_PASSWORD = 'Demo-Haslo-001'; // its mailbox_password in the demo export
let sim: GoogleSimulator;
let certDir: string;

before(async () => {
  certDir = path.join(mkdtempSync(path.join(tmpdir(), 'google-sim-')), 'google-simulator');
  sim = await startGoogleSimulator({ host: '127.0.0.1', imapPort: 0, smtpPort: 0, submissionPort: 0, dir: certDir }, { demoDir: DEMO_DIR });
  registerSecret(ACCOUNT_PASSWORD);
});
after(async () => sim?.close());

const trust = () => ({ ca: sim.ca, servername: 'imap.gmail.com', minVersion: 'TLSv1.2' as const });

/** imapflow straight at the simulator (no app code in between), with the chosen login command. */
async function imapLogin(user: string, pass: string, loginMethod: 'LOGIN' | 'AUTH=PLAIN') {
  const client = new ImapFlow({ host: '127.0.0.1', port: sim.imapPort, secure: true, auth: { user, pass, loginMethod }, logger: false, tls: trust(), connectionTimeout: 5000 });
  client.on('error', () => {});
  try {
    await client.connect();
    return { ok: true as const, client };
  } catch (err) {
    client.close();
    const e = err as { serverResponseCode?: string; responseText?: string };
    return { ok: false as const, serverResponseCode: e.serverResponseCode, responseText: e.responseText };
  }
}

async function smtpLogin(user: string, pass: string, security: 'tls' | 'starttls') {
  const transport = nodemailer.createTransport({
    host: '127.0.0.1',
    port: security === 'tls' ? sim.smtpPort : sim.submissionPort,
    secure: security === 'tls',
    requireTLS: security === 'starttls',
    auth: { user, pass },
    tls: { ...trust(), servername: 'smtp.gmail.com' },
    connectionTimeout: 5000,
  });
  try {
    await transport.verify();
    return { ok: true as const };
  } catch (err) {
    const e = err as { responseCode?: number; response?: string };
    return { ok: false as const, responseCode: e.responseCode, response: e.response };
  } finally {
    transport.close();
  }
}

const expectImap = (r: Awaited<ReturnType<typeof imapLogin>>, a: GmailImapAnswer, what: string) => {
  assert.equal(r.ok, false, `${what}: refused`);
  if (!r.ok) assert.deepEqual({ code: r.serverResponseCode, text: r.responseText }, { code: a.responseCode, text: a.text }, what);
};
const expectSmtp = (r: Awaited<ReturnType<typeof smtpLogin>>, a: GmailSmtpAnswer, what: string) => {
  assert.equal(r.ok, false, `${what}: refused`);
  if (!r.ok) assert.deepEqual({ code: r.responseCode, text: r.response }, { code: a.responseCode, text: smtpReplyText(a) }, what);
};

test('the simulator answers with exactly the texts the classifier\'s unit tests use (IMAP LOGIN and AUTHENTICATE, SMTP 465 and 587)', async () => {
  const refusing: [string, GmailImapAnswer | null, GmailSmtpAnswer | null][] = [
    ['czesci.auto.grzes@gmail.com', GMAIL_IMAP.appPasswordRequired, GMAIL_SMTP.appPasswordRequired],
    ['sklep@kawiarnia-aromat.pl', GMAIL_IMAP.invalidCredentials, GMAIL_SMTP.invalidCredentials],
    ['kubaelektronika@gmail.com', GMAIL_IMAP.webLoginRequired, GMAIL_SMTP.webLoginRequired],
    ['narzedzia.stolarz@gmail.com', GMAIL_IMAP.imapDisabled, null],
    ['handel@kosmetyki-natura.pl', GMAIL_IMAP.imapDisabledForDomain, null],
    ['zabawki.malgosia@gmail.com', GMAIL_IMAP.tooManyConnections, null],
    ['herbaciarnia.zen@gmail.com', null, GMAIL_SMTP.tooManyLogins],
  ];
  for (const method of ['LOGIN', 'AUTH=PLAIN'] as const) {
    const good = await imapLogin(GOOD, DEMO_APP_PASSWORD, method);
    assert.equal(good.ok, true, `${method}: the demo app password is accepted`);
    if (good.ok) await good.client.logout();
    const spaced = await imapLogin(GOOD, 'demo demo demo demo', method);
    assert.equal(spaced.ok, true, `${method}: with Google's spaces too`);
    if (spaced.ok) await spaced.client.logout();
    expectImap(await imapLogin(GOOD, ACCOUNT_PASSWORD, method), GMAIL_IMAP.appPasswordRequired, `${method}: the account password`);
    expectImap(await imapLogin(GOOD, 'zlehaslozlehaslo', method), GMAIL_IMAP.invalidCredentials, `${method}: a wrong app password`);
    expectImap(await imapLogin('nikogo.tu.nie.ma@gmail.com', DEMO_APP_PASSWORD, method), GMAIL_IMAP.invalidCredentials, `${method}: an unknown address`);
    for (const [user, answer] of refusing) {
      if (answer) expectImap(await imapLogin(user, DEMO_APP_PASSWORD, method), answer, `${method} ${user}`);
    }
  }
  for (const security of ['tls', 'starttls'] as const) {
    assert.deepEqual(await smtpLogin(GOOD, DEMO_APP_PASSWORD, security), { ok: true }, `${security}: accepted`);
    expectSmtp(await smtpLogin(GOOD, ACCOUNT_PASSWORD, security), GMAIL_SMTP.appPasswordRequired, `${security}: the account password`);
    expectSmtp(await smtpLogin(GOOD, 'zlehaslozlehaslo', security), GMAIL_SMTP.invalidCredentials, `${security}: a wrong app password`);
    for (const [user, , answer] of refusing) {
      if (answer) expectSmtp(await smtpLogin(user, DEMO_APP_PASSWORD, security), answer, `${security} ${user}`);
    }
  }
  // The app password the demo data stored is accepted, except where the demo says it was revoked.
  assert.equal((await smtpLogin('gry.planszowe.olek@gmail.com', SEEDED_APP_PASSWORD, 'tls')).ok, true);
  expectSmtp(await smtpLogin('amber.gifts.gdansk@gmail.com', SEEDED_APP_PASSWORD, 'tls'), GMAIL_SMTP.invalidCredentials, 'revoked');
});

test('through the demo route the app\'s own check gets each code, and the inbox proof the seeded messages', async () => {
  // The strict policy (no loopback): the demo route is the one, explicit exemption from it.
  const opts = { timeoutMs: 5000, policy: STRICT_MAIL_SERVER_POLICY, routes: googleSimulatorRoutes({ host: '127.0.0.1', ...sim }, sim.ca) };
  const gmail = (username: string, smtpPort = 465): ServerSettings => ({ imapHost: 'imap.gmail.com', imapPort: 993, imapSecurity: 'tls', smtpHost: 'smtp.gmail.com', smtpPort, smtpSecurity: smtpPort === 465 ? 'tls' : 'starttls', username });
  assert.deepEqual(await verifyMailbox(gmail(GOOD), DEMO_APP_PASSWORD, opts), { ok: true });
  assert.deepEqual(await verifyMailbox({ ...gmail(GOOD, 587), imapHost: 'IMAP.GMAIL.COM.' }, DEMO_APP_PASSWORD, opts), { ok: true }, 'host written differently, STARTTLS');
  const codes: Record<string, string> = {
    'czesci.auto.grzes@gmail.com': 'MAIL_APP_PASSWORD_REQUIRED',
    'sklep@kawiarnia-aromat.pl': 'MAIL_AUTH_FAILED',
    'kubaelektronika@gmail.com': 'MAIL_WEB_LOGIN_REQUIRED',
    'narzedzia.stolarz@gmail.com': 'MAIL_IMAP_DISABLED',
    'handel@kosmetyki-natura.pl': 'MAIL_IMAP_DISABLED',
    'zabawki.malgosia@gmail.com': 'MAIL_TOO_MANY_CONNECTIONS',
    'herbaciarnia.zen@gmail.com': 'MAIL_TOO_MANY_LOGINS',
  };
  for (const [user, code] of Object.entries(codes)) {
    const r = await verifyMailbox(gmail(user), DEMO_APP_PASSWORD, opts);
    assert.equal(r.ok ? 'ok' : r.code, code, user);
  }
  const proof = (await fetchInboxProof(gmail(GOOD), DEMO_APP_PASSWORD, opts)) as InboxProof;
  const seeded = sim.directory.inbox(GOOD);
  assert.equal(proof.total, seeded.length);
  assert.ok(seeded.length >= 5 && proof.allegroCount >= 1, 'a handful of messages, some from allegro.pl');
  assert.equal(proof.latest[0]!.subject, seeded.at(-1)!.subject, 'newest first');
  assert.ok(proof.latest.every((m) => m.date), 'dates are read');
  // Each mailbox has its own INBOX.
  const other = (await fetchInboxProof(gmail('gry.planszowe.olek@gmail.com'), DEMO_APP_PASSWORD, opts)) as InboxProof;
  assert.equal(other.total, sim.directory.inbox('gry.planszowe.olek@gmail.com').length);

  // Without the route's CA the simulator's certificate is not trusted: it cannot pass for Google.
  const untrusted = googleSimulatorRoutes({ host: '127.0.0.1', ...sim }, (await ensureSimulatorCertificates(path.join(mkdtempSync(path.join(tmpdir(), 'other-ca-')), 'x'))).ca);
  const tls = await checkImap(gmail(GOOD), DEMO_APP_PASSWORD, { timeoutMs: 5000, policy: STRICT_MAIL_SERVER_POLICY, routes: untrusted });
  assert.equal(tls.ok ? 'ok' : tls.code, 'MAIL_TLS_FAILED', JSON.stringify(tls));
});

test('Gmail\'s 15 simultaneous connections: the 16th login is refused until one closes', async () => {
  const open: ImapFlow[] = [];
  try {
    for (let i = 0; i < MAX_CONNECTIONS_PER_ACCOUNT; i++) {
      const r = await imapLogin('ogrod.marzen.pl@gmail.com', DEMO_APP_PASSWORD, 'LOGIN');
      assert.equal(r.ok, true, `connection ${i + 1}`);
      if (r.ok) open.push(r.client);
    }
    expectImap(await imapLogin('ogrod.marzen.pl@gmail.com', DEMO_APP_PASSWORD, 'LOGIN'), GMAIL_IMAP.tooManyConnections, 'the 16th');
    await open.pop()!.logout();
    await new Promise((r) => setTimeout(r, 100));
    const again = await imapLogin('ogrod.marzen.pl@gmail.com', DEMO_APP_PASSWORD, 'LOGIN');
    assert.equal(again.ok, true, 'a slot is free again');
    if (again.ok) open.push(again.client);
  } finally {
    await Promise.all(open.map((c) => c.logout().catch(() => c.close())));
  }
});

test('the certificate authority is made once and kept: a second start reuses it', async () => {
  const before = { ca: readFileSync(path.join(certDir, 'ca.pem'), 'utf8'), mtime: statSync(path.join(certDir, 'server-key.pem')).mtimeMs };
  assert.equal(statSync(path.join(certDir, 'server-key.pem')).mode & 0o077, 0, 'the key is readable by its owner only');
  const again = await startGoogleSimulator({ host: '127.0.0.1', imapPort: 0, smtpPort: 0, submissionPort: 0, dir: certDir }, { demoDir: DEMO_DIR });
  try {
    assert.equal(again.ca, before.ca);
    assert.equal(statSync(path.join(certDir, 'server-key.pem')).mtimeMs, before.mtime);
  } finally {
    await again.close();
  }
});

test('staff re-checks in the demo go to the simulator: every demo autoresponder re-checked gives a realistic mix, none fails on DNS for Google', async (t) => {
  const { app } = await build(t, {
    env: { DEMO: '1', GOOGLE_SIMULATOR_IMAP_PORT: String(sim.imapPort), GOOGLE_SIMULATOR_SMTP_PORT: String(sim.smtpPort), GOOGLE_SIMULATOR_SUBMISSION_PORT: String(sim.submissionPort), GOOGLE_SIMULATOR_DIR: certDir, MAIL_CHECK_TIMEOUT_MS: '3000' },
    resolver: fileMxResolver(path.join(DEMO_DIR, 'mx.json')),
  });
  await loadDemoIfEmpty(app.services, DEMO_DIR);
  const { repos } = app.services;
  const outcomes = new Map<string, string>();
  for (const ar of ['AR-2001', 'AR-2002', 'AR-2005', 'AR-2007', 'AR-2017', 'AR-2036', 'AR-2040', 'AR-2042', 'AR-2045']) {
    const a = repos.autoresponders.findByExternalId(ar)!;
    const r = await app.staffActions.recheck(a.id, 'staff', { type: 'staff', id: 1 });
    outcomes.set(ar, r.outcome);
  }
  assert.deepEqual(Object.fromEntries(outcomes), {
    'AR-2001': 'MAIL_APP_PASSWORD_REQUIRED', // the account password from the export
    'AR-2002': 'MAIL_WEB_LOGIN_REQUIRED',
    'AR-2005': 'MAIL_TOO_MANY_CONNECTIONS',
    'AR-2007': 'MAIL_APP_PASSWORD_REQUIRED', // the account password: refused at IMAP, before SMTP is tried
    'AR-2017': 'MAIL_AUTH_FAILED',
    'AR-2036': 'ok', // relinked in the demo data
    'AR-2040': 'ok',
    'AR-2042': 'MAIL_AUTH_FAILED', // its stored app password was revoked
    'AR-2045': 'MAIL_IMAP_DISABLED',
  });
  // A relinked autoresponder whose app password stopped working needs the seller again.
  assert.equal(repos.migrations.findByAutoresponder(repos.autoresponders.findByExternalId('AR-2042')!.id)!.state, 'needs_attention');
});

test('the watch in the demo, against both simulators: seeded v3 authorizations pass (also after the Allegro simulator restarts), AR-2042 is found broken with one incident and one logged e-mail, and the seller fixes it', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'demo-watch-'));
  let clock = Date.now();
  const DAY = 86_400_000;
  const allegroPort = String(await freePort());
  // The app's database outlives a "restart": a second app over it, as `npm start` again over data/app.db.
  const db = memoryDb();
  const logs: string[][] = []; // each run's log lines
  const boot = async () => {
    const built = await build(t, {
      db,
      env: {
      DEMO: '1',
      DATABASE_PATH: path.join(dir, 'app.db'), // the app's database is in memory; the simulator's tokens go beside this path
      ALLEGRO_SIMULATOR_PORT: allegroPort,
      WATCH_ENABLED: '1',
      WATCH_SEND_HOURS: '0-24',
      GOOGLE_SIMULATOR_IMAP_PORT: String(sim.imapPort),
      GOOGLE_SIMULATOR_SMTP_PORT: String(sim.smtpPort),
      GOOGLE_SIMULATOR_SUBMISSION_PORT: String(sim.submissionPort),
      GOOGLE_SIMULATOR_DIR: certDir,
      MAIL_CHECK_TIMEOUT_MS: '3000',
    },
      resolver: fileMxResolver(path.join(DEMO_DIR, 'mx.json')),
      now: () => new Date(clock),
    });
    logs.push(built.logs);
    return built;
  };
  let { app, config } = await boot();
  const tokenFile = config.allegro.simulatorTokenFile!;
  assert.equal(tokenFile, path.join(dir, 'allegro-simulator', 'tokens.json'));
  const startAllegro = async () => {
    const s = await startSimulator(config);
    t.after(() => s.close());
    return s;
  };
  let allegro = await startAllegro();
  await loadDemoIfEmpty(app.services, DEMO_DIR, { allegro: demoAuthorizations(allegro.simulator, config.allegro.clientId!) });
  const { repos } = app.services;
  const ar = (id: string) => repos.autoresponders.findByExternalId(id)!;
  const state = (id: string) => {
    const m = repos.migrations.findByAutoresponder(ar(id).id)!;
    return m.reasonCode ? `${m.state}/${m.reasonCode}` : m.state;
  };
  const mailsTo = (to: string) => logs.flat().filter((l) => l.includes('demo mode: e-mail not sent') && l.includes(`"to":"${to}"`)).length;
  for (const id of ['AR-2039', 'AR-2044']) assert.notEqual(ar(id).authorizationId, null, `${id} holds a real authorization`);
  assert.ok(existsSync(tokenFile), 'the simulator keeps what it granted');
  assert.equal(state('AR-2042'), 'relinked_app_password', 'AR-2042 is seeded working: the watch finds out that it is not');

  // The demo's first start: every watched autoresponder is checked now, through the lane.
  assert.equal(await app.watch.firstChecksNow(), 5, 'AR-2039, AR-2040, AR-2041, AR-2042, AR-2044');
  await app.watch.runDue();
  const v3Passed = (what: string) => {
    for (const id of ['AR-2039', 'AR-2044']) {
      assert.equal(state(id), 'switched_v3', `${id} ${what}`);
      const c = repos.connectionChecks.lastAllegroCheck(ar(id).id)!;
      assert.deepEqual([c.trigger, c.ok, c.at], ['watch', true, new Date(clock).toISOString()], `${id} ${what}: read the Message Center now (${c.code} ${c.detail})`);
    }
  };
  v3Passed('at the first check');
  assert.equal(state('AR-2040'), 'relinked_app_password', 'the seeded app password works in the Google simulator');
  assert.equal(state('AR-2041'), 'needs_attention/authorize_again', 'its authorization was revoked');
  assert.equal(state('AR-2042'), 'needs_attention/app_password_rejected');
  const amber = ar('AR-2042');
  const incidents = repos.watch.incidentsOfSeller(amber.sellerId);
  assert.equal(incidents.length, 1, 'one incident');
  assert.deepEqual([incidents[0]!.reason, incidents[0]!.code, incidents[0]!.resolvedAt], ['app_password_rejected', 'MAIL_AUTH_FAILED', null]);
  assert.equal(repos.watch.noticeOf(incidents[0]!.id)!.status, 'sent');
  assert.equal(mailsTo('amber.gifts.gdansk@gmail.com'), 1, 'one e-mail, logged (no SMTP_URL in the demo)');

  // A day later: the access tokens have expired (by the app's clock) and are refreshed; nothing new to say.
  clock += DAY;
  await app.watch.runDue();
  v3Passed('a day later');
  assert.equal(mailsTo('amber.gifts.gdansk@gmail.com'), 1, 'no second e-mail for the same problem');
  assert.equal(repos.watch.incidentsOfSeller(amber.sellerId).length, 1);
  assert.ok(allegro.simulator.stats.refresh >= 2 && allegro.simulator.stats.refreshRejected === 0, JSON.stringify(allegro.simulator.stats));

  // The demo restarts (the app and the simulator beside it): the simulator comes back with the tokens it had issued.
  await app.close();
  await allegro.close();
  allegro = await startAllegro();
  ({ app, config } = await boot());
  clock += DAY;
  await app.watch.runDue();
  v3Passed('after the simulator restarted');
  assert.ok(allegro.simulator.stats.refresh >= 2 && allegro.simulator.stats.refreshRejected === 0, 'refreshed by the restarted simulator');

  // The seller signs in from the demo's list, sees since when it is broken, saves the demo's app password.
  const a = new Agent(app);
  await a.get('/login');
  assert.equal((await a.post('/login/demo', { seller: String(amber.sellerId) })).statusCode, 303);
  const broken = await a.get('/migration');
  assert.match(broken.body, /Worked until [^<.]+\. Cause: /, 'in English, her language');
  await a.get(`/mailboxes/${amber.mailboxId}/app-password/3`);
  const saved = await a.post(`/mailboxes/${amber.mailboxId}/app-password`, { app_password: 'demo demo demo demo' });
  assert.equal(saved.statusCode, 303, saved.body.slice(0, 300));
  assert.equal(state('AR-2042'), 'relinked_app_password');
  assert.match((await a.get('/migration')).body, /Worked until [^<.]+, fixed on [^<.]+\./);
  clock += DAY;
  await app.watch.runDue();
  assert.equal(state('AR-2042'), 'relinked_app_password', 'the new app password passes the next check');
  assert.equal(mailsTo('amber.gifts.gdansk@gmail.com'), 1);

  // Without its file the simulator would have forgotten them: the watch would then say "authorize again".
  await app.close();
  await allegro.close();
  rmSync(tokenFile);
  allegro = await startAllegro();
  ({ app, config } = await boot());
  allegro.simulator.expireAccessTokens();
  clock += DAY;
  await app.watch.runDue();
  assert.equal(state('AR-2039'), 'needs_attention/authorize_again', 'what a restart did before the tokens were kept');
});
