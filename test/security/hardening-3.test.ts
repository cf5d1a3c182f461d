// Regression tests for the third hardening round (issue 23): each failed on the code before its fix.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { build, TEST_OPERATOR } from '../helpers/build.js';
import { Agent } from '../helpers/agent.js';
import { createStaff } from '../helpers/staff.js';
import { ConfigError, loadConfig } from '../../src/config.js';

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
