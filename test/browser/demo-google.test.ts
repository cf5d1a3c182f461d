import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { build } from '../helpers/build.js';
import { launchChromium, screenshotDir } from '../helpers/browser.js';
import { assertAccessible } from '../helpers/axe.js';
import { freePort } from '../helpers/ports.js';
import { PROJECT_ROOT } from '../../src/config.js';
import { fileMxResolver } from '../../src/detection/mx-lookup.js';
import { loadDemoIfEmpty } from '../../src/demo/demo.js';
import { startGoogleSimulator } from '../../src/simulator/google/server.js';

const DEMO_DIR = path.join(PROJECT_ROOT, 'data/demo');
const pl = JSON.parse(readFileSync(path.join(PROJECT_ROOT, 'src/i18n/pl.json'), 'utf8')) as {
  wizard: { s4: Record<string, string> };
  mailErrors: Record<string, { title: string; next: string }>;
};

let browser: Browser;
before(async () => {
  browser = await launchChromium();
});
after(async () => browser?.close());

/** "W skrzynce odbiorczej są 7 wiadomości." — the catalog's plural form for n, as the page says it. */
const countText = (n: number) => pl.wizard.s4[`count_${new Intl.PluralRules('pl').select(n)}`]!.replace('{{count}}', String(n));

test('the demo offline on a phone: one-click sign-in, the app password accepted by the Google simulator, "Pobierz e-maile", and every refusal with its advice', async (t) => {
  const [port, imapPort, smtpPort, submissionPort] = [await freePort(), await freePort(), await freePort(), await freePort()];
  const base = `http://127.0.0.1:${port}`;
  // The demo as `npm start` runs it: demo data, and Gmail played by the Google simulator on loopback.
  const { app, config } = await build(t, {
    env: {
      DEMO: '1',
      PORT: String(port),
      PUBLIC_URL: base,
      GOOGLE_SIMULATOR_IMAP_PORT: String(imapPort),
      GOOGLE_SIMULATOR_SMTP_PORT: String(smtpPort),
      GOOGLE_SIMULATOR_SUBMISSION_PORT: String(submissionPort),
      GOOGLE_SIMULATOR_DIR: path.join(mkdtempSync(path.join(tmpdir(), 'demo-google-')), 'google-simulator'),
    },
    resolver: fileMxResolver(path.join(DEMO_DIR, 'mx.json')),
  });
  await loadDemoIfEmpty(app.services, config.demoDir);
  const google = await startGoogleSimulator(config.googleSimulator!, { demoDir: config.demoDir });
  t.after(() => google.close());
  await app.listen({ host: '127.0.0.1', port });
  const { repos } = app.services;

  const shots = screenshotDir('demo-google');
  const context = await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 1, locale: 'pl-PL' });
  t.after(() => context.close());
  // Nothing but this machine's loopback may be asked for anything.
  const outside: string[] = [];
  await context.route('**/*', (route) => {
    const url = new URL(route.request().url());
    if (url.hostname === '127.0.0.1') return route.continue();
    outside.push(url.href);
    return route.abort();
  });
  const page = await context.newPage();
  const shot = (name: string) => page.screenshot({ path: path.join(shots, `${name}.png`), fullPage: true });
  const check = async (name: string) => {
    await shot(name);
    await assertAccessible(page, name);
    assert.equal(await page.evaluate('document.documentElement.scrollWidth <= window.innerWidth'), true, `${name}: nothing wider than the phone`);
  };

  // ---- the way through: Gmail, affected ------------------------------------------------------
  const anna = repos.sellers.findByExternalId('S-1001')!;
  const annaBox = repos.mailboxes.findBySellerAndEmail(anna.id, 'anna.nowak.sklep@gmail.com')!;
  await page.goto(`${base}/login`);
  assert.ok(await page.getByText('Symulator Google').first().isVisible());
  assert.equal(await page.locator('code.app-password').innerText(), 'demo demo demo demo');
  await check('01-demo-sign-in');
  await page.getByRole('button', { name: `Zaloguj jako ${anna.name}` }).click();
  await page.getByRole('heading', { name: 'Twoje autorespondery' }).waitFor();
  await check('02-migration-page');

  await page.getByRole('button', { name: `Użyj hasła do aplikacji dla ${annaBox.email}` }).click();
  await page.getByText('Krok 1 z 4').waitFor();
  await check('03-step1');
  await page.getByRole('link', { name: 'Dalej' }).click();
  await page.getByText('Krok 2 z 4').waitFor();
  await page.getByRole('link', { name: 'Dalej' }).click();
  await page.getByText('Krok 3 z 4').waitFor();
  assert.ok(await page.getByText(/Tryb demo: logowanie do skrzynki odbywa się w Symulatorze Google/).isVisible());
  await check('04-step3');
  await page.getByLabel('Hasło do aplikacji (16 liter)').fill('demo demo demo demo');
  await page.getByRole('button', { name: 'Sprawdź i zapisz' }).click();
  await page.getByText('Krok 4 z 4').waitFor();
  assert.equal(repos.mailboxes.getById(annaBox.id)!.secretKind, 'app_password', 'saved after a real IMAP and SMTP login');
  await check('05-step4');

  await page.getByRole('button', { name: 'Pobierz e-maile' }).click();
  const inbox = google.directory.inbox(annaBox.email);
  await page.getByText(countText(inbox.length)).waitFor();
  const newestAllegro = inbox.filter((m) => m.fromAddress.endsWith('@allegro.pl')).at(-1)!;
  assert.ok(await page.getByRole('cell', { name: newestAllegro.subject }).first().isVisible());
  await check('06-fetched-mail');
  await page.getByRole('link', { name: 'Wróć do listy autoresponderów' }).first().click();
  assert.ok(await page.getByText('Połączono hasłem do aplikacji').first().isVisible());
  assert.equal(repos.migrations.findByAutoresponder(repos.autoresponders.findByExternalId('AR-2001')!.id)!.state, 'relinked_app_password');

  // ---- each of Google's refusals, with its advice ----------------------------------------------
  const refusals: [string, string][] = [
    ['S-1008', 'MAIL_APP_PASSWORD_REQUIRED'],
    ['S-1017', 'MAIL_AUTH_FAILED'],
    ['S-1002', 'MAIL_WEB_LOGIN_REQUIRED'],
    ['S-1045', 'MAIL_IMAP_DISABLED'],
    ['S-1022', 'MAIL_IMAP_DISABLED'],
    ['S-1005', 'MAIL_TOO_MANY_CONNECTIONS'],
    ['S-1007', 'MAIL_TOO_MANY_LOGINS'],
  ];
  for (const [externalId, code] of refusals) {
    const seller = repos.sellers.findByExternalId(externalId)!;
    const box = repos.mailboxes.findBySellerAndEmail(seller.id, seller.email)!;
    await page.getByRole('button', { name: 'Wyloguj się' }).click();
    await page.goto(`${base}/login`);
    await page.getByRole('button', { name: `Zaloguj jako ${seller.name}` }).click();
    await page.getByRole('heading', { name: 'Twoje autorespondery' }).waitFor();
    await page.goto(`${base}/mailboxes/${box.id}/app-password/3`);
    await page.getByLabel('Hasło do aplikacji (16 liter)').fill('demodemodemodemo');
    await page.getByRole('button', { name: 'Sprawdź i zapisz' }).click();
    const alert = page.locator('#check-error');
    await alert.waitFor();
    const text = await alert.innerText();
    assert.ok(text.includes(pl.mailErrors[code]!.title) && text.includes(pl.mailErrors[code]!.next), `${externalId}: ${code} advice shown:\n${text}`);
    assert.doesNotMatch(text, /ENOTFOUND|getaddrinfo/);
    assert.notEqual(repos.mailboxes.getById(box.id)!.secretKind, 'app_password', `${externalId}: nothing saved`);
    await check(`07-refusal-${externalId}-${code}`);
  }
  assert.deepEqual(outside, [], 'the browser asked for nothing outside this machine');
});
