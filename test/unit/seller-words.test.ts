import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mailboxRefusal, recommend } from '../../src/seller/recommendation.js';
import { deadlineMeansIn, deadlineModel } from '../../src/seller/deadline.js';
import { causesFor, NO_APP_PASSWORDS_CAUSES } from '../../src/app-password/wizard-page.js';
import { bindOneLetterWords, contactHref, EMAIL_LIKE, formatWhen, wrapAddress, wrapAddressesIn } from '../../src/plugins/view-helpers.js';
import Handlebars from 'handlebars';
import { createI18n } from '../../src/i18n/index.js';
import { INCONCLUSIVE_MAIL_CODES, MAIL_CHECK_CODES, provesNothingAboutPassword } from '../../src/mail/classify.js';
import { loadConfig, PROJECT_ROOT } from '../../src/config.js';
import { readFileSync } from 'node:fs';
import path from 'node:path';

const none = { count: 0, over: 0 };

test('the recommendation: from what the app knows, each with its reason', () => {
  assert.deepEqual(recommend({ v3Available: false, refusal: 'imap_disabled', sharedCount: 3, templatesToFix: none }), { choice: 'app_password', reason: 'v3_unavailable', vars: {} });
  assert.deepEqual(recommend({ v3Available: true, refusal: 'imap_disabled', sharedCount: 3, templatesToFix: { count: 2, over: 10 } }).choice, 'v3', 'a mailbox that refuses leaves only v3');
  assert.deepEqual(recommend({ v3Available: true, refusal: 'app_password_rejected', sharedCount: 1, templatesToFix: none }).reason, 'app_password_rejected');
  // Two are "oba" in Polish, never "wszystkie 2": their own reason and text.
  assert.deepEqual(recommend({ v3Available: true, refusal: null, sharedCount: 2, templatesToFix: none }), { choice: 'app_password', reason: 'shared_mailbox_both', vars: { count: 2 } });
  assert.deepEqual(recommend({ v3Available: true, refusal: null, sharedCount: 3, templatesToFix: none }), { choice: 'app_password', reason: 'shared_mailbox', vars: { count: 3 } });
  assert.deepEqual(recommend({ v3Available: true, refusal: null, sharedCount: 1, templatesToFix: { count: 2, over: 340 } }), { choice: 'v3', reason: 'templates_to_fix', vars: { count: 2, chars: 340 } });
  assert.deepEqual(recommend({ v3Available: true, refusal: null, sharedCount: 1, templatesToFix: none }), { choice: 'v3', reason: 'default', vars: {} });
});

test('a mailbox refuses app passwords when IMAP is off or Google refused them twice since the last success', () => {
  const c = (ok: boolean, code: string | null, kind: 'mail' | 'allegro' = 'mail') => ({ ok, code, kind });
  assert.equal(mailboxRefusal([], null), null);
  assert.equal(mailboxRefusal([], 'imap_disabled'), 'imap_disabled');
  assert.equal(mailboxRefusal([c(false, 'MAIL_IMAP_DISABLED')], null), 'imap_disabled');
  assert.equal(mailboxRefusal([c(false, 'MAIL_AUTH_FAILED')], null), null, 'one refusal is a typo as often as not');
  assert.equal(mailboxRefusal([c(false, 'MAIL_AUTH_FAILED'), c(false, 'MAIL_TIMEOUT'), c(false, 'MAIL_AUTH_FAILED')], null), 'app_password_rejected');
  assert.equal(mailboxRefusal([c(false, 'MAIL_AUTH_FAILED'), c(true, null), c(false, 'MAIL_AUTH_FAILED')], null), null, 'only since the last success');
});

test('what proves nothing about the password: unreachable, TLS, timeouts and server errors — not Google\'s verdicts', () => {
  // Google's temporary refusals turn the login away before the password is looked at (issue 25).
  for (const code of ['MAIL_DNS_FAILED', 'MAIL_CONNECTION_REFUSED', 'MAIL_TIMEOUT', 'MAIL_TLS_FAILED', 'MAIL_SERVER_ERROR', 'MAIL_TOO_MANY_LOGINS', 'MAIL_TOO_MANY_CONNECTIONS']) assert.ok(provesNothingAboutPassword(code), code);
  for (const code of ['MAIL_AUTH_FAILED', 'MAIL_APP_PASSWORD_REQUIRED', 'MAIL_WEB_LOGIN_REQUIRED', 'MAIL_IMAP_DISABLED']) assert.ok(!provesNothingAboutPassword(code), code);
  assert.ok(INCONCLUSIVE_MAIL_CODES.every((c) => MAIL_CHECK_CODES.includes(c)));
  assert.ok(!provesNothingAboutPassword(null));
});

test('the "no App passwords" causes per mailbox: Workspace first for a company mailbox, never for gmail.com', () => {
  assert.deepEqual(causesFor({ provider: 'gmail' }), NO_APP_PASSWORDS_CAUSES.filter((c) => c !== 'workspace'));
  assert.equal(causesFor({ provider: 'workspace' })[0], 'workspace');
  assert.equal(causesFor({ provider: 'workspace' }).length, NO_APP_PASSWORDS_CAUSES.length);
});

test('addresses wrap after "@" and before ".", never inside a word nor before the ending (".com"); the rest is escaped', () => {
  // The name before "@" stays whole ("anna / .nowak.sklep@gmail.com" read as two addresses, issue 25).
  assert.equal(wrapAddress('pasmanteria.ani@gmail.com'), 'pasmanteria.ani@<wbr>gmail.com');
  assert.equal(wrapAddress('narzedzia.stolarz@gmail.com'), 'narzedzia.stolarz@<wbr>gmail.com', 'never "…@gmail / .com" (a phone heading)');
  assert.equal(wrapAddress('biuro@poczta.sklep-stolarz.com.pl'), 'biuro@<wbr>poczta<wbr>.sklep-stolarz<wbr>.com.pl'.replace('.sklep-stolarz', '<span class="nw">.sklep-stolarz</span>'));
  assert.equal(wrapAddress('<b>@x.pl'), '&lt;b&gt;@<wbr>x.pl');
  assert.equal(wrapAddress('biuro@meble-olszewski.pl'), 'biuro@<wbr><span class="nw">meble-olszewski.pl</span>', 'no break after the hyphen');
  assert.equal(wrapAddress('bardzo.dlugi.adres.sklepu.internetowego@x.pl'), 'bardzo<wbr>.dlugi<wbr>.adres<wbr>.sklepu<wbr>.internetowego@<wbr>x.pl', 'a name too long for a line may break before its dots');
  assert.equal(wrapAddress('imap.gmail.com'), 'imap<wbr>.gmail.com', 'a host name');
  assert.equal(wrapAddressesIn('Skrzynka jan.k@firma.pl (v2).'), 'Skrzynka jan.k@<wbr>firma.pl (v2).');
  assert.equal(wrapAddressesIn('Tekst <i>bez</i> adresu. Koniec.'), 'Tekst &lt;i&gt;bez&lt;/i&gt; adresu. Koniec.');
});

test('addresses in a text are found where a scan of the whole text finds them (the "@"-anchored search against the plain one)', () => {
  // The plain scan: EMAIL_LIKE tried at every character, as wrapAddressesIn did before it looked only around "@".
  const plain = (text: string) => {
    let out = '';
    let last = 0;
    for (const m of text.matchAll(EMAIL_LIKE)) {
      out += Handlebars.escapeExpression(text.slice(last, m.index)) + wrapAddress(m[0]);
      last = m.index! + m[0].length;
    }
    return out + Handlebars.escapeExpression(text.slice(last));
  };
  const cases = ['a@b.pl', '@x.pl', 'x@', 'a@b@c.pl', 'a@b.com.x@y.pl', 'jan@firma.pl, ola@firma.pl', '„ala@x.pl”', 'a@b.c', 'a@.pl', 'x.@y.pl', 'ą@ę.pl'];
  // And many made-up texts of the characters that matter (a fixed seed: the same texts every run).
  let seed = 25;
  const next = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const alphabet = ['a', 'b', 'Z', 'ł', '1', '@', '@', '.', '.', '-', ' ', ',', '<', '(', '„', '”', 'pl', 'com', 'jan', '@firma', '.pl', '.com'];
  for (let i = 0; i < 5000; i++) cases.push(Array.from({ length: 1 + Math.floor(next() * 24) }, () => alphabet[Math.floor(next() * alphabet.length)]).join(''));
  let withAddress = 0;
  for (const text of cases) {
    const expected = plain(text);
    if (expected.includes('<wbr>')) withAddress++;
    assert.equal(wrapAddressesIn(text), expected, JSON.stringify(text));
  }
  assert.ok(withAddress > 500, `the made-up texts hold addresses (${withAddress})`);
});

test('the next try is said as a person says it, never a date run into a number', async () => {
  const i18n = await createI18n();
  const now = new Date('2026-11-30T13:00:00Z'); // 14:00 in Warsaw
  assert.equal(formatWhen('2026-11-30T13:15:00Z', 'pl', i18n, now), 'dziś o 14:15');
  assert.equal(formatWhen('2026-11-30T23:10:00Z', 'pl', i18n, now), 'jutro o 00:10');
  assert.equal(formatWhen('2026-12-03T09:00:00Z', 'pl', i18n, now), '3 grudnia o 10:00');
  assert.equal(formatWhen('2026-11-30T13:15:00Z', 'en', i18n, now), 'today at 14:15');
});

test('the deadline: the date and the days left in Polish calendar days', () => {
  const deadline = loadConfig({ DATABASE_PATH: ':memory:', MIGRATION_DEADLINE: '2027-03-31' }).migrationDeadline!;
  assert.deepEqual(deadlineModel(deadline, new Date('2027-03-29T22:30:00Z')), { at: deadline.toISOString(), passed: false, today: false, daysLeft: 1 });
  assert.equal(deadlineModel(deadline, new Date('2027-03-31T08:00:00Z'))!.today, true);
  assert.equal(deadlineModel(deadline, new Date('2027-04-01T08:00:00Z'))!.passed, true);
  assert.equal(deadlineModel(null, new Date()), null);
});

test("what the deadline means: the operator's sentence in both languages or none; plain text; the demo has an example", async () => {
  const base = { DATABASE_PATH: ':memory:', DEMO: '0', OPERATOR_NAME: 'Sklep', SUPPORT_EMAIL: 'pomoc@example.pl', MIGRATION_DEADLINE: '2027-03-31' };
  const pl = 'Tego dnia wyłączymy wersje 1 i 2 dla skrzynek Google.';
  const en = 'On that day versions 1 and 2 stop for Google mailboxes.';
  assert.deepEqual(loadConfig({ ...base, MIGRATION_DEADLINE_MEANS_PL: pl, MIGRATION_DEADLINE_MEANS_EN: en }).migrationDeadlineMeans, { pl, en });
  assert.equal(loadConfig(base).migrationDeadlineMeans, null, 'not configured: nothing is made up');
  assert.throws(() => loadConfig({ ...base, MIGRATION_DEADLINE_MEANS_PL: pl }), /MIGRATION_DEADLINE_MEANS_EN: set both/);
  assert.throws(() => loadConfig({ ...base, MIGRATION_DEADLINE_MEANS_PL: '<b>Uwaga</b>', MIGRATION_DEADLINE_MEANS_EN: en }), /MIGRATION_DEADLINE_MEANS_PL must be plain text/);
  assert.throws(() => loadConfig({ ...base, MIGRATION_DEADLINE_MEANS_PL: 'x'.repeat(301), MIGRATION_DEADLINE_MEANS_EN: en }), /at most 300 characters/);
  const i18n = await createI18n();
  assert.equal(deadlineMeansIn(loadConfig({ ...base, MIGRATION_DEADLINE_MEANS_PL: pl, MIGRATION_DEADLINE_MEANS_EN: en }), i18n, 'en'), en);
  assert.equal(deadlineMeansIn(loadConfig(base), i18n, 'pl'), '');
  assert.match(deadlineMeansIn(loadConfig({ DATABASE_PATH: ':memory:' }), i18n, 'pl'), /^Przykład z demo: /, 'the demo marks its example as one');
  assert.match(deadlineMeansIn(loadConfig({ DATABASE_PATH: ':memory:' }), i18n, 'en'), /^A demo example: /);
});

test('support: the contact carries the code in its subject; configuration names the operator', async () => {
  const i18n = await createI18n();
  const href = contactHref({ email: 'pomoc@example.pl' }, i18n, 'pl', 'MAIL_TLS_FAILED')!;
  assert.match(href, /^mailto:pomoc@example\.pl\?subject=/);
  assert.match(decodeURIComponent(href.split('subject=')[1]!.split('&')[0]!), /\(kod MAIL_TLS_FAILED\)$/);
  assert.equal(contactHref({ email: null }, i18n, 'pl', 'X'), null);
  const c = loadConfig({ DATABASE_PATH: ':memory:', DEMO: '0', PUBLIC_URL: 'https://migracja.example.pl', OPERATOR_NAME: 'Sklepy Kowalski sp. z o.o.', SUPPORT_EMAIL: 'pomoc@example.pl', SUPPORT_URL: 'https://example.pl/pomoc' });
  assert.deepEqual(c.support, { operatorName: 'Sklepy Kowalski sp. z o.o.', email: 'pomoc@example.pl', url: 'https://example.pl/pomoc', configured: true });
  // Unset outside the demo: the service does not start (issue 23; test/security/hardening-3.test.ts).
  assert.throws(() => loadConfig({ DATABASE_PATH: ':memory:', DEMO: '0', PUBLIC_URL: 'https://migracja.example.pl' }), /OPERATOR_NAME and SUPPORT_EMAIL are required/);
  assert.throws(() => loadConfig({ DATABASE_PATH: ':memory:', SUPPORT_EMAIL: 'nie-adres' }), /SUPPORT_EMAIL/);
  assert.throws(() => loadConfig({ DATABASE_PATH: ':memory:', SUPPORT_URL: 'ftp://x' }), /SUPPORT_URL/);
});

test('Polish typesetting in the operator\'s name: a one-letter word never ends a line', () => {
  assert.equal(bindOneLetterWords('Sklepy Przykładowe sp. z o.o.'), 'Sklepy Przykładowe sp. z\u00a0o.o.');
  assert.equal(bindOneLetterWords('Kowalski i Syn w Łodzi'), 'Kowalski i\u00a0Syn w\u00a0Łodzi');
  assert.equal(bindOneLetterWords('Acme GmbH'), 'Acme GmbH');
  assert.equal(bindOneLetterWords('Zakład Z'), 'Zakład Z', 'a letter at the end binds to nothing');
});

test('two are "oba" ("both"), never "wszystkie 2" nor "wszystkie naraz", wherever a seller reads a count of two', async () => {
  const i18n = await createI18n();
  const pl = i18n.t('pl');
  const en = i18n.t('en');
  assert.equal(pl('recommend.reasons.shared_mailbox_both'), 'Z tej skrzynki korzystają oba autorespondery — jedno hasło do aplikacji naprawi oba naraz.');
  assert.equal(en('recommend.reasons.shared_mailbox_both'), 'Both autoresponders use this mailbox — one app password fixes both at once.');
  assert.equal(pl('v3.s1.allFitBoth'), 'Oba szablony mieszczą się w limicie — nic nie trzeba skracać.');
  assert.equal(pl('migration.sharedWith', { count: 1 }), 'To samo hasło naprawi też drugi autoresponder tej skrzynki.');
  // The counted texts stay for three and more, and none of the seller's texts counts "wszystkie" with a number.
  assert.equal(pl('recommend.reasons.shared_mailbox', { count: 3 }), 'Z tej skrzynki korzystają 3 autorespondery — jedno hasło do aplikacji naprawi każdy z nich.');
  const catalog = JSON.parse(readFileSync(path.join(PROJECT_ROOT, 'src/i18n/pl.json'), 'utf8')) as Record<string, unknown>;
  const texts = (node: unknown): string[] => (typeof node === 'string' ? [node] : node && typeof node === 'object' ? Object.values(node).flatMap(texts) : []);
  const { staff: _staff, ...seller } = catalog;
  assert.deepEqual(texts(seller).filter((s) => /wszystkie \{\{count\}\}|wszystkie naraz/i.test(s)), []);
});
