import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { build } from '../helpers/build.js';
import { launchChromium, screenshotDir } from '../helpers/browser.js';
import { assertAccessible } from '../helpers/axe.js';
import { freePort } from '../helpers/ports.js';
import { createStaff, seedAccounts, STAFF_PASSWORD } from '../helpers/staff.js';

/**
 * Issue 24, "Co powiedzieć sprzedawcy", as an agent on the phone with a seller: a v3 seller (in
 * English) whose Allegro access was withdrawn and an app-password seller (in Polish) whose password
 * Google refused each get their own cause, next step and ready message, in the seller's language, at
 * 1366 and 390 px; every page passes axe; screenshots in test-output/screenshots/staff-say.
 */
let browser: Browser;
before(async () => {
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
});

test('the account page says what to tell a v3 seller and an app-password seller, in their language, at 1366 and 390 px', async (t) => {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const { app } = await build(t, { env: { PUBLIC_URL: base, MIGRATION_DEADLINE: '2027-03-31' } });
  const s = app.services;
  const [v3, mail] = seedAccounts(s, [
    { name: 'Amber Gifts', email: 'amber@example.com', login: 'amber_gifts', language: 'en', version: 3, state: 'switched_v3' },
    { name: 'Sklep Żółw', email: 'zolw@gmail.com', login: 'zolw_sklep', mailbox: 'zolw@gmail.com', secret: 'abcdabcdabcdabcd', secretKind: 'app_password', state: 'relinked_app_password' },
  ]);
  s.migrationService.transition(s.repos.migrations.findByAutoresponder(v3!.autoresponderId)!.id, 'needs_attention', 'needs_attention', { actor: { type: 'system' }, reason: 'authorize_again', errorCode: 'invalid_grant' });
  s.repos.connectionChecks.record({ mailboxId: mail!.mailboxId, autoresponderId: mail!.autoresponderId, kind: 'mail', trigger: 'watch', ok: false, code: 'MAIL_AUTH_FAILED', protocol: 'imap', detail: '[AUTHENTICATIONFAILED] Invalid credentials' });
  s.migrationService.transition(s.repos.migrations.findByAutoresponder(mail!.autoresponderId)!.id, 'needs_attention', 'needs_attention', { actor: { type: 'system' }, reason: 'app_password_rejected', errorCode: 'MAIL_AUTH_FAILED' });
  await createStaff(s, 'ola@wsparcie.example', 'agent');
  await app.listen({ host: '127.0.0.1', port });
  const shots = screenshotDir('staff-say');

  for (const width of [1366, 390]) {
    const context = await browser.newContext({ viewport: { width, height: 900 }, locale: 'pl-PL' });
    t.after(() => context.close());
    const page = await context.newPage();
    await page.goto(`${base}/staff/login`);
    await page.getByLabel('E-mail służbowy').fill('ola@wsparcie.example');
    await page.getByLabel('Hasło').fill(STAFF_PASSWORD);
    await page.getByRole('button', { name: 'Zaloguj się do panelu' }).click();
    await page.getByRole('heading', { name: 'Przegląd migracji' }).waitFor();

    await page.goto(`${base}/staff/accounts/${v3!.autoresponderId}`);
    const sayV3 = page.locator('#say');
    assert.match(await sayV3.innerText(), /wersja 3 \(bez hasła\)[\s\S]*angielski/);
    assert.match(await page.locator('#say-next').innerText(), /Sign in to Allegro on the migration page and approve the access again/);
    await page.locator('#say summary').click();
    const msgV3 = await page.locator('#say-message').innerText();
    assert.match(msgV3, /^Hello,/);
    assert.doesNotMatch(msgV3, /mailbox|app password|deadline|AR-|invalid_grant/i, 'a v3 message: no mailbox, no app-password deadline, no code');
    assert.equal(await page.evaluate('document.documentElement.scrollWidth <= window.innerWidth'), true, `${width}: nothing wider than the screen`);
    await page.screenshot({ path: path.join(shots, `v3-${width}.png`), fullPage: true });
    await assertAccessible(page, `staff-say v3 ${width}`);

    await page.goto(`${base}/staff/accounts/${mail!.autoresponderId}`);
    assert.match(await page.locator('#say').innerText(), /polski/);
    assert.match(await page.locator('#say-cause').innerText(), /Google odrzucił hasło do aplikacji/);
    await page.locator('#say summary').click();
    const msg = await page.locator('#say-message').innerText();
    assert.match(msg, /zolw@gmail\.com/);
    assert.match(msg, /Termin migracji: 31 mar 2027/);
    assert.doesNotMatch(msg, /MAIL_AUTH_FAILED|Wymaga uwagi/, 'the cause in words, not a code or a state name');
    assert.equal(await page.evaluate('document.documentElement.scrollWidth <= window.innerWidth'), true, `${width}: nothing wider than the screen`);
    await page.screenshot({ path: path.join(shots, `app-password-${width}.png`), fullPage: true });
    await assertAccessible(page, `staff-say app password ${width}`);
  }
});
