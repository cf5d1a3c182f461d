import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ACCESS, routeKeys, securityFixture, type Principal } from '../helpers/security.js';
import { Agent } from '../helpers/agent.js';
import { allegroEnv, startSimulator } from '../helpers/allegro.js';
import { STAFF_PASSWORD } from '../helpers/staff.js';
import { safeNext } from '../../src/plugins/auth.js';
import { safeStaffNext } from '../../src/routes/staff/sign-in.js';

const asWho = (route: string): Principal => (ACCESS[route] === 'public' ? 'anonymous' : ACCESS[route] === 'seller' ? 'seller' : 'admin');

test('every page: CSP without inline or eval scripts, no framing, no sniffing, a referrer policy; no inline script in the markup; signed-in pages not cached', async (t) => {
  const sim = await startSimulator(t);
  const { routes, url, client } = await securityFixture(t, allegroEnv(sim.url));
  let pages = 0;
  for (const route of routeKeys(routes).filter((r) => r.startsWith('GET '))) {
    const who = asWho(route);
    const agent = await client(who);
    const res = await agent.get(url(route.slice(4)));
    const cell = `${route} as ${who}: ${res.statusCode}`;
    const csp = String(res.headers['content-security-policy']);
    const script = /script-src ([^;]*)/.exec(csp)?.[1] ?? /default-src ([^;]*)/.exec(csp)?.[1] ?? '';
    assert.equal(script.trim(), "'self'", `${cell}: script-src`);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/, cell);
    assert.match(csp, /frame-ancestors 'none'/, cell);
    assert.match(csp, /object-src 'none'/, cell);
    assert.match(csp, /base-uri 'none'/, cell);
    assert.equal(res.headers['x-content-type-options'], 'nosniff', cell);
    assert.equal(res.headers['x-frame-options'], 'DENY', cell);
    assert.equal(res.headers['referrer-policy'], 'same-origin', cell);
    if (String(res.headers['content-type']).startsWith('text/html')) {
      pages++;
      // Scripts only as same-origin static files (progressive enhancement the CSP allows), never inline.
      const external = /<script src="\/static\/[a-z-]+\.js" defer><\/script>/g;
      assert.doesNotMatch(res.body.replace(external, ''), /<script|\son[a-z]+\s*=|javascript:/i, `${cell}: no inline script in the page`);
      if (who !== 'anonymous') assert.equal(res.headers['cache-control'], 'no-store', `${cell}: personal page not cached`);
    }
  }
  assert.ok(pages >= 15, `checked ${pages} pages`);
});

test('cookies: HttpOnly and SameSite always, Secure behind HTTPS (and HSTS); every cookie the sign-in flows set', async (t) => {
  for (const publicUrl of ['http://localhost:3000', 'https://migracja.example.pl']) {
    const { app, own } = await securityFixture(t, { PUBLIC_URL: publicUrl });
    const https = publicUrl.startsWith('https');
    const seen: { name: string; httpOnly?: boolean; sameSite?: string; secure?: boolean; path?: string }[] = [];
    const a = new Agent(app);
    const keep = (res: Awaited<ReturnType<Agent['get']>>) => {
      seen.push(...res.cookies);
      return res;
    };
    keep(await a.get('/?lang=en'));
    keep(await a.get('/login'));
    const token = app.services.repos.loginTokens.issue(own.sellerId, 60_000);
    keep(await a.get(`/login/verify?token=${token}`));
    keep(await a.post('/login/verify', { token }));
    keep(await a.post('/logout', {}));
    const s = new Agent(app);
    keep(await s.get('/staff/login'));
    keep(await s.post('/staff/login', { email: 'admin@wsparcie.example', password: STAFF_PASSWORD }));
    const names = new Set(seen.map((c) => c.name));
    for (const n of ['lang', '_csrf', 'sid', 'staff_sid']) assert.ok(names.has(n), `${publicUrl}: ${n} was set (saw ${[...names]})`);
    for (const c of seen) {
      assert.equal(c.httpOnly, true, `${publicUrl}: ${c.name} HttpOnly`);
      assert.match(String(c.sameSite), /^(Lax|Strict)$/, `${publicUrl}: ${c.name} SameSite`);
      assert.equal(!!c.secure, https, `${publicUrl}: ${c.name} Secure only behind HTTPS`);
    }
    assert.equal(seen.find((c) => c.name === 'staff_sid')!.path, '/staff', 'the staff cookie is only sent to /staff');
    const home = await app.inject('/');
    assert.equal('strict-transport-security' in home.headers, https, `${publicUrl}: HSTS only behind HTTPS`);
  }
});

const OFF_SITE = [
  '//evil.example', '///evil.example', '/\\evil.example', '\\\\evil.example', 'https://evil.example/', 'http:evil.example', 'javascript:alert(1)',
  '/\t/evil.example', '/\n/evil.example', ' //evil.example', '/%0a/evil.example', 'evil.example', '', '/staff/../../evil', '/staff//evil.example',
  '/staff/..//evil.example', '/staff\\..\\evil', `/${'a'.repeat(3000)}\r\nLocation: //evil.example`,
];

test('next= and every other return address stay on this site', async (t) => {
  for (const next of OFF_SITE) {
    const seller = safeNext(next);
    const staff = safeStaffNext(next);
    for (const out of [seller, staff]) {
      assert.match(out, /^\/(?![\/\\])/, `${JSON.stringify(next)} → ${out}`);
      assert.doesNotMatch(out, /[\s\\]/, `${JSON.stringify(next)} → ${out}`);
      // Resolved the way a browser does, the address is still ours.
      assert.equal(new URL(out, 'https://migracja.example.pl').host, 'migracja.example.pl', `${JSON.stringify(next)} → ${out}`);
    }
  }
  // Through the real flows: the staff form and the seller's link both land on a local page.
  const { app, own } = await securityFixture(t);
  for (const next of OFF_SITE.slice(0, 8)) {
    const s = new Agent(app);
    await s.get(`/staff/login?next=${encodeURIComponent(next)}`);
    const res = await s.post('/staff/login', { email: 'admin@wsparcie.example', password: STAFF_PASSWORD, next });
    assert.equal(res.statusCode, 303);
    assert.equal(new URL(String(res.headers.location), 'https://migracja.example.pl').host, 'migracja.example.pl', `staff next ${JSON.stringify(next)} → ${res.headers.location}`);
    const a = new Agent(app);
    const token = app.services.repos.loginTokens.issue(own.sellerId, 60_000);
    await a.get(`/login/verify?token=${token}&next=${encodeURIComponent(next)}`);
    const signedIn = await a.post('/login/verify', { token, next });
    assert.equal(signedIn.statusCode, 303);
    assert.equal(new URL(String(signedIn.headers.location), 'https://migracja.example.pl').host, 'migracja.example.pl', `seller next ${JSON.stringify(next)} → ${signedIn.headers.location}`);
  }
});

test('brute force: seller sign-in links and codes are limited per IP address, and the page says so (staff sign-in and app-password limits: staff.test.ts, app-password.test.ts)', async (t) => {
  const { app } = await securityFixture(t);
  const a = new Agent(app);
  await a.get('/login');
  // Guessing sign-in codes: the 11th attempt in 15 minutes is refused, with the reason in Polish.
  const statuses: number[] = [];
  let last;
  for (let i = 0; i < 12; i++) {
    last = await a.post('/login/verify', { token: `zgadywany-${i}-${'x'.repeat(30)}` });
    statuses.push(last.statusCode);
  }
  assert.ok(statuses.slice(0, 10).every((s) => s !== 429), `first ten answered: ${statuses}`);
  assert.equal(statuses[10], 429);
  assert.equal(last!.statusCode, 429);
  assert.match(last!.body, /Zbyt wiele prób/);
  assert.ok(Number(last!.headers['retry-after']) > 0, 'says when to try again');
  // The limit is per route and address: asking for a link is counted separately and also stops.
  const b = new Agent(app);
  await b.get('/login');
  const asks = [];
  for (let i = 0; i < 11; i++) asks.push((await b.post('/login', { email: `kto${i}@gmail.com` })).statusCode);
  assert.equal(asks[10], 429, `link requests: ${asks}`);
});
