import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ACCESS, dbFingerprint, PRINCIPALS, routeKeys, securityFixture, type Principal } from '../helpers/security.js';
import { Agent } from '../helpers/agent.js';
import { allegroEnv, startSimulator } from '../helpers/allegro.js';

const RANK = { viewer: 1, agent: 2, admin: 3 } as const;
const staffRank = (who: Principal) => (who === 'viewer' || who === 'agent' || who === 'admin' ? RANK[who] : 0);

/** What each cell of the matrix must answer: a status, or "allowed" (anything but a refusal or a failure). */
function expected(route: string, who: Principal): { status: number; location?: RegExp } | 'allowed' {
  const [method, path] = route.split(' ') as [string, string];
  const access = ACCESS[route]!;
  if (access === 'public') return 'allowed';
  if (access === 'seller') {
    if (who === 'seller') return 'allowed';
    if (who === 'otherSeller') return path.includes(':id') ? { status: 404 } : 'allowed';
    // Staff sessions are separate: to seller pages a staff member is signed out.
    return method === 'GET' ? { status: 303, location: /^\/login\?next=%2F/ } : { status: 401 };
  }
  const rank = staffRank(who);
  if (rank === 0) return method === 'GET' ? { status: 303, location: /^\/staff\/login\?next=%2Fstaff/ } : { status: 401 };
  return rank < RANK[access] ? { status: 403 } : 'allowed';
}

test('authorization matrix: every route × anonymous, seller, another seller, viewer, agent, admin', async (t) => {
  const sim = await startSimulator(t);
  const { routes, url, client } = await securityFixture(t, allegroEnv(sim.url));
  assert.deepEqual(routeKeys(routes).sort(), Object.keys(ACCESS).sort(), 'a route is missing from (or extra in) the access table');
  const lines: string[] = [];
  for (const route of Object.keys(ACCESS)) {
    const [method, pattern] = route.split(' ') as [string, string];
    const row: string[] = [];
    for (const who of PRINCIPALS) {
      const agent = await client(who); // fresh each time: a cell that signs out cannot affect the next
      const res = method === 'GET' ? await agent.get(url(pattern)) : await agent.post(url(pattern), {});
      const want = expected(route, who);
      const cell = `${who} × ${route}: ${res.statusCode} ${String(res.headers.location ?? '')}`;
      if (want === 'allowed') {
        assert.ok(![401, 403].includes(res.statusCode) && res.statusCode < 500, `${cell} should be allowed`);
        if (ACCESS[route] === 'seller') assert.notEqual(res.statusCode, 404, `${cell}: the owner gets the page`);
        // Signing out lands on the sign-in page on purpose (with its "signed out" notice).
        if (res.statusCode === 303 && route !== 'POST /logout') assert.doesNotMatch(String(res.headers.location), /^\/(staff\/)?login\?/, `${cell}: not sent to sign in`);
      } else {
        assert.equal(res.statusCode, want.status, cell);
        if (want.location) assert.match(String(res.headers.location), want.location, cell);
        if (want.status === 403) assert.match(res.body, /MIG_ERR_FORBIDDEN/, cell);
        if (want.status === 401 || want.status === 404) assert.match(res.body, /lang="pl"/, `${cell}: a page that says what happened`);
      }
      row.push(String(res.statusCode));
    }
    lines.push(`${route.padEnd(48)} ${row.join(' ')}`);
  }
  t.diagnostic(`statuses (${PRINCIPALS.join(' ')}):\n${lines.join('\n')}`);
});

test('CSRF: every POST route refuses a missing, a wrong and another session\'s token (403), and nothing changes', async (t) => {
  const { app, routes, url, client, own, staff } = await securityFixture(t);
  const posts = routeKeys(routes).filter((r) => r.startsWith('POST '));
  assert.ok(posts.length >= 25, `found ${posts.length} POST routes`);
  // One client with everything: the owner's seller session and an admin's staff session.
  const full = await client('seller');
  const adminSession = app.services.repos.sessions.create('staff', staff.admin, 3_600_000);
  full.cookies.set('staff_sid', adminSession);
  const stranger = await client('anonymous');
  for (const route of posts) {
    const path = url(route.slice(5));
    const before = dbFingerprint(app.services.db);
    for (const [name, csrf] of [['missing', null], ['wrong', 'x'.repeat(40)], ["another session's", stranger.lastCsrf]] as const) {
      const res = await full.post(path, {}, { csrf });
      assert.equal(res.statusCode, 403, `${route}, ${name} token: ${res.statusCode}`);
      assert.match(res.body, /Formularz wygasł/, `${route}: the page says the form expired`);
    }
    // A token sent as a header is checked the same way.
    const header = await app.inject({ method: 'POST', url: path, payload: '', headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-csrf-token': 'nie-ten' }, cookies: Object.fromEntries(full.cookies) });
    assert.equal(header.statusCode, 403, `${route}: wrong header token`);
    assert.deepEqual(dbFingerprint(app.services.db), before, `${route}: nothing changed`);
    // The same request with the page's token is not refused for CSRF: the 403s above were the token.
    await full.get(route.startsWith('POST /staff') ? '/staff' : '/migration');
    const ok = await full.post(path, {});
    assert.notEqual(ok.statusCode, 403, `${route} with the right token`);
    if (route === 'POST /logout' || route === 'POST /staff/logout') {
      // Signing out ended a session: start new ones for the next routes.
      full.cookies.set('sid', app.services.repos.sessions.create('seller', own.sellerId, 3_600_000));
      full.cookies.set('staff_sid', app.services.repos.sessions.create('staff', staff.admin, 3_600_000));
    }
  }
});

test('a session id is never reused across sign-in, and sessions do not cross between seller and staff', async (t) => {
  const { app, own } = await securityFixture(t);
  // A seller session cookie is not a staff session, and the other way round.
  const sellerSid = app.services.repos.sessions.create('seller', own.sellerId, 3_600_000);
  const asStaff = await app.inject({ method: 'GET', url: '/staff', cookies: { staff_sid: sellerSid } });
  assert.equal(asStaff.statusCode, 303);
  const staffSid = app.services.repos.sessions.create('staff', 1, 3_600_000);
  const asSeller = await app.inject({ method: 'GET', url: '/migration', cookies: { sid: staffSid } });
  assert.equal(asSeller.statusCode, 303);
  // Seller sign-in with a session cookie already set (fixation): a new id, the old one dead.
  const a = new Agent(app);
  a.cookies.set('sid', sellerSid);
  const token = app.services.repos.loginTokens.issue(own.sellerId, 60_000);
  await a.get(`/login/verify?token=${token}`);
  await a.post('/login/verify', { token });
  assert.notEqual(a.cookies.get('sid'), sellerSid);
  assert.equal((await app.inject({ method: 'GET', url: '/migration', cookies: { sid: sellerSid } })).statusCode, 303, 'the old id no longer works');
});
