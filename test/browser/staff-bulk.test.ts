import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { build } from '../helpers/build.js';
import { launchChromium, screenshotDir } from '../helpers/browser.js';
import { startDovecot, type Dovecot } from '../helpers/dovecot.js';
import { startSmtp, type TestSmtp } from '../helpers/smtp.js';
import { freePort } from '../helpers/ports.js';
import { testCert } from '../helpers/tls.js';
import { createStaff, seedAccounts, STAFF_PASSWORD, waitForJob, type SeedAccount } from '../helpers/staff.js';

const GOOD = 'wxyzwxyzwxyzwxyz';
let dovecot: Dovecot;
/** The mailboxes' SMTP: a re-check logs in over IMAP and SMTP (checks/). */
let smtp: TestSmtp;
let browser: Browser;

before(async () => {
  dovecot = await startDovecot(Array.from({ length: 30 }, (_, i) => ({ user: `sklep${i}@gmail.com`, password: GOOD })));
  smtp = await startSmtp({ security: 'tls', users: Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`sklep${i}@gmail.com`, GOOD])) });
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
  await dovecot?.stop();
  await smtp?.stop();
});

test('support agent: sign in, filter the list, re-check all matching, confirm the exact count, watch the job to its summary (no JavaScript)', async (t) => {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const { app } = await build(t, { env: { PUBLIC_URL: base, MAIL_TLS_CA_FILE: testCert().certFile, MAIL_ADDRESS_ALLOWLIST: '127.0.0.1', MAIL_PORT_ALLOWLIST: `${dovecot.port},${smtp.port}`, MIGRATION_DEADLINE: '2027-03-31', BULK_CONCURRENCY: '2', BULK_PER_HOST_CONCURRENCY: '2' } });
  const s = app.services;
  const accounts: SeedAccount[] = Array.from({ length: 30 }, (_, i) => ({
    name: i === 0 ? 'Hurtownia ŁÓDŹ' : `Sklep ${i}`,
    email: `sklep${i}@gmail.com`,
    login: `sklep_${i}`,
    mailbox: `sklep${i}@gmail.com`,
    imapHost: '127.0.0.1',
    imapPort: dovecot.port,
    smtpPort: smtp.port,
    secret: i % 6 === 0 ? 'stare-haslo-konta' : GOOD,
    secretKind: i % 6 === 0 ? 'account_password' : 'app_password',
    state: i % 6 === 0 ? 'affected' : 'relinked_app_password',
  }));
  accounts.push(...Array.from({ length: 10 }, (_, i) => ({ name: `Outlook ${i}`, email: `o${i}@firma.pl`, mailbox: `o${i}@firma.pl`, provider: 'workspace' as const, version: 1 as const })));
  seedAccounts(s, accounts);
  await createStaff(s, 'agnieszka@wsparcie.example', 'agent');
  await app.listen({ host: '127.0.0.1', port });

  // JavaScript off: the console must work with plain links and forms (the progress page has a link to refresh it).
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, javaScriptEnabled: false, locale: 'pl-PL' });
  t.after(() => context.close());
  const page = await context.newPage();
  const shots = screenshotDir('staff-bulk');
  const shot = (name: string) => page.screenshot({ path: path.join(shots, `${name}.png`), fullPage: true });

  await page.goto(`${base}/staff/accounts?provider=gmail`);
  assert.match(page.url(), /\/staff\/login\?next=/);
  await page.getByLabel('E-mail służbowy').fill('agnieszka@wsparcie.example');
  await page.getByLabel('Hasło').fill(STAFF_PASSWORD);
  await shot('1-sign-in');
  await page.getByRole('button', { name: 'Zaloguj się do panelu' }).click();
  assert.match(page.url(), /\/staff\/accounts\?provider=gmail$/);

  // Search with Polish letters, in lower case.
  await page.getByLabel('Szukaj').fill('łódź');
  await page.getByRole('button', { name: 'Filtruj listę' }).click();
  assert.match(await page.locator('.summary').innerText(), /^1 autoresponder/);
  await page.getByRole('link', { name: 'Wyczyść filtry' }).click();
  await page.getByLabel('Dostawca poczty').selectOption('gmail');
  await page.getByRole('button', { name: 'Filtruj listę' }).click();
  assert.match(await page.locator('.summary').innerText(), /^30 autoresponderów · strona 1 z 2/);
  await shot('2-list-filtered');

  await page.getByLabel('Działanie', { exact: true }).selectOption('recheck');
  await page.getByLabel(/Wszystkie pasujące do filtra \(30\)/).check();
  await page.getByRole('button', { name: 'Dalej: potwierdź' }).click();
  await page.getByRole('heading', { name: 'Sprawdzić połączenie 30 autoresponderów?' }).waitFor();
  await shot('3-confirm');
  await page.getByRole('button', { name: 'Tak, sprawdź 30' }).click();
  assert.match(page.url(), /\/staff\/jobs\/\d+$/);
  await shot('4-progress');

  // Without a script the page never reloads by itself (no meta refresh): the agent follows "Odśwież teraz".
  assert.equal(await page.locator('meta[http-equiv="refresh"]').count(), 0);
  await waitForJob(app, Number(/\d+$/.exec(page.url())![0]), 60_000);
  await page.getByRole('link', { name: 'Odśwież teraz' }).click();
  await page.getByRole('heading', { name: 'Podsumowanie' }).waitFor();
  assert.match(await page.locator('.progress-label').innerText(), /Postęp: 30 z 30 \(100%\)/);
  const summary = await page.locator('main').innerText();
  assert.match(summary, /25\s+wykonane/);
  assert.match(summary, /5\s+nieudane/);
  assert.match(summary, /MAIL_AUTH_FAILED/);
  await shot('5-summary');

  // From the summary to one failed account and its check history.
  await page.locator('main ul.list a').first().click();
  await page.getByRole('heading', { name: 'Sprawdzenia połączenia' }).waitFor();
  assert.match(await page.locator('main').innerText(), /zadanie zbiorcze/);
  await shot('6-account');

  // The overview at phone width.
  const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, javaScriptEnabled: false, storageState: await context.storageState() });
  t.after(() => phone.close());
  const p2 = await phone.newPage();
  await p2.goto(`${base}/staff`);
  await p2.getByRole('heading', { name: 'Przegląd migracji' }).waitFor();
  assert.match(await p2.locator('.countdown').innerText(), /Do terminu 31 mar 2027/);
  const overflow = await p2.evaluate('document.documentElement.scrollWidth > window.innerWidth').catch(() => null);
  if (overflow !== null) assert.equal(overflow, false, 'no sideways scrolling on a phone');
  await p2.screenshot({ path: path.join(shots, '7-overview-phone.png'), fullPage: true });
});
