import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
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

test('the language link of any page, a 404 included, stays on this site whatever the requested path looks like', async (t) => {
  const { app } = await securityFixture(t);
  // Over a real socket: app.inject would parse '//evil.example/x' as a host before the app saw it.
  await app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = app.server.address() as { port: number };
  const get = (path: string) =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, path, method: 'GET' }, (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (c: string) => (body += c)).on('end', () => resolve({ status: res.statusCode!, body }));
      });
      req.on('error', reject).end();
    });
  const paths = ['/.//evil.example/x', '//evil.example/x', '/..//evil.example/x', '/./\\evil.example/x', '/.%2F/evil.example/x', '/x/..//evil.example', '/.//evil.example/x?lang=en&a=1', '/./\\/evil.example'];
  for (const p of paths) {
    const res = await get(p);
    assert.ok(res.status < 500, `${p}: ${res.status}`);
    const hrefs = [...res.body.matchAll(/href="([^"]*)"/g)].map((m) => m[1]!.replace(/&#x3D;/g, '=').replace(/&amp;/g, '&'));
    assert.ok(hrefs.some((h) => /[?&]lang=(pl|en)/.test(h)), `${p}: a language link (${res.status}: ${hrefs})`);
    // The support address (required outside the demo) is the one link that is no page of this site.
    for (const h of hrefs.filter((x) => !x.startsWith('mailto:pomoc@sklep-testowy.example?'))) {
      assert.match(h, /^(\/(?![\/\\])|#)/, `${p}: ${h} is a local path`);
      assert.equal(new URL(h, 'https://migracja.example.pl/a/b').host, 'migracja.example.pl', `${p}: ${h}`);
    }
  }
});

test('the page holding a live sign-in link: never cached, and opening links is limited per IP address across GET and HEAD', async (t) => {
  const { app, own } = await securityFixture(t);
  const token = app.services.repos.loginTokens.issue(own.sellerId, 60_000);
  const page = await new Agent(app).get(`/login/verify?token=${token}`);
  assert.equal(page.statusCode, 200);
  assert.match(page.body, new RegExp(`value="${token}"`), 'the page carries the token to its button');
  assert.match(String(page.headers['cache-control']), /no-store/, 'no browser or proxy keeps the token');
  const unknown = await new Agent(app).get('/login/verify?token=nieznany');
  assert.match(String(unknown.headers['cache-control']), /no-store/);

  // Guessing links by opening them: GET and HEAD draw on one budget of 10 per 15 minutes (the two above included).
  const statuses: number[] = [];
  for (let i = 0; i < 10; i++) {
    const res = await app.inject({ method: i % 2 ? 'HEAD' : 'GET', url: `/login/verify?token=zgadywany-${i}-${'x'.repeat(30)}` });
    statuses.push(res.statusCode);
  }
  assert.ok(statuses.slice(0, 8).every((s) => s === 400), `the first eight answered: ${statuses}`);
  assert.deepEqual(statuses.slice(8), [429, 429], `the 11th and 12th are refused: ${statuses}`);
  const last = await new Agent(app).get(`/login/verify?token=${token}`);
  assert.equal(last.statusCode, 429);
  assert.match(last.body, /Zbyt wiele prób/);
  assert.ok(Number(last.headers['retry-after']) > 0, 'says when to try again');
});

test('no GET route is rate limited through its config: that limit is counted per route, and the HEAD twin Fastify adds would get a second budget', async (t) => {
  const { routes } = await securityFixture(t);
  const split = routes.filter((r) => (r.method === 'GET' || r.method === 'HEAD') && r.configRateLimit).map((r) => `${r.method} ${r.url}`);
  assert.deepEqual(split, [], 'use one fastify.rateLimit() preHandler, which the HEAD route shares');
  assert.ok(routes.some((r) => r.method === 'POST' && r.configRateLimit), 'the table does see route limits');
});
