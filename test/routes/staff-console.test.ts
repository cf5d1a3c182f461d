import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { build } from '../helpers/build.js';
import { confirmationKeyOf, createStaff, seedAccounts, staffAgent, waitForJob } from '../helpers/staff.js';
import { startSmtp } from '../helpers/smtp.js';
import { loadConfig } from '../../src/config.js';
import { migrate, openDatabase } from '../../src/db/database.js';
import { MIGRATIONS } from '../../src/db/migrations.js';
import { HISTORY_ACTIONS } from '../../src/staff/history.js';
import { isAudit } from '../../src/domain/audit.js';
import { MIGRATION_EVENTS } from '../../src/migration/states.js';
import { readOnly } from '../../src/staff/seller-view.js';
import { niceStep } from '../../src/staff/overview.js';
import { MAIL_CHECK_CODES } from '../../src/mail/classify.js';
import { OAUTH_CODES } from '../../src/staff/codes.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const catalog = (lang: string) => JSON.parse(readFileSync(path.join(ROOT, 'src/i18n', `${lang}.json`), 'utf8')) as { staff: { history: { events: Record<string, string> } } };
const decode = (s: string) => s.replace(/&amp;/g, '&').replace(/&#x3D;/g, '=').replace(/&#x27;/g, "'").replace(/&quot;/g, '"');
/** The page's text without tags (and with the soft breaks of e-mail addresses gone). */
const text = (html: string) => decode(html.replace(/<wbr>/g, '').replace(/<[^>]+>/g, ' ')).replace(/\s+/g, ' ');
const names = (body: string): string[] => [...body.matchAll(/<a href="\/staff\/accounts\/\d+">([^<]+)<\/a>/g)].map((m) => m[1]!);

function* sourceFiles(dir: string): Generator<string> {
  for (const name of readdirSync(dir)) {
    const p = path.join(dir, name);
    if (statSync(p).isDirectory()) yield* sourceFiles(p);
    else if (name.endsWith('.ts')) yield p;
  }
}

// ---- 1. history in sentences ---------------------------------------------------------------------

test('every audit action the app writes has a sentence in both catalogs', () => {
  const written = new Set<string>();
  for (const file of sourceFiles(path.join(ROOT, 'src'))) {
    const src = readFileSync(file, 'utf8');
    for (const m of src.matchAll(/(?:action: |audit\()['`]([a-z_]+\.[a-z_.]+)['`]/g)) written.add(m[1]!);
    for (const m of src.matchAll(/'((?:reminder|staff)\.[a-z_]+)' : '((?:reminder|staff)\.[a-z_]+)'/g)) (written.add(m[1]!), written.add(m[2]!));
  }
  for (const e of MIGRATION_EVENTS) written.add(`migration.${e}`);
  for (const s of ['done', 'failed', 'skipped', 'unknown', 'retry']) written.add(`job.item.${s}`);
  for (const s of ['finished', 'cancelled']) written.add(`job.${s}`);
  assert.ok(written.size > 40, `found ${written.size} actions`);
  for (const a of written) assert.ok((HISTORY_ACTIONS as readonly string[]).includes(a), `${a} has no sentence (HISTORY_ACTIONS)`);
  for (const lang of ['pl', 'en']) {
    const events = catalog(lang).staff.history.events;
    for (const a of HISTORY_ACTIONS) assert.ok(events[a.replace(/\./g, '_')], `${lang}: staff.history.events.${a.replace(/\./g, '_')}`);
  }
});

test('the account history reads as sentences in the agent\'s language; the raw record only behind "szczegóły"', async (t) => {
  const { app } = await build(t, { env: { MIGRATION_DEADLINE: '2027-03-31' } });
  const s = app.services;
  const [row] = seedAccounts(s, [{ name: 'Ogród Marzeń', email: 'ogrod@gmail.com', login: 'ogrod_marzen', mailbox: 'ogrod@gmail.com' }]);
  const m = s.repos.migrations.findByAutoresponder(row!.autoresponderId)!;
  const seller = { type: 'seller' as const, id: row!.sellerId };
  s.migrationService.transition(m.id, 'start_v3', 'in_progress_v3', { actor: seller });
  s.migrationService.transition(m.id, 'switched_v3', 'switched_v3', { actor: seller, details: { authorizationId: 1, allegroLogin: 'ogrod_marzen', previousVersion: 2, templates: 3 } });
  s.migrationService.transition(m.id, 'switched_back', 'affected', { actor: seller, verdict: { state: 'affected', rule: 'gmail_address', detail: 'gmail.com' } as never, details: { toVersion: 1, templatesRestored: 3 } });
  const a = await staffAgent(app, 'agent', 'ewa@wsparcie.example');
  await a.get(`/staff/accounts/${row!.autoresponderId}`);
  await a.post(`/staff/accounts/${row!.autoresponderId}/note`, { note: 'Dzwoniła, zrobi to jutro' });
  const page = await a.get(`/staff/accounts/${row!.autoresponderId}`);
  const body = text(page.body);
  assert.match(body, /Sprzedawca przełączył autoresponder na wersję 3 \(konto Allegro ogrod_marzen, 3 szablony\)/);
  assert.match(body, /Sprzedawca wrócił do wersji 1 \(przywrócono 3 szablony\); stan: „Wymaga migracji”/);
  assert.match(body, /Pracownik wsparcia ewa@wsparcie\.example dodał notatkę: „Dzwoniła, zrobi to jutro”/);
  assert.match(body, /System dodał autoresponder do migracji ze stanem „Wymaga migracji”/);
  // The raw record is there for the logs, but only inside a closed disclosure.
  const timeline = page.body.slice(page.body.indexOf('class="timeline"'));
  for (const li of timeline.split('<li>').slice(1)) assert.match(li, /^<time[^>]*>[^<]+<\/time> · [^<{]+[\s\S]*<details class="raw"><summary>szczegóły<\/summary><dl class="details"><div><dt>Kto<\/dt><dd>[^<]+<\/dd><\/div><div><dt>Czego dotyczy<\/dt>/);
  // …as plain labelled lines, not JSON: states and counts in words, the time in Europe/Warsaw.
  const back = timeline.slice(timeline.indexOf('Sprzedawca wrócił do wersji 1'));
  const backDetails = text(back.slice(back.indexOf('<dl'), back.indexOf('</dl>')));
  assert.match(backDetails, /Stan przed\s*Zmigrowano|Stan przed\s*\S/);
  assert.match(backDetails, /Przywrócone szablony\s*3/);
  assert.match(backDetails, /Kiedy\s*\d{1,2} [a-ząćęłńóśźż]{3} \d{4}, \d{2}:\d{2}/);
  assert.doesNotMatch([...timeline.matchAll(/<details class="raw">[\s\S]*?<\/details>/g)].join(''), /<code class="details">|\{&quot;|\{"|\d{4}-\d{2}-\d{2}T\d{2}:/, 'no JSON, no UTC timestamps');
  assert.doesNotMatch(page.body.replace(/<details class="raw">[\s\S]*?<\/details>/g, ''), /migration\.switched_back|"templatesRestored"/);

  const en = await a.get(`/staff/accounts/${row!.autoresponderId}?lang=en`);
  assert.match(text(en.body), /The seller switched the autoresponder to version 3 \(Allegro account ogrod_marzen, 3 templates\)/);
});

// ---- 2. codes with names ----------------------------------------------------------------------

test('every mail check code and Allegro OAuth error has a staff name in both catalogs', () => {
  for (const lang of ['pl', 'en']) {
    const names = (JSON.parse(readFileSync(path.join(ROOT, 'src/i18n', `${lang}.json`), 'utf8')) as { staff: { codeNames: Record<string, string> } }).staff.codeNames;
    for (const code of [...MAIL_CHECK_CODES, ...OAUTH_CODES]) assert.ok(names[code], `${lang}: staff.codeNames.${code}`);
  }
});

test('error codes are shown by name with the code small beside them: filter options, list, account page, overview', async (t) => {
  const { app } = await build(t, { env: { MIGRATION_DEADLINE: '2027-03-31' } });
  const s = app.services;
  const [row] = seedAccounts(s, [{ name: 'Jan', email: 'jan@gmail.com', login: 'jan', mailbox: 'jan@gmail.com', state: 'needs_attention' }]);
  s.repos.connectionChecks.record({ mailboxId: row!.mailboxId, autoresponderId: row!.autoresponderId, kind: 'mail', trigger: 'staff', ok: false, code: 'MAIL_DNS_FAILED', protocol: 'imap', detail: 'getaddrinfo ENOTFOUND imap.example.invalid' });
  s.migrationService.recordCheck(s.repos.migrations.findByAutoresponder(row!.autoresponderId)!.id, 'MAIL_DNS_FAILED');
  const a = await staffAgent(app, 'viewer');
  const list = await a.get('/staff/accounts');
  assert.match(list.body, /<option value="MAIL_AUTH_FAILED">Google odrzucił hasło \(MAIL_AUTH_FAILED\)<\/option>/);
  assert.match(list.body, /<span class="code-name">nie ma serwera poczty o tej nazwie<\/span> <code class="code">MAIL_DNS_FAILED<\/code>/);
  const page = await a.get(`/staff/accounts/${row!.autoresponderId}`);
  assert.match(page.body, /<span class="code-name">nie ma serwera poczty o tej nazwie<\/span> <code class="code">MAIL_DNS_FAILED<\/code>/);
  // The server's own words stay, small, in their own column.
  assert.match(page.body, /class="server-reply">getaddrinfo ENOTFOUND imap\.example\.invalid</);
  const overview = await a.get('/staff');
  assert.match(overview.body, />nie ma serwera poczty o tej nazwie<\/a> <code class="code">MAIL_DNS_FAILED<\/code>/);
  // The demo's Allegro failure is named too.
  s.migrationService.transition(s.repos.migrations.findByAutoresponder(row!.autoresponderId)!.id, 'needs_attention', 'needs_attention', { actor: { type: 'system', id: 'allegro' }, reason: 'authorize_again', errorCode: 'invalid_grant' });
  assert.match((await a.get('/staff/accounts')).body, /Allegro nie przyjmuje już autoryzacji sprzedawcy<\/span> <code class="code">invalid_grant<\/code>/);
});

// ---- 3. account page ----------------------------------------------------------------------------

test('account page: last check is the newest one listed; notes folded until used; contact link; what the seller sees, read-only', async (t) => {
  const { app } = await build(t, { env: { MIGRATION_DEADLINE: '2027-03-31', PUBLIC_URL: 'https://migracja.example.pl' } });
  const s = app.services;
  const [row] = seedAccounts(s, [{ name: 'Sklep Żółw', email: 'zolw@gmail.com', login: 'zolw_sklep', mailbox: 'zolw@gmail.com' }]);
  // The seller's own failed try in the wizard: recorded on the mailbox, not as the migration's check.
  s.repos.connectionChecks.record({ mailboxId: row!.mailboxId, autoresponderId: null, kind: 'mail', trigger: 'seller', ok: false, code: 'MAIL_APP_PASSWORD_REQUIRED', protocol: 'imap', detail: null });
  const a = await staffAgent(app, 'agent');
  const page = await a.get(`/staff/accounts/${row!.autoresponderId}`);
  const facts = text(page.body.slice(page.body.indexOf('id="state-h"'), page.body.indexOf('id="actions-h"')));
  assert.match(facts, /Ostatnie sprawdzenie \d+ \S+ \d{4}, \d{2}:\d{2} — Google wymaga hasła do aplikacji/);
  assert.doesNotMatch(facts, /Ostatnie sprawdzenie nigdy/);
  assert.match(page.body, /<details class="note-form">\s*<summary>Dodaj notatkę…<\/summary>/, 'the note form is folded');
  const empty = await a.post(`/staff/accounts/${row!.autoresponderId}/note`, { note: ' ' });
  assert.match(empty.body, /<details class="note-form" open>\s*<summary>Dodaj notatkę…/, 'and open with its error');

  const mailto = decode(/href="(mailto:[^"]+)"/.exec(page.body)![1]!);
  assert.match(mailto, /^mailto:zolw@gmail\.com\?subject=/);
  const url = new URL(mailto);
  const subject = url.searchParams.get('subject')!;
  const mailBody = url.searchParams.get('body')!;
  assert.equal(subject, 'Autoresponder Wiadomości Allegro na koncie zolw_sklep');
  assert.match(mailBody, /na koncie zolw_sklep \(wersja 2, skrzynka zolw@gmail\.com\)/);
  assert.match(mailBody, /https:\/\/migracja\.example\.pl\/login/);
  assert.match(mailBody, /Termin migracji: 31 mar 2027, 23:59\./);
  assert.doesNotMatch(mailBody, /przestaną działać/, 'no claim that contradicts the app-password way');
  assert.doesNotMatch(mailBody, new RegExp(`AR-|S-\\d|#${row!.autoresponderId}\\b`), 'no internal ids');

  const view = await a.get(`/staff/accounts/${row!.autoresponderId}/seller-view`);
  assert.equal(view.statusCode, 200);
  const preview = view.body.slice(view.body.indexOf('class="seller-preview"'));
  assert.match(preview, /Twoje autorespondery/);
  assert.match(preview, /Przełącz na wersję 3/);
  assert.match(preview.replace(/<wbr>/g, ""), /<span class="button( secondary)? inert-button">Użyj hasła do aplikacji dla zolw@gmail\.com<\/span>/, "the seller's choice is shown as an inert button (addresses may break after @ and before dots)");
  assert.doesNotMatch(preview, /<form|_csrf|<input|href="\/(autoresponders|mailboxes|migration)/, 'nothing in it can act for the seller');
  assert.equal((view.body.match(/<h1/g) ?? []).length, 1, 'the seller page\'s headings sit under the staff heading');
  const parts = { button: (l: string) => `[${l}]`, link: (x: string) => `(${x})` };
  assert.equal(readOnly('<a href="/autoresponders/1/v3/done">x</a> <a href="https://support.google.com/">g</a><form method="post"><input name="_csrf"><button>Go</button></form>', parts), '(x) <a href="https://support.google.com/">g</a>[Go]');
});

// ---- 4. list and bulk ---------------------------------------------------------------------------

test('list: select all on this page without a script, bulk bar above the table, aria-current, tidy e-mails; the confirmation names the accounts', async (t) => {
  const { app } = await build(t, { env: { MIGRATION_DEADLINE: '2027-03-31' } });
  seedAccounts(app.services, Array.from({ length: 60 }, (_, i) => ({ name: `Sklep ${String(i).padStart(2, '0')}`, email: `sklep${i}@gmail.com`, login: `sklep_${i}`, mailbox: `sklep${i}@gmail.com` })));
  const a = await staffAgent(app, 'agent');
  const list = await a.get('/staff/accounts');
  assert.match(list.body, /<a href="\/staff\/accounts" aria-current="page">Konta<\/a>/);
  assert.ok(list.body.indexOf('class="bulk"') < list.body.indexOf('<table'), 'the bulk actions come before the rows');
  assert.match(list.body, /sklep0@<wbr>gmail\.com/);
  assert.equal((list.body.match(/name="ids"[^>]* checked/g) ?? []).length, 0);
  const selectAll = decode(/<a href="([^"]+)">Zaznacz wszystkie na tej stronie \(25\)<\/a>/.exec(list.body)![1]!);
  const all = await a.get(selectAll);
  assert.equal((all.body.match(/name="ids"[^>]* checked/g) ?? []).length, 25);
  assert.match(all.body, /Odznacz wszystkie/);
  // On the second page too: the cursor is kept.
  const next = decode(/<a href="([^"]+)" rel="next">/.exec(list.body)![1]!);
  const page2 = await a.get(decode(/<a href="([^"]+)">Zaznacz wszystkie na tej stronie/.exec((await a.get(next)).body)![1]!));
  assert.match(page2.body, /strona 2 z 3/);
  assert.equal((page2.body.match(/name="ids"[^>]* checked/g) ?? []).length, 25);
  const account = await a.get(`/staff/accounts/${/href="\/staff\/accounts\/(\d+)"/.exec(list.body)![1]}`);
  assert.match(account.body, /<a href="\/staff\/accounts" aria-current="true">Konta<\/a>/);

  const confirm = await a.post('/staff/jobs/confirm', { action: 'recheck', scope: 'all' });
  assert.equal(confirm.statusCode, 200);
  const listed = [...confirm.body.matchAll(/<li><a href="\/staff\/accounts\/\d+">([^<]+)<\/a>/g)].map((m) => m[1]);
  assert.equal(listed.length, 50);
  assert.equal(listed[0], 'Sklep 00');
  assert.match(confirm.body, /Tego dotyczy: 60 autoresponderów/);
  assert.match(confirm.body, /i 10 więcej/);
  await a.get('/staff/accounts');
  const one = await a.post('/staff/jobs/confirm', { action: 'remind', scope: 'selected', ids: /name="ids" value="(\d+)"/.exec(list.body)![1]! });
  assert.match(one.body, /Tego dotyczy: 1 autoresponder</);
  assert.doesNotMatch(one.body, /więcej/);
});

// ---- 5. jobs: retry the failed ones; resend an uncertain reminder ----------------------------------

test('a finished job offers "ponów nieudane": a new job of its failed items, confirmed with their names and audited', async (t) => {
  const { app } = await build(t, { env: { MIGRATION_DEADLINE: '2027-03-31', BULK_RETRY_BASE_MS: '1', MAIL_ADDRESS_ALLOWLIST: '127.0.0.1', MAIL_PORT_ALLOWLIST: '9' } });
  const s = app.services;
  // Nothing listens on port 9: every re-check fails (after its retries) with "connection refused"; two have no password.
  seedAccounts(s, [
    ...Array.from({ length: 3 }, (_, i) => ({ name: `Zamknięty ${i}`, email: `z${i}@gmail.com`, mailbox: `z${i}@gmail.com`, imapHost: '127.0.0.1', imapPort: 9, secret: 'haslo-konta-123', secretKind: 'account_password' as const })),
    ...Array.from({ length: 2 }, (_, i) => ({ name: `Bez hasła ${i}`, email: `b${i}@gmail.com`, mailbox: `b${i}@gmail.com` })),
  ]);
  const a = await staffAgent(app, 'agent');
  await a.get('/staff/accounts');
  const first = await a.post('/staff/jobs/confirm', { action: 'recheck', scope: 'all' });
  const started = await a.post('/staff/jobs', { action: 'recheck', scope: 'all', confirmedCount: '5', confirmationKey: confirmationKeyOf(first.body) });
  const jobId = Number(/\/staff\/jobs\/(\d+)/.exec(started.headers.location as string)![1]);
  await waitForJob(app, jobId);
  const summary = await a.get(`/staff/jobs/${jobId}`);
  assert.match(summary.body, /serwer poczty nie przyjął połączenia<\/span> <code class="code">MAIL_CONNECTION_REFUSED<\/code>/);
  assert.match(summary.body, /brak zapisanego hasła — nie ma czym się zalogować<\/span> <code class="code">MIG_ERR_NO_SECRET<\/code>/);
  assert.match(summary.body, /<button type="submit">Ponów nieudane \(3\)<\/button>/);

  const confirm = await a.post('/staff/jobs/confirm', { action: 'review', scope: 'failed', retryOf: String(jobId) });
  assert.equal(confirm.statusCode, 200);
  assert.match(confirm.body, /Sprawdzić połączenie 3 autoresponderów\?/, 'the kind is the failed job\'s, whatever the form said');
  assert.deepEqual([...confirm.body.matchAll(/<li><a href="\/staff\/accounts\/\d+">([^<]+)<\/a>/g)].map((m) => m[1]), ['Zamknięty 0', 'Zamknięty 1', 'Zamknięty 2']);
  const again = await a.post('/staff/jobs', { action: 'recheck', scope: 'failed', retryOf: String(jobId), confirmedCount: '3', confirmationKey: confirmationKeyOf(confirm.body) });
  assert.equal(again.statusCode, 303);
  const retryId = Number(/\/staff\/jobs\/(\d+)/.exec(again.headers.location as string)![1]);
  assert.notEqual(retryId, jobId);
  await waitForJob(app, retryId);
  const retried = await a.get(`/staff/jobs/${retryId}`);
  assert.match(retried.body, /Ponowienie nieudanych pozycji z <a href="\/staff\/jobs\/\d+">zadania #\d+<\/a>/);
  assert.match(retried.body, /Postęp: 3 z 3/);
  assert.equal(s.repos.jobs.get(retryId)!.selection, 'ids');
  const created = s.repos.audit.listForTarget('job', retryId).find((e) => isAudit(e, 'job.created'))!;
  assert.deepEqual({ scope: created.details.scope, retryOf: created.details.retryOf, confirmed: created.details.confirmed }, { scope: 'failed', retryOf: jobId, confirmed: 3 });
  // A job still running, or one without failures, has nothing to retry.
  const nothing = await a.post('/staff/jobs/confirm', { action: 'recheck', scope: 'failed', retryOf: '999999' });
  assert.equal(nothing.statusCode, 422);
});

test('an uncertain reminder can be sent again, deliberately, after a page that states the risk of a second e-mail', async (t) => {
  const relay = await startSmtp({ security: 'plain' });
  t.after(() => relay.stop());
  const { app } = await build(t, { env: { MIGRATION_DEADLINE: '2027-03-31', SMTP_URL: `smtp://127.0.0.1:${relay.port}` } });
  const s = app.services;
  const [row] = seedAccounts(s, [{ name: 'Niepewny', email: 'niepewny@gmail.com', login: 'niepewny', mailbox: 'niepewny@gmail.com' }]);
  const staffId = await createStaff(s, 'agent@wsparcie.example', 'agent');
  const reminder = s.repos.reminders.begin({ sellerId: row!.sellerId, jobId: null, itemId: null, staffId });
  s.repos.reminders.set(reminder, 'unknown', 'interrupted after the end of the message was sent');
  const a = await staffAgent(app, 'agent');
  const page = await a.get(`/staff/accounts/${row!.autoresponderId}`);
  assert.match(text(page.body), /Ostatnie przypomnienie .* — nie wiadomo, czy dotarło/);
  assert.match(page.body, /przypomniano niedawno/, 'the ordinary reminder is held back');
  assert.match(page.body, /href="\/staff\/accounts\/\d+\/resend">Wyślij przypomnienie ponownie…/);
  const ordinary = await a.post(`/staff/accounts/${row!.autoresponderId}/remind`);
  assert.match(ordinary.headers.location as string, /outcome=recently_reminded/);
  assert.equal(relay.received.length, 0);

  const confirm = await a.get(`/staff/accounts/${row!.autoresponderId}/resend`);
  assert.equal(confirm.statusCode, 200);
  assert.match(text(confirm.body), /Jeśli jednak dotarło, sprzedawca dostanie drugi, taki sam e-mail/);
  const sent = await a.post(`/staff/accounts/${row!.autoresponderId}/resend`, { reminder: String(reminder) });
  assert.match(sent.headers.location as string, /done=remind&outcome=sent/);
  assert.equal(relay.received.length, 1);
  assert.deepEqual(relay.received[0]!.to, ['niepewny@gmail.com']);
  const audit = s.repos.audit.listForTarget('seller', row!.sellerId).map((e) => e.action);
  assert.ok(audit.includes('reminder.resent'));
  // Once sent, it is no longer uncertain: a second resend does nothing.
  await a.get(`/staff/accounts/${row!.autoresponderId}`);
  const twice = await a.post(`/staff/accounts/${row!.autoresponderId}/resend`, { reminder: String(reminder) });
  assert.match(twice.headers.location as string, /outcome=not_uncertain/);
  assert.equal(relay.received.length, 1);
  assert.equal((await a.get(`/staff/accounts/${row!.autoresponderId}/resend`)).statusCode, 303);
});

test('a doubled confirmation (two POSTs of one page at the same moment) makes one job, and both answers lead to it', async (t) => {
  const { app } = await build(t, { env: { MIGRATION_DEADLINE: '2027-03-31' } });
  const s = app.services;
  seedAccounts(s, Array.from({ length: 3 }, (_, i) => ({ name: `Podwójny ${i}`, email: `p${i}@gmail.com`, mailbox: `p${i}@gmail.com` })));
  const jobs = () => s.db.prepare(`SELECT count(*) FROM jobs`).pluck().get() as number;
  const created = () => s.db.prepare(`SELECT count(*) FROM audit_log WHERE action = 'job.created'`).pluck().get() as number;
  const a = await staffAgent(app, 'agent');
  await a.get('/staff/accounts');
  const confirm = await a.post('/staff/jobs/confirm', { action: 'recheck', scope: 'all' });
  const key = confirmationKeyOf(confirm.body);
  const selection = { action: 'recheck', scope: 'all', confirmedCount: '3' };
  const form = { ...selection, confirmationKey: key };

  const [one, two] = await Promise.all([a.post('/staff/jobs', form), a.post('/staff/jobs', form)]);
  assert.deepEqual([one.statusCode, two.statusCode], [303, 303]);
  assert.match(one.headers.location as string, /^\/staff\/jobs\/\d+$/);
  assert.equal(two.headers.location, one.headers.location, 'both answers lead to the same job');
  assert.equal(jobs(), 1, 'one job');
  assert.equal(created(), 1, 'audited once');
  const jobId = Number(/\d+$/.exec(one.headers.location as string)![0]);
  // The same page sent again later (back, send again) still finds that job.
  const later = await a.post('/staff/jobs', form);
  assert.equal(later.headers.location, one.headers.location);
  assert.equal(jobs(), 1);
  await waitForJob(app, jobId);

  // Another confirmation page is another key: a second job on purpose is still possible.
  await a.get('/staff/accounts');
  const again = await a.post('/staff/jobs/confirm', { action: 'recheck', scope: 'all' });
  assert.notEqual(confirmationKeyOf(again.body), key);
  const second = await a.post('/staff/jobs', { ...form, confirmationKey: confirmationKeyOf(again.body) });
  assert.notEqual(second.headers.location, one.headers.location);
  assert.equal(jobs(), 2);
  await waitForJob(app, Number(/\d+$/.exec(second.headers.location as string)![0]));

  // No key, or one that is not a page's: the confirmation again, with a message and a fresh key; no job, no 500.
  for (const bad of [{}, { confirmationKey: 'abc' }, { confirmationKey: `${key}x` }] as Record<string, string>[]) {
    const res = await a.post('/staff/jobs', { ...selection, ...bad });
    assert.equal(res.statusCode, 422, JSON.stringify(bad));
    assert.match(text(res.body), /Nie rozpoczęto zadania: ta strona potwierdzenia była niepełna albo nieaktualna/);
    assert.match(res.body, /<button type="submit">Tak, sprawdź 3<\/button>/);
    assert.notEqual(confirmationKeyOf(res.body), key);
  }
  assert.equal(jobs(), 2);
});

test('a reminder is offered, and sent, only to a seller with something to do', async (t) => {
  const relay = await startSmtp({ security: 'plain' });
  t.after(() => relay.stop());
  const { app } = await build(t, { env: { MIGRATION_DEADLINE: '2027-03-31', SMTP_URL: `smtp://127.0.0.1:${relay.port}` } });
  const s = app.services;
  const [done, v3, open] = seedAccounts(s, [
    { name: 'Wszystko działa', email: 'dziala@gmail.com', mailbox: 'dziala@gmail.com', state: 'relinked_app_password', sellerExternalId: 'DONE' },
    { name: 'Wszystko działa', email: 'dziala@gmail.com', version: 3, state: 'switched_v3', sellerExternalId: 'DONE' },
    { name: 'Jeszcze nie', email: 'jeszcze@gmail.com', mailbox: 'jeszcze@gmail.com', state: 'switched_v3', sellerExternalId: 'OPEN' },
  ]);
  const [stillOpen] = seedAccounts(s, [{ name: 'Jeszcze nie', email: 'jeszcze@gmail.com', mailbox: 'jeszcze2@gmail.com', sellerExternalId: 'OPEN' }]);
  const a = await staffAgent(app, 'agent');
  const remindForm = (id: number) => `action="/staff/accounts/${id}/remind"`;

  // Every autoresponder of this seller works: no "Wyślij przypomnienie", a line saying why, and a POST is refused.
  for (const row of [done!, v3!]) {
    const page = await a.get(`/staff/accounts/${row.autoresponderId}`);
    assert.ok(!page.body.includes(remindForm(row.autoresponderId)), 'not offered');
    assert.match(text(page.body), /Przypomnienie nie jest potrzebne: sprzedawca nie ma nic do zrobienia/);
  }
  const refused = await a.post(`/staff/accounts/${done!.autoresponderId}/remind`);
  assert.match(refused.headers.location as string, /done=remind&outcome=nothing_to_do/);
  assert.equal(s.db.prepare(`SELECT count(*) FROM reminders`).pluck().get(), 0, 'no reminder begun');
  // An uncertain reminder of such a seller is not offered for a resend either, and not resent.
  const staffId = await createStaff(s, 'agent@wsparcie.example', 'agent');
  const uncertain = s.repos.reminders.begin({ sellerId: done!.sellerId, jobId: null, itemId: null, staffId });
  s.repos.reminders.set(uncertain, 'unknown', 'interrupted');
  const page = await a.get(`/staff/accounts/${done!.autoresponderId}`);
  assert.doesNotMatch(page.body, /\/resend"/);
  const resendPage = await a.get(`/staff/accounts/${done!.autoresponderId}/resend`);
  assert.match(resendPage.headers.location as string, /outcome=nothing_to_do/);
  const resent = await a.post(`/staff/accounts/${done!.autoresponderId}/resend`, { reminder: String(uncertain) });
  assert.doesNotMatch(resent.headers.location as string, /outcome=sent/);
  assert.equal(relay.received.length, 0, 'no e-mail');

  // A seller with one autoresponder still waiting: offered on every one of their autoresponders, and sent.
  for (const row of [open!, stillOpen!]) {
    const p = await a.get(`/staff/accounts/${row.autoresponderId}`);
    assert.ok(p.body.includes(remindForm(row.autoresponderId)), 'offered');
    assert.doesNotMatch(text(p.body), /Przypomnienie nie jest potrzebne/);
  }
  const sent = await a.post(`/staff/accounts/${open!.autoresponderId}/remind`);
  assert.match(sent.headers.location as string, /outcome=sent/);
  assert.equal(relay.received.length, 1);
});

// ---- 6. CSV for a Polish office ---------------------------------------------------------------------

test('CSV: Polish headers and state names, the support number, Warsaw times Excel reads as dates, the last reminder, the file name in Warsaw time; English: its own name and separator; ?format=keys keeps the machine columns', async (t) => {
  const clock = Date.parse('2026-11-21T11:55:00Z'); // 12:55 in Warsaw
  const { app } = await build(t, { env: { MIGRATION_DEADLINE: '2027-03-31' }, now: () => new Date(clock) });
  const s = app.services;
  const [row] = seedAccounts(s, [{ name: 'Jan Kowalski', email: 'jan@gmail.com', login: 'jan_k', mailbox: 'jan@gmail.com', state: 'needs_attention' }]);
  s.migrationService.recordCheck(s.repos.migrations.findByAutoresponder(row!.autoresponderId)!.id, 'MAIL_AUTH_FAILED');
  const a = await staffAgent(app, 'agent');
  const res = await a.get('/staff/accounts.csv');
  assert.equal(res.statusCode, 200);
  assert.equal(res.headers['content-disposition'], 'attachment; filename="autorespondery-2026-11-21-12-55.csv"');
  const lines = res.rawPayload.subarray(3).toString('utf8').split('\r\n').filter(Boolean);
  assert.equal(lines[0], 'Numer dla wsparcia;Sprzedawca;ID sprzedawcy;E-mail sprzedawcy;Login Allegro;Skrzynka;Wersja;Poczta;Stan;Wybrana ścieżka;Ostatni błąd;Kod błędu;Ostatnie sprawdzenie (czas warszawski);Ostatnia aktywność (czas warszawski);Ostatnie przypomnienie (czas warszawski)');
  const ar = s.repos.autoresponders.getById(row!.autoresponderId)!.externalId;
  const sellerExt = s.repos.sellers.getById(row!.sellerId)!.externalId;
  assert.equal(lines[1], `${ar};Jan Kowalski;${sellerExt};jan@gmail.com;jan_k;jan@gmail.com;2;gmail.com;Wymaga uwagi;;Google odrzucił hasło;MAIL_AUTH_FAILED;2026-11-21 12:55:00;2026-11-21 12:55:00;`);
  const en = await a.get('/staff/accounts.csv?lang=en');
  assert.equal(en.headers['content-disposition'], 'attachment; filename="autoresponders-2026-11-21-12-55.csv"');
  assert.match(en.rawPayload.toString('utf8'), /Support number,Seller,Seller ID,.*\r\n.*,Needs attention,,Google rejected the password,MAIL_AUTH_FAILED,2026-11-21 12:55:00,/);

  const keys = await a.get('/staff/accounts.csv?format=keys&lang=pl');
  const k = keys.rawPayload.subarray(3).toString('utf8').split('\r\n').filter(Boolean);
  assert.equal(k[0], 'autoresponder_id;seller_name;seller_email;allegro_login;mailbox;version;provider;state;path;last_error_code;last_checked_at;last_activity_at');
  assert.equal(k[1], `${row!.autoresponderId};Jan Kowalski;jan@gmail.com;jan_k;jan@gmail.com;2;gmail;needs_attention;;MAIL_AUTH_FAILED;2026-11-21T11:55:00.000Z;2026-11-21T11:55:00.000Z`);
  assert.equal((await a.get('/staff/accounts.csv?format=xlsx')).statusCode, 400);
});

// ---- 7. chart and the demo's deadline -----------------------------------------------------------------

test('chart: round ticks and dates evenly spaced by day; the demo has a deadline so the countdown shows', async (t) => {
  assert.deepEqual([9, 37, 45, 1234].map((n) => niceStep(n, 4)), [5, 10, 20, 500]);
  const { app } = await build(t, { env: { MIGRATION_DEADLINE: '2027-01-15' }, now: () => new Date('2026-11-21T12:00:00Z') });
  seedAccounts(app.services, Array.from({ length: 37 }, (_, i) => ({ name: `S${i}`, email: `s${i}@gmail.com`, mailbox: `s${i}@gmail.com` })));
  const a = await staffAgent(app, 'viewer');
  const body = (await a.get('/staff')).body;
  const yLabels = [...body.matchAll(/<text x="76" dx="-6" y="[\d.]+" class="tick" text-anchor="end" dominant-baseline="middle">(\d+)<\/text>/g)].map((m) => Number(m[1]));
  assert.deepEqual(yLabels, [0, 10, 20, 30, 40]);
  // The description's "teraz" figures are the lines' last point (today's row of the table).
  const desc = /<desc id="chart-svg-desc">[^<]*teraz (\d+)\)[^<]*teraz (\d+)\)/.exec(body)!;
  const rows = [...body.slice(body.indexOf('chart-svg-desc')).matchAll(/<tr><td>(\d{4}-\d{2}-\d{2})<\/td><td>(\d+)<\/td><td>(\d+)<\/td><\/tr>/g)];
  const last = rows[rows.length - 1]!;
  assert.equal(last[1], '2026-11-21', 'the table ends today');
  assert.deepEqual([desc[1], desc[2]], [last[2], last[3]]);
  assert.equal(Number(desc[2]), 37, 'all 37 wait for their sellers');
  const x = [...body.matchAll(/<text x="([\d.]+)" y="260" dy="-18" class="tick" text-anchor="middle">(\d\d)\.(\d\d)<\/text>/g)];
  assert.ok(x.length >= 3 && x.length <= 7, `${x.length} date labels`);
  const gaps = x.slice(1).map((m, i) => Number(m[1]) - Number(x[i]![1]));
  for (const g of gaps) assert.ok(Math.abs(g - gaps[0]!) < 0.2, `evenly spaced: ${gaps.join(', ')}`);
  const days = x.slice(1).map((m, i) => (Date.UTC(2026, Number(m[3]) - 1, Number(m[2])) - Date.UTC(2026, Number(x[i]![3]) - 1, Number(x[i]![2]))) / 86_400_000);
  assert.ok(days.every((d) => d === days[0] || d + 365 === days[0] || d - 365 === days[0]), `same number of days apart: ${days.join(', ')}`);

  const demo = loadConfig({ DATABASE_PATH: ':memory:', DEMO: '1' });
  assert.ok(demo.migrationDeadline && demo.migrationDeadline.getTime() - Date.now() > 59 * 86_400_000, 'the demo counts down to a deadline');
  assert.equal(loadConfig({ DATABASE_PATH: ':memory:', DEMO: '0', OPERATOR_NAME: 'Sklep Testowy', SUPPORT_EMAIL: 'pomoc@example.pl' }).migrationDeadline, null);
});

// ---- 8. the migration funnel ---------------------------------------------------------------------------

test('the funnel: counts, conversion and cohorts checked against a seeded scenario; every step links to its list and to those stuck there', async (t) => {
  let clock = Date.parse('2026-11-01T09:00:00Z');
  const { app } = await build(t, { env: { MIGRATION_DEADLINE: '2027-03-31', REMINDER_MIN_DAYS: '3' }, now: () => new Date(clock) });
  const s = app.services;
  const seller = (sellerId: number) => ({ type: 'seller' as const, id: sellerId });
  const people = ['A1', 'A2', 'A3', 'A4', 'B1', 'B2', 'B3', 'B4', 'N1', 'N2', 'N3', 'N4', 'X1', 'X2'];
  const rows = Object.fromEntries(
    seedAccounts(s, people.map((n) => ({ name: `Sprzedawca ${n}`, email: `${n.toLowerCase()}@gmail.com`, login: n.toLowerCase(), mailbox: `${n.toLowerCase()}@gmail.com`, state: n === 'X1' ? 'reviewed' : n === 'X2' ? 'not_affected' : 'affected' }))).map((r, i) => [people[i]!, r]),
  );
  const mig = (n: string) => s.repos.migrations.findByAutoresponder(rows[n]!.autoresponderId)!.id;
  const remind = (n: string) => s.repos.reminders.set(s.repos.reminders.begin({ sellerId: rows[n]!.sellerId, jobId: null, itemId: null, staffId: null }), 'sent');
  const signIn = (n: string) => s.repos.sellers.markSeen(rows[n]!.sellerId);
  const startV3 = (n: string) => s.migrationService.transition(mig(n), 'start_v3', 'in_progress_v3', { actor: seller(rows[n]!.sellerId) });
  const relinked = (n: string) => s.migrationService.transition(mig(n), 'relinked', 'relinked_app_password', { actor: seller(rows[n]!.sellerId) });

  signIn('B3'); // before any reminder: does not count as a sign-in after one
  clock = Date.parse('2026-11-03T10:00:00Z'); // week of Monday 2 November
  for (const n of ['A1', 'A2', 'A3', 'A4']) remind(n);
  clock += 3_600_000;
  for (const n of ['A2', 'A3', 'A4']) signIn(n);
  startV3('A3');
  relinked('A4');
  clock = Date.parse('2026-11-10T10:00:00Z'); // week of Monday 9 November
  for (const n of ['B1', 'B2', 'B3', 'B4']) remind(n);
  clock += 3_600_000;
  signIn('B4');
  startV3('B4');
  s.migrationService.transition(mig('B4'), 'switched_v3', 'switched_v3', { actor: seller(rows.B4!.sellerId) });
  signIn('N3'); // never reminded, came on their own
  signIn('N4');
  relinked('N4');
  clock = Date.parse('2026-11-20T10:00:00Z');

  // The counters equal a count from scratch.
  const recount = s.db.prepare(`SELECT COALESCE(cohort, '') AS cohort, step, count(*) AS n FROM account_funnel GROUP BY 1, 2 ORDER BY 1, 2`).all();
  assert.deepEqual(s.repos.funnel.counts(), recount);

  const a = await staffAgent(app, 'agent');
  const body = (await a.get('/staff')).body;
  const funnel = body.slice(body.indexOf('class="funnel"'), body.indexOf('id="chart-title"'));
  const rowsOf = (html: string) => [...html.matchAll(/<tr>\s*<th scope="row">([\s\S]*?)<\/tr>/g)].map((m) => text(m[1]!).trim());
  assert.deepEqual(rowsOf(funnel.slice(0, funnel.indexOf('id="cohorts-title"'))), [
    'Objęte migracją 12 — 100% Bez przypomnienia i bez logowania: 2',
    'Przypomniano 8 67% 67% Przypomniano, bez logowania: 4',
    'Przypomniano, sprzedawca się zalogował 4 50% 33% Przypomniano, zalogowanie bez wyboru sposobu: 1',
    'Przypomniano, sposób wybrany (v3 lub hasło do aplikacji) 3 75% 25% Przypomniano, sposób wybrany, niezmigrowane: 1',
    'Przypomniano, zmigrowane 2 67% 17% —',
  ]);
  assert.match(text(funnel), /Z przypomnianych zmigrowano: 25%\./);
  assert.match(text(funnel), /Sprzedawcy, którzy przyszli sami: Bez przypomnienia, sprzedawca się zalogował: 2 · Bez przypomnienia, sposób wybrany: 1 · Bez przypomnienia, zmigrowane: 1/);
  assert.deepEqual(rowsOf(funnel.slice(funnel.indexOf('id="cohorts-title"'))), [
    'od 9 lis 2026 4 1 (25%) 1 (25%) 1 (25%) Przypomniano, bez logowania: 3',
    'od 2 lis 2026 4 3 (75%) 2 (50%) 1 (25%) Przypomniano, bez logowania: 1',
  ]);

  // Every step links to its list (those that reached it) and to those stuck there, in the table's order.
  const links = [...funnel.slice(0, funnel.indexOf('id="cohorts-title"')).matchAll(/<a [^>]*href="(\/staff\/accounts\?[^"]+)">/g)].map((m) => decode(m[1]!));
  const listed = async (url: string) => names((await a.get(url)).body).map((n) => n.replace('Sprzedawca ', '')).sort();
  assert.deepEqual(await listed(links[0]!), ['A1', 'A2', 'A3', 'A4', 'B1', 'B2', 'B3', 'B4', 'N1', 'N2', 'N3', 'N4']);
  assert.deepEqual(await listed(links[1]!), ['N1', 'N2']);
  assert.deepEqual(await listed(links[2]!), ['A1', 'A2', 'A3', 'A4', 'B1', 'B2', 'B3', 'B4']);
  assert.deepEqual(await listed(links[3]!), ['A1', 'B1', 'B2', 'B3']);
  assert.deepEqual(await listed(links[4]!), ['A2', 'A3', 'A4', 'B4']);
  assert.deepEqual(await listed(links[5]!), ['A2']);
  assert.deepEqual(await listed(links[6]!), ['A3', 'A4', 'B4']);
  assert.deepEqual(await listed(links[7]!), ['A3']);
  assert.deepEqual(await listed(links[8]!), ['A4', 'B4']);
  // What sellers did without a reminder, and one week's row.
  assert.deepEqual(await listed('/staff/accounts?reached=signed_in&cohort=none'), ['N3', 'N4']);
  assert.deepEqual(await listed('/staff/accounts?reached=done&cohort=none'), ['N4']);
  assert.deepEqual(await listed('/staff/accounts?cohort=2026-11-02'), ['A1', 'A2', 'A3', 'A4']);
  assert.deepEqual(await listed('/staff/accounts?reached=chose&cohort=2026-11-02'), ['A3', 'A4']);
  // The old stage link for those finished after a reminder is the same list as the step's.
  assert.deepEqual(await listed('/staff/accounts?stage=done'), ['A4', 'B4']);
  // "Reminded, no sign-in for N days": the ones that can be reminded again, and by cohort.
  assert.deepEqual(await listed('/staff/accounts?stage=reminded&reminded=14'), ['A1']);
  assert.deepEqual(await listed('/staff/accounts?stage=reminded&cohort=2026-11-09'), ['B1', 'B2', 'B3']);
  const again = links.find((l) => l.includes('reminded=3'))!;
  assert.deepEqual(await listed(again), ['A1', 'B1', 'B2', 'B3']);
  assert.equal((await a.get('/staff/accounts?stage=lost')).statusCode, 400);
  assert.equal((await a.get('/staff/accounts?cohort=2026-11-10')).statusCode, 400, 'a cohort is a Monday');
  assert.equal((await a.get('/staff/accounts?reached=affected')).statusCode, 400, 'reached: a step after the first');

  // A bulk reminder of exactly them: the filter travels into the job.
  const confirm = await a.post('/staff/jobs/confirm', { action: 'remind', scope: 'all', stage: 'reminded', reminded: '14' });
  assert.match(confirm.body, /Wysłać przypomnienie dla 1 autoresponderów\?|Tego dotyczy: 1 autoresponder</);
  assert.match(confirm.body, /Sprzedawca A1/);

  // The seller signs in after the reminder: they move on at once.
  clock += 60_000;
  signIn('A1');
  assert.deepEqual(await listed('/staff/accounts?stage=signed_in'), ['A1', 'A2']);
});

test('schema 8 fills the funnel from what is already there: reminders, sign-ins in the audit log, account states', () => {
  const db = openDatabase(':memory:');
  migrate(db, MIGRATIONS.slice(0, 6));
  const at = '2026-11-03T10:00:00.000Z';
  db.exec(`INSERT INTO sellers (id, external_id, email, name, created_at, updated_at, last_seen_at) VALUES (1, 'S-1', 'a@gmail.com', 'A', '${at}', '${at}', '2026-11-04T10:00:00.000Z'), (2, 'S-2', 'b@gmail.com', 'B', '${at}', '${at}', NULL)`);
  db.exec(`INSERT INTO mailboxes (id, seller_id, email, imap_host, imap_port, imap_security, smtp_host, smtp_port, smtp_security, username, created_at, updated_at) VALUES (1, 1, 'a@gmail.com', 'imap.gmail.com', 993, 'tls', 'smtp.gmail.com', 465, 'tls', 'a', '${at}', '${at}'), (2, 2, 'b@gmail.com', 'imap.gmail.com', 993, 'tls', 'smtp.gmail.com', 465, 'tls', 'b', '${at}', '${at}')`);
  db.exec(`INSERT INTO autoresponders (id, seller_id, external_id, version, mailbox_id, created_at, updated_at) VALUES (1, 1, 'AR-1', 2, 1, '${at}', '${at}'), (2, 2, 'AR-2', 2, 2, '${at}', '${at}')`);
  db.exec(`INSERT INTO migrations (autoresponder_id, state, verdict_rule, created_at, updated_at, state_changed_at) VALUES (1, 'affected', 'gmail_address', '${at}', '${at}', '${at}'), (2, 'affected', 'gmail_address', '${at}', '${at}', '${at}')`);
  db.exec(`INSERT INTO reminders (seller_id, status, created_at) VALUES (1, 'sent', '${at}'), (2, 'failed', '${at}')`);
  db.exec(`INSERT INTO audit_log (at, actor_type, actor_id, action, target_type, target_id) VALUES ('2026-11-04T10:00:00.000Z', 'seller', '1', 'seller.signed_in', 'seller', '1')`);
  migrate(db);
  assert.deepEqual(db.prepare(`SELECT autoresponder_id, step, cohort FROM account_funnel ORDER BY 1`).raw().all(), [[1, 'signed_in', '2026-11-02'], [2, 'affected', null]]);
  assert.deepEqual(db.prepare(`SELECT cohort, step, n FROM funnel_counts ORDER BY 1`).raw().all(), [['', 'affected', 1], ['2026-11-02', 'signed_in', 1]]);
});
