import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { build } from '../helpers/build.js';
import { launchChromium, screenshotDir } from '../helpers/browser.js';
import { assertAccessible } from '../helpers/a11y.js';
import { freePort } from '../helpers/ports.js';
import { createStaff, seedAccounts, STAFF_PASSWORD, waitForJob, type SeedAccount } from '../helpers/staff.js';

let browser: Browser;
before(async () => {
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
});

test('support agent at 1366 px: select all on the page → the confirmation names the accounts → the job → "ponów nieudane" → its summary; every page passes axe (WCAG 2.1 AA)', async (t) => {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const { app } = await build(t, { env: { PUBLIC_URL: base, MIGRATION_DEADLINE: '2027-03-31', BULK_CONCURRENCY: '4', BULK_RETRY_BASE_MS: '1', MAIL_ADDRESS_ALLOWLIST: '127.0.0.1', MAIL_PORT_ALLOWLIST: '9' } });
  const s = app.services;
  // 12 mailboxes whose server is down (nothing listens on port 9: every re-check fails), 18 with no
  // stored password (skipped). Names sort so that the first page holds both kinds.
  const accounts: SeedAccount[] = Array.from({ length: 30 }, (_, i) => ({
    name: `${i % 5 < 2 ? 'Hurtownia' : 'Sklep'} ${['Łódź', 'Kraków', 'Gdańsk', 'Poznań', 'Wrocław'][i % 5]} ${String(i).padStart(2, '0')}`,
    email: `bardzo.dlugi.adres.sprzedawcy.${i}@przyklad-sklepu-internetowego.pl`,
    login: `sklep_${i}`,
    mailbox: `skrzynka.obslugi.klienta.${i}@gmail.com`,
    imapHost: '127.0.0.1',
    imapPort: 9,
    ...(i % 5 < 2 ? { secret: 'stare-haslo-konta', secretKind: 'account_password' as const } : {}),
  }));
  const rows = seedAccounts(s, accounts);
  // A little history for the funnel: some sellers reminded, a few signed in since.
  const staffId = await createStaff(s, 'agnieszka@wsparcie.example', 'agent');
  rows.slice(0, 20).forEach((r) => s.repos.reminders.set(s.repos.reminders.begin({ sellerId: r.sellerId, jobId: null, itemId: null, staffId }), 'sent'));
  rows.slice(0, 8).forEach((r) => s.repos.sellers.markSeen(r.sellerId));
  await app.listen({ host: '127.0.0.1', port });

  const context = await browser.newContext({ viewport: { width: 1366, height: 768 }, javaScriptEnabled: false, locale: 'pl-PL' });
  t.after(() => context.close());
  const page = await context.newPage();
  const shots = screenshotDir('staff-console');
  const visit = async (p: Page, name: string) => {
    await p.screenshot({ path: path.join(shots, `${name}.png`), fullPage: true });
    await assertAccessible(browser, p, name);
  };

  await page.goto(`${base}/staff`);
  await page.getByLabel('E-mail służbowy').fill('agnieszka@wsparcie.example');
  await page.getByLabel('Hasło').fill(STAFF_PASSWORD);
  await page.getByRole('button', { name: 'Zaloguj się do panelu' }).click();
  await page.getByRole('heading', { name: 'Lejek migracji' }).waitFor();
  assert.equal(await page.locator('.staff-nav a[aria-current="page"]').innerText(), 'Przegląd');
  await visit(page, '1-overview-funnel');

  await page.getByRole('link', { name: 'Konta', exact: true }).click();
  assert.match(await page.locator('.summary').innerText(), /^30 autoresponderów · strona 1 z 2/);
  await page.getByRole('link', { name: 'Zaznacz wszystkie na tej stronie (25)' }).click();
  assert.equal(await page.locator('input[name="ids"]:checked').count(), 25);
  await visit(page, '2-list-all-selected');
  // The bulk bar sits above the rows: reachable without scrolling past them.
  const bar = await page.locator('fieldset.bulk').boundingBox();
  const table = await page.locator('table.accounts').boundingBox();
  assert.ok(bar && table && bar.y < table.y && bar.y < 768, 'the bulk actions are above the table, on the first screen');
  // "Wersja" stays one word, e-mails break only at their dots and @.
  assert.equal(await page.locator('th', { hasText: 'Wersja' }).evaluate((el) => el.getClientRects().length).catch(() => 1), 1);
  await page.getByLabel('Działanie', { exact: true }).selectOption('recheck');
  await page.getByRole('button', { name: 'Dalej: potwierdź' }).click();
  await page.getByRole('heading', { name: 'Sprawdzić połączenie 25 autoresponderów?' }).waitFor();
  const named = await page.locator('ul.confirm-list li a').allInnerTexts();
  assert.equal(named.length, 25, 'the confirmation names every account');
  assert.ok(named.includes('Hurtownia Łódź 00'));
  await visit(page, '3-confirm-names');

  await page.getByRole('button', { name: 'Tak, sprawdź 25' }).click();
  assert.match(page.url(), /\/staff\/jobs\/\d+$/);
  // Without JavaScript the running job's page does not reload itself: its "Odśwież teraz" link does.
  for (let i = 0; i < 120 && !(await page.getByRole('heading', { name: 'Podsumowanie' }).isVisible()); i++) {
    await page.waitForTimeout(500);
    const refresh = page.getByRole('link', { name: 'Odśwież teraz' });
    if (await refresh.isVisible()) await refresh.click();
  }
  await page.getByRole('heading', { name: 'Podsumowanie' }).waitFor({ timeout: 5_000 });
  const summary = await page.locator('main').innerText();
  assert.match(summary, /serwer poczty nie przyjął połączenia\s+MAIL_CONNECTION_REFUSED/);
  assert.match(summary, /brak zapisanego hasła — nie ma czym się zalogować\s+MIG_ERR_NO_SECRET/);
  const failed = Number(/(\d+)\s+nieudane/.exec(summary)![1]);
  assert.ok(failed > 0);
  await visit(page, '4-summary');

  await page.getByRole('button', { name: `Ponów nieudane (${failed})` }).click();
  await page.getByRole('heading', { name: `Sprawdzić połączenie ${failed} autoresponderów?` }).waitFor();
  assert.equal(await page.locator('ul.confirm-list li').count(), failed);
  await visit(page, '5-retry-confirm');
  await page.getByRole('button', { name: `Tak, sprawdź ${failed}` }).click();
  // Without JavaScript the running job's page does not reload itself: its "Odśwież teraz" link does.
  for (let i = 0; i < 120 && !(await page.getByRole('heading', { name: 'Podsumowanie' }).isVisible()); i++) {
    await page.waitForTimeout(500);
    const refresh = page.getByRole('link', { name: 'Odśwież teraz' });
    if (await refresh.isVisible()) await refresh.click();
  }
  await page.getByRole('heading', { name: 'Podsumowanie' }).waitFor({ timeout: 5_000 });
  assert.match(await page.locator('main').innerText(), /Ponowienie nieudanych pozycji z zadania #\d+/);
  assert.match(await page.locator('.progress-label').innerText(), new RegExp(`Postęp: ${failed} z ${failed} \\(100%\\)`));
  await visit(page, '6-retry-summary');

  // One of them: the history in sentences, and what the seller sees.
  await page.locator('ul.problems a').first().click();
  await page.getByRole('heading', { name: 'Historia' }).waitFor();
  assert.match(await page.locator('.timeline').innerText(), /Pracownik wsparcia agnieszka@wsparcie\.example zlecił|Zadanie zbiorcze #\d+ \(sprawdzenie połączeń\) nie powiodło się: serwer poczty nie przyjął połączenia/);
  await visit(page, '7-account');
  // "szczegóły" opens labelled lines (Warsaw time, names), not JSON; an error code is never broken inside, even at 390 px.
  await page.locator('.timeline details.raw summary').first().click();
  const details = await page.locator('.timeline details.raw').first().innerText();
  assert.match(details, /Kto\s+\S[\s\S]*Kiedy\s+\d{1,2} [a-ząćęłńóśźż]{3} \d{4}, \d{2}:\d{2}/);
  assert.doesNotMatch(details, /[{}"]|\d{4}-\d{2}-\d{2}T/);
  await page.setViewportSize({ width: 390, height: 844 });
  assert.equal(await page.evaluate('document.documentElement.scrollWidth > window.innerWidth'), false, 'the account page at 390 px: no sideways scrolling');
  const codeLines = (await page.evaluate(`[...document.querySelectorAll('code.code')].filter((c) => c.getClientRects().length).map((c) => c.getBoundingClientRect().height <= 2 * parseFloat(getComputedStyle(c).fontSize))`)) as boolean[];
  assert.ok(codeLines.length > 0 && codeLines.every(Boolean), 'every code on one line of its own size');
  await visit(page, '7-account-390');
  await page.setViewportSize({ width: 1366, height: 768 });
  await page.getByRole('link', { name: 'Co widzi sprzedawca' }).click();
  await page.getByRole('heading', { name: 'Co widzi sprzedawca', level: 1 }).waitFor();
  assert.equal(await page.locator('.seller-preview form').count(), 0);
  await visit(page, '8-seller-view');
});
