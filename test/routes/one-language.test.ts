import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { build } from '../helpers/build.js';
import { Agent, signIn } from '../helpers/agent.js';
import { allegroEnv, consent, startSimulator } from '../helpers/allegro.js';
import { createStaff, STAFF_PASSWORD } from '../helpers/staff.js';
import { PROJECT_ROOT } from '../../src/config.js';
import { LANGUAGES, type Lang } from '../../src/i18n/index.js';
import { MAIL_CHECK_CODES } from '../../src/mail/classify.js';
import { MigError } from '../../src/errors.js';

/**
 * One language per page: every page and every error, rendered in Polish and in English, must hold no
 * text of the other catalog. The CLI may print both (not a page); a link to the other language is
 * marked with its own lang attribute and so is a seller's quoted text (Allegro's message).
 */

const catalog = (lang: Lang) => JSON.parse(readFileSync(path.join(PROJECT_ROOT, 'src/i18n', `${lang}.json`), 'utf8')) as Record<string, unknown>;
const leaves = (o: unknown): string[] => (typeof o === 'string' ? [o] : o && typeof o === 'object' ? Object.values(o).flatMap(leaves) : []);

/** A catalog text cut at its placeholders, line breaks and sentence ends, trimmed of punctuation. */
const pieces = (text: string) =>
  text
    .split(/\{\{[^}]*\}\}|\$t\([^)]*\)|\{\w+\}|\n+|(?<=[.!?])\s+|\s+\/\s+|\s\(|\)\s?/)
    .map((raw) => raw.trim().replace(/^[\s,.:;—–\-(„"“]+|[\s,.:;—–\-)”"]+$/g, ''))
    .filter((p) => /\p{L}{4,}/u.test(p));

/** Words only one of the two languages has: a piece holding one is that language's, wherever it also appears. */
const MARKERS: Record<Lang, RegExp> = {
  pl: /[ąćęłńóśźżĄĆĘŁŃÓŚŹŻ]|\b(nie|jest|lub|albo|oraz|przez|aby|tylko|jeśli|dla|się|już)\b/i,
  en: /\b(the|is|are|or|and|your|you|not|must|with|this|too|from|will)\b/i,
};

/**
 * The texts of one catalog that cannot be mistaken for the other's: the pieces that appear nowhere in
 * the other catalog (so "Allegro", "IMAP" or "E-mail", written the same in both, never count), and
 * the pieces with a word only this language has, even where the other catalog holds them too (a text
 * that carries both languages, "… (Wrong e-mail or password.)", must not hide its second half).
 */
function telltales(lang: Lang): string[] {
  const other: Lang = lang === 'pl' ? 'en' : 'pl';
  const otherText = leaves(catalog(other)).join('\n').toLowerCase();
  const found = new Set<string>();
  for (const text of leaves(catalog(lang))) {
    for (const piece of pieces(text)) {
      if (!otherText.includes(piece.toLowerCase()) || (MARKERS[lang].test(piece) && !MARKERS[other].test(piece))) found.add(piece);
    }
  }
  return [...found];
}

test('no catalog text carries the other language beside its own', () => {
  const pl = catalog('pl');
  const en = catalog('en');
  const flat = (o: Record<string, unknown>, prefix = ''): [string, string][] =>
    Object.entries(o).flatMap(([k, v]) => (typeof v === 'string' ? [[prefix + k, v] as [string, string]] : flat(v as Record<string, unknown>, `${prefix}${k}.`)));
  const enByKey = new Map(flat(en));
  const plByKey = new Map(flat(pl));
  const mixed: string[] = [];
  for (const [key, text] of plByKey) {
    const other = enByKey.get(key);
    if (other === undefined || other === text) continue;
    for (const piece of pieces(other)) if (piece.split(/\s+/).length >= 2 && MARKERS.en.test(piece) && text.includes(piece)) mixed.push(`pl ${key}: ${piece}`);
  }
  for (const [key, text] of enByKey) {
    const other = plByKey.get(key);
    if (other === undefined || other === text) continue;
    for (const piece of pieces(other)) if (piece.split(/\s+/).length >= 2 && MARKERS.pl.test(piece) && text.includes(piece)) mixed.push(`en ${key}: ${piece}`);
  }
  assert.deepEqual(mixed, []);
});

const ENTITIES: Record<string, string> = { '&amp;': '&', '&lt;': '<', '&gt;': '>', '&quot;': '"', '&#x27;': "'", '&#39;': "'", '&#x3D;': '=', '&#x60;': '`', '&#x2F;': '/', '&nbsp;': ' ' };

/** What a person reads (and hears) on a page in its own language: text, titles, labels, the counter's texts. */
function readable(html: string): string {
  const attrs = [...html.matchAll(/\s(?:aria-label|title|alt|placeholder|data-fits|data-over-\w+|data-copied)="([^"]*)"/g)].map((m) => m[1]);
  const body = html
    // Marked as another language on purpose (the language switch, Allegro's quoted message).
    .replace(/<(a|q|span|p)\b[^>]*\slang="[a-z]{2}"[^>]*>[\s\S]*?<\/\1>/g, ' ')
    // The seller's own data: template texts, the original templates; for staff, an audit entry's data.
    .replace(/<(textarea|pre)\b[^>]*>[\s\S]*?<\/\1>/g, ' ')
    .replace(/<code class="details">[\s\S]*?<\/code>/g, ' ')
    // Codes shown small for support (MAIL_AUTH_FAILED, allegro_account_mismatch): identifiers, not words.
    // A plain word in a code element ("sent") is still read.
    .replace(/<code>([^<]*)<\/code>/g, (m, inner: string) => (/^[\w.:-]*[_.:\d-][\w.:-]*$|^[A-Z0-9_]+$/.test(inner) ? ' ' : inner))
    .replace(/<div class="preview">[\s\S]*?<\/div>/g, ' ')
    .replace(/<wbr>/g, '')
    .replace(/<[^>]+>/g, ' ');
  return [body, ...attrs]
    .join('\n')
    .replace(/&[#\w]+;/g, (e) => ENTITIES[e] ?? e)
    // E-mail addresses are data, in no language.
    .replace(/[\w.+-]+@[\w.-]+/g, ' ')
    // Identifiers staff see as they are (a filter's error codes, audit actions): not words of a language.
    .replace(/[\w.]*_[\w.]*/g, ' ')
    .replace(/\s+/g, ' ');
}

const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Every telltale of the other language found in a page, each as a whole word. */
function otherLanguageIn(html: string, others: string[]): string[] {
  const text = readable(html);
  return others.filter((p) => new RegExp(`(?<![\\p{L}\\p{N}])${escapeRe(p)}(?![\\p{L}\\p{N}])`, 'u').test(text));
}

async function fixture(t: TestContext) {
  const sim = await startSimulator(t);
  const failures = new Map<string, unknown>();
  const { app } = await build(t, {
    env: { ...allegroEnv(sim.url), MIGRATION_DEADLINE: '2027-03-31', OPERATOR_NAME: 'Sklepy Testowe sp. z o.o.', SUPPORT_EMAIL: 'pomoc@wsparcie.example' },
    // Test-only routes: every error status through the real error handler, and the page variants a
    // test cannot provoke from real servers (each mail answer, each Allegro failure).
    extra: (f: FastifyInstance) => {
      f.get('/__fail/:status', async (req) => {
        const status = Number((req.params as { status: string }).status);
        throw Object.assign(new Error('test failure'), { statusCode: status });
      });
      f.get('/__migerr', async () => {
        throw new MigError('MIG_ERR_ILLEGAL_TRANSITION', 'test');
      });
      f.get('/__variant/:name', async (req, reply) => {
        const data = failures.get((req.params as { name: string }).name) as { view: string; data: Record<string, unknown> };
        return reply.page(data.view, data.data);
      });
    },
  });
  return { app, sim, failures };
}

test('every page and every error in each language holds no text of the other catalog', async (t) => {
  const { app, sim, failures } = await fixture(t);
  const s = app.services;
  const { repos, secrets, detection } = s;

  // ---- data: a Gmail and a Workspace mailbox, v2 autoresponders in several states ----------------------
  const seller = repos.sellers.insert({ externalId: 'S1', email: 'anna.sklep@gmail.com', name: 'Anna', allegroLogin: 'sklep_testowy' });
  const mailbox = (email: string, provider: 'gmail' | 'workspace') => {
    const id = repos.mailboxes.insert({ sellerId: seller, email, imapHost: 'imap.gmail.com', imapPort: 993, imapSecurity: 'tls', smtpHost: 'smtp.gmail.com', smtpPort: 465, smtpSecurity: 'tls', username: email });
    repos.mailboxes.setEncryptedSecret(id, { ciphertext: secrets.encrypt('stare-haslo-konta', 'mailbox-secret'), kind: 'account_password', verifiedAt: null });
    repos.mailboxes.setDetection(id, { google: true, provider, rule: provider === 'gmail' ? 'gmail_address' : 'workspace_mx', detail: provider === 'gmail' ? 'gmail.com' : 'aspmx.l.google.com' });
    return id;
  };
  const gmail = mailbox('anna.sklep@gmail.com', 'gmail');
  const firma = mailbox('biuro@firma-przyklad.pl', 'workspace');
  const spare = mailbox('zapas.sklep@gmail.com', 'gmail');
  const ar = (externalId: string, box: number, body: string) => {
    const id = repos.autoresponders.insert({ sellerId: seller, externalId, version: 2, mailboxId: box });
    repos.autoresponders.replaceTemplates(id, [{ name: 'Wysyłka', subject: 'Re: zamówienie', bodyFormat: 'html', body }]);
    detection.refreshAutoresponder(id, { type: 'system' });
    return id;
  };
  const ar1 = ar('AR-1', gmail, '<p>Dzień dobry, wysyłamy dziś.</p>');
  const ar2 = ar('AR-2', firma, `<p>${'Długi regulamin zwrotów. '.repeat(120)}</p>`);
  const ar3 = ar('AR-3', firma, '<p>Dziękujemy.</p>');
  void spare;

  const staffAdmin = await createStaff(s, 'admin@wsparcie.example', 'admin');
  await createStaff(s, 'podglad@wsparcie.example', 'viewer');
  void staffAdmin;

  // ---- the variants rendered through the test route ---------------------------------------------------
  const wizardBase = { mailbox: repos.mailboxes.getById(gmail), step: 3, serverFields: [], errors: {}, budget: { remaining: 4, max: 5 }, autoresponders: [{ id: ar1, externalId: 'AR-1', version: 2, templateNames: ['Wysyłka'] }], allegroConfigured: true };
  for (const code of MAIL_CHECK_CODES) {
    failures.set(`mail-${code}`, { view: 'wizard', data: { ...wizardBase, failure: { code, notPassword: ['MAIL_DNS_FAILED', 'MAIL_CONNECTION_REFUSED', 'MAIL_TIMEOUT', 'MAIL_TLS_FAILED', 'MAIL_SERVER_ERROR'].includes(code) } } });
    failures.set(`fetch-${code}`, { view: 'wizard', data: { ...wizardBase, step: 4, failure: { code, notPassword: false } } });
  }
  failures.set('limit', { view: 'wizard', data: { ...wizardBase, limit: { max: 5, retryAt: new Date(Date.now() + 600_000).toISOString(), checks: false } } });
  failures.set('limit-checks', { view: 'wizard', data: { ...wizardBase, limit: { max: 15, retryAt: new Date(Date.now() + 600_000).toISOString(), checks: true } } });
  const v3Base = { autoresponder: repos.autoresponders.getById(ar1), mailbox: repos.mailboxes.getById(gmail), authorization: { allegroLogin: 'sklep_testowy' }, templatesCount: 1 };
  for (const code of ['MIG_ERR_ALLEGRO_UNAVAILABLE', 'MIG_ERR_ALLEGRO_API', 'MIG_ERR_ALLEGRO_RESPONSE', 'MIG_ERR_ALLEGRO_OAUTH', 'MIG_ERR_SOMETHING_ELSE']) {
    failures.set(`check-${code}`, { view: 'v3/check', data: { ...v3Base, check: { ok: false, code, authorizeAgain: false, userMessage: 'Wystąpił błąd.', traceId: 'abc-123' } } });
  }
  failures.set('check-authorize-again', { view: 'v3/check', data: { ...v3Base, check: { ok: false, code: 'MIG_ERR_AUTHORIZE_AGAIN', authorizeAgain: true } } });

  // ---- the pages ---------------------------------------------------------------------------------------
  let checked = 0;
  const seller1 = async (lang: Lang) => {
    const a = new Agent(app);
    a.cookies.set('lang', lang);
    await signIn(a, seller);
    return a;
  };
  const staffOf = async (lang: Lang, email = 'admin@wsparcie.example') => {
    const a = new Agent(app);
    a.cookies.set('lang', lang);
    await a.get('/staff/login');
    const res = await a.post('/staff/login', { email, password: STAFF_PASSWORD });
    assert.equal(res.statusCode, 303);
    return a;
  };

  for (const lang of LANGUAGES) {
    const found: string[] = [];
    const others = telltales(lang === 'pl' ? 'en' : 'pl');
    assert.ok(others.length > 300, `${lang}: ${others.length} telltales of the other language`);
    const check = (name: string, res: { statusCode: number; body: string }) => {
      checked++;
      assert.match(res.body, new RegExp(`<html lang="${lang}"`), `${lang} ${name}: a page in ${lang} (${res.statusCode})`);
      const hits = otherLanguageIn(res.body, others);
      if (hits.length) found.push(`${name} (${res.statusCode}): ${hits.slice(0, 5).map((h) => JSON.stringify(h)).join(', ')}`);
    };

    // Public pages and sign-in.
    const anon = new Agent(app);
    anon.cookies.set('lang', lang);
    for (const url of ['/', '/help', '/login', '/login/sent', '/login/verify?token=nieznany', '/staff/login']) check(url, await anon.get(url));
    check(`/login/verify (valid)`, await anon.get(`/login/verify?token=${repos.loginTokens.issue(seller, 60_000)}`));
    const used = repos.loginTokens.issue(seller, 60_000);
    repos.loginTokens.consume(used);
    check('/login/verify (used)', await anon.get(`/login/verify?token=${used}`));
    check('/login/verify (expired)', await anon.get(`/login/verify?token=${repos.loginTokens.issue(seller, -1000)}`));
    await anon.get('/login');
    check('POST /login (bad e-mail)', await anon.post('/login', { email: 'nie-adres' }));
    check('POST /staff/login (missing)', await anon.post('/staff/login', { email: '', password: '' }));
    check('POST /staff/login (wrong)', await anon.post('/staff/login', { email: 'admin@wsparcie.example', password: 'zle-haslo-123' }));

    // Every error status, the CSRF refusal, a registered domain error.
    for (const status of [400, 401, 403, 404, 409, 413, 415, 429, 500, 503]) check(`error ${status}`, await anon.get(`/__fail/${status}`));
    check('error MIG_ERR', await anon.get('/__migerr'));
    check('unknown page', await anon.get('/nie-ma-takiej-strony'));
    check('CSRF', await anon.post('/login', { email: 'a@b.pl' }, { csrf: null }));

    // The seller's pages.
    const a = await seller1(lang);
    check('/migration', await a.get('/migration'));
    for (const box of [gmail, firma]) {
      for (const step of ['1', '2', '3', 'help']) check(`wizard ${box} ${step}`, await a.get(`/mailboxes/${box}/app-password/${step}`));
      check(`wizard ${box} bad password`, await a.post(`/mailboxes/${box}/app-password`, { app_password: 'abc' }));
    }
    check('wizard: servers refused', await a.post(`/mailboxes/${firma}/app-password`, { app_password: 'abcdabcdabcdabcd', imap_host: 'x.example', imap_port: '22', smtp_host: 'y.example', smtp_port: '25' }));
    for (const name of failures.keys()) check(`variant ${name}`, await a.get(`/__variant/${name}`));

    // The v3 path: templates (one too long), authorization problems, the check, the switch, the result.
    await a.post(`/autoresponders/${ar2}/v3/start`);
    check('v3 templates', await a.get(`/autoresponders/${ar2}/v3`));
    check('v3 templates refused', await a.post(`/autoresponders/${ar2}/v3/templates`, { text_0: 'x'.repeat(2100) }));
    check('v3 templates empty', await a.post(`/autoresponders/${ar2}/v3/templates`, { text_0: '' }));
    for (const problem of ['state_unknown', 'state_used', 'state_expired', 'state_other_session', 'denied', 'allegro_error', 'exchange_failed', 'me_failed', 'unavailable']) {
      check(`v3 authorize ${problem}`, await a.get(`/autoresponders/${ar2}/v3/authorize?problem=${problem}&code=invalid_request`));
    }
    const arV3 = lang === 'pl' ? ar1 : ar3;
    await a.post(`/autoresponders/${arV3}/v3/start`);
    const step1 = await a.get(`/autoresponders/${arV3}/v3`);
    const text = /<textarea id="text_0"[^>]*>([\s\S]*?)<\/textarea>/.exec(step1.body)![1]!;
    await a.post(`/autoresponders/${arV3}/v3/templates`, { text_0: text.replace(/&#x27;/g, "'").replace(/&amp;/g, '&') });
    const leave = await a.post(`/autoresponders/${arV3}/v3/authorize`);
    const back = await consent(leave.headers.location as string, { login: 'sklep_testowy', accounts: sim.accounts });
    const afterConsent = await a.get(back.pathname + back.search);
    assert.equal(afterConsent.statusCode, 303, `${lang}: consent came back`);
    check('v3 check', await a.get(`/autoresponders/${arV3}/v3/check`));
    // A different account, for the mismatch page.
    const other = await a.post(`/autoresponders/${ar2}/v3/authorize`);
    const otherBack = await consent(other.headers.location as string, { login: 'inne_konto', accounts: sim.accounts });
    const mismatch = await a.get(otherBack.pathname + otherBack.search);
    if (mismatch.statusCode === 303 && String(mismatch.headers.location).includes('/v3/account')) check('v3 account mismatch', await a.get(String(mismatch.headers.location)));
    await a.post(`/autoresponders/${ar2}/v3/authorize`, { discard: String(repos.authorizations.findUsable(seller)?.id ?? '') });
    await a.get(`/autoresponders/${arV3}/v3/check`);
    await a.post(`/autoresponders/${arV3}/v3/switch`, {});
    for (const q of ['', '?confirm=back', '?confirm=forget', '?done=password_deleted']) check(`v3 done ${q}`, await a.get(`/autoresponders/${arV3}/v3/done${q}`));
    const backRes = await a.post(`/autoresponders/${arV3}/v3/switch-back`, { confirm: 'yes' });
    check('migration after switching back', await a.get(String(backRes.headers.location)));

    // The staff console: every page, filter errors, form errors, action results.
    const st = await staffOf(lang);
    for (const url of ['/staff', '/staff/accounts', '/staff/accounts?state=zly&version=9&provider=x&code=%3C&inactive=0&sort=x&dir=x&size=7&after=x', `/staff/accounts/${ar1}`, '/staff/jobs', '/staff/users']) check(url, await st.get(url));
    for (const outcome of ['ok', 'sent', 'recently_reminded', 'MIG_ERR_NO_SECRET', 'MAIL_AUTH_FAILED']) check(`staff account result ${outcome}`, await st.get(`/staff/accounts/${ar1}?done=recheck&outcome=${outcome}`));
    check('staff note empty', await st.post(`/staff/accounts/${ar1}/note`, { note: '' }));
    check('staff users errors', await st.post('/staff/users', { email: 'zly', role: 'nikt', password: 'x' }));
    check('staff bulk error', await st.post('/staff/jobs/confirm', { action: 'recheck', scope: 'selected' }));
    const confirm = await st.post('/staff/jobs/confirm', { action: 'review', scope: 'all', note: 'przegląd' });
    check('staff bulk confirm', confirm);
    const viewer = await staffOf(lang, 'podglad@wsparcie.example');
    check('staff forbidden', await viewer.post(`/staff/accounts/${ar1}/recheck`));

    assert.deepEqual(found, [], `${lang} pages with text of the other catalog:\n${found.join('\n')}`);
  }
  t.diagnostic(`${checked} pages and errors checked`);
  assert.ok(checked > 200);
});
