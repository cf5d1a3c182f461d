import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { build } from '../helpers/build.js';
import { Agent, signIn } from '../helpers/agent.js';
import { allegroEnv, consent, startSimulator, testClient, CLIENT } from '../helpers/allegro.js';
import { contractRecorder } from '../helpers/contract.js';

const LONG = Array.from({ length: 30 }, (_, i) => `Punkt ${i + 1}: zwroty przyjmujemy w ciągu 14 dni od doręczenia, prosimy o numer zamówienia.`).join('\n');

async function setup(t: TestContext, opts: { now?: () => Date; simNow?: () => Date; env?: Record<string, string> } = {}) {
  const rec = contractRecorder(t, { expectApi: false });
  const sim = await startSimulator(t, { onExchange: rec.onExchange, now: opts.simNow });
  const built = await build(t, { env: { ...allegroEnv(sim.url), ...opts.env }, now: opts.now });
  const { repos, detection, secrets } = built.app.services;
  const seller = repos.sellers.insert({ externalId: 'S1', email: 'anna.sklep@gmail.com', name: 'Anna', allegroLogin: 'sklep_testowy' });
  const mailbox = (email: string) => {
    const id = repos.mailboxes.insert({ sellerId: seller, email, imapHost: 'imap.gmail.com', imapPort: 993, imapSecurity: 'tls', smtpHost: 'smtp.gmail.com', smtpPort: 465, smtpSecurity: 'tls', username: email });
    repos.mailboxes.setEncryptedSecret(id, { ciphertext: secrets.encrypt('stare-haslo-konta', 'mailbox-secret'), kind: 'account_password', verifiedAt: null });
    return id;
  };
  const autoresponder = async (externalId: string, mailboxId: number, templates: { name: string; subject: string; body: string; bodyFormat: 'html' | 'text' }[]) => {
    const id = repos.autoresponders.insert({ sellerId: seller, externalId, version: 2, mailboxId });
    repos.autoresponders.replaceTemplates(id, templates);
    const m = repos.mailboxes.getById(mailboxId)!;
    detection.applyMailboxVerdict(mailboxId, await detection.detect(m), { type: 'system' });
    return id;
  };
  const box = mailbox('anna.sklep@gmail.com');
  const ar = await autoresponder('AR-1', box, [
    { name: 'Wysyłka', subject: 'Re: zamówienie', bodyFormat: 'html', body: '<p>Dzień dobry,</p><p>wysyłamy <strong>dziś</strong> &ndash; <a href="https://allegro.pl/moje-allegro">szczegóły</a>.</p><p><img src="https://sklep.example.pl/logo.png" alt="Logo"></p>' },
    { name: 'Regulamin', subject: '', bodyFormat: 'text', body: LONG },
  ]);
  const agent = new Agent(built.app);
  await signIn(agent, seller);
  return { ...built, sim, rec, seller, box, ar, agent, mailbox, autoresponder, repos };
}

/** Leaves for Allegro from the app, answers the consent page, and comes back to the app's callback. */
async function authorizeVia(s: Awaited<ReturnType<typeof setup>>, arId: number, p: { login?: string; decision?: 'accept' | 'deny'; agent?: Agent; form?: Record<string, string> } = {}) {
  const agent = p.agent ?? s.agent;
  const leave = await agent.post(`/autoresponders/${arId}/v3/authorize`, p.form ?? {});
  assert.equal(leave.statusCode, 303);
  const to = new URL(leave.headers.location as string);
  assert.equal(to.origin, s.sim.url, 'the seller is sent to Allegro');
  assert.equal(to.searchParams.get('code_challenge_method'), 'S256');
  assert.equal(to.searchParams.get('scope'), 'allegro:api:messaging allegro:api:profile:read');
  const back = await consent(to.toString(), { login: p.login ?? 'sklep_testowy', accounts: s.sim.accounts, decision: p.decision });
  return { back, res: await agent.get(back.pathname + back.search) };
}

/** Step 1 with texts that fit: the converted ones, the long one shortened by the seller. */
async function approveTemplates(s: Awaited<ReturnType<typeof setup>>, arId: number) {
  const page = await s.agent.get(`/autoresponders/${arId}/v3`);
  assert.equal(page.statusCode, 200);
  const texts = Object.fromEntries([...page.body.matchAll(/<textarea id="(text_\d+)"[^>]*>([\s\S]*?)<\/textarea>/g)].map((m) => [m[1]!, unescape(m[2]!)]));
  if (texts.text_1 && texts.text_1.length > 2000) texts.text_1 = texts.text_1.slice(0, 1500);
  return s.agent.post(`/autoresponders/${arId}/v3/templates`, texts);
}
const unescape = (h: string) => h.replace(/&#x27;/g, "'").replace(/&quot;/g, '"').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&#x3D;/g, '=').replace(/&#x60;/g, '`').replace(/&amp;/g, '&');

test('the whole v3 path: preflight, consent accepted, live check, switch; secrets encrypted and never logged', async (t) => {
  const s = await setup(t);
  const list = await s.agent.get('/migration');
  assert.match(list.body, /action="\/autoresponders\/\d+\/v3\/start"/);
  assert.match(list.body, /Przełącz na wersję 3/);
  const start = await s.agent.post(`/autoresponders/${s.ar}/v3/start`);
  assert.equal(start.headers.location, `/autoresponders/${s.ar}/v3`);
  assert.equal(s.repos.migrations.findByAutoresponder(s.ar)!.state, 'in_progress_v3');

  // Step 1: the HTML template converted with notes, the long one reported, nothing cut.
  const review = await s.agent.get(`/autoresponders/${s.ar}/v3`);
  assert.match(review.body, /Formatowanie HTML zostanie usunięte/);
  assert.match(review.body, /Obrazek z szablonu nie zostanie wysłany/);
  assert.match(review.body, /wysyłamy dziś – szczegóły \(https:\/\/allegro\.pl\/moje-allegro\)\./);
  assert.match(review.body, /Tekst jest za długi o \d+ znak/);
  assert.match(review.body, /id="text_1-error"/);
  assert.ok(review.body.includes('Punkt 30: zwroty'), 'the long text is shown whole, not cut');

  // A text still too long is refused, with the message next to its field, and nothing is saved.
  const texts = Object.fromEntries([...review.body.matchAll(/<textarea id="(text_\d+)"[^>]*>([\s\S]*?)<\/textarea>/g)].map((m) => [m[1]!, unescape(m[2]!)]));
  const refused = await s.agent.post(`/autoresponders/${s.ar}/v3/templates`, texts);
  assert.equal(refused.statusCode, 422);
  assert.match(refused.body, /aria-describedby="text_1-count text_1-error" aria-invalid="true"/);
  assert.deepEqual(s.repos.v3Drafts.list(s.ar), []);
  const edited = 'Dzień dobry,\r\nregulamin znajdziesz w zakładce „O sprzedającym”.\r\nPozdrawiamy';
  const saved = await s.agent.post(`/autoresponders/${s.ar}/v3/templates`, { ...texts, text_1: edited });
  assert.equal(saved.statusCode, 303);
  assert.equal(saved.headers.location, `/autoresponders/${s.ar}/v3/authorize`);

  // Step 2: the consent at Allegro.
  const auth = await s.agent.get(`/autoresponders/${s.ar}/v3/authorize`);
  assert.match(auth.body, /zalogujesz się na konto sklep_testowy/);
  const { res: back } = await authorizeVia(s, s.ar);
  assert.equal(back.statusCode, 303);
  assert.equal(back.headers.location, `/autoresponders/${s.ar}/v3/check`);
  const authorization = s.repos.authorizations.findUsable(s.seller)!;
  assert.equal(authorization.allegroLogin, 'sklep_testowy');

  // Step 3: the live proof.
  const check = await s.agent.get(`/autoresponders/${s.ar}/v3/check`);
  assert.equal(check.statusCode, 200);
  assert.match(check.body, /Widzimy co najmniej 20 rozmów w Twoim Centrum wiadomości/);
  assert.match(check.body, /Najnowsza od [a-z_.0-9]+, /);
  assert.match(check.body, /name="delete_secret" value="1" checked/);

  const done = await s.agent.post(`/autoresponders/${s.ar}/v3/switch`, { delete_secret: '1' });
  assert.equal(done.headers.location, `/autoresponders/${s.ar}/v3/done`);
  const a = s.repos.autoresponders.getById(s.ar)!;
  assert.deepEqual([a.version, a.previousVersion, a.authorizationId], [3, 2, authorization.id]);
  const templates = s.repos.autoresponders.listTemplates(s.ar);
  assert.deepEqual(templates.map((x) => [x.bodyFormat, x.subject]), [['text', ''], ['text', '']]);
  assert.equal(templates[1]!.body, edited.replace(/\r\n/g, '\n'));
  assert.equal(s.repos.mailboxes.getById(s.box)!.hasSecret, false, 'the Gmail password is gone');
  assert.equal(s.repos.migrations.findByAutoresponder(s.ar)!.state, 'switched_v3');
  const actions = s.repos.audit.listForTarget('autoresponder', s.ar).map((e) => e.action);
  assert.ok(actions.includes('migration.start_v3') && actions.includes('migration.switched_v3'), actions.join());
  assert.deepEqual(s.repos.audit.listForTarget('mailbox', s.box).map((e) => e.action).slice(-1), ['mailbox.secret_deleted']);
  const donePage = await s.agent.get(`/autoresponders/${s.ar}/v3/done`);
  assert.match(donePage.body, /Autoresponder działa w wersji 3/);
  assert.match(donePage.body, /powrót do poprzedniej wersji nie jest możliwy/);

  // Tokens: encrypted at rest, never in the logs.
  const row = s.app.services.db.prepare('SELECT access_token, refresh_token FROM allegro_authorizations').get() as { access_token: string; refresh_token: string };
  const access = s.app.services.secrets.decrypt(row.access_token, 'oauth-access-token');
  const refresh = s.app.services.secrets.decrypt(row.refresh_token, 'oauth-refresh-token');
  assert.ok(row.access_token.startsWith('v1.') && !row.access_token.includes(access));
  const logs = s.logs.join('');
  assert.ok(!logs.includes(access) && !logs.includes(refresh), 'no token in the logs');
  assert.ok(!/code=[A-Za-z0-9_-]{20}/.test(logs), 'no authorization code in the logs');
});

test('consent denied: back on the authorize step with an explanation, nothing saved', async (t) => {
  const s = await setup(t);
  await s.agent.post(`/autoresponders/${s.ar}/v3/start`);
  const { res } = await authorizeVia(s, s.ar, { decision: 'deny' });
  assert.equal(res.statusCode, 303);
  assert.equal(res.headers.location, `/autoresponders/${s.ar}/v3/authorize?problem=denied&code=access_denied`);
  const page = await s.agent.get(res.headers.location as string);
  assert.match(page.body, /Nie udzielono zgody w Allegro/);
  assert.match(page.body, /Nic nie zostało zapisane/);
  assert.equal(s.repos.authorizations.listBySeller(s.seller).length, 0);
  assert.equal(s.sim.state.stats.authorizationCode, 0, 'no token request was made');
  assert.equal(s.repos.migrations.findByAutoresponder(s.ar)!.state, 'in_progress_v3');
});

test('state: a tampered state, another session\'s state and a replayed callback are refused', async (t) => {
  const s = await setup(t);
  await s.agent.post(`/autoresponders/${s.ar}/v3/start`);
  const leave = await s.agent.post(`/autoresponders/${s.ar}/v3/authorize`);
  const back = await consent(leave.headers.location as string, { login: 'sklep_testowy', accounts: s.sim.accounts });
  const state = back.searchParams.get('state')!;
  const code = back.searchParams.get('code')!;

  const tampered = await s.agent.get(`/allegro/callback?state=${encodeURIComponent(state + 'x')}&code=${code}`);
  assert.equal(tampered.statusCode, 400);
  assert.match(tampered.body, /link powrotu z Allegro jest nieprawidłowy/);

  // The same seller signed in in another browser cannot finish this browser's request.
  const other = new Agent(s.app);
  await signIn(other, s.seller);
  const elsewhere = await other.get(back.pathname + back.search);
  assert.equal(elsewhere.statusCode, 400);
  assert.match(elsewhere.body, /w innej przeglądarce/);
  assert.equal(s.sim.state.stats.authorizationCode, 0, 'no code was exchanged for a bad state');

  // The right browser still can, once.
  const ok = await s.agent.get(back.pathname + back.search);
  assert.equal(ok.headers.location, `/autoresponders/${s.ar}/v3/check`);
  const replay = await s.agent.get(back.pathname + back.search);
  assert.equal(replay.statusCode, 400);
  assert.match(replay.body, /został już użyty/);
  assert.equal(s.sim.state.stats.authorizationCode, 1);
});

test('code reuse: a used code with a fresh state is refused by Allegro and explained', async (t) => {
  const s = await setup(t);
  await s.agent.post(`/autoresponders/${s.ar}/v3/start`);
  const first = await authorizeVia(s, s.ar);
  assert.equal(first.res.headers.location, `/autoresponders/${s.ar}/v3/check`);
  const leave = await s.agent.post(`/autoresponders/${s.ar}/v3/authorize`);
  const fresh = new URL(leave.headers.location as string).searchParams.get('state')!;
  const reuse = await s.agent.get(`/allegro/callback?state=${encodeURIComponent(fresh)}&code=${first.back.searchParams.get('code')}`);
  assert.equal(reuse.headers.location, `/autoresponders/${s.ar}/v3/authorize?problem=exchange_failed&code=invalid_grant`);
  const page = await s.agent.get(reuse.headers.location as string);
  assert.match(page.body, /kod jest jednorazowy/);
  // Allegro's code is for support only: in the contact link and the markup, never as text (issue 25).
  assert.match(page.body, /data-support-detail="invalid_grant"/);
  assert.doesNotMatch(page.body, /<code>invalid_grant<\/code>/);
});

test('a different Allegro account: said plainly; retry discards it, or the seller confirms it', async (t) => {
  const s = await setup(t);
  await approveTemplates(s, s.ar);
  const wrong = await authorizeVia(s, s.ar, { login: 'inne_konto' });
  assert.match(wrong.res.headers.location as string, new RegExp(`^/autoresponders/${s.ar}/v3/account\\?authorization=\\d+$`));
  const page = await s.agent.get(wrong.res.headers.location as string);
  assert.match(page.body, /Zgodę w Allegro dało konto inne_konto, a ten autoresponder należy do konta sklep_testowy/);
  assert.equal(s.repos.authorizations.findUsable(s.seller), undefined, 'an unconfirmed account is not used');
  const m = s.repos.migrations.findByAutoresponder(s.ar)!;
  assert.deepEqual([m.state, m.reasonCode], ['needs_attention', 'allegro_account_mismatch']);
  // Going straight to the check does not use it either.
  assert.equal((await s.agent.get(`/autoresponders/${s.ar}/v3/check`)).headers.location, `/autoresponders/${s.ar}/v3/authorize`);

  const wrongId = s.repos.authorizations.listBySeller(s.seller)[0]!.id;
  const retry = await authorizeVia(s, s.ar, { login: 'sklep_testowy', form: { discard: String(wrongId) } });
  assert.equal(retry.res.headers.location, `/autoresponders/${s.ar}/v3/check`);
  assert.deepEqual(s.repos.authorizations.listBySeller(s.seller).map((a) => a.allegroLogin), ['sklep_testowy']);

  // Another autoresponder, another wrong account, this time confirmed.
  const box2 = s.mailbox('anna.druga@gmail.com');
  const ar2 = await s.autoresponder('AR-2', box2, []);
  s.repos.authorizations.markInvalid(s.repos.authorizations.findUsable(s.seller)!.id, 'test');
  await approveTemplates(s, ar2);
  const wrong2 = await authorizeVia(s, ar2, { login: 'inne_konto' });
  const id = /authorization=(\d+)/.exec(wrong2.res.headers.location as string)![1]!;
  await s.agent.get(wrong2.res.headers.location as string);
  // Two explicit steps (issue 25): the choice leads to "are you sure", naming both accounts.
  const asked = await s.agent.post(`/autoresponders/${ar2}/v3/account`, { authorization: id });
  assert.equal(asked.headers.location, `/autoresponders/${ar2}/v3/account?authorization=${id}&confirm=1#confirm`);
  assert.equal(s.repos.authorizations.findUsable(s.seller)?.allegroLogin ?? null, null, 'nothing confirmed by the first step');
  const question = await s.agent.get(`/autoresponders/${ar2}/v3/account?authorization=${id}&confirm=1`);
  assert.match(question.body, /Na pewno używać konta inne_konto\?/);
  const confirmed = await s.agent.post(`/autoresponders/${ar2}/v3/account`, { authorization: id, confirm: '1' });
  assert.equal(confirmed.headers.location, `/autoresponders/${ar2}/v3/check`);
  assert.equal(s.repos.authorizations.findUsable(s.seller)!.allegroLogin, 'inne_konto');
  assert.equal(s.repos.migrations.findByAutoresponder(ar2)!.state, 'in_progress_v3');
  const audit = s.repos.audit.listForTarget('seller', s.seller).map((e) => e.action);
  assert.ok(audit.includes('allegro.authorization_discarded') && audit.includes('allegro.account_confirmed'), audit.join());
});

test('with a valid authorization the switch takes three clicks; switching back restores version and templates', async (t) => {
  const s = await setup(t);
  await approveTemplates(s, s.ar);
  await authorizeVia(s, s.ar);
  await s.agent.get(`/autoresponders/${s.ar}/v3/check`);
  await s.agent.post(`/autoresponders/${s.ar}/v3/switch`, { delete_secret: '1' });

  const box2 = s.mailbox('anna.druga@gmail.com');
  const original = [{ name: 'Dziękujemy', subject: 'Re: pytanie', body: '<p>Dziękujemy!</p>', bodyFormat: 'html' as const }];
  const ar2 = await s.autoresponder('AR-2', box2, original);
  await s.agent.get('/migration');
  const click1 = await s.agent.post(`/autoresponders/${ar2}/v3/start`);
  const step1 = await s.agent.get(click1.headers.location as string);
  assert.match(step1.body, /Dziękujemy!/);
  const click2 = await s.agent.post(`/autoresponders/${ar2}/v3/templates`, { text_0: 'Dziękujemy!' });
  assert.equal(click2.headers.location, `/autoresponders/${ar2}/v3/check`, 'no second consent needed');
  const check = await s.agent.get(click2.headers.location as string);
  // The seller keeps the password this time (unticked box: the field is not sent).
  const click3 = await s.agent.post(`/autoresponders/${ar2}/v3/switch`, {});
  assert.equal(click3.headers.location, `/autoresponders/${ar2}/v3/done`);
  assert.equal(check.statusCode, 200);
  assert.equal(s.repos.autoresponders.getById(ar2)!.version, 3);
  assert.equal(s.repos.mailboxes.getById(box2)!.hasSecret, true);

  const done = await s.agent.get(`/autoresponders/${ar2}/v3/done`);
  assert.match(done.body, /Wróć do wersji 2/);
  // Going back is asked first: the button leads to the question, the question to the change.
  const ask = await s.agent.post(`/autoresponders/${ar2}/v3/switch-back`);
  assert.equal(ask.headers.location, `/autoresponders/${ar2}/v3/done?confirm=back#confirm`);
  assert.equal(s.repos.autoresponders.getById(ar2)!.version, 3, 'nothing changed without the confirmation');
  const question = await s.agent.get(`/autoresponders/${ar2}/v3/done?confirm=back`);
  assert.match(question.body, /Wersja 2 nie działa ze zwykłym hasłem Google/);
  const back = await s.agent.post(`/autoresponders/${ar2}/v3/switch-back`, { confirm: 'yes' });
  assert.equal(back.headers.location, `/migration?done=switched_back&ar=${ar2}#autoresponder-${ar2}`);
  const list = await s.agent.get(back.headers.location as string);
  assert.match(list.body, /wrócił do wersji 2, z poprzednimi szablonami/, 'the list says what was done');
  const a = s.repos.autoresponders.getById(ar2)!;
  assert.deepEqual([a.version, a.authorizationId], [2, null]);
  assert.deepEqual(s.repos.autoresponders.listTemplates(ar2).map((x) => ({ name: x.name, subject: x.subject, body: x.body, bodyFormat: x.bodyFormat })), original);
  assert.equal(s.repos.migrations.findByAutoresponder(ar2)!.state, 'affected', 'the verdict is recomputed: the account password still needs fixing');
  assert.ok(s.repos.audit.listForTarget('autoresponder', ar2).some((e) => e.action === 'migration.switched_back'));

  // Without the stored password there is no way back.
  assert.equal((await s.agent.post(`/autoresponders/${s.ar}/v3/switch-back`, { confirm: 'yes' })).headers.location, `/autoresponders/${s.ar}/v3/done`);
  assert.equal(s.repos.autoresponders.getById(s.ar)!.version, 3);
});

test('an expired access token is refreshed exactly once under concurrent requests', async (t) => {
  let clock = Date.now();
  const s = await setup(t, { now: () => new Date(clock) });
  await approveTemplates(s, s.ar);
  await authorizeVia(s, s.ar);
  const id = s.repos.authorizations.findUsable(s.seller)!.id;
  const { allegro } = s.app;
  const read = () => allegro.withToken(id, (tok) => s.app.allegroClient!.listThreads(tok, { limit: 5 }));

  // Allegro says the token is dead while the app still thinks it is fresh: five 401s, one refresh.
  s.sim.state.expireAccessTokens();
  const results = await Promise.all(Array.from({ length: 5 }, read));
  assert.ok(results.every((r) => r.threads.length === 5));
  assert.equal(s.sim.state.stats.refresh, 1);

  // The app's own clock says the token is about to expire: refreshed before use, once.
  clock += 12 * 3_600_000;
  await Promise.all(Array.from({ length: 5 }, read));
  assert.equal(s.sim.state.stats.refresh, 2);
  assert.equal(s.sim.state.stats.refreshRejected, 0);
});

test('a rotated refresh token reused after the grace: needs attention, then the seller authorizes again', async (t) => {
  let simClock = Date.now();
  const s = await setup(t, { simNow: () => new Date(simClock) });
  await approveTemplates(s, s.ar);
  await authorizeVia(s, s.ar);
  await s.agent.get(`/autoresponders/${s.ar}/v3/check`);
  await s.agent.post(`/autoresponders/${s.ar}/v3/switch`, { delete_secret: '1' });
  const id = s.repos.authorizations.findUsable(s.seller)!.id;

  // Someone else (a restored backup, a second copy of the app) used the stored refresh token.
  const stored = s.app.services.secrets.decrypt(s.repos.authorizations.getTokens(id)!.refreshToken, 'oauth-refresh-token');
  await testClient(s.sim.url).refresh(stored);
  simClock += 61_000;
  s.sim.state.expireAccessTokens();

  const read = await s.app.allegro.withToken(id, (tok) => s.app.allegroClient!.me(tok)).catch((e: Error & { code: string }) => e.code);
  assert.equal(read, 'MIG_ERR_AUTHORIZE_AGAIN');
  assert.equal(s.sim.state.stats.refreshRejected, 1);
  assert.equal(s.repos.authorizations.getById(id)!.status, 'invalid');
  const m = s.repos.migrations.findByAutoresponder(s.ar)!;
  assert.deepEqual([m.state, m.reasonCode], ['needs_attention', 'authorize_again']);
  // Not used any more: no second refresh attempt with a dead token.
  await assert.rejects(s.app.allegro.withToken(id, async () => 'x'), { code: 'MIG_ERR_AUTHORIZE_AGAIN' });
  assert.equal(s.sim.state.stats.refreshRejected, 1);

  const list = await s.agent.get('/migration');
  assert.match(list.body, /Zaloguj się ponownie w Allegro/);
  const again = await authorizeVia(s, s.ar);
  assert.equal(again.res.headers.location, `/autoresponders/${s.ar}/v3/check`);
  const check = await s.agent.get(`/autoresponders/${s.ar}/v3/check`);
  assert.match(check.body, /Zapisz zgodę i włącz autoresponder/);
  await s.agent.post(`/autoresponders/${s.ar}/v3/switch`, {});
  const after = s.repos.migrations.findByAutoresponder(s.ar)!;
  assert.equal(after.state, 'switched_v3');
  assert.equal(s.repos.autoresponders.getById(s.ar)!.authorizationId, s.repos.authorizations.findUsable(s.seller)!.id);
  assert.ok(s.repos.audit.listForTarget('autoresponder', s.ar).some((e) => e.action === 'migration.reauthorized'));
});

test('429 from Allegro during the check is waited out; a lasting failure is explained with the trace id', async (t) => {
  const s = await setup(t);
  await approveTemplates(s, s.ar);
  await authorizeVia(s, s.ar);
  s.sim.state.injectFault({ method: 'GET', path: '/messaging/threads', status: 429, times: 2 });
  const ok = await s.agent.get(`/autoresponders/${s.ar}/v3/check`);
  assert.equal(ok.statusCode, 200);
  assert.match(ok.body, /Widzimy co najmniej 20 rozmów/);
  assert.equal(s.rec.exchanges.filter((x) => x.route === '/messaging/threads' && x.statusCode === 429).length, 2);

  s.sim.state.injectFault({ method: 'GET', path: '/messaging/threads', status: 503, times: 10 });
  const failed = await s.agent.get(`/autoresponders/${s.ar}/v3/check`);
  assert.equal(failed.statusCode, 502);
  assert.match(failed.body, /Allegro odrzuciło zapytanie/);
  assert.match(failed.body, /Allegro odpowiedziało: <q lang="pl">Wystąpił błąd\. Spróbuj ponownie później\.<\/q>/);
  // The code and Allegro's trace id travel in the contact link and the markup for support, never as text (issue 25).
  assert.match(failed.body, /class="contact" data-support-code="MIG_ERR_ALLEGRO_API"/, 'the way to help carries the code');
  assert.match(failed.body, /data-support-detail="[0-9a-f-]{36}"/, 'and the trace id');
  assert.doesNotMatch(failed.body, /<code>MIG_ERR_/);
  // A failed check does not let the switch through.
  const refused = await s.agent.post(`/autoresponders/${s.ar}/v3/switch`, { delete_secret: '1' });
  assert.equal(refused.headers.location, `/autoresponders/${s.ar}/v3/check`);
  assert.equal(s.repos.autoresponders.getById(s.ar)!.version, 2);
  assert.equal(s.repos.mailboxes.getById(s.box)!.hasSecret, true);
});

test('without Allegro credentials the v3 choice says it is unavailable', async (t) => {
  const built = await build(t, { env: { ALLEGRO_ENV: 'production' } });
  const { repos } = built.app.services;
  const seller = repos.sellers.insert({ externalId: 'S1', email: 'a@gmail.com', name: 'A', allegroLogin: 'a' });
  const box = repos.mailboxes.insert({ sellerId: seller, email: 'a@gmail.com', imapHost: 'imap.gmail.com', imapPort: 993, imapSecurity: 'tls', smtpHost: 'smtp.gmail.com', smtpPort: 465, smtpSecurity: 'tls', username: 'a@gmail.com' });
  const ar = repos.autoresponders.insert({ sellerId: seller, externalId: 'AR', version: 1, mailboxId: box });
  const { detection } = built.app.services;
  detection.applyMailboxVerdict(box, await detection.detect(repos.mailboxes.getById(box)!), { type: 'system' });
  const agent = new Agent(built.app);
  await signIn(agent, seller);
  const page = await agent.get('/migration');
  assert.match(page.body, /Przełączenie na wersję 3 jest chwilowo niedostępne/);
  const res = await agent.post(`/autoresponders/${ar}/v3/start`);
  assert.equal(res.statusCode, 503);
  assert.ok(built.logs.join('').includes('switching to version 3 is unavailable'));
});

test('the live check is limited per seller: the eleventh load in five minutes is refused without calling Allegro', async (t) => {
  const s = await setup(t);
  await approveTemplates(s, s.ar);
  await authorizeVia(s, s.ar);
  for (let i = 0; i < 10; i++) assert.equal((await s.agent.get(`/autoresponders/${s.ar}/v3/check`)).statusCode, 200);
  const calls = s.rec.exchanges.filter((x) => x.route === '/messaging/threads').length;
  const limited = await s.agent.get(`/autoresponders/${s.ar}/v3/check`);
  assert.equal(limited.statusCode, 429);
  assert.match(limited.body, /Zbyt wiele prób w krótkim czasie/);
  assert.equal(s.rec.exchanges.filter((x) => x.route === '/messaging/threads').length, calls);
});

test('HEAD of the live check calls Allegro never, and draws on the same budget as GET', async (t) => {
  const s = await setup(t);
  await approveTemplates(s, s.ar);
  await authorizeVia(s, s.ar);
  const threads = () => s.rec.exchanges.filter((x) => x.route === '/messaging/threads').length;
  const head = () => s.app.inject({ method: 'HEAD', url: `/autoresponders/${s.ar}/v3/check`, cookies: Object.fromEntries(s.agent.cookies) });
  const before = threads();
  const first = await head();
  assert.equal(first.statusCode, 200);
  assert.equal(first.body, '');
  assert.equal(threads(), before, 'a HEAD does not call Allegro');
  // 10 GET and 10 HEAD in five minutes: one limit of 10 across both methods (the HEAD above counted).
  const statuses: string[] = [];
  for (let i = 0; i < 10; i++) {
    statuses.push(`GET ${(await s.agent.get(`/autoresponders/${s.ar}/v3/check`)).statusCode}`);
    statuses.push(`HEAD ${(await head()).statusCode}`);
  }
  assert.equal(statuses.filter((x) => !x.endsWith(' 429')).length, 9, `one budget: ${statuses}`);
  assert.ok(threads() - before <= 5, `at most the GETs within the budget called Allegro: ${threads() - before}`);
});

test('every v3 page is complete in Polish and in English: no catalog key shows through', async (t) => {
  const s = await setup(t);
  const rawKey = /\b(v3|migration|wizard|errors)\.[a-zA-Z0-9_.]+\b/;
  const pages: string[] = [];
  for (const lang of ['pl', 'en']) {
    await s.agent.get(`/migration?lang=${lang}`);
    pages.push((await s.agent.get(`/autoresponders/${s.ar}/v3`)).body);
    pages.push((await s.agent.post(`/autoresponders/${s.ar}/v3/templates`, {})).body); // 422: every error shown
    pages.push((await s.agent.get(`/autoresponders/${s.ar}/v3/authorize?problem=denied&code=access_denied`)).body);
  }
  await approveTemplates(s, s.ar);
  const wrong = await authorizeVia(s, s.ar, { login: 'inne_konto' });
  for (const lang of ['pl', 'en']) {
    await s.agent.get(`/migration?lang=${lang}`);
    pages.push((await s.agent.get(wrong.res.headers.location as string)).body);
  }
  const id = /authorization=(\d+)/.exec(wrong.res.headers.location as string)![1]!;
  await s.agent.post(`/autoresponders/${s.ar}/v3/account`, { authorization: id, confirm: '1' });
  for (const lang of ['pl', 'en']) {
    await s.agent.get(`/migration?lang=${lang}`);
    pages.push((await s.agent.get(`/autoresponders/${s.ar}/v3/check`)).body);
  }
  await s.agent.post(`/autoresponders/${s.ar}/v3/switch`, {});
  for (const lang of ['pl', 'en']) {
    await s.agent.get(`/migration?lang=${lang}`);
    pages.push((await s.agent.get(`/autoresponders/${s.ar}/v3/done`)).body, (await s.agent.get('/migration')).body);
  }
  assert.equal(pages.length, 14);
  for (const body of pages) assert.doesNotMatch(body.replace(/<(pre|textarea|div class="preview")[\s\S]*?<\/(pre|textarea|div)>/g, ''), rawKey);
  assert.match(pages.at(-2)!, /The autoresponder runs on version 3\./);
  assert.match(pages.at(-2)!, /Go back to version 2/);
});

test('Allegro answers 5xx at the token exchange or times out during the check: the seller is told what happened, and trying again works', async (t) => {
  const s = await setup(t, { env: { ALLEGRO_TIMEOUT_MS: '700' } });
  await approveTemplates(s, s.ar);
  // The token exchange fails (Allegro's side is down): nothing is saved, the seller is told and can go again.
  s.sim.state.injectFault({ method: 'POST', path: '/auth/oauth/token', status: 503, times: 1 });
  const down = await authorizeVia(s, s.ar);
  assert.equal(down.res.statusCode, 303);
  const told = await s.agent.get(down.res.headers.location as string);
  assert.equal(told.statusCode, 200);
  assert.match(told.body, /role="alert"|class="error/);
  assert.match(told.body, /Allegro nie odpowiada\. Spróbuj ponownie za kilka minut\./, 'Allegro is down, not the seller\'s fault');
  assert.match(told.body, /action="\/autoresponders\/\d+\/v3\/authorize"/, 'the button to try again');
  assert.equal(s.repos.authorizations.findUsable(s.seller), undefined, 'no authorization saved');
  const retried = await authorizeVia(s, s.ar);
  assert.equal(retried.res.statusCode, 303);
  assert.ok(s.repos.authorizations.findUsable(s.seller), 'authorized on the next try');

  // Allegro does not answer the check in time: said plainly, with a way to check again.
  s.sim.state.injectFault({ method: 'GET', path: '/messaging/threads', delayMs: 1500, times: 4 }); // the first try and the client's three retries
  const slow = await s.agent.get(`/autoresponders/${s.ar}/v3/check`);
  assert.ok(slow.statusCode >= 500 && slow.statusCode !== 500, `check answered ${slow.statusCode}`);
  assert.match(slow.body, /nie odpowiedzia|nie odpowiada|czas/i, 'says Allegro did not answer in time');
  assert.match(slow.body, /href="\/autoresponders\/\d+\/v3\/check"/, 'a way to check again');
  assert.equal(s.repos.autoresponders.getById(s.ar)!.version, 2, 'nothing switched');
  const again = await s.agent.get(`/autoresponders/${s.ar}/v3/check`);
  assert.equal(again.statusCode, 200);
  assert.match(again.body, /Widzimy co najmniej 20 rozmów/);
});

test('signing in to Allegro again is not a switch: after a consent for another account the card still offers it; the pages say so and a refusal says the autoresponder still does not answer', async (t) => {
  const s = await setup(t);
  await approveTemplates(s, s.ar);
  await authorizeVia(s, s.ar);
  await s.agent.get(`/autoresponders/${s.ar}/v3/check`);
  assert.equal((await s.agent.post(`/autoresponders/${s.ar}/v3/switch`, {})).statusCode, 303);
  // Later the seller signs in again, at Allegro, with another account: the app refuses to use it.
  const wrong = await authorizeVia(s, s.ar, { login: 'inne_konto' });
  assert.match(wrong.res.headers.location as string, /\/v3\/account\?authorization=\d+/);
  assert.deepEqual(((m) => [m.state, m.reasonCode])(s.repos.migrations.findByAutoresponder(s.ar)!), ['needs_attention', 'allegro_account_mismatch']);

  const card = (await s.agent.get('/migration')).body;
  assert.ok(card.includes(`<form method="post" action="/autoresponders/${s.ar}/v3/authorize">`), 'the card keeps its way to sign in again');
  assert.match(card, /Zaloguj się ponownie w Allegro/);
  for (const url of [wrong.res.headers.location as string, `/autoresponders/${s.ar}/v3/authorize`]) {
    const page = (await s.agent.get(url)).body;
    assert.match(page, /<title>Ponowne zalogowanie w Allegro/);
    assert.match(page, /<h1>Ponowne zalogowanie w Allegro<\/h1>/);
    assert.doesNotMatch(page, /Krok 2 z 3|Przełączenie na wersję 3/, `${url}: no steps of a switch`);
  }
  const refused = (await s.agent.get(`/autoresponders/${s.ar}/v3/authorize?problem=denied&code=access_denied`)).body;
  assert.match(refused, /Nic nie zostało zapisane\. Autoresponder nadal nie odpowiada kupującym/);
  assert.doesNotMatch(refused, /działa jak dotąd/);
});

test('a refresh refused for an old token while the seller consents again keeps the new consent (the watch must not undo a fix)', async (t) => {
  const s = await setup(t);
  const { secrets } = s.app.services;
  await approveTemplates(s, s.ar);
  await authorizeVia(s, s.ar);
  const id = s.repos.authorizations.findUsable(s.seller)!.id;
  // Its access token is due for a refresh, and Allegro has revoked the old refresh token (a password change).
  const old = s.repos.authorizations.getTokens(id)!;
  s.repos.authorizations.storeTokens(id, { ...old, accessExpiresAt: new Date(Date.now() - 60_000).toISOString() });
  s.sim.state.revokeAccount('sklep_testowy');
  const seen: string[] = [];
  const call = s.app.allegro.withToken(id, async (token) => void seen.push(token));
  // While that refresh is on its way, the seller's new consent is stored in the same row.
  const { pair } = s.sim.state.grant('sklep_testowy', CLIENT.id);
  assert.ok(s.repos.authorizations.storeTokens(id, {
    accessToken: secrets.encrypt(pair.access_token, 'oauth-access-token'),
    refreshToken: secrets.encrypt(pair.refresh_token, 'oauth-refresh-token'),
    accessExpiresAt: new Date(Date.now() + pair.expires_in * 1000).toISOString(),
  }));
  await call;
  assert.deepEqual(seen, [pair.access_token], 'the call went on with the new consent\'s token');
  assert.equal(s.repos.authorizations.getById(id)!.status, 'active', 'not marked invalid');
  assert.notEqual(s.repos.migrations.findByAutoresponder(s.ar)!.reasonCode, 'authorize_again');
});
