import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { build } from '../helpers/build.js';
import { Agent } from '../helpers/agent.js';
import { PROJECT_ROOT } from '../../src/config.js';
import { fileMxResolver } from '../../src/detection/mx-lookup.js';
import { loadDemoIfEmpty } from '../../src/demo/demo.js';
import { readGoogleDemoFile } from '../../src/simulator/google/directory.js';
import { readFileSync } from 'node:fs';

const DEMO_DIR = path.join(PROJECT_ROOT, 'data/demo');
const pl = JSON.parse(readFileSync(path.join(PROJECT_ROOT, 'src/i18n/pl.json'), 'utf8')) as { demoSignIn: { situations: Record<string, { title: string }> }; migration: { deadline: { demoMeans: string } } };

async function demoApp(t: TestContext, env: Record<string, string> = {}) {
  const built = await build(t, { env: { DEMO: '1', ...env }, resolver: fileMxResolver(path.join(DEMO_DIR, 'mx.json')) });
  await loadDemoIfEmpty(built.app.services, DEMO_DIR);
  return built;
}

const escape = (s: string) => s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/'/g, '&#x27;').replace(/</g, '&lt;');

test('the demo sign-in page lists every demo situation with its seller, a one-click button and the simulator\'s app password', async (t) => {
  const { app } = await demoApp(t);
  const a = new Agent(app);
  const page = await a.get('/login');
  assert.equal(page.statusCode, 200);
  assert.match(page.body, /Demo: zaloguj się jednym kliknięciem/);
  assert.match(page.body, /Symulator Google/, 'the simulator is named as such');
  assert.match(page.body, /<code class="app-password">demo demo demo demo<\/code>/);
  for (const entry of readGoogleDemoFile(DEMO_DIR).signIn) {
    const seller = app.services.repos.sellers.findByExternalId(entry.seller)!;
    const situation = pl.demoSignIn.situations[entry.situation]!;
    assert.ok(page.body.includes(escape(situation.title)), `${entry.situation} is listed`);
    assert.ok(page.body.includes(`name="seller" value="${seller.id}"`), `${entry.seller} has a button`);
    assert.ok(page.body.includes(`Zaloguj jako ${escape(seller.name)}`));
  }
  assert.doesNotMatch(page.body, /MAIL_|MIG_ERR_/, 'no internal codes on a seller page');

  // A validation error keeps the list.
  const bad = await a.post('/login', { email: 'to nie adres' });
  assert.equal(bad.statusCode, 422);
  assert.match(bad.body, /Zaloguj jako Anna Nowak/);

  // One click: signed in, on the migration page.
  const anna = app.services.repos.sellers.findByExternalId('S-1001')!;
  const res = await a.post('/login/demo', { seller: String(anna.id) });
  assert.equal(res.statusCode, 303);
  assert.equal(res.headers.location, '/migration');
  const migration = await a.get('/migration');
  assert.equal(migration.statusCode, 200);
  assert.ok(migration.body.replace(/<wbr>/g, '').includes('anna.nowak.sklep@gmail.com'), 'her mailbox is on the page (addresses may break after @ and before dots)');
  assert.ok(migration.body.includes(escape(pl.migration.deadline.demoMeans)), 'the deadline says what happens on that day (the demo\'s example, in Polish)');
  const audit = app.services.repos.audit.listForTarget('seller', anna.id).find((e) => e.action === 'seller.signed_in');
  assert.deepEqual(audit?.details, { demo: true }, 'the demo sign-in is audited as such');
});

test('the situation the watch shows: "Działało po migracji, ale Google unieważnił hasło do aplikacji" signs in Amber Gifts, whose migration was seeded working', async (t) => {
  const { app } = await demoApp(t);
  const a = new Agent(app);
  const page = await a.get('/login');
  const situation = pl.demoSignIn.situations.brokeAfterMigration!;
  assert.equal(situation.title, 'Działało po migracji, ale Google unieważnił hasło do aplikacji');
  const amber = app.services.repos.sellers.findByExternalId('S-1042')!;
  // Listed under that title, with its own button (the title comes right before the seller's button).
  const at = page.body.indexOf(escape(situation.title));
  assert.ok(at > 0 && page.body.indexOf(`name="seller" value="${amber.id}"`, at) > at, 'Amber Gifts is listed under the new situation');
  // Her card shows her address and says her pages are in English (a bare {{email}} once showed nothing).
  const card = page.body.slice(at, page.body.indexOf(`name="seller" value="${amber.id}"`, at)).replace(/<wbr>/g, '');
  assert.match(card, /Amber Gifts Gdańsk · [^<]*@[^<]+ · konto po angielsku: strony i e-maile w tym języku/);
  assert.equal((await a.post('/login/demo', { seller: String(amber.id) })).statusCode, 303);
  const migration = await a.get('/migration');
  assert.equal(migration.statusCode, 200);
  assert.ok(migration.body.replace(/<wbr>/g, '').includes('amber.gifts.gdansk@gmail.com'));
  // Seeded relinked: it is the watch (not the demo data) that finds the revoked app password.
  const ar = app.services.repos.autoresponders.findByExternalId('AR-2042')!;
  assert.equal(app.services.repos.migrations.findByAutoresponder(ar.id)!.state, 'relinked_app_password');
});

test('"Zaloguj jako" is refused for a seller not on the list, and outside the demo altogether', async (t) => {
  const { app } = await demoApp(t);
  const a = new Agent(app);
  await a.get('/login');
  const unlisted = app.services.repos.sellers.findByExternalId('S-1030')!;
  for (const seller of [String(unlisted.id), '999999', 'x', '']) {
    const res = await a.post('/login/demo', { seller });
    assert.equal(res.statusCode, 404, seller);
    assert.equal((await a.get('/migration')).statusCode, 303, 'still signed out');
  }
  // "Check your e-mail" in the demo says where the link really is (no e-mail leaves without SMTP_URL).
  assert.match((await a.get('/login/sent')).body, /Tryb demo: e-maile nie są wysyłane, link do logowania jest w logu serwera/);

  const off = await build(t, { env: { DEMO: '0' } });
  off.app.services.repos.sellers.insert({ externalId: 'S-1001', email: 'anna.nowak.sklep@gmail.com', name: 'Anna', allegroLogin: 'anna' });
  const b = new Agent(off.app);
  const login = await b.get('/login');
  assert.doesNotMatch(login.body, /Zaloguj jako|demo demo/);
  const sent = (await b.get('/login/sent')).body;
  assert.match(sent, /Sprawdź folder Spam/);
  assert.doesNotMatch(sent, /Tryb demo/);
  const refused = await b.post('/login/demo', { seller: '1' });
  assert.equal(refused.statusCode, 404);
  assert.equal((await b.get('/migration')).statusCode, 303, 'not signed in');
});

test('a rate limit names the exact time of the next try, never "a moment"', async (t) => {
  const { app } = await demoApp(t);
  const a = new Agent(app);
  await a.get('/login');
  let last;
  for (let i = 0; i < 11; i++) last = await a.post('/login', { email: `kto${i}@gmail.com` });
  assert.equal(last!.statusCode, 429);
  const m = /Zbyt wiele prób w krótkim czasie\. Spróbuj ponownie o (\d{2}):(\d{2})\./.exec(last!.body);
  assert.ok(m, last!.body);
  assert.doesNotMatch(last!.body, /chwil/);
  // The time is about 15 minutes from now, in Poland.
  const now = new Intl.DateTimeFormat('pl', { hour: '2-digit', minute: '2-digit', timeZone: 'Europe/Warsaw' }).formatToParts(new Date(Date.now() + 15 * 60_000));
  const expected = Number(now.find((p) => p.type === 'hour')!.value) * 60 + Number(now.find((p) => p.type === 'minute')!.value);
  const shown = Number(m[1]) * 60 + Number(m[2]);
  assert.ok(Math.abs(((shown - expected + 1440) % 1440)) <= 1 || Math.abs(((expected - shown + 1440) % 1440)) <= 1, `${m[0]} vs ${expected}`);
});

test('the demo mailbox shows the e-mail the app would have sent, and an English seller\'s link opens English from the first page', async (t) => {
  const { app } = await demoApp(t);
  const a = new Agent(app);
  const login = await a.get('/login');
  assert.match(login.body, /href="\/demo\/mailbox"/, 'the demo mailbox is linked from "Zaloguj jako"');
  const empty = await a.get('/demo/mailbox');
  assert.equal(empty.statusCode, 200);
  assert.match(empty.body, /Aplikacja nie wysłała jeszcze żadnego e-maila/);

  // Amber Gifts reads English; the browser that asks for the link is Polish.
  const amber = app.services.repos.sellers.findByExternalId('S-1042')!;
  assert.equal(amber.language, 'en');
  await a.post('/login', { email: amber.email });
  await app.signIn.idle();
  const box = await a.get('/demo/mailbox');
  const link = /<a href="([^"]+\/login\/verify\?[^"]+)"/.exec(box.body)?.[1];
  assert.ok(link, 'the sign-in e-mail is in the demo mailbox with its link followable');
  assert.ok(box.body.includes(escape(amber.email)) || box.body.replace(/<wbr>/g, '').includes(amber.email), 'addressed to the seller');
  const url = new URL(link.replace(/&#x3D;/g, '=').replace(/&amp;/g, '&'));
  assert.equal(url.searchParams.get('lang'), 'en', 'the link carries the seller\'s language (outbox/links.ts)');

  // A fresh browser (no language chosen, a Polish Accept-Language) following the link: English at once.
  const first = await app.inject({ method: 'GET', url: url.pathname + url.search, headers: { 'accept-language': 'pl-PL,pl;q=0.9' } });
  assert.equal(first.statusCode, 200);
  assert.match(first.body, /<html lang="en"/);
  assert.doesNotMatch(first.body, /Potwierdź logowanie/);
});

test('before sign-in a page follows the browser\'s language unless the seller chose one; the choice is kept', async (t) => {
  const { app } = await demoApp(t);
  const en = await app.inject({ method: 'GET', url: '/login', headers: { 'accept-language': 'en-GB,en;q=0.9,pl;q=0.5' } });
  assert.match(en.body, /<html lang="en"/);
  const de = await app.inject({ method: 'GET', url: '/', headers: { 'accept-language': 'de-DE,de;q=0.9' } });
  assert.match(de.body, /<html lang="pl"/, 'a language we do not have: Polish');
  // Chosen with the switch: kept against the browser's language.
  const chose = await app.inject({ method: 'GET', url: '/?lang=pl', headers: { 'accept-language': 'en' } });
  const cookie = chose.cookies.find((c) => c.name === 'lang');
  assert.equal(cookie?.value, 'pl');
  const later = await app.inject({ method: 'GET', url: '/help', headers: { 'accept-language': 'en' }, cookies: { lang: 'pl' } });
  assert.match(later.body, /<html lang="pl"/);
});
