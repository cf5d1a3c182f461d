import { test } from 'node:test';
import assert from 'node:assert/strict';
import { build } from '../helpers/build.js';
import { seedAccounts, staffAgent } from '../helpers/staff.js';

/**
 * Issue 24, item 3: the account page says what to tell the seller — the cause and the next step in the
 * words of the seller's own page and language, and a ready message that fits the seller's way (v3: no
 * mailbox, no app-password deadline; app password: the mailbox and the deadline). The mailbox line
 * agrees with the newest check, and a re-check of a refused password says what it will do.
 */
const decode = (s: string) => s.replace(/&amp;/g, '&').replace(/&#x3D;/g, '=').replace(/&#x27;/g, "'").replace(/&quot;/g, '"').replace(/&#x60;/g, '`');
const text = (html: string) => decode(html.replace(/<wbr>/g, '').replace(/<[^>]+>/g, ' ')).replace(/\s+/g, ' ');
const section = (html: string, id: string) => html.slice(html.indexOf(`id="${id}"`), html.indexOf('</section>', html.indexOf(`id="${id}"`)));
const message = (html: string) => decode(/<pre id="say-message" lang="(pl|en)">([\s\S]*?)<\/pre>/.exec(html)![2]!);

test('Co powiedzieć sprzedawcy: a v3 seller in English and an app-password seller in Polish each get their own way, cause and message', async (t) => {
  const { app } = await build(t, { env: { MIGRATION_DEADLINE: '2027-03-31', PUBLIC_URL: 'https://migracja.example.pl' } });
  const s = app.services;
  const [v3, app2] = seedAccounts(s, [
    { name: 'Amber Gifts', email: 'amber@example.com', login: 'amber_gifts', language: 'en', version: 3, state: 'switched_v3' },
    { name: 'Sklep Żółw', email: 'zolw@gmail.com', login: 'zolw_sklep', mailbox: 'zolw@gmail.com', secret: 'abcdabcdabcdabcd', secretKind: 'app_password', state: 'relinked_app_password' },
  ]);
  // The v3 authorization was refused: the seller must approve the access again.
  const m3 = s.repos.migrations.findByAutoresponder(v3!.autoresponderId)!;
  s.migrationService.transition(m3.id, 'needs_attention', 'needs_attention', { actor: { type: 'system' }, reason: 'authorize_again', errorCode: 'invalid_grant' });
  // Google refused the app password after it was verified (a changed Google password).
  const m2 = s.repos.migrations.findByAutoresponder(app2!.autoresponderId)!;
  s.repos.connectionChecks.record({ mailboxId: app2!.mailboxId, autoresponderId: app2!.autoresponderId, kind: 'mail', trigger: 'watch', ok: false, code: 'MAIL_AUTH_FAILED', protocol: 'imap', detail: '[AUTHENTICATIONFAILED] Invalid credentials' });
  s.migrationService.transition(m2.id, 'needs_attention', 'needs_attention', { actor: { type: 'system' }, reason: 'app_password_rejected', errorCode: 'MAIL_AUTH_FAILED' });
  const a = await staffAgent(app, 'agent');

  const pageV3 = (await a.get(`/staff/accounts/${v3!.autoresponderId}`)).body;
  const sayV3 = text(section(pageV3, 'say-h'));
  assert.match(sayV3, /Droga: wersja 3 \(bez hasła\) · w języku sprzedawcy: angielski/);
  assert.match(sayV3, /Co zrobić: Sign in to Allegro on the migration page and approve the access again/);
  const msgV3 = message(pageV3);
  assert.match(msgV3, /^Hello,\n\nI am writing about the Allegro message autoresponder of the account amber_gifts \(version 3\)\./);
  assert.doesNotMatch(msgV3, /mailbox|skrzynk|app password|hasło do aplikacji|deadline|Termin/i, `a v3 message names no mailbox and no app-password deadline: ${msgV3}`);
  assert.doesNotMatch(msgV3, /AR-|S-\d|invalid_grant|needs_attention/, 'no internal ids or codes');
  assert.match(decode(/href="(mailto:amber@example\.com[^"]+)"/.exec(pageV3)![1]!), /subject=/);

  const page2 = (await a.get(`/staff/accounts/${app2!.autoresponderId}`)).body;
  const say2 = text(section(page2, 'say-h'));
  assert.match(say2, /w języku sprzedawcy: polski/);
  assert.match(say2, /Dlaczego: Google odrzucił hasło do aplikacji/);
  const msg2 = message(page2);
  assert.match(msg2, /skrzynka zolw@gmail\.com/);
  assert.match(msg2, /Google odrzucił hasło do aplikacji/);
  assert.match(msg2, /Termin migracji: 31 mar 2027/);
  assert.doesNotMatch(msg2, /Obecny stan|Wymaga uwagi|MAIL_AUTH_FAILED/, 'the cause and the next step, not a state name or a code');
  // The mailbox line agrees with the newest check, and the re-check says what it will do.
  const mailboxRow = text(page2.slice(page2.indexOf('<tbody>', page2.indexOf('Skrzynki pocztowe')), page2.indexOf('</tbody>', page2.indexOf('Skrzynki pocztowe'))));
  assert.match(mailboxRow, /hasło do aplikacji — odrzucone przez Google/);
  assert.doesNotMatch(mailboxRow, /sprawdzone/);
  assert.match(text(page2), /Google odrzucił zapisane hasło \(.*\)\. Sprawdzenie zaloguje się nim jeszcze raz/);
});

test('the chart draws history only from recorded events: accounts imported today are not back-filled into earlier days; today and the deadline carry dates', async (t) => {
  const { progressChart } = await import('../../src/staff/overview.js');
  const { app } = await build(t, { env: { MIGRATION_DEADLINE: '2027-03-31' } });
  const s = app.services;
  const now = new Date();
  const early = seedAccounts(s, Array.from({ length: 3 }, (_, i) => ({ name: `Wcześniej ${i}`, email: `w${i}@gmail.com`, mailbox: `w${i}@gmail.com` })));
  const weeksAgo = new Date(now.getTime() - 20 * 86_400_000).toISOString();
  for (const r of early) s.db.prepare(`UPDATE migrations SET created_at = ? WHERE autoresponder_id = ?`).run(weeksAgo, r.autoresponderId);
  seedAccounts(s, Array.from({ length: 5 }, (_, i) => ({ name: `Import ${i}`, email: `i${i}@gmail.com`, mailbox: `i${i}@gmail.com` })));
  const chart = progressChart(s.repos, now, new Date('2027-03-31T22:59:00Z'), { migrated: 0, awaiting: 8 });
  const today = chart.table[chart.table.length - 1]!;
  const weekAgo = chart.table[chart.table.length - 2]!;
  assert.deepEqual([today.awaiting, weekAgo.awaiting], [8, 3], `today 8, a week ago only the 3 recorded then: ${JSON.stringify(chart.table)}`);
  assert.equal(chart.deadlineLabel, '31.03');
  // The counter behind it (schema 14) holds exactly the autoresponders the headline calls migrated or awaiting.
  assert.equal(s.db.prepare(`SELECT sum(n) FROM covered_per_day`).pluck().get(), s.repos.accounts.count({ state: 'in_migration' }));
  assert.match(chart.todayLabel, /^\d{2}\.\d{2}$/);
  const a = await staffAgent(app, 'viewer');
  const page = (await a.get('/staff')).body;
  assert.match(page, /termin 31\.03/);
  assert.match(page, new RegExp(`dziś ${chart.todayLabel.replace('.', '\\.')}`));
});

test('a manual re-check of a refused password says what it will do; pressed again within a minute it shows the same verdict without asking Google again', async (t) => {
  const { startDovecot } = await import('../helpers/dovecot.js');
  const { startSmtp } = await import('../helpers/smtp.js');
  const { testCert } = await import('../helpers/tls.js');
  const dovecot = await startDovecot([{ user: 'odrzucone@gmail.com', password: 'abcdabcdabcdabcd' }]);
  t.after(() => dovecot.stop());
  const smtp = await startSmtp({ security: 'tls', users: { 'odrzucone@gmail.com': 'abcdabcdabcdabcd' } });
  t.after(() => smtp.stop());
  const { app } = await build(t, { env: { MAIL_TLS_CA_FILE: testCert().certFile, MAIL_ADDRESS_ALLOWLIST: '127.0.0.1', MAIL_PORT_ALLOWLIST: `${dovecot.port},${smtp.port}` } });
  const s = app.services;
  const [row] = seedAccounts(s, [{ name: 'Sklep Odrzucony', email: 'odrzucone@gmail.com', mailbox: 'odrzucone@gmail.com', imapHost: '127.0.0.1', imapPort: dovecot.port, smtpPort: smtp.port, secret: 'stareniedzialaaa', secretKind: 'app_password', state: 'relinked_app_password' }]);
  const a = await staffAgent(app, 'agent');
  const logins = () => s.db.prepare(`SELECT count(*) FROM connection_checks WHERE mailbox_id = ?`).pluck().get(row!.mailboxId) as number;

  const first = await a.post(`/staff/accounts/${row!.autoresponderId}/recheck`);
  assert.match(first.headers.location as string, /done=recheck&outcome=MAIL_AUTH_FAILED#result$/);
  const made = logins();
  assert.ok(made >= 1);
  const page = text((await a.get(first.headers.location as string)).body);
  assert.match(page, /Google odrzucił zapisane hasło \(.*\)\. Sprawdzenie zaloguje się nim jeszcze raz/, 'the button says what it will do');
  assert.match(page, /odrzucone przez Google/, 'the mailbox line agrees with the check');

  const again = await a.post(`/staff/accounts/${row!.autoresponderId}/recheck`);
  assert.match(again.headers.location as string, /outcome=MAIL_AUTH_FAILED&reused=1#result$/);
  assert.equal(logins(), made, 'Google (Dovecot) was not asked again within the minute');
  assert.match(text((await a.get(again.headers.location as string)).body), /nie logowaliśmy się ponownie do Google/);
});

test('"Ponów nieudane" offers only what another try can change; what waits on the seller is counted apart; a retried job offers no second retry', async (t) => {
  const { app } = await build(t, {});
  const s = app.services;
  const rows = seedAccounts(s, Array.from({ length: 5 }, (_, i) => ({ name: `Sklep ${i}`, email: `s${i}@gmail.com`, mailbox: `s${i}@gmail.com` })));
  const admin = await staffAgent(app, 'agent');
  const staffId = s.repos.staff.findByEmail('agent@wsparcie.example')!.id;
  const jobId = s.repos.jobs.create({ kind: 'recheck', selection: 'ids', filter: null, ids: JSON.stringify(rows.map((r) => r.autoresponderId)), note: null, confirmedCount: 5, createdBy: staffId });
  s.repos.jobs.start(jobId, rows.map((r) => r.autoresponderId));
  const outcomes: [string, string][] = [['failed', 'MAIL_APP_PASSWORD_REQUIRED'], ['failed', 'MAIL_APP_PASSWORD_REQUIRED'], ['failed', 'MAIL_AUTH_FAILED'], ['failed', 'MAIL_TIMEOUT'], ['done', 'ok']];
  for (const [i, item] of s.repos.jobs.pending(jobId, 10, new Date(Date.now() + 1000)).entries()) {
    assert.ok(s.repos.jobs.claim(item.id));
    s.repos.jobs.settle(item.id, outcomes[i]![0] as 'failed' | 'done', outcomes[i]![1]);
  }
  s.repos.jobs.finish(jobId, 'done');
  const page = text((await admin.get(`/staff/jobs/${jobId}`)).body);
  assert.match(page, /zakończone: 1 działa, 1 nie udało się, 3 czekają na sprzedawcę/);
  assert.match(page, /Ponów nieudane \(1\)/, 'only the timeout is worth another try');
  assert.match(page, /3 pozycje czekają na sprzedawców/);
  const list = text((await admin.get('/staff/jobs')).body);
  assert.match(list, /zakończone: 1 działa, 1 nie udało się, 3 czekają na sprzedawcę/, 'the job list says the same');

  const confirm = await admin.post('/staff/jobs/confirm', { action: 'recheck', scope: 'failed', retryOf: String(jobId) });
  assert.match(text(confirm.body), /Sklep 3/);
  assert.doesNotMatch(text(confirm.body), /Sklep 0|Sklep 2/);
  const key = /name="confirmationKey" value="([0-9a-f-]{36})"/.exec(confirm.body)![1]!;
  const started = await admin.post('/staff/jobs', { action: 'recheck', scope: 'failed', retryOf: String(jobId), confirmedCount: '1', confirmationKey: key });
  const retryId = Number(/(\d+)$/.exec(started.headers.location as string)![1]);
  const after = text((await admin.get(`/staff/jobs/${jobId}`)).body);
  assert.doesNotMatch(after, /Ponów nieudane/, 'retried once: not offered again');
  assert.match(after, new RegExp(`Nieudane pozycje ponowiono w ramach zadania #${retryId}`));
});
