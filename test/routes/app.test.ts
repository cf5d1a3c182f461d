import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { build } from '../helpers/build.js';
import { memoryDb, testServices } from '../helpers/core.js';
import { loadDemoIfEmpty } from '../../src/demo/demo.js';
import { fileMxResolver } from '../../src/detection/mx-lookup.js';
import { MIGRATION_STATES } from '../../src/migration/states.js';
import { PROJECT_ROOT } from '../../src/config.js';

test('GET /healthz answers ok with the database', async (t) => {
  const { app } = await build(t);
  const res = await app.inject('/healthz');
  assert.equal(res.statusCode, 200);
  assert.deepEqual(res.json(), { status: 'ok', db: 'ok' });
});

test('GET /healthz answers 503 with the reason when the database is not usable', async (t) => {
  const db = memoryDb();
  const { app } = await build(t, { db });
  db.close();
  const res = await app.inject('/healthz');
  assert.equal(res.statusCode, 503);
  assert.equal(res.json().db, 'error');
  assert.match(res.json().reason, /not open/);
});

test('the home page is Polish by default, English through the switch, and remembers the choice', async (t) => {
  const { app } = await build(t);
  const pl = await app.inject('/');
  assert.equal(pl.statusCode, 200);
  assert.match(pl.body, /<html lang="pl">/);
  assert.match(pl.body, /Przełącz na wersję 3/);
  assert.match(pl.body, /Użyj hasła do aplikacji/);
  assert.match(pl.body, /href="\/\?lang(=|&#x3D;)en"/); // handlebars writes = as &#x3D; in attributes
  const en = await app.inject('/?lang=en');
  assert.match(en.body, /<html lang="en">/);
  assert.match(en.body, /Switch to version 3/);
  const cookie = en.cookies.find((c) => c.name === 'lang');
  assert.equal(cookie?.value, 'en');
  assert.equal(cookie?.httpOnly, true);
  const again = await app.inject({ url: '/', cookies: { lang: 'en' } });
  assert.match(again.body, /<html lang="en">/);
  const bogus = await app.inject('/?lang=de');
  assert.match(bogus.body, /<html lang="pl">/);
  // Every page names its icon (no request for a missing /favicon.ico), and it is served.
  assert.match(pl.body, /<link rel="icon" href="\/static\/favicon\.svg" type="image\/svg\+xml">/);
  const icon = await app.inject('/static/favicon.svg');
  assert.equal(icon.statusCode, 200);
  assert.match(String(icon.headers['content-type']), /^image\/svg\+xml/);
});

test('security headers: CSP without inline scripts, no framing, no sniffing, referrer policy', async (t) => {
  const { app } = await build(t);
  const res = await app.inject('/');
  const csp = String(res.headers['content-security-policy']);
  assert.match(csp, /script-src 'self'/);
  assert.doesNotMatch(csp, /unsafe-inline/);
  assert.match(csp, /frame-ancestors 'none'/);
  assert.equal(res.headers['x-content-type-options'], 'nosniff');
  assert.equal(res.headers['x-frame-options'], 'DENY');
  assert.equal(res.headers['referrer-policy'], 'same-origin');
});

test('unknown pages: a Polish HTML page with the code, JSON when asked, rate limited', async (t) => {
  const { app } = await build(t);
  const html = await app.inject('/nie-ma');
  assert.equal(html.statusCode, 404);
  assert.match(html.headers['content-type'] as string, /text\/html/);
  assert.match(html.body, /Nie ma takiej strony/);
  assert.match(html.body, /MIG_ERR_NOT_FOUND/);
  const json = await app.inject({ url: '/nie-ma', headers: { accept: 'application/json' } });
  assert.deepEqual(json.json().error.code, 'MIG_ERR_NOT_FOUND');
  let last = 0;
  for (let i = 0; i < 62; i++) last = (await app.inject('/skan-' + i)).statusCode;
  assert.equal(last, 429);
});

test('a 5xx shows no internal detail to the person, and is logged with the request', async (t) => {
  const { app, logs } = await build(t, {
    extra: (f) => {
      f.get('/boom', async () => {
        throw new Error('internal detail: SELECT * FROM mailboxes');
      });
    },
  });
  const res = await app.inject('/boom');
  assert.equal(res.statusCode, 500);
  assert.doesNotMatch(res.body, /internal detail|SELECT/);
  assert.match(res.body, /Wystąpił błąd po naszej stronie/);
  assert.ok(logs.some((l) => l.includes('internal detail') && l.includes('"reqId"')), 'the detail is in the log instead');
});

test('the demo: loaded once on an empty database, at least 40 sellers, every state and detection rule', async () => {
  const s = testServices({ resolver: fileMxResolver(path.join(PROJECT_ROOT, 'data/demo/mx.json')) });
  const first = await loadDemoIfEmpty(s, path.join(PROJECT_ROOT, 'data/demo'));
  assert.equal(first.loaded, true);
  assert.ok(s.repos.sellers.count() >= 40);
  const states = new Set(s.repos.migrations.countByState().map((c) => c.state));
  for (const st of MIGRATION_STATES) assert.ok(states.has(st), `demo has a migration in state ${st}`);
  const rules = new Set((s.db.prepare(`SELECT DISTINCT verdict_rule FROM migrations`).pluck().all() as string[]));
  for (const r of ['gmail_address', 'google_imap_host', 'google_smtp_host', 'workspace_mx', 'not_google', 'mx_lookup_failed', 'version_3', 'app_password_verified']) {
    assert.ok(rules.has(r), `demo has a verdict by ${r}`);
  }
  const bodies = s.db.prepare(`SELECT body, body_format AS f FROM reply_templates`).all() as { body: string; f: string }[];
  assert.ok(bodies.some((b) => b.f === 'html'), 'some HTML templates');
  assert.ok(bodies.some((b) => b.body.length > 2000), 'some templates over 2000 characters');
  const unused = s.db.prepare(`SELECT count(*) FROM mailboxes m WHERE NOT EXISTS (SELECT 1 FROM autoresponders a WHERE a.mailbox_id = m.id)`).pluck().get() as number;
  assert.ok(unused >= 2, 'mailboxes used by no autoresponder are kept');
  assert.ok(s.db.prepare(`SELECT count(*) FROM sellers WHERE language = 'en'`).pluck().get() as number >= 1);
  const audit = s.repos.audit.count();
  assert.deepEqual(await loadDemoIfEmpty(s, path.join(PROJECT_ROOT, 'data/demo')), { loaded: false });
  assert.equal(s.repos.audit.count(), audit, 'a second boot changes nothing');
});

test('with demo off the app is empty and works', async (t) => {
  const { app } = await build(t);
  const res = await app.inject('/');
  assert.equal(res.statusCode, 200);
  assert.equal(app.services.repos.sellers.count(), 0);
  assert.doesNotMatch(res.body, /Tryb demonstracyjny/);
});
