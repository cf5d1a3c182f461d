import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { contractRecorder } from '../helpers/contract.js';
import { consent, startSimulator, testClient, CLIENT } from '../helpers/allegro.js';
import { pkceChallenge } from '../../src/allegro/authorization.js';
import { AllegroApiError, AllegroOAuthError, AllegroTokenError } from '../../src/allegro/errors.js';

async function authorize(url: string, accounts: Parameters<typeof consent>[1]['accounts'], login = 'sklep_testowy') {
  const client = testClient(url);
  const verifier = randomBytes(48).toString('base64url');
  const back = await consent(client.authorizeUrl({ state: 'st-1', codeChallenge: pkceChallenge(verifier) }), { login, accounts });
  return { client, verifier, code: back.searchParams.get('code')!, back };
}

test('code + PKCE gives a token pair; /me and the Message Center answer in the spec\'s shapes', async (t) => {
  const rec = contractRecorder(t);
  const sim = await startSimulator(t, { onExchange: rec.onExchange });
  const { client, verifier, code, back } = await authorize(sim.url, sim.accounts);
  assert.equal(back.searchParams.get('state'), 'st-1');
  const tokens = await client.exchangeCode(code, verifier);
  assert.ok(tokens.expiresIn > 11 * 3600 && tokens.expiresIn <= 12 * 3600);
  assert.equal(tokens.scope, 'allegro:api:messaging allegro:api:profile:read');
  const me = await client.me(tokens.accessToken);
  assert.equal(me.login, 'sklep_testowy');
  const page1 = await client.listThreads(tokens.accessToken, { limit: 20 });
  assert.equal(page1.threads.length, 20);
  const page2 = await client.listThreads(tokens.accessToken, { limit: 20, offset: 20 });
  assert.equal(page2.threads.length, 5);
  const dates = page1.threads.map((th) => Date.parse(th.lastMessageDateTime!));
  assert.deepEqual(dates, [...dates].sort((a, b) => b - a), 'newest first');
  const messages = await client.listMessages(tokens.accessToken, page1.threads[0]!.id);
  assert.ok(messages.messages.length >= 1);
  const sent = await client.sendMessage(tokens.accessToken, page1.threads[0]!.id, 'Dzień dobry, dziękujemy za wiadomość.');
  assert.equal(sent.text, 'Dzień dobry, dziękujemy za wiadomość.');
  assert.equal(sent.author.isInterlocutor, false);
});

test('a code works once, for its verifier, within 10 seconds', async (t) => {
  let clock = Date.now();
  const sim = await startSimulator(t, { now: () => new Date(clock) });
  const a = await authorize(sim.url, sim.accounts);
  await assert.rejects(a.client.exchangeCode(a.code, randomBytes(48).toString('base64url')), (e: AllegroOAuthError) => e.error === 'invalid_grant');
  // The failed attempt used the code up.
  await assert.rejects(a.client.exchangeCode(a.code, a.verifier), (e: AllegroOAuthError) => e.error === 'invalid_grant');

  const b = await authorize(sim.url, sim.accounts);
  await b.client.exchangeCode(b.code, b.verifier);
  await assert.rejects(b.client.exchangeCode(b.code, b.verifier), (e: AllegroOAuthError) => e.error === 'invalid_grant', 'reuse');

  const c = await authorize(sim.url, sim.accounts);
  clock += 10_001;
  await assert.rejects(c.client.exchangeCode(c.code, c.verifier), (e: AllegroOAuthError) => e.error === 'invalid_grant', 'expired');

  const wrong = testClient(sim.url, { clientSecret: 'not-the-secret' });
  const d = await authorize(sim.url, sim.accounts);
  await assert.rejects(wrong.exchangeCode(d.code, d.verifier), (e: AllegroOAuthError) => e.error === 'invalid_client' && e.status === 401);
});

test('refresh tokens rotate: the old one works for 60 s with the same answer, then invalid_grant', async (t) => {
  let clock = Date.now();
  const sim = await startSimulator(t, { now: () => new Date(clock) });
  const a = await authorize(sim.url, sim.accounts);
  const first = await a.client.exchangeCode(a.code, a.verifier);
  const second = await a.client.refresh(first.refreshToken);
  assert.notEqual(second.refreshToken, first.refreshToken);
  clock += 30_000;
  const again = await a.client.refresh(first.refreshToken);
  assert.equal(again.refreshToken, second.refreshToken, 'within the grace the old token gives the same new pair');
  clock += 31_000;
  await assert.rejects(a.client.refresh(first.refreshToken), (e: AllegroOAuthError) => e.error === 'invalid_grant');
  const third = await a.client.refresh(second.refreshToken);
  assert.ok(third.accessToken);
  assert.equal(sim.state.stats.refreshRejected, 1);
});

test('an expired access token is answered 401 invalid_token; a missing Accept gets 406', async (t) => {
  const rec = contractRecorder(t);
  const sim = await startSimulator(t, { onExchange: rec.onExchange });
  const a = await authorize(sim.url, sim.accounts);
  const tokens = await a.client.exchangeCode(a.code, a.verifier);
  sim.state.expireAccessTokens();
  await assert.rejects(a.client.me(tokens.accessToken), (e: AllegroTokenError) => e.code === 'MIG_ERR_ALLEGRO_TOKEN' && e.error === 'invalid_token' && e.status === 401);
  const res = await fetch(`${sim.url}/me`, { headers: { authorization: `Bearer ${tokens.accessToken}`, accept: 'application/json', 'accept-language': 'pl-PL' } });
  assert.equal(res.status, 406);
  assert.equal(((await res.json()) as { errors: { code: string }[] }).errors[0]!.code, 'NotAcceptableException');
});

test('429 and 5xx on reads are retried with growing waits; a send is retried only after 429', async (t) => {
  const rec = contractRecorder(t);
  const sim = await startSimulator(t, { onExchange: rec.onExchange });
  const waits: number[] = [];
  const sleep = async (ms: number) => void waits.push(ms);
  const a = await authorize(sim.url, sim.accounts);
  const tokens = await a.client.exchangeCode(a.code, a.verifier);
  const client = testClient(sim.url, { sleep, backoffBaseMs: 100, backoffMaxMs: 1000 });

  sim.state.injectFault({ method: 'GET', path: '/messaging/threads', status: 429, times: 2 });
  sim.state.injectFault({ method: 'GET', path: '/messaging/threads', status: 503, times: 1 });
  const list = await client.listThreads(tokens.accessToken);
  assert.equal(list.threads.length, 20);
  assert.equal(waits.length, 3);
  // Exponential with jitter: each wait within [ceiling/2, ceiling] for ceilings 100, 200, 400.
  waits.forEach((w, i) => assert.ok(w >= (100 * 2 ** i) / 2 && w <= 100 * 2 ** i, `wait ${i} = ${w}`));

  waits.length = 0;
  sim.state.injectFault({ method: 'GET', path: '/me', status: 500, times: 10 });
  await assert.rejects(client.me(tokens.accessToken), (e: AllegroApiError) => e.status === 500 && e.errors[0]?.code === 'InternalServerErrorException' && !!e.traceId);
  assert.equal(waits.length, 3, 'bounded: three retries, then the error');

  // Sends: Allegro allows one a second per user; the client backs off on 429 and gets through.
  waits.length = 0;
  const threadId = list.threads[0]!.id;
  const realSleep = testClient(sim.url, { backoffBaseMs: 400, backoffMaxMs: 2000 });
  await realSleep.sendMessage(tokens.accessToken, threadId, 'Pierwsza');
  const started = Date.now();
  const second = await realSleep.sendMessage(tokens.accessToken, threadId, 'Druga');
  assert.equal(second.text, 'Druga');
  assert.ok(Date.now() - started >= 200, 'the second send waited');
  assert.ok(rec.exchanges.some((x) => x.method === 'POST' && x.statusCode === 429), 'the simulator did answer 429');

  waits.length = 0;
  sim.state.injectFault({ method: 'POST', path: `/messaging/threads/${threadId}/messages`, status: 500, times: 1 });
  await assert.rejects(client.sendMessage(tokens.accessToken, threadId, 'Trzecia'), (e: AllegroApiError) => e.status === 500);
  assert.equal(waits.length, 0, 'a send is not repeated after a 5xx: it may have been taken');
});

test('the simulator refuses an unregistered redirect URI without redirecting, and a plain PKCE method', async (t) => {
  const sim = await startSimulator(t);
  const bad = new URL('/auth/oauth/authorize', sim.url);
  bad.search = new URLSearchParams({ response_type: 'code', client_id: CLIENT.id, redirect_uri: 'http://evil.test/cb', code_challenge: 'x'.repeat(43), code_challenge_method: 'S256' }).toString();
  const res = await fetch(bad, { redirect: 'manual' });
  assert.equal(res.status, 400);
  assert.match(await res.text(), /redirect_uri/);
  bad.searchParams.set('redirect_uri', 'http://app.test/allegro/callback');
  bad.searchParams.set('code_challenge_method', 'plain');
  assert.equal((await fetch(bad)).status, 400);
});

test('the demo simulator\'s token file: kept across a restart; an unreadable one is put aside and named, and the simulator starts without tokens', async () => {
  const { mkdtempSync, readdirSync, writeFileSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const path = (await import('node:path')).default;
  const { buildSimulator } = await import('../../src/simulator/app.js');
  const { testAccounts } = await import('../helpers/allegro.js');
  const dir = mkdtempSync(path.join(tmpdir(), 'sim-tokens-'));
  const tokenFile = path.join(dir, 'tokens.json');
  const opts = { clients: [{ id: CLIENT.id, secret: CLIENT.secret, name: 'Test', redirectUris: ['http://app.test/cb'] }], accounts: testAccounts(), tokenFile };
  const first = buildSimulator(opts);
  const { pair } = first.state.grant('sklep_testowy', CLIENT.id);
  await first.app.close();
  const me = async (sim: ReturnType<typeof buildSimulator>) =>
    (await sim.app.inject({ method: 'GET', url: '/me', headers: { authorization: `Bearer ${pair.access_token}`, accept: 'application/vnd.allegro.public.v1+json' } })).statusCode;
  const again = buildSimulator(opts);
  assert.equal(await me(again), 200, 'the token survives the restart');
  await again.app.close();

  writeFileSync(tokenFile, '{"access": {"x": ', 'utf8'); // cut short
  const warnings: string[] = [];
  const onWarning = (w: Error) => warnings.push(w.message);
  process.on('warning', onWarning);
  try {
    const broken = buildSimulator(opts);
    assert.equal(await me(broken), 401, 'started without the tokens');
    await broken.app.close();
    await new Promise((r) => setImmediate(r));
  } finally {
    process.off('warning', onWarning);
  }
  assert.ok(readdirSync(dir).some((f) => f.startsWith('tokens.json.unreadable-')), 'the unreadable file kept aside');
  assert.match(warnings.join('\n'), /tokens\.json could not be read/);
});
