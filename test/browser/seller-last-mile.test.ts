import { after, before, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { build } from '../helpers/build.js';
import { launchChromium, screenshotDir } from '../helpers/browser.js';
import { freePort } from '../helpers/ports.js';
import { PROJECT_ROOT } from '../../src/config.js';
import { fileMxResolver } from '../../src/detection/mx-lookup.js';
import { loadDemoIfEmpty } from '../../src/demo/demo.js';
import { startGoogleSimulator } from '../../src/simulator/google/server.js';
import { readGoogleDemoFile } from '../../src/simulator/google/directory.js';
import { startSimulator } from '../../src/simulator/server.js';
import { provesNothingAboutPassword } from '../../src/mail/classify.js';
import { sourceWithBreaks } from '../../src/v3/templates-page.js';

/**
 * The seller's last mile (issue 25), on a 390 px phone without JavaScript, in Polish and in English:
 * no page and no failure shows an internal code; the language follows the browser before sign-in;
 * every refusal of Google's offers version 3 on the failure page itself; the demo's watch e-mail is
 * readable in the demo mailbox and its link leads to the fix.
 */
const DEMO_DIR = path.join(PROJECT_ROOT, 'data/demo');
const catalog = (lang: string) => JSON.parse(readFileSync(path.join(PROJECT_ROOT, `src/i18n/${lang}.json`), 'utf8')) as { mailErrors: Record<string, { title: string }> };
/** A code shown as text: MAIL_…, MIG_ERR_…, or a code name of the "no App passwords" help. */
const CODE = /\b(MAIL_[A-Z_]{3,}|MIG_ERR_[A-Z_]+|NO_APP_PASSWORDS)\b/;

/**
 * The words (runs of letters and digits) inside the templates' originals that the browser split across
 * two lines, with every original opened first: a phone may wrap HTML source between tags and after
 * punctuation, never inside a word.
 */
const WORDS_SPLIT_ACROSS_LINES = `(() => {
  for (const d of document.querySelectorAll('details')) d.open = true;
  const split = [];
  for (const box of document.querySelectorAll('pre.original')) {
    const walker = document.createTreeWalker(box, NodeFilter.SHOW_TEXT);
    for (let n = walker.nextNode(); n; n = walker.nextNode()) {
      for (const m of n.data.matchAll(/[\\p{L}\\p{N}]+/gu)) {
        const r = document.createRange();
        r.setStart(n, m.index);
        r.setEnd(n, m.index + m[0].length);
        if (new Set([...r.getClientRects()].map((x) => Math.round(x.top))).size > 1) split.push(m[0]);
      }
    }
  }
  return split;
})()`;

test('an HTML source shown to a seller is escaped piece by piece: its wrap points never make markup of it', () => {
  const shown = sourceWithBreaks('<img src="x" onerror="alert(1)"><script>alert(2)</script>a&amp;b');
  assert.doesNotMatch(shown.replace(/<wbr>/g, ''), /[<>"]/);
  assert.equal(shown.replace(/<wbr>/g, ''), '&lt;img src&#x3D;&quot;x&quot; onerror&#x3D;&quot;alert(1)&quot;&gt;&lt;script&gt;alert(2)&lt;/script&gt;a&amp;amp;b');
  assert.ok(shown.includes('&gt;<wbr>&lt;'), 'a break point between tags');
  assert.equal(sourceWithBreaks('dziękujemy za zakupy'), 'dziękujemy za zakupy', 'plain words get no break points');
});

let browser: Browser;
before(async () => {
  browser = await launchChromium();
});
after(async () => browser?.close());

async function demo(t: TestContext, env: Record<string, string> = {}) {
  const [port, simPort, imapPort, smtpPort, submissionPort] = [await freePort(), await freePort(), await freePort(), await freePort(), await freePort()];
  const base = `http://127.0.0.1:${port}`;
  const { app, config } = await build(t, {
    env: {
      DEMO: '1',
      PORT: String(port),
      PUBLIC_URL: base,
      ALLEGRO_SIMULATOR_PORT: String(simPort),
      GOOGLE_SIMULATOR_IMAP_PORT: String(imapPort),
      GOOGLE_SIMULATOR_SMTP_PORT: String(smtpPort),
      GOOGLE_SIMULATOR_SUBMISSION_PORT: String(submissionPort),
      GOOGLE_SIMULATOR_DIR: path.join(mkdtempSync(path.join(tmpdir(), 'last-mile-')), 'google-simulator'),
      SUPPORT_EMAIL: 'pomoc@sklepy-przykladowe.example',
      OPERATOR_NAME: 'Sklepy Przykładowe sp. z o.o.',
      ...env,
    },
    resolver: fileMxResolver(path.join(DEMO_DIR, 'mx.json')),
  });
  await loadDemoIfEmpty(app.services, config.demoDir);
  const google = await startGoogleSimulator(config.googleSimulator!, { demoDir: config.demoDir });
  t.after(() => google.close());
  const sim = await startSimulator(config);
  t.after(() => sim.close());
  await app.listen({ host: '127.0.0.1', port });
  return { app, base, repos: app.services.repos };
}

async function phone(t: TestContext, locale: string): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 1, javaScriptEnabled: false, locale });
  t.after(() => context.close());
  await context.route('**/*', (route) => (new URL(route.request().url()).hostname === '127.0.0.1' ? route.continue() : route.abort()));
  return context.newPage();
}

for (const lang of ['pl', 'en'] as const) {
  test(`every seller page and every failure, ${lang === 'pl' ? 'in Polish' : 'in English'}, on a phone without JavaScript: no internal code as text, version 3 offered at every refusal`, async (t) => {
    const { base, repos } = await demo(t);
    const page = await phone(t, lang === 'pl' ? 'pl-PL' : 'en-GB');
    const shots = screenshotDir(`seller-last-mile-${lang}`);
    const seen: string[] = [];
    /** The page's text scanned for codes; the page in the language; nothing wider than the phone. */
    const scan = async (name: string) => {
      const text = await page.evaluate('document.body.innerText');
      assert.doesNotMatch(String(text), CODE, `${name} (${page.url()}) shows a code as text`);
      assert.doesNotMatch(String(text), /\b(wszystkie|all) 2\b|wszystkie naraz/i, `${name}: two are "oba" / "both"`);
      assert.equal(await page.getAttribute('html', 'lang'), lang, `${name}: in ${lang}`);
      assert.equal(await page.evaluate('document.documentElement.scrollWidth <= window.innerWidth'), true, `${name}: nothing wider than the phone`);
      seen.push(name);
    };
    const shot = (name: string) => page.screenshot({ path: path.join(shots, `${name}.png`), fullPage: true });
    let htmlShot = false;
    let sawBoth = false;

    // Before sign-in: the browser's language, no choice made yet.
    await page.goto(`${base}/login`);
    await scan('login');
    await shot('01-login');
    await page.goto(`${base}/help`);
    await scan('help');
    const missing = await page.goto(`${base}/nie-ma-takiej-strony`);
    assert.equal(missing?.status(), 404);
    await scan('404');
    await shot('02-not-found');
    // The choice is made (and kept) with the switch, so every seller's pages are in this language.
    await page.goto(`${base}/?lang=${lang}`);

    for (const entry of readGoogleDemoFile(DEMO_DIR).signIn) {
      const seller = repos.sellers.findByExternalId(entry.seller)!;
      await page.goto(`${base}/login`);
      await page.locator(`form[action="/login/demo"]:has(input[name="seller"][value="${seller.id}"]) button`).click();
      await page.waitForURL(`${base}/migration`);
      await scan(`${entry.situation}: migration`);
      await shot(`10-${entry.situation}`);
      for (const box of repos.mailboxes.listBySeller(seller.id)) {
        for (const step of [1, 2, 3]) {
          await page.goto(`${base}/mailboxes/${box.id}/app-password/${step}`);
          await scan(`${entry.situation}: ${box.email} step ${step}`);
        }
        await page.goto(`${base}/mailboxes/${box.id}/app-password/help`);
        await scan(`${entry.situation}: ${box.email} no App passwords`);
        // Without JavaScript, "Kopiuj wiadomość" (a script's button) is not shown to do nothing.
        for (const copy of await page.locator('[data-copy]').all()) assert.equal(await copy.isVisible(), false, 'the copy button stays hidden without JavaScript');
      }
      for (const a of repos.autoresponders.listBySeller(seller.id)) {
        if (a.version === 3) {
          await page.goto(`${base}/autoresponders/${a.id}/v3/done`);
          await scan(`${entry.situation}: ${a.externalId} v3 done`);
        } else {
          // The templates step with every original open: the HTML source wraps, but never inside a word.
          await page.goto(`${base}/autoresponders/${a.id}/v3`);
          assert.deepEqual(await page.evaluate(WORDS_SPLIT_ACROSS_LINES), [], `${entry.situation}: ${a.externalId} templates: no word split across lines`);
          await scan(`${entry.situation}: ${a.externalId} v3 templates`);
          if ((await page.locator('.template').count()) === 2 && (await page.locator('nav.jump').count()) === 0) {
            assert.ok((await page.locator('p.notice').first().innerText()).startsWith(lang === 'pl' ? 'Oba szablony' : 'Both templates'), `${entry.situation}: two templates that fit are "oba"`);
            sawBoth = true;
          }
          if (!htmlShot && (await page.locator('pre.original', { hasText: '<img' }).count())) {
            htmlShot = true;
            for (const [i, pre] of (await page.locator('pre.original').all()).entries()) await pre.screenshot({ path: path.join(shots, `25-html-original-${i}.png`) });
          }
        }
      }
      // Each of Google's refusals: the failure page itself, without a code, with version 3 on it.
      const refusal = readGoogleDemoFile(DEMO_DIR).mailboxes[seller.email]?.refuse;
      if (refusal) {
        const box = repos.mailboxes.findBySellerAndEmail(seller.id, seller.email)!;
        await page.goto(`${base}/mailboxes/${box.id}/app-password/3`);
        await page.locator('#app_password').fill('demodemodemodemo');
        await page.locator('form[action$="/app-password"] button[type="submit"]').click();
        const alert = page.locator('#check-error');
        await alert.waitFor();
        await scan(`${entry.situation}: refusal`);
        await shot(`20-refusal-${entry.situation}`);
        assert.ok((await alert.locator('form[action$="/v3/start"] button').count()) >= 1, `${entry.situation}: version 3 offered on the failure page`);
        // The code travels in the contact link and the markup only, for support.
        const supportCode = await alert.locator('p.contact').getAttribute('data-support-code');
        assert.match(supportCode ?? '', /^MAIL_/, `${entry.situation}: the code is in the markup for support`);
        assert.match(decodeURIComponent((await alert.locator('p.contact a[href^="mailto:"]').getAttribute('href')) ?? ''), new RegExp(supportCode!), 'and inside the contact link');
        const title = catalog(lang).mailErrors[supportCode!]!.title;
        assert.ok((await alert.innerText()).includes(title), `${entry.situation}: says what happened: ${title}`);
        if (provesNothingAboutPassword(supportCode)) assert.ok(['MAIL_TOO_MANY_CONNECTIONS', 'MAIL_TOO_MANY_LOGINS'].includes(supportCode!), 'only the temporary refusals are not counted');
      }
      await page.locator('form[action="/logout"] button').click();
      // Signing out says so, and how to come back, in the language the seller was reading.
      await page.waitForURL(`${base}/login?notice=signed_out&lang=${lang}`);
      assert.ok((await page.locator('p.notice[role="status"]').innerText()).startsWith(lang === 'pl' ? 'Wylogowano Cię.' : 'You are signed out.'), `${entry.situation}: signing out says so`);
      if (!seen.includes('signed out')) {
        await scan('signed out');
        // The top of the page: the notice above the sign-in form (the demo's list below is long).
        await page.screenshot({ path: path.join(shots, '30-signed-out.png') });
      }
    }
    assert.ok(seen.length > 40, `${seen.length} pages scanned`);
    assert.ok(htmlShot && sawBoth, 'an HTML original and two templates that fit were on the walk');
  });
}

test('an English seller following the watch\'s e-mail from the demo mailbox: English from the first page, and the link leads to the fix ("naprawione")', async (t) => {
  const { app, base, repos } = await demo(t, { WATCH_ENABLED: '1', WATCH_SEND_HOURS: '0-24' });
  // The demo's first start: the watch finds Amber Gifts' app password revoked and e-mails her.
  const amber = repos.sellers.findByExternalId('S-1042')!;
  await app.watch.firstChecksNow();
  // The watch's lane runs in the background: wait (bounded) for its e-mail in the demo mailbox.
  const end = Date.now() + 90_000;
  while (!app.demo?.mailbox?.list().some((m) => m.to === amber.email) && Date.now() < end) await new Promise((r) => setTimeout(r, 200));
  assert.ok(app.demo?.mailbox?.list().some((m) => m.to === amber.email), 'the watch e-mailed Amber Gifts');
  assert.equal(amber.language, 'en');
  const box = repos.mailboxes.findBySellerAndEmail(amber.id, amber.email)!;

  // A Polish phone, no language chosen: the e-mail's link decides.
  const page = await phone(t, 'pl-PL');
  const shots = screenshotDir('seller-last-mile-watch');
  await page.goto(`${base}/login`);
  await page.locator('a[href="/demo/mailbox"]').click();
  const mail = page.locator('.demo-mailbox li', { hasText: 'Your Allegro autoresponder stopped answering buyers' }).first();
  await mail.waitFor();
  assert.ok((await mail.innerText()).includes(amber.email.split('@')[0]!), 'the watch\'s e-mail to Amber Gifts');
  await page.screenshot({ path: path.join(shots, '01-demo-mailbox.png'), fullPage: true });
  await mail.locator('a[href*="/login/verify?"]').click();
  assert.equal(await page.getAttribute('html', 'lang'), 'en', 'the first page the link opens is in English');
  assert.equal(await page.getByText('Potwierdź logowanie').count(), 0);
  await page.screenshot({ path: path.join(shots, '02-first-page-english.png'), fullPage: true });
  await page.locator('form[action="/login/verify"] button').click();
  await page.waitForURL(`${base}/mailboxes/${box.id}/app-password/2`);
  assert.equal(await page.getAttribute('html', 'lang'), 'en');
  await page.goto(`${base}/mailboxes/${box.id}/app-password/3`);
  await page.locator('#app_password').fill('demo demo demo demo');
  await page.locator('form[action$="/app-password"] button[type="submit"]').click();
  await page.waitForURL(`${base}/mailboxes/${box.id}/app-password/4`);
  await page.goto(`${base}/migration`);
  const card = page.locator('.card', { hasText: amber.email.split('@')[0]! }).first();
  assert.match(await card.innerText(), /Worked until .+ at \d\d:\d\d, fixed on .+ at \d\d:\d\d\./);
  // The same page in Polish, by the switch: "naprawione", with its time.
  await page.locator(`a[hreflang="pl"]`).click();
  assert.match(await page.locator('.card', { hasText: amber.email.split('@')[0]! }).first().innerText(), /Działało do .+ o \d\d:\d\d, naprawione .+ o \d\d:\d\d\./);
  await page.screenshot({ path: path.join(shots, '03-fixed-pl.png'), fullPage: true });
});
