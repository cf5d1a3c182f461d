import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { build, type BuildOptions } from '../helpers/build.js';
import { Agent, signIn } from '../helpers/agent.js';
import { decodeQuotedPrintable, startSmtp, type TestSmtp } from '../helpers/smtp.js';

let relay: TestSmtp;
before(async () => {
  relay = await startSmtp({ security: 'plain' });
});
after(async () => relay?.stop());

const waitFor = async (cond: () => boolean, ms = 5000) => {
  const end = Date.now() + ms;
  while (!cond() && Date.now() < end) await new Promise((r) => setTimeout(r, 25));
};

async function setup(t: import('node:test').TestContext, now?: () => Date, opts: { smtp?: TestSmtp; extra?: BuildOptions['extra'] } = {}) {
  const smtp = opts.smtp ?? relay;
  const built = await build(t, { env: { SMTP_URL: `smtp://127.0.0.1:${smtp.port}`, PUBLIC_URL: 'https://migracja.example.pl', MAIL_FROM: 'Migracja <no-reply@example.pl>' }, now, extra: opts.extra });
  const { repos } = built.app.services;
  const jan = repos.sellers.insert({ externalId: 'S1', email: 'jan@gmail.com', name: 'Jan Kowalski', allegroLogin: 'jan' });
  const ola = repos.sellers.insert({ externalId: 'S2', email: 'ola@gmail.com', name: 'Ola', allegroLogin: 'ola', language: 'en' });
  const box = (sellerId: number, email: string) =>
    repos.mailboxes.insert({ sellerId, email, imapHost: 'imap.gmail.com', imapPort: 993, imapSecurity: 'tls', smtpHost: 'smtp.gmail.com', smtpPort: 465, smtpSecurity: 'tls', username: email });
  return { ...built, jan, ola, janBox: box(jan, 'jan@gmail.com'), olaBox: box(ola, 'ola@gmail.com') };
}

test('sign-in: known and unknown addresses get the same answer; only the known one gets a link by e-mail', async (t) => {
  const { app } = await setup(t);
  const a = new Agent(app);
  await a.get('/login');
  const before = relay.received.length;
  const unknown = await a.post('/login', { email: 'nikt@example.pl' });
  await a.get('/login');
  const known = await a.post('/login', { email: '  JAN@gmail.com ' });
  assert.equal(unknown.statusCode, 303);
  assert.equal(known.statusCode, 303);
  assert.equal(unknown.headers.location, known.headers.location);
  await waitFor(() => relay.received.length > before);
  await new Promise((r) => setTimeout(r, 200));
  const mails = relay.received.slice(before);
  assert.equal(mails.length, 1, 'one mail, to the known seller only');
  assert.deepEqual(mails[0]!.to, ['jan@gmail.com']);
  const body = decodeQuotedPrintable(mails[0]!.raw);
  assert.match(body, /Subject: =\?UTF-8\?|Subject: Link do logowania/);
  const link = /https:\/\/migracja\.example\.pl\/login\/verify\?token=[A-Za-z0-9_%-]+/.exec(body);
  assert.ok(link, 'the link is built from PUBLIC_URL');
  const sent = await a.get('/login/sent');
  assert.match(sent.body, /Jeśli ten adres należy do sprzedawcy/);
});

test('sign-in: known and unknown addresses get the same work before the answer; the token and the e-mail come after it', async (t) => {
  // A relay that takes 500 ms to accept a message, and a record of every per-address step and of
  // the moment each answer is finished. The answer must not depend on any of those steps.
  const slow = await startSmtp({ security: 'plain', acceptDelayMs: 500 });
  t.after(() => slow.stop());
  const events: string[] = [];
  const { app } = await setup(t, undefined, { smtp: slow, extra: (f) => void f.addHook('onResponse', async (req) => void (req.method === 'POST' && events.push('answered'))) });
  const spy = <T extends object>(obj: T, name: keyof T & string, label: string) => {
    const original = (obj[name] as (...a: unknown[]) => unknown).bind(obj);
    (obj as Record<string, unknown>)[name] = (...args: unknown[]) => {
      events.push(label);
      return original(...args);
    };
  };
  const { repos } = app.services;
  spy(repos.sellers, 'findByEmail', 'seller looked up');
  spy(repos.loginTokens, 'countSince', 'links counted');
  spy(repos.loginTokens, 'issue', 'token made');
  // Every e-mail goes through the outbox, which hands it to the mailer's tracked send.
  const send = app.mailer.sendTracked.bind(app.mailer);
  app.mailer.sendTracked = async (mail, beforeEnd) => {
    events.push('e-mail handed to the mailer');
    await send(mail, beforeEnd);
    events.push('e-mail accepted');
  };
  const a = new Agent(app);
  const before = async (email: string) => {
    await a.get('/login');
    events.length = 0;
    const started = Date.now();
    const res = await a.post('/login', { email });
    assert.equal(res.statusCode, 303);
    return { ms: Date.now() - started, steps: events.slice(0, events.indexOf('answered')) };
  };

  const unknown = await before('nikt@example.pl');
  await waitFor(() => events.includes('seller looked up'), 1000); // whatever an unknown address causes, let it finish
  const known = await before('jan@gmail.com');
  assert.deepEqual(known.steps, unknown.steps, 'the same steps before the answer, whoever asks');
  assert.deepEqual(known.steps, [], 'nothing about the address is looked up or made before the answer');

  await waitFor(() => events.includes('e-mail accepted'));
  assert.deepEqual(events, ['answered', 'seller looked up', 'links counted', 'token made', 'e-mail handed to the mailer', 'e-mail accepted']);
  // The order above proves the answer did not wait for the 500 ms relay; the time is only reported.
  t.diagnostic(`answered in ${known.ms} ms`);
  assert.equal(slow.received.length, 1);
  assert.deepEqual(slow.received[0]!.to, ['jan@gmail.com']);
});

test('demo mode without SMTP: the sign-in link is written to the log, after the answer', async (t) => {
  const { app, logs } = await build(t, { env: { DEMO: '1', PUBLIC_URL: 'http://127.0.0.1:3000' } });
  app.services.repos.sellers.insert({ externalId: 'S1', email: 'jan@gmail.com', name: 'Jan Kowalski', allegroLogin: 'jan' });
  const a = new Agent(app);
  await a.get('/login');
  assert.equal((await a.post('/login', { email: 'jan@gmail.com' })).statusCode, 303);
  await app.signIn.idle();
  assert.ok(logs.some((l) => /demo sign-in link: http:\/\/127\.0\.0\.1:3000\/login\/verify\?token=/.test(l)), 'the link is in the log');
});

test('sign-in: a bad address re-renders the form with the message tied to the field (422)', async (t) => {
  const { app } = await setup(t);
  const a = new Agent(app);
  await a.get('/login');
  const res = await a.post('/login', { email: 'to nie adres' });
  assert.equal(res.statusCode, 422);
  assert.match(res.body, /id="email-error">Wpisz poprawny adres e-mail/);
  assert.match(res.body, /aria-describedby="email-hint email-error"/);
  assert.match(res.body, /aria-invalid="true"/);
  assert.match(res.body, /value="to nie adres"/, 'what was typed is kept');
});

test('the link opens a confirm page (no sign-in on GET); the button signs in once; the session id is new', async (t) => {
  const { app, jan } = await setup(t);
  const a = new Agent(app);
  await a.get('/login');
  const anonymousSid = 'stale-session-value';
  a.cookies.set('sid', anonymousSid);
  const token = app.services.repos.loginTokens.issue(jan, 30 * 60_000);
  const page = await a.get(`/login/verify?token=${token}`);
  assert.equal(page.statusCode, 200);
  assert.match(page.body, /Potwierdź logowanie/);
  assert.equal(app.services.repos.loginTokens.peek(token)?.usedAt, null, 'GET does not use the token');
  const res = await a.post('/login/verify', { token });
  assert.equal(res.statusCode, 303);
  assert.equal(res.headers.location, '/migration');
  const sid = res.cookies.find((c) => c.name === 'sid')!;
  assert.ok(sid.httpOnly);
  assert.equal(sid.sameSite, 'Lax');
  assert.equal(sid.secure, true, 'Secure behind https PUBLIC_URL');
  assert.notEqual(sid.value, anonymousSid);
  assert.equal((await a.get('/migration')).statusCode, 200);
  // The same token again: another browser is told at once; a replayed POST is refused too.
  const b = new Agent(app);
  const used = await b.get(`/login/verify?token=${token}`);
  assert.equal(used.statusCode, 400);
  assert.match(used.body, /został już użyty/);
  const reuse = await a.post('/login/verify', { token });
  assert.equal(reuse.statusCode, 400);
  assert.match(reuse.body, /został już użyty/);
});

test('an expired or unknown token is refused with a way forward', async (t) => {
  let clock = Date.parse('2026-11-21T10:00:00Z');
  const { app, jan } = await setup(t, () => new Date(clock));
  const token = app.services.repos.loginTokens.issue(jan, 30 * 60_000);
  clock += 31 * 60_000;
  const a = new Agent(app);
  const page = await a.get(`/login/verify?token=${token}`);
  assert.equal(page.statusCode, 400);
  assert.match(page.body, /wygasł/);
  assert.match(page.body, /href="\/login"/);
  const unknown = await a.get('/login/verify?token=nie-ma-takiego');
  assert.match(unknown.body, /Nie rozpoznajemy tego linku/);
});

test('CSRF: a POST without the token or with a wrong one is refused (403) and changes nothing', async (t) => {
  const { app, jan } = await setup(t);
  const a = new Agent(app);
  await a.get('/login');
  const none = await a.post('/login', { email: 'jan@gmail.com' }, { csrf: null });
  assert.equal(none.statusCode, 403);
  assert.match(none.body, /Formularz wygasł/);
  const wrong = await a.post('/login', { email: 'jan@gmail.com' }, { csrf: 'zly-token' });
  assert.equal(wrong.statusCode, 403);
  const token = app.services.repos.loginTokens.issue(jan, 30 * 60_000);
  const noCsrf = await a.post('/login/verify', { token }, { csrf: null });
  assert.equal(noCsrf.statusCode, 403);
  assert.equal(app.services.repos.loginTokens.peek(token)?.usedAt, null, 'the token was not used');
});

test("signed out: pages redirect to sign-in with a local next; another seller's mailbox is a 404", async (t) => {
  const { app, jan, olaBox, janBox } = await setup(t);
  const anon = new Agent(app);
  const r = await anon.get('/migration');
  assert.equal(r.statusCode, 303);
  assert.equal(r.headers.location, '/login?next=%2Fmigration');
  const offsite = await anon.get('/login?next=//evil.example.com/');
  assert.match(offsite.body, /name="next" value="\/migration"/);
  const a = new Agent(app);
  await signIn(a, jan);
  assert.equal((await a.get(`/mailboxes/${janBox}/app-password/1`)).statusCode, 200);
  for (const url of [`/mailboxes/${olaBox}/app-password/1`, `/mailboxes/${olaBox}/app-password/3`, '/mailboxes/999999/app-password/1', '/mailboxes/abc/app-password/1', `/mailboxes/${janBox}/app-password/9`]) {
    assert.equal((await a.get(url)).statusCode, 404, url);
  }
  await a.get('/migration');
  for (const url of [`/mailboxes/${olaBox}/app-password/start`, `/mailboxes/${olaBox}/app-password`, `/mailboxes/${olaBox}/app-password/fetch`]) {
    assert.equal((await a.post(url, { app_password: 'abcdefghijklmnop' })).statusCode, 404, url);
  }
});

test('sign-out ends the session on the server', async (t) => {
  const { app, jan } = await setup(t);
  const a = new Agent(app);
  await signIn(a, jan);
  const sid = a.cookies.get('sid')!;
  await a.get('/migration');
  const out = await a.post('/logout');
  assert.equal(out.statusCode, 303);
  const replay = await app.inject({ url: '/migration', cookies: { sid } });
  assert.equal(replay.statusCode, 303, 'the old cookie no longer works');
  // The page after signing out says so and how to come back; the URL carries a known word, no text.
  assert.equal(out.headers.location, '/login?notice=signed_out&lang=pl');
  const landed = await a.get(String(out.headers.location));
  assert.equal(landed.statusCode, 200);
  assert.match(landed.body, /<p class="notice" role="status">Wylogowano Cię\. .*Aby wrócić, wpisz niżej swój adres e-mail/);
  // Any other word shows nothing: the notice cannot be made to say something else.
  assert.doesNotMatch((await a.get('/login?notice=Zaplac+tutaj')).body, /role="status"/);
  assert.doesNotMatch((await a.get('/login')).body, /Wylogowano/);
});

test('an English seller signing out lands on the English sign-in page that says so, whatever the browser speaks', async (t) => {
  const { app, ola } = await setup(t);
  const a = new Agent(app);
  await signIn(a, ola);
  await a.get('/migration');
  const out = await a.post('/logout');
  assert.equal(out.statusCode, 303);
  assert.equal(out.headers.location, '/login?notice=signed_out&lang=en');
  const landed = await app.inject({ url: String(out.headers.location), headers: { 'accept-language': 'pl-PL,pl;q=0.9' } });
  assert.match(landed.body, /<html lang="en">/);
  assert.match(landed.body, /<p class="notice" role="status">You are signed out\. .*To come back, enter your e-mail address below/);
});

test("a seller's own language is used after sign-in; the switch overrides it", async (t) => {
  const { app, ola } = await setup(t);
  const a = new Agent(app);
  await signIn(a, ola);
  assert.match((await a.get('/migration')).body, /<html lang="en">/);
  assert.match((await a.get('/migration?lang=pl')).body, /<html lang="pl">/);
});
