// Regression tests for the third hardening round (issue 23): each failed on the code before its fix.
import { test, type TestContext } from 'node:test';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import assert from 'node:assert/strict';
import { build, TEST_OPERATOR } from '../helpers/build.js';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Agent, signIn } from '../helpers/agent.js';
import { createStaff, seedAccounts, staffAgent } from '../helpers/staff.js';
import { ConfigError, loadConfig, PROJECT_ROOT } from '../../src/config.js';
import { migrate, openDatabase } from '../../src/db/database.js';
import { MigError } from '../../src/errors.js';
import { createSessionsRepository } from '../../src/repositories/sessions.js';
import { createStaffRepository } from '../../src/repositories/staff.js';
import { createStaffAccessService } from '../../src/staff/user-access.js';
import { purgeOldChecks } from '../../src/ops/maintenance.js';
import { testServices } from '../helpers/core.js';
import { testClient } from '../helpers/allegro.js';
import { createAuthorizationService } from '../../src/allegro/authorization.js';
import { AllegroUnavailableError } from '../../src/allegro/errors.js';
import { maskEmail } from '../../src/seller/sign-in.js';

const root = '/nonexistent-root-for-config-tests';

test('TRUST_PROXY=1 believes one hop: a client that writes its own X-Forwarded-For still meets the staff sign-in limit (item 1)', async (t) => {
  const { app } = await build(t, { env: { TRUST_PROXY: '1' } });
  await createStaff(app.services, 'ewa@wsparcie.example', 'admin');
  const statuses: number[] = [];
  for (let n = 1; n <= 24; n++) {
    // The client sends 203.0.113.N; the one proxy in front appends the address it saw (198.51.100.7).
    const page = await app.inject({ method: 'GET', url: '/staff/login', headers: { 'x-forwarded-for': `203.0.113.${n}, 198.51.100.7` } });
    const csrf = /name="_csrf" value="([^"]+)"/.exec(page.body)?.[1] ?? '';
    const cookies = Object.fromEntries(page.cookies.map((c) => [c.name, c.value]));
    const res = await app.inject({
      method: 'POST',
      url: '/staff/login',
      payload: new URLSearchParams({ _csrf: csrf, email: `nikt${n}@wsparcie.example`, password: 'zle-haslo-xx-123' }).toString(),
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-forwarded-for': `203.0.113.${n}, 198.51.100.7` },
      cookies,
    });
    statuses.push(res.statusCode);
  }
  assert.ok(statuses.includes(429), `the per-IP limit counts the proxy's address, not the client's claim: ${statuses.join(' ')}`);
});

test('TRUST_PROXY takes hops or addresses; a bare "true" is refused outside the demo (item 1)', () => {
  const hops = loadConfig({ DEMO: '0', ...TEST_OPERATOR, TRUST_PROXY: '2' }, root).trustProxy;
  assert.equal(typeof hops, 'function');
  assert.deepEqual([0, 1, 2].map((i) => (hops as (a: string, i: number) => boolean)('10.0.0.1', i)), [true, true, false]);
  assert.deepEqual(loadConfig({ DEMO: '0', ...TEST_OPERATOR, TRUST_PROXY: '10.0.0.1, 10.20.0.0/16, loopback' }, root).trustProxy, ['10.0.0.1', '10.20.0.0/16', 'loopback']);
  assert.equal(loadConfig({ DEMO: '0', ...TEST_OPERATOR, TRUST_PROXY: 'off' }, root).trustProxy, false);
  assert.equal(loadConfig({ DEMO: '1', TRUST_PROXY: 'true' }, root).trustProxy, true, 'the demo may');
  for (const value of ['true', 'yes']) {
    assert.throws(
      () => loadConfig({ DEMO: '0', ...TEST_OPERATOR, TRUST_PROXY: value }, root),
      (err: unknown) => err instanceof ConfigError && err.variable === 'TRUST_PROXY' && /number of proxies/.test(err.message) && !err.message.includes('\n'),
    );
  }
  assert.throws(() => loadConfig({ DEMO: '1', TRUST_PROXY: 'everyone' }, root), (err: unknown) => err instanceof ConfigError && err.variable === 'TRUST_PROXY');
});

test('ALLEGRO_AUTH_URL, ALLEGRO_API_URL and PUBLIC_URL are bare addresses: no query, fragment, user or path (item 4)', () => {
  const both = { ALLEGRO_AUTH_URL: 'http://127.0.0.1:9', ALLEGRO_API_URL: 'http://127.0.0.1:9' };
  const bad = ['http://127.0.0.1:9/?', 'http://127.0.0.1:9/#', 'http://127.0.0.1:9?x=1', 'http://user:pw@127.0.0.1:9', 'http://user@127.0.0.1:9', 'http://127.0.0.1:9/api', 'http://127.0.0.1:9/./'];
  for (const variable of ['ALLEGRO_AUTH_URL', 'ALLEGRO_API_URL', 'PUBLIC_URL'] as const) {
    for (const value of bad) {
      assert.throws(
        () => loadConfig({ DEMO: '1', ...both, [variable]: value }, root),
        (err: unknown) => err instanceof ConfigError && err.variable === variable,
        `${variable}=${value} must be refused`,
      );
    }
  }
  const ok = loadConfig({ DEMO: '1', ALLEGRO_AUTH_URL: 'https://allegro.pl/', ALLEGRO_API_URL: 'https://api.allegro.pl', PUBLIC_URL: 'https://migracja.example.pl/' }, root);
  assert.equal(ok.allegro.authUrl, 'https://allegro.pl');
  assert.equal(ok.publicUrl, 'https://migracja.example.pl');
});

test('outside the demo the service must name its operator and support address: one error naming both (item 6)', () => {
  assert.throws(
    () => loadConfig({ DEMO: '0' }, root),
    (err: unknown) => err instanceof ConfigError && /OPERATOR_NAME and SUPPORT_EMAIL are required outside the demo/.test(err.message) && !err.message.includes('\n'),
  );
  assert.throws(() => loadConfig({ DEMO: '0', OPERATOR_NAME: 'Sklepy Kowalski sp. z o.o.' }, root), (err: unknown) => err instanceof ConfigError && err.variable === 'SUPPORT_EMAIL' && /SUPPORT_EMAIL is required/.test(err.message));
  assert.throws(() => loadConfig({ DEMO: '0', SUPPORT_EMAIL: 'pomoc@example.pl' }, root), (err: unknown) => err instanceof ConfigError && err.variable === 'OPERATOR_NAME');
  const c = loadConfig({ DEMO: '0', ...TEST_OPERATOR }, root);
  assert.equal(c.support.operatorName, TEST_OPERATOR.OPERATOR_NAME);
  assert.equal(c.support.email, TEST_OPERATOR.SUPPORT_EMAIL);
});

test('staff and seller sessions end at their absolute lifetime even when used all the time (item 2)', async (t) => {
  let clock = Date.parse('2026-12-07T08:00:00Z');
  const { app, config } = await build(t, { now: () => new Date(clock) });
  const staff = await staffAgent(app, 'viewer');
  const [row] = seedAccounts(app.services, [{ name: 'Jan', email: 'jan@gmail.com', mailbox: 'jan@gmail.com' }]);
  const seller = new Agent(app);
  await signIn(seller, row!.sellerId);
  const start = clock;
  // A request every 20 minutes: never idle, yet each session ends at its absolute lifetime (the defaults:
  // 10 hours for staff, 12 for a seller).
  const staffEnd = start + 10 * 3_600_000;
  const sellerEnd = start + 12 * 3_600_000;
  for (let guard = 0; clock < Math.max(staffEnd, sellerEnd) + 20 * 60_000 && guard < 200; guard++) {
    clock += 20 * 60_000;
    const s = await staff.get('/staff');
    const m = await seller.get('/migration');
    assert.equal(s.statusCode === 200, clock < staffEnd, `staff at +${(clock - start) / 3_600_000} h: ${s.statusCode}`);
    assert.equal(m.statusCode === 200, clock < sellerEnd, `seller at +${(clock - start) / 3_600_000} h: ${m.statusCode}`);
  }
  assert.deepEqual([config.staffSessionMaxMs, config.sessionMaxMs], [staffEnd - start, sellerEnd - start]);
});

test('a staff password reset ends the account\'s sessions: by `npm run cli -- staff:create` and by the console\'s reset (item 2)', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'reset-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const env = { PATH: process.env.PATH, HOME: process.env.HOME, DATABASE_PATH: path.join(dir, 'data', 'app.db'), SECRET_KEY_FILE: path.join(dir, 'data', 'secret.key'), DEMO: '0', ...TEST_OPERATOR, LOG_LEVEL: 'warn' };
  const cli = (password: string) => spawnSync(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'staff:create', '--email', 'ewa@wsparcie.example', '--role', 'admin'], { cwd: PROJECT_ROOT, env: { ...env, STAFF_PASSWORD: password }, encoding: 'utf8', timeout: 60_000 });
  assert.equal(cli('Pierwsze-Haslo-2026!').status, 0);
  let db = openDatabase(env.DATABASE_PATH);
  const id = createStaffRepository(db).findByEmail('ewa@wsparcie.example')!.id;
  const cookie = createSessionsRepository(db).create('staff', id, 3_600_000);
  db.close();
  const again = cli('Drugie-Haslo-2026!!');
  assert.equal(again.status, 0, again.stderr);
  db = openDatabase(env.DATABASE_PATH);
  assert.equal(createSessionsRepository(db).resume(cookie, 3_600_000), undefined, 'the old cookie no longer opens /staff');
  db.close();

  const { app } = await build(t);
  const admin = await staffAgent(app, 'admin');
  const viewer = await staffAgent(app, 'viewer');
  assert.equal((await viewer.get('/staff')).statusCode, 200);
  const viewerId = app.services.repos.staff.findByEmail('viewer@wsparcie.example')!.id;
  // The console's new password (an admin's, staff/user-access.ts): the one way a password is set there.
  const access = createStaffAccessService({ db: app.services.db, repos: app.services.repos, now: app.services.now });
  const r = await access.setPassword(viewerId, 'Nowe-Haslo-Wsparcia-1', { type: 'staff', id: app.services.repos.staff.findByEmail('admin@wsparcie.example')!.id });
  assert.equal(r, true);
  assert.equal((await viewer.get('/staff')).statusCode, 303, 'signed out');
  assert.equal((await admin.get('/staff')).statusCode, 200, 'the admin\'s own session stays');
  assert.equal(await access.setPassword(99_999, 'Nowe-Haslo-Wsparcia-1', { type: 'cli', id: 'test' }), false);
});

test('the data folder is 0700 and the database files 0600; a database or key file others can read is refused, naming the fix (item 3)', (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'perm-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'data', 'app.db');
  const db = openDatabase(file);
  migrate(db);
  db.prepare(`INSERT INTO staff_sign_in_failures (email, at) VALUES ('x@example.pl', '2026-01-01')`).run();
  assert.equal(statSync(path.dirname(file)).mode & 0o777, 0o700, 'data/');
  for (const f of [file, `${file}-wal`, `${file}-shm`]) assert.equal(statSync(f).mode & 0o777, 0o600, f);
  db.close();

  chmodSync(file, 0o644);
  assert.throws(() => openDatabase(file), (err: unknown) => err instanceof MigError && err.code === 'MIG_ERR_CONFIG' && err.message.includes(`chmod 600 ${file}`));
  chmodSync(file, 0o600);
  openDatabase(file).close();

  const key = path.join(dir, 'data', 'secret.key');
  writeFileSync(key, 'x\n', { mode: 0o640 });
  chmodSync(key, 0o640);
  assert.throws(
    () => loadConfig({ DEMO: '1', DATABASE_PATH: file, SECRET_KEY_FILE: key }, dir),
    (err: unknown) => err instanceof ConfigError && err.variable === 'SECRET_KEY_FILE' && err.message.includes(`chmod 600 ${key}`) && !err.message.includes('\n'),
  );
  chmodSync(key, 0o600);
  assert.equal(loadConfig({ DEMO: '1', DATABASE_PATH: file, SECRET_KEY_FILE: key }, dir).secretKeyFile, key);
});

test('watch incidents and their e-mails are kept 180 days after they are resolved, like connection checks; an open one or one whose e-mail is on its way stays (item 8)', async () => {
  const DAY = 86_400_000;
  const clock = Date.parse('2026-01-01T10:00:00Z');
  const s = testServices({ now: () => new Date(clock) });
  const sellerId = s.repos.sellers.insert({ externalId: 'S1', email: 'a@gmail.com', name: 'A', allegroLogin: 'a' });
  const mailboxId = s.repos.mailboxes.insert({ sellerId, email: 'a@gmail.com', imapHost: 'imap.gmail.com', imapPort: 993, imapSecurity: 'tls', smtpHost: 'smtp.gmail.com', smtpPort: 465, smtpSecurity: 'tls', username: 'a@gmail.com' });
  const incident = (n: number, resolvedDaysAgo: number | null, notice: 'sent' | 'pending' | null) => {
    const autoresponderId = s.repos.autoresponders.insert({ sellerId, externalId: `A${n}`, version: 2, mailboxId });
    const id = s.repos.watch.openIncidentFor({ autoresponderId, subject: `mailbox:${mailboxId}`, reason: 'app_password_rejected', code: 'MAIL_AUTH_FAILED', workedUntil: null, foundAt: new Date(clock - 300 * DAY).toISOString() });
    if (notice) {
      const noticeId = s.repos.watch.addNotice({ incidentId: id, sellerId, notBefore: new Date(clock - 300 * DAY) });
      if (notice === 'sent') s.repos.watch.setNotice(noticeId, 'sent');
    }
    if (resolvedDaysAgo !== null) s.repos.watch.resolve(id, 'check_passed', new Date(clock - resolvedDaysAgo * DAY).toISOString());
    return id;
  };
  const old = incident(1, 200, 'sent');
  const recent = incident(2, 100, 'sent');
  const open = incident(3, null, 'sent');
  const waiting = incident(4, 200, 'pending');
  const purged = await purgeOldChecks(s);
  assert.ok(purged >= 1, `rows deleted: ${purged}`);
  assert.equal(s.repos.watch.incident(old), undefined, 'resolved 200 days ago: gone');
  assert.equal(s.repos.watch.noticeOf(old), undefined, 'with its e-mail');
  assert.ok(s.repos.watch.incident(recent), 'resolved 100 days ago: kept');
  assert.ok(s.repos.watch.noticeOf(recent), 'with its e-mail');
  assert.ok(s.repos.watch.incident(open), 'open: kept');
  assert.ok(s.repos.watch.incident(waiting), 'its e-mail is still to be sent: kept');
  assert.equal(await purgeOldChecks(s), 0);
});

/**
 * A stand-in for Allegro's token endpoint on loopback: answers each POST with a new pair, except where a
 * test says otherwise: `reset(n, socketRequest)` resets the connection instead (n counts every request,
 * socketRequest the requests on that connection), `hold` keeps an answer back until released.
 */
async function tokenServer(t: TestContext, opts: { reset?: (n: number, onSocket: number) => boolean; hold?: Promise<void> } = {}) {
  let n = 0;
  const perSocket = new WeakMap<object, number>();
  const requests: string[] = [];
  let received!: () => void;
  const firstReceived = new Promise<void>((r) => (received = r));
  const server = http.createServer((req, res) => {
    const count = (perSocket.get(req.socket) ?? 0) + 1;
    perSocket.set(req.socket, count);
    n++;
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', async () => {
      if (opts.reset?.(n, count)) {
        req.socket.resetAndDestroy();
        return;
      }
      requests.push(new URLSearchParams(body).get('grant_type') ?? '');
      received();
      if (opts.hold) await opts.hold;
      const pair = { access_token: `access-${n}-${randomUUID()}`, refresh_token: `refresh-${n}-${randomUUID()}`, expires_in: 43_200, token_type: 'bearer', scope: 'allegro:api:messaging' };
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(pair));
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => new Promise<void>((r) => server.close(() => r())));
  server.on('connection', (s) => t.after(() => s.destroy()));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url, requests, firstReceived, seen: () => n };
}

test('a token request on a kept-alive connection the server reset before answering is sent again, once; a reset of a new connection is not (item 7)', async (t) => {
  // The second request on the first connection is reset, as a server closing an idle socket does.
  const reused = await tokenServer(t, { reset: (_n, onSocket) => onSocket === 2 });
  const client = testClient(reused.url);
  await client.exchangeCode('code-1', 'verifier-1');
  const fresh = await client.refresh('refresh-1');
  assert.match(fresh.accessToken, /^access-3-/, 'the refresh went out again on a new connection and was answered');
  assert.deepEqual(reused.requests, ['authorization_code', 'refresh_token']);

  // A new connection reset after the request was read may have been acted on: not repeated.
  const everyone = await tokenServer(t, { reset: () => true });
  await assert.rejects(testClient(everyone.url).refresh('refresh-1'), (err: unknown) => err instanceof AllegroUnavailableError);
  assert.equal(everyone.seen(), 1, 'sent once');
});

test('a refresh never overwrites a consent stored while it was on its way: compare-and-set on the authorization\'s version (item 7)', async (t) => {
  let release!: () => void;
  const hold = new Promise<void>((r) => (release = r));
  const server = await tokenServer(t, { hold });
  const s = testServices();
  const sellerId = s.repos.sellers.insert({ externalId: 'S1', email: 'a@gmail.com', name: 'A', allegroLogin: 'sklep' });
  const enc = (access: string, refresh: string, expiresAt: Date) => ({ accessToken: s.secrets.encrypt(access, 'oauth-access-token'), refreshToken: s.secrets.encrypt(refresh, 'oauth-refresh-token'), accessExpiresAt: expiresAt.toISOString() });
  const consent = (access: string, refresh: string, expiresAt: Date) => s.repos.authorizations.upsert({ sellerId, allegroUserId: 'u-1', allegroLogin: 'sklep', scopes: 'allegro:api:messaging', confirmed: true, ...enc(access, refresh, expiresAt) });
  const id = consent('old-access', 'old-refresh', new Date(Date.now() - 60_000));
  const auth = createAuthorizationService({ db: s.db, repos: s.repos, secrets: s.secrets, migrationService: s.migrationService, now: s.now }, testClient(server.url));
  const seen: string[] = [];
  const call = auth.withToken(id, async (token) => void seen.push(token));
  await server.firstReceived;
  // The seller authorizes again meanwhile: the same row gets the new consent's pair.
  assert.equal(consent('consent-access', 'consent-refresh', new Date(Date.now() + 12 * 3_600_000)), id);
  release();
  await call;
  const stored = s.repos.authorizations.getTokens(id)!;
  assert.equal(s.secrets.decrypt(stored.refreshToken, 'oauth-refresh-token'), 'consent-refresh', 'the consent\'s pair stays');
  assert.deepEqual(seen, ['consent-access'], 'and is the one used');
  assert.equal(s.repos.authorizations.getById(id)!.status, 'active');
});

test('the sign-in confirmation names the account it opens (shop, masked address) and asks first when another seller is signed in here (item 5)', async (t) => {
  const { app } = await build(t);
  const [shop, other] = seedAccounts(app.services, [
    { name: 'Sportowy Świat', email: 'biuro@sportowy-swiat.pl', mailbox: 'biuro@sportowy-swiat.pl' },
    { name: 'Kwiaty <b>Ola</b>', email: 'ola@gmail.com', mailbox: 'ola@gmail.com' },
  ]);
  const link = () => `/login/verify?token=${encodeURIComponent(app.services.repos.loginTokens.issue(shop!.sellerId, 30 * 60_000))}`;
  const visitor = new Agent(app);
  const page = await visitor.get(link());
  assert.equal(page.statusCode, 200);
  assert.match(page.body, /Sportowy Świat/, 'the shop is named');
  assert.ok(page.body.includes(maskEmail('biuro@sportowy-swiat.pl')), 'with its masked address');
  assert.ok(!page.body.includes('biuro@sportowy-swiat.pl'), 'never the whole address');
  assert.equal(maskEmail('biuro@sportowy-swiat.pl'), 'b•••o@sportowy-swiat.pl');
  assert.equal(maskEmail('jan.kowalski@gmail.com'), 'ja•••••••••i@gmail.com');
  assert.doesNotMatch(page.body, /zalogowane inne konto/);

  // Another seller is signed in in this browser: the page says who, and asks.
  const signedIn = new Agent(app);
  await signIn(signedIn, other!.sellerId);
  const asks = await signedIn.get(link());
  assert.match(asks.body, /W tej przeglądarce jest już zalogowane inne konto: <strong>Kwiaty &lt;b&gt;Ola&lt;\/b&gt;<\/strong> \(o•••@gmail\.com\)/);
  assert.match(asks.body, /Tak, przełącz na to konto/);
  assert.match(asks.body, /href="\/migration">Nie, zostań na obecnym koncie/);
  const token = /name="token" value="([^"]+)"/.exec(asks.body)![1]!;
  const switched = await signedIn.post('/login/verify', { token });
  assert.equal(switched.statusCode, 303, 'confirmed: the other seller is signed out, this one in');
  const migration = await signedIn.get('/migration');
  assert.match(migration.body, /Sportowy Świat/);
});
