import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { build } from '../helpers/build.js';
import { launchChromium, screenshotDir } from '../helpers/browser.js';
import { assertAccessible } from '../helpers/axe.js';
import { freePort } from '../helpers/ports.js';
import { createStaff, STAFF_PASSWORD } from '../helpers/staff.js';

/**
 * Issue 24, item 5: the users page as an admin uses it. A message after every change; unlock of a
 * locked-out colleague (no 15 minutes' wait) and a new password set by the admin (the colleague's
 * session ends), both audited; a confirmation before demoting another admin or oneself; and a
 * self-demoted admin meets a 403 page of the console's own style. Axe and screenshots at 1366 and 390 px.
 */
let browser: Browser;
before(async () => {
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
});

test('users: messages after changes, unlock and a new password (sessions end), confirmations before taking admin rights, a staff 403', async (t) => {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const { app } = await build(t, { env: { PUBLIC_URL: base } });
  const s = app.services;
  await createStaff(s, 'szefowa@wsparcie.example', 'admin');
  const colleague = await createStaff(s, 'kasia@wsparcie.example', 'agent');
  await createStaff(s, 'drugi.admin@wsparcie.example', 'admin');
  await app.listen({ host: '127.0.0.1', port });
  const shots = screenshotDir('staff-users');
  const bothWidths = async (p: Page, name: string) => {
    for (const width of [1366, 390]) {
      await p.setViewportSize({ width, height: width === 390 ? 844 : 900 });
      await assertAccessible(p, `${name} at ${width} px`);
      assert.equal(await p.evaluate('document.documentElement.scrollWidth > window.innerWidth'), false, `${name} at ${width} px: no sideways scrolling`);
      await p.screenshot({ path: path.join(shots, `${name}-${width}.png`), fullPage: true });
    }
    await p.setViewportSize({ width: 1366, height: 900 });
  };
  const signIn = async (p: Page, email: string, password = STAFF_PASSWORD) => {
    await p.goto(`${base}/staff/login`);
    await p.getByLabel('E-mail służbowy').fill(email);
    await p.getByLabel('Hasło').fill(password);
    await p.getByRole('button', { name: 'Zaloguj się do panelu' }).click();
  };

  // The colleague is signed in on their own computer.
  const kasiaContext = await browser.newContext({ locale: 'pl-PL' });
  t.after(() => kasiaContext.close());
  const kasia = await kasiaContext.newPage();
  await signIn(kasia, 'kasia@wsparcie.example');
  await kasia.getByRole('heading', { name: 'Przegląd migracji' }).waitFor();

  const context = await browser.newContext({ viewport: { width: 1366, height: 900 }, locale: 'pl-PL' });
  t.after(() => context.close());
  const page = await context.newPage();
  await signIn(page, 'szefowa@wsparcie.example');
  await page.goto(`${base}/staff/users`);

  // A message after a new account.
  await page.getByLabel('E-mail służbowy').fill('nowy@wsparcie.example');
  await page.getByLabel('Hasło startowe').fill('Nowe-Haslo-Pracownika-1');
  await page.getByRole('button', { name: 'Dodaj pracownika' }).click();
  assert.equal(await page.locator('#done').innerText(), 'Dodano konto nowy@wsparcie.example.');

  // Five wrong passwords lock an address out; the admin sees it and lifts it at once.
  for (let i = 0; i < 5; i++) await s.repos.staff.recordFailure('kasia@wsparcie.example');
  await page.goto(`${base}/staff/users`);
  assert.match(await page.locator(`#locked-${colleague}`).innerText(), /^logowanie zablokowane do /);
  // Styled as a warning (app.css's .warning: amber bar and background), not as plain text.
  const lockStyle = await page.locator(`#locked-${colleague}`).evaluate((el) => {
    const cs = (globalThis as unknown as { getComputedStyle(e: unknown): { backgroundColor: string; borderLeftWidth: string } }).getComputedStyle(el);
    return { cls: el.className, bg: cs.backgroundColor, border: cs.borderLeftWidth };
  });
  assert.deepEqual(lockStyle, { cls: 'warning', bg: 'rgb(255, 247, 230)', border: '4px' });
  await bothWidths(page, '1-users-locked');
  await page.getByRole('button', { name: 'Odblokuj logowanie kasia@wsparcie.example' }).click();
  assert.equal(await page.locator('#done').innerText(), 'Odblokowano logowanie konta kasia@wsparcie.example.');
  assert.equal(await page.locator(`#locked-${colleague}`).count(), 0);
  assert.ok(s.repos.audit.listForTarget('staff', colleague).some((e) => e.action === 'staff.unlocked'));

  // A new password set by the admin: the colleague's session ends.
  await page.locator(`details:has(#password-${colleague}) summary`).click();
  await page.getByLabel('Nowe hasło dla kasia@wsparcie.example').fill('Inne-Haslo-Kasi-2026');
  await page.locator(`details:has(#password-${colleague})`).getByRole('button', { name: 'Ustaw hasło' }).click();
  assert.match(await page.locator('#done').innerText(), /^Ustawiono nowe hasło konta kasia@wsparcie\.example; jego sesje zostały zakończone\./);
  assert.ok(s.repos.audit.listForTarget('staff', colleague).some((e) => e.action === 'staff.password_set'));
  await kasia.goto(`${base}/staff/accounts`);
  assert.match(kasia.url(), /\/staff\/login\?next=/, "the colleague's old session ended");
  await signIn(kasia, 'kasia@wsparcie.example', 'Inne-Haslo-Kasi-2026');
  await kasia.getByRole('heading', { name: 'Przegląd migracji' }).waitFor();

  // Demoting another admin is asked first, naming what follows.
  await page.getByLabel('Rola dla drugi.admin@wsparcie.example').selectOption('agent');
  await page.locator('form.row-form').filter({ has: page.getByLabel('Rola dla drugi.admin@wsparcie.example') }).getByRole('button').click();
  await page.getByRole('heading', { name: 'Odebrać uprawnienia administratora kontu drugi.admin@wsparcie.example?' }).waitFor();
  assert.match(await page.locator('#confirm-risk').innerText(), /ma rolę administratora/);
  await bothWidths(page, '2-confirm-demote-other');
  await page.getByRole('link', { name: 'Anuluj i wróć do listy' }).click();
  assert.equal(s.repos.staff.findByEmail('drugi.admin@wsparcie.example')!.role, 'admin', 'nothing changed without the confirmation');

  // Demoting oneself: asked first; afterwards the users page is a staff-styled 403.
  await page.getByLabel('Rola dla szefowa@wsparcie.example').selectOption('viewer');
  await page.locator('form.row-form').filter({ has: page.getByLabel('Rola dla szefowa@wsparcie.example') }).getByRole('button').click();
  assert.match(await page.locator('#confirm-risk').innerText(), /To Twoje własne konto/);
  await bothWidths(page, '3-confirm-demote-self');
  await page.getByRole('button', { name: /Tak, zmień rolę szefowa@wsparcie\.example/ }).click();
  assert.match(page.url(), /\/staff\?selfChanged=role$/);
  const res = await page.goto(`${base}/staff/users`);
  assert.equal(res!.status(), 403);
  await page.getByRole('heading', { name: 'Ta strona jest niedostępna dla Twojej roli' }).waitFor();
  assert.equal(await page.locator('nav.staff-nav').count(), 1, 'the console menu is there');
  assert.match(await page.locator('main').innerText(), /Twoja rola to „podgląd”, a ta strona wymaga roli „administrator”\./);
  assert.doesNotMatch(await page.locator('main').innerText(), /podaj kod/i);
  await bothWidths(page, '4-forbidden');
});
