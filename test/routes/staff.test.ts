import { test } from 'node:test';
import assert from 'node:assert/strict';
import { build } from '../helpers/build.js';
import { Agent, signIn } from '../helpers/agent.js';
import { confirmationKeyOf, createStaff, seedAccounts, staffAgent, STAFF_PASSWORD, waitForJob } from '../helpers/staff.js';
import { STAFF_COOKIE } from '../../src/plugins/staff-auth.js';
import type { StaffRole } from '../../src/domain/model.js';
import { ACCESS } from '../helpers/security.js';

/** The least role each staff route needs (from the app-wide access table, which must list every route). */
const STAFF_ROUTES = Object.fromEntries(Object.entries(ACCESS).filter(([route]) => route.includes(' /staff'))) as Record<string, StaffRole | 'public'>;
const RANK = { viewer: 1, agent: 2, admin: 3 } as const;

/** A page's text without tags. */
const plain = (html: string) => html.replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ');

async function setup(t: import('node:test').TestContext, env: Record<string, string> = {}, now?: () => Date) {
  const built = await build(t, { env: { MIGRATION_DEADLINE: '2027-03-31', ...env }, now });
  const s = built.app.services;
  const rows = seedAccounts(s, [
    { name: 'Jan Kowalski', email: 'jan@gmail.com', login: 'jan_k', mailbox: 'jan@gmail.com' },
    { name: 'Sklep ŁÓDŹ Żółw', email: 'lodz@firma.pl', login: 'zolw_lodz', mailbox: 'biuro@firma.pl', provider: 'workspace', version: 1 },
    { name: 'Ola Nowak', email: 'ola@gmail.com', login: 'ola', mailbox: 'ola@gmail.com', state: 'relinked_app_password', secret: 'abcdabcdabcdabcd', secretKind: 'app_password' },
    { name: 'Ukryty', email: 'nie@example.pl', mailbox: 'nie@example.pl', provider: 'other', state: 'not_affected' },
  ]);
  return { ...built, rows };
}

test('every staff route is in the role table, and every role gets exactly what it should on every route', async (t) => {
  const { app, routes, rows } = await setup(t);
  const staffRoutes = routes.filter((r) => r.url.startsWith('/staff') && r.method !== 'HEAD').map((r) => `${r.method} ${r.url}`);
  assert.deepEqual(staffRoutes.sort(), Object.keys(STAFF_ROUTES).sort(), 'a staff route is missing from (or extra in) the role table');

  const id = rows[0]!.autoresponderId;
  const job = app.services.repos.jobs.create({ kind: 'review', selection: 'ids', filter: null, ids: '[]', note: 'x', confirmedCount: 0, createdBy: await createStaff(app.services, 'owner@wsparcie.example', 'admin') });
  const userId = await createStaff(app.services, 'target@wsparcie.example', 'viewer');
  const url = (u: string) => u.replace(':id', String(u.startsWith('/staff/jobs') ? job : u.startsWith('/staff/users') ? userId : id));

  const seller = new Agent(app);
  await signIn(seller, rows[0]!.sellerId);
  const clients: Record<string, Agent> = {
    anonymous: new Agent(app),
    seller,
    viewer: await staffAgent(app, 'viewer'),
    agent: await staffAgent(app, 'agent'),
    admin: await staffAgent(app, 'admin'),
  };
  for (const [who, agent] of Object.entries(clients)) {
    for (const [route, need] of Object.entries(STAFF_ROUTES)) {
      if (need === 'public') continue;
      const [method, path] = route.split(' ') as [string, string];
      await agent.get('/staff/login'); // a fresh CSRF token, as a page would carry
      const res = method === 'GET' ? await agent.get(url(path)) : await agent.post(url(path), {});
      const role = who === 'anonymous' || who === 'seller' ? 0 : RANK[who as StaffRole];
      const cell = `${who} × ${route}`;
      if (role === 0) {
        if (method === 'GET') {
          assert.equal(res.statusCode, 303, cell);
          assert.match(res.headers.location as string, /^\/staff\/login\?next=/, cell);
        } else assert.equal(res.statusCode, 401, cell);
      } else if (role < RANK[need]) {
        assert.equal(res.statusCode, 403, cell);
        assert.match(res.body, /MIG_ERR_FORBIDDEN/, cell);
      } else {
        // Allowed: anything but a refusal (a POST with an empty form may be a 422 with a message, or a redirect).
        assert.ok(![401, 403, 500].includes(res.statusCode), `${cell}: ${res.statusCode}`);
      }
    }
  }
});

test('staff sign-in: wrong password and unknown address get the same message; the session id is new; sign-out ends it', async (t) => {
  const { app } = await setup(t);
  await createStaff(app.services, 'ewa@wsparcie.example', 'viewer');
  const a = new Agent(app);
  await a.get('/staff/login');
  const wrong = await a.post('/staff/login', { email: 'ewa@wsparcie.example', password: 'zle-haslo-123456' });
  await a.get('/staff/login');
  const unknown = await a.post('/staff/login', { email: 'nikt@wsparcie.example', password: 'zle-haslo-123456' });
  assert.equal(wrong.statusCode, 401);
  assert.equal(unknown.statusCode, 401);
  assert.match(wrong.body, /Nieprawidłowy e-mail lub hasło/);
  assert.match(unknown.body, /Nieprawidłowy e-mail lub hasło/);
  assert.doesNotMatch(wrong.body, /zle-haslo/, 'the password is never rendered back');

  a.cookies.set(STAFF_COOKIE, 'planted-session-value');
  await a.get('/staff/login');
  const ok = await a.post('/staff/login', { email: 'EWA@wsparcie.example', password: STAFF_PASSWORD, next: '/staff/accounts?state=affected' });
  assert.equal(ok.statusCode, 303);
  assert.equal(ok.headers.location, '/staff/accounts?state=affected');
  assert.notEqual(a.cookies.get(STAFF_COOKIE), 'planted-session-value');
  const cookie = ok.cookies.find((c) => c.name === STAFF_COOKIE)!;
  assert.equal(cookie.httpOnly, true);
  assert.equal(cookie.path, '/staff');
  assert.equal((await a.get('/staff')).statusCode, 200);

  // next= cannot leave the console.
  await a.post('/staff/logout', {});
  for (const next of ['https://evil.example/', '//evil.example', '/migration', '/staff/../login']) {
    await a.get('/staff/login');
    const r = await a.post('/staff/login', { email: 'ewa@wsparcie.example', password: STAFF_PASSWORD, next });
    assert.equal(r.headers.location, next === '/staff/../login' ? '/staff' : '/staff', next);
    await a.post('/staff/logout', {});
  }
  assert.equal((await a.get('/staff')).statusCode, 303, 'signed out');
});

test('staff sign-in is limited per address (5 failures in 15 minutes), and says until when', async (t) => {
  const { app } = await setup(t);
  await createStaff(app.services, 'ewa@wsparcie.example', 'viewer');
  const a = new Agent(app);
  for (let i = 0; i < 5; i++) {
    await a.get('/staff/login');
    assert.equal((await a.post('/staff/login', { email: 'ewa@wsparcie.example', password: `zle-${i}-haslo-xx` })).statusCode, 401);
  }
  await a.get('/staff/login');
  const locked = await a.post('/staff/login', { email: 'ewa@wsparcie.example', password: STAFF_PASSWORD });
  assert.equal(locked.statusCode, 429, 'even the right password waits');
  assert.match(locked.body, /Zbyt wiele nieudanych prób dla tego adresu\. Spróbuj ponownie po \d{1,2}:\d{2}/);
  // Another address from the same client is not locked by this one.
  await createStaff(app.services, 'adam@wsparcie.example', 'viewer');
  await a.get('/staff/login');
  assert.equal((await a.post('/staff/login', { email: 'adam@wsparcie.example', password: STAFF_PASSWORD })).statusCode, 303);
});

test('staff sign-in is limited per IP (20 attempts in 15 minutes) whatever the address', async (t) => {
  const { app } = await setup(t);
  const a = new Agent(app);
  let last = 0;
  for (let i = 0; i < 21; i++) {
    await a.get('/staff/login');
    last = (await a.post('/staff/login', { email: `osoba${i}@wsparcie.example`, password: 'cokolwiek-123456' })).statusCode;
  }
  assert.equal(last, 429);
});

test('a staff session expires after inactivity; a disabled account is signed out at once', async (t) => {
  let clock = Date.parse('2026-11-21T10:00:00Z');
  const { app } = await setup(t, { STAFF_SESSION_IDLE_MINUTES: '30' }, () => new Date(clock));
  const a = await staffAgent(app, 'viewer');
  clock += 29 * 60_000;
  assert.equal((await a.get('/staff')).statusCode, 200, 'still active at 29 minutes');
  clock += 31 * 60_000; // 31 minutes after the last request (the expiry slides at most once a minute)
  const expired = await a.get('/staff');
  assert.equal(expired.statusCode, 303);

  const b = await staffAgent(app, 'agent', 'b@wsparcie.example');
  const id = app.services.repos.staff.findByEmail('b@wsparcie.example')!.id;
  app.services.repos.staff.setDisabled(id, true);
  assert.equal((await b.get('/staff')).statusCode, 303);
});

test('the overview counts by state, version, provider and error, and draws the chart as SVG with a countdown', async (t) => {
  const { app } = await setup(t, {}, () => new Date('2026-11-21T12:00:00Z'));
  const a = await staffAgent(app, 'viewer');
  const res = await a.get('/staff');
  assert.equal(res.statusCode, 200);
  assert.match(res.body, /<svg [^>]*role="img"/);
  assert.match(res.body, /<path d="M[\d.]+,[\d.]+/);
  assert.match(res.body, /Do terminu 31 mar 2027, 23:59: 130 dni i \d+ godz\./);
  assert.match(res.body, /Wymaga migracji<\/a> <span class="n">2<\/span>/);
  assert.match(res.body, /Połączono hasłem do aplikacji<\/a> <span class="n">1<\/span>/);
  assert.match(res.body, /Google Workspace<\/a> <span class="n">1<\/span>/);
  assert.doesNotMatch(res.body, /<script/);
});

test('the list: filters, Polish search regardless of case, sorting, paging with the total and page sizes', async (t) => {
  const { app } = await setup(t);
  const s = app.services;
  // 60 more, so there are pages.
  seedAccounts(
    s,
    Array.from({ length: 60 }, (_, i) => ({ name: `Sprzedawca ${String(i).padStart(2, '0')}`, email: `s${i}@gmail.com`, login: `s_${i}`, mailbox: `s${i}@gmail.com`, version: (i % 2 ? 1 : 2) as 1 | 2 })),
  );
  const a = await staffAgent(app, 'viewer');
  const names = (body: string): string[] => [...body.matchAll(/<a href="\/staff\/accounts\/\d+">([^<]+)<\/a>/g)].map((m) => m[1]!);

  const search = await a.get(`/staff/accounts?q=${encodeURIComponent('łódź')}`);
  assert.deepEqual(names(search.body), ['Sklep ŁÓDŹ Żółw']);
  assert.deepEqual(names((await a.get(`/staff/accounts?q=${encodeURIComponent('ZOLW_Lodz')}`)).body), ['Sklep ŁÓDŹ Żółw'], 'login, any case');
  assert.deepEqual(names((await a.get(`/staff/accounts?q=BIURO%40FIRMA`)).body), ['Sklep ŁÓDŹ Żółw'], 'mailbox address');
  assert.doesNotMatch((await a.get('/staff/accounts?q=nie%40example.pl')).body, /Ukryty/, 'not affected is not listed');

  const v1 = await a.get('/staff/accounts?version=1&size=100');
  assert.match(v1.body, /31 autoresponderów · strona 1 z 1/);
  assert.equal((await a.get('/staff/accounts?provider=workspace')).body.match(/<tr>\s*<td data-label="Sprzedawca">/g)?.length ?? names((await a.get('/staff/accounts?provider=workspace')).body).length, 1);
  assert.deepEqual(names((await a.get('/staff/accounts?state=relinked_app_password')).body), ['Ola Nowak']);

  // Paging: 63 listed, 25 a page; walk forward to the end and back to the start.
  const first = await a.get('/staff/accounts');
  assert.match(first.body, /63 autorespondery · strona 1 z 3/);
  const seen: string[] = names(first.body);
  let body = first.body;
  for (let p = 2; p <= 3; p++) {
    const next = /<a href="([^"]+)" rel="next">/.exec(body)![1]!.replace(/&amp;/g, '&').replace(/&#x3D;/g, '=');
    body = (await a.get(next)).body;
    assert.match(body, new RegExp(`strona ${p} z 3`));
    seen.push(...names(body));
  }
  assert.doesNotMatch(body, /rel="next"/, 'no next page after the last');
  assert.equal(seen.length, 63);
  assert.equal(new Set(seen).size, 63, 'no row twice, none skipped');
  const collator = new Intl.Collator('en', { sensitivity: 'base' });
  assert.deepEqual([...seen].sort((x, y) => (x.toLocaleLowerCase('pl') < y.toLocaleLowerCase('pl') ? -1 : 1)), seen, 'sorted by name');
  void collator;
  const prev = /<a href="([^"]+)" rel="prev">/.exec(body)![1]!.replace(/&amp;/g, '&').replace(/&#x3D;/g, '=');
  const back = await a.get(prev);
  assert.match(back.body, /strona 2 z 3/);
  assert.deepEqual(names(back.body), seen.slice(25, 50));

  // Sort by version descending, 50 a page.
  const byVersion = await a.get('/staff/accounts?sort=version&dir=desc&size=50');
  assert.match(byVersion.body, /aria-sort="descending"/);
  assert.match(byVersion.body, /strona 1 z 2/);
  const versions = [...byVersion.body.matchAll(/data-label="Wersja">v(\d)/g)].map((m) => Number(m[1]));
  assert.equal(versions.length, 50);
  assert.deepEqual(versions, [...versions].sort((x, y) => y - x));

  // Bad values: the page says which, next to the field, and still lists.
  const bad = await a.get('/staff/accounts?version=7&inactive=abc&q=ok');
  assert.equal(bad.statusCode, 400);
  assert.match(bad.body, /id="version-error">Wybierz wersję 1, 2 lub 3/);
  assert.match(bad.body, /id="inactive-error">Wpisz liczbę dni/);
  assert.match(bad.body, /aria-invalid="true"/);
});

test('"no activity for N days" finds sellers who have not signed in and whose state has not changed', async (t) => {
  let clock = Date.parse('2026-11-01T10:00:00Z');
  const { app, rows } = await setup(t, {}, () => new Date(clock));
  clock = Date.parse('2026-11-21T10:00:00Z');
  const seller = new Agent(app);
  await signIn(seller, rows[0]!.sellerId); // Jan signs in today
  const a = await staffAgent(app, 'viewer');
  const res = await a.get('/staff/accounts?inactive=14');
  assert.doesNotMatch(res.body, /Jan Kowalski/);
  assert.match(res.body, /Sklep ŁÓDŹ Żółw/);
  assert.match(res.body, /Ola Nowak/);
});

test('CSV export: BOM, semicolons, formula guard, every matching row, no secrets; audited', async (t) => {
  const { app } = await setup(t);
  seedAccounts(app.services, [
    { name: '=HYPERLINK("http://evil.example","klik")', email: 'evil@gmail.com', login: '+48123', mailbox: 'evil@gmail.com', secret: 'tajnehaslokonta1', secretKind: 'account_password' },
    { name: '@SUM(1;2)', email: 'x@gmail.com', login: '-1', mailbox: 'x@gmail.com' },
    { name: '\tTab; "cudzysłów"', email: 'y@gmail.com', mailbox: 'y@gmail.com' },
  ]);
  const viewer = await staffAgent(app, 'viewer');
  assert.equal((await viewer.get('/staff/accounts.csv')).statusCode, 403, 'viewers do not export');
  const a = await staffAgent(app, 'agent');
  const res = await a.get('/staff/accounts.csv?provider=gmail&format=keys');
  assert.equal(res.statusCode, 200);
  assert.match(res.headers['content-type'] as string, /^text\/csv; charset=utf-8/);
  assert.match(res.headers['content-disposition'] as string, /^attachment; filename="autorespondery-[\d-]+\.csv"$/);
  const raw = res.rawPayload;
  assert.deepEqual([...raw.subarray(0, 3)], [0xef, 0xbb, 0xbf], 'UTF-8 BOM');
  const text = raw.subarray(3).toString('utf8');
  const lines = text.split('\r\n').filter(Boolean);
  assert.equal(lines[0], 'autoresponder_id;seller_name;seller_email;allegro_login;mailbox;version;provider;state;path;last_error_code;last_checked_at;last_activity_at');
  assert.equal(lines.length, 1 + 5, 'header + every gmail row (Jan, Ola, three new)');
  assert.ok(lines.some((l) => l.includes(`;"'=HYPERLINK(""http://evil.example"",""klik"")";`)), 'formula quoted and neutralised');
  assert.ok(lines.some((l) => l.includes(`;"'@SUM(1;2)";`) && l.includes(`;'-1;`)));
  assert.ok(lines.some((l) => l.includes(`;"'\tTab; ""cudzysłów""";`)));
  assert.ok(lines.some((l) => l.includes(`;'+48123;`)));
  assert.ok(lines.some((l) => l.startsWith('3;Ola Nowak;')));
  assert.doesNotMatch(text, /tajnehaslokonta1|abcdabcdabcdabcd|scrypt|v1:/);
  for (const l of lines.slice(1)) assert.doesNotMatch(l.split(';')[0]!, /^'/, 'numbers are not prefixed');
  const audit = app.services.db.prepare(`SELECT details FROM audit_log WHERE action = 'staff.export'`).pluck().all() as string[];
  assert.equal(audit.length, 1);
  assert.deepEqual(JSON.parse(audit[0]!), { filter: { provider: 'gmail' }, total: 5, format: 'keys' });
});

test('account detail shows seller, mailboxes without the secret, templates, checks and the timeline; notes and review are audited', async (t) => {
  const { app, rows } = await setup(t);
  const ola = rows[2]!;
  const a = await staffAgent(app, 'agent');
  const page = await a.get(`/staff/accounts/${ola.autoresponderId}`);
  assert.equal(page.statusCode, 200);
  assert.match(page.body, /Ola Nowak/);
  assert.match(page.body, /hasło do aplikacji/);
  assert.doesNotMatch(page.body, /abcdabcdabcdabcd/);
  assert.match(page.body, /System połączył skrzynkę hasłem do aplikacji/);

  const empty = await a.post(`/staff/accounts/${ola.autoresponderId}/note`, { note: '   ' });
  assert.equal(empty.statusCode, 422);
  assert.match(empty.body, /id="note-error">Wpisz treść notatki/);
  const long = await a.post(`/staff/accounts/${ola.autoresponderId}/note`, { note: 'x'.repeat(2001) });
  assert.equal(long.statusCode, 422);
  assert.match(long.body, /najwyżej 2000 znaków/);
  await a.get(`/staff/accounts/${ola.autoresponderId}`);
  const noted = await a.post(`/staff/accounts/${ola.autoresponderId}/note`, { note: 'Dzwoniła, zrobi to jutro <b>pilne</b>' });
  assert.equal(noted.statusCode, 303);
  const after = await a.get(`/staff/accounts/${ola.autoresponderId}`);
  assert.match(after.body, /Pracownik wsparcia agent@wsparcie\.example dodał notatkę/);
  assert.match(after.body, /&lt;b&gt;pilne&lt;\/b&gt;/, 'escaped');

  // Ola's autoresponder works: "mark reviewed" is not offered, and a POST of it is refused.
  assert.doesNotMatch(after.body, /action="\/staff\/accounts\/\d+\/review"/);
  assert.match(plain(after.body), /Autoresponder działa, więc oznaczenie jako sprawdzone nie jest potrzebne/);
  const refused = await a.post(`/staff/accounts/${ola.autoresponderId}/review`, { note: 'Sprawdzone telefonicznie' });
  assert.match(refused.headers.location as string, /done=review&outcome=already_works/);
  assert.equal(app.services.repos.migrations.findByAutoresponder(ola.autoresponderId)!.state, 'relinked_app_password');
  const olaActions = app.services.repos.audit.listForTarget('autoresponder', ola.autoresponderId).map((e) => `${e.actorType}:${e.action}`);
  assert.equal(olaActions.at(-1), 'staff:staff.note', 'nothing marked');
  assert.match(plain((await a.get(refused.headers.location as string)).body), /Oznaczenie: działa — oznaczenie jako sprawdzone nie jest potrzebne/);

  // Jan still has to migrate: marking reviewed is offered, and reopening restores the state.
  const jan = rows[0]!;
  const janPage = await a.get(`/staff/accounts/${jan.autoresponderId}`);
  assert.match(janPage.body, new RegExp(`action="/staff/accounts/${jan.autoresponderId}/review"`));
  assert.doesNotMatch(janPage.body, /\/reopen"/);
  await a.post(`/staff/accounts/${jan.autoresponderId}/review`, { note: 'Sprawdzone telefonicznie' });
  assert.equal(app.services.repos.migrations.findByAutoresponder(jan.autoresponderId)!.state, 'reviewed');
  const reviewedPage = await a.get(`/staff/accounts/${jan.autoresponderId}`);
  assert.match(reviewedPage.body, new RegExp(`action="/staff/accounts/${jan.autoresponderId}/reopen"`));
  assert.doesNotMatch(reviewedPage.body, /\/review"/);
  await a.post(`/staff/accounts/${jan.autoresponderId}/reopen`, {});
  assert.equal(app.services.repos.migrations.findByAutoresponder(jan.autoresponderId)!.state, 'affected');
  const actions = app.services.repos.audit.listForTarget('autoresponder', jan.autoresponderId).map((e) => `${e.actorType}:${e.action}`);
  assert.deepEqual(actions.slice(-2), ['staff:migration.reviewed', 'staff:migration.reopened']);
  assert.equal((await a.get('/staff/accounts/999999')).statusCode, 404);
  assert.equal((await a.get('/staff/accounts/abc')).statusCode, 404);
});

test('bulk review: confirm page shows the exact count; the job runs in the background and is audited per item', async (t) => {
  const { app, rows } = await setup(t);
  const a = await staffAgent(app, 'agent');
  const list = await a.get('/staff/accounts?version=2');
  assert.match(list.body, /Wszystkie pasujące do filtra \(2\)/);
  const none = await a.post('/staff/jobs/confirm', { action: 'review', scope: 'selected', version: '2' });
  assert.equal(none.statusCode, 422);
  assert.match(none.body, /Zaznacz co najmniej jeden wiersz/);
  await a.get('/staff/accounts?version=2');
  const confirm = await a.post('/staff/jobs/confirm', { action: 'review', scope: 'all', version: '2' });
  assert.equal(confirm.statusCode, 200);
  // Of the two on version 2, Ola's works: the page says one will be marked and the other skipped.
  assert.match(confirm.body, /Oznaczyć 1 autoresponder jako sprawdzony\?/, 'the count that will really be marked');
  assert.match(confirm.body, /Tego dotyczy: 2 autorespondery/, 'Polish plural for 2');
  assert.match(confirm.body, /1 autoresponder zadanie pominie: działa albo jest już oznaczony jako sprawdzony/);
  assert.match(confirm.body, /Tak, oznacz 1/);
  assert.match(confirm.body, /name="confirmedCount" value="2"/);
  const noNote = await a.post('/staff/jobs', { action: 'review', scope: 'all', version: '2', confirmedCount: '2', confirmationKey: confirmationKeyOf(confirm.body) });
  assert.equal(noNote.statusCode, 422);
  assert.match(noNote.body, /id="note-error">Wpisz notatkę/);
  const started = await a.post('/staff/jobs', { action: 'review', scope: 'all', version: '2', confirmedCount: '2', note: 'Zamknięte po kontakcie', confirmationKey: confirmationKeyOf(noNote.body) });
  assert.equal(started.statusCode, 303);
  const jobId = Number(/\/staff\/jobs\/(\d+)/.exec(started.headers.location as string)![1]);
  await waitForJob(app, jobId);
  const job = await a.get(`/staff/jobs/${jobId}`);
  assert.match(job.body, /zakończone/);
  assert.doesNotMatch(job.body, /http-equiv="refresh"/, 'no refresh once finished');
  assert.match(job.body, /Postęp: 2 z 2 \(100%\)/);
  assert.equal(app.services.repos.migrations.findByAutoresponder(rows[0]!.autoresponderId)!.state, 'reviewed');
  assert.equal(app.services.repos.migrations.findByAutoresponder(rows[2]!.autoresponderId)!.state, 'relinked_app_password', 'a migration that works is not marked');
  assert.deepEqual(app.services.repos.jobs.outcomes(jobId).map((o) => `${o.status}:${o.outcome}:${o.n}`).sort(), ['done:reviewed:1', 'skipped:already_works:1']);
  assert.match(job.body, /działa — oznaczenie jako sprawdzone nie jest potrzebne/, 'the skip is named on the job page');
  const items = app.services.db.prepare(`SELECT count(*) FROM audit_log WHERE action = 'job.item.done'`).pluck().get();
  assert.equal(items, 1);
});

test('search follows changes: a renamed seller is found by the new name only; a short query still works', async (t) => {
  const { app, rows } = await setup(t);
  const a = await staffAgent(app, 'viewer');
  const s = app.services;
  const jan = s.repos.sellers.getById(rows[0]!.sellerId)!;
  s.repos.sellers.update(jan.id, { email: jan.email, name: 'Żaneta Źdźbło', allegroLogin: jan.allegroLogin });
  assert.match((await a.get(`/staff/accounts?q=${encodeURIComponent('ŹDŹBŁO')}`)).body, /Żaneta Źdźbło/);
  assert.match((await a.get(`/staff/accounts?q=${encodeURIComponent('kowalski')}`)).body, /Nic nie pasuje do filtrów/);
  assert.match((await a.get(`/staff/accounts?q=${encodeURIComponent('ŁW')}`)).body, /Sklep ŁÓDŹ Żółw/, 'two letters: scanned');
  assert.match((await a.get(`/staff/accounts?q=${encodeURIComponent('"; DROP')}`)).body, /Nic nie pasuje do filtrów/, 'quotes are data');
});
