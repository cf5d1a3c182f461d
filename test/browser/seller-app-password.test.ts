import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { build } from '../helpers/build.js';
import { launchChromium, screenshotDir } from '../helpers/browser.js';
import { startDovecot, type Dovecot } from '../helpers/dovecot.js';
import { decodeQuotedPrintable, startSmtp, type TestSmtp } from '../helpers/smtp.js';
import { freePort } from '../helpers/ports.js';
import { testCert } from '../helpers/tls.js';

const EMAIL = 'pasmanteria.ani@gmail.com';
const APP_PASSWORD = 'hjklbnmqwertyuio';
let dovecot: Dovecot;
let mailbox: TestSmtp;
let relay: TestSmtp;
let browser: Browser;

before(async () => {
  dovecot = await startDovecot([
    {
      user: EMAIL,
      password: APP_PASSWORD,
      messages: [
        { from: 'Allegro <powiadomienia@allegro.pl>', subject: 'Kupujący kasia_99 pyta o termin wysyłki', date: new Date(Date.now() - 1800_000) },
        { from: 'Newsletter <news@sklep-x.pl>', subject: 'Promocja tygodnia', date: new Date(Date.now() - 900_000) },
      ],
    },
  ]);
  mailbox = await startSmtp({ security: 'starttls', users: { [EMAIL]: APP_PASSWORD } });
  relay = await startSmtp({ security: 'plain' });
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
  await dovecot?.stop();
  await mailbox?.stop();
  await relay?.stop();
});

test('a seller on a phone: sign-in link, the wizard, one failure, then a working mailbox and "Pobierz e-maile"', async (t) => {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const { app } = await build(t, {
    env: {
      PUBLIC_URL: base,
      SMTP_URL: `smtp://127.0.0.1:${relay.port}`,
      MAIL_HOST_ALLOWLIST: '127.0.0.1',
      MAIL_ADDRESS_ALLOWLIST: '127.0.0.1',
      MAIL_PORT_ALLOWLIST: `${dovecot.port},${mailbox.port}`,
      MAIL_TLS_CA_FILE: testCert().certFile,
    },
  });
  const s = app.services;
  const seller = s.repos.sellers.insert({ externalId: 'S1', email: EMAIL, name: 'Anna Nowak — Pasmanteria u Ani', allegroLogin: 'pasmanteria_ani' });
  const box = s.repos.mailboxes.insert({ sellerId: seller, email: EMAIL, imapHost: '127.0.0.1', imapPort: dovecot.port, imapSecurity: 'tls', smtpHost: '127.0.0.1', smtpPort: mailbox.port, smtpSecurity: 'starttls', username: EMAIL });
  s.repos.mailboxes.setDetection(box, { google: true, provider: 'gmail', rule: 'gmail_address', detail: 'gmail.com' });
  s.repos.mailboxes.setEncryptedSecret(box, { ciphertext: s.secrets.encrypt('StareHaslo', 'mailbox-secret'), kind: 'account_password', verifiedAt: null });
  const ar = s.repos.autoresponders.insert({ sellerId: seller, externalId: 'AR-2001', version: 2, mailboxId: box });
  s.detection.refreshAutoresponder(ar, { type: 'system' });
  await app.listen({ host: '127.0.0.1', port });

  const shots = screenshotDir('seller-app-password');
  const context = await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 1, locale: 'pl-PL' });
  t.after(() => context.close());
  const page = await context.newPage();
  const shot = (name: string) => page.screenshot({ path: path.join(shots, `${name}.png`), fullPage: true });

  await page.goto(base + '/');
  await shot('01-home');
  await page.getByRole('link', { name: 'Zaloguj się, aby naprawić autoresponder' }).click();
  await page.getByLabel('Adres e-mail').fill(EMAIL);
  const mailsBefore = relay.received.length;
  await page.getByRole('button', { name: 'Wyślij link do logowania' }).click();
  await page.getByRole('heading', { name: 'Sprawdź skrzynkę pocztową' }).waitFor();
  await shot('02-link-sent');

  const deadline = Date.now() + 10_000;
  while (relay.received.length === mailsBefore && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  const link = /http:\/\/127\.0\.0\.1:\d+\/login\/verify\?token=[A-Za-z0-9_%-]+/.exec(decodeQuotedPrintable(relay.received.at(-1)!.raw))?.[0];
  assert.ok(link, 'the sign-in e-mail holds a link');
  await page.goto(link);
  await shot('03-confirm');
  await page.getByRole('button', { name: 'Zaloguj się' }).click();
  await page.getByRole('heading', { name: 'Twoje autorespondery' }).waitFor();
  assert.ok(await page.getByText('Nie odpowiada kupującym', { exact: true }).isVisible());
  await shot('04-migration-page');

  await page.getByRole('button', { name: `Użyj hasła do aplikacji dla ${EMAIL}` }).click();
  await page.getByText('Krok 1 z 4').waitFor();
  assert.equal(await page.getByRole('link', { name: 'Otwórz weryfikację dwuetapową w Google' }).getAttribute('href'), 'https://myaccount.google.com/signinoptions/two-step-verification');
  await shot('05-step1');
  await page.getByRole('link', { name: 'Dalej' }).click();
  await page.getByText('Krok 2 z 4').waitFor();
  assert.ok(await page.getByText(`widać konto ${EMAIL}`).isVisible());
  await shot('06-step2');
  await page.getByRole('link', { name: 'Dalej' }).click();
  await page.getByText('Krok 3 z 4').waitFor();

  // One failure first: a wrong app password.
  await page.getByLabel('Hasło do aplikacji (16 liter)').fill('aaaa bbbb cccc dddd');
  await page.getByRole('button', { name: 'Sprawdź i zapisz' }).click();
  const alert = page.getByRole('alert');
  await alert.waitFor();
  assert.match(await alert.innerText(), /Google odrzucił to hasło do aplikacji/);
  assert.equal(await page.getByLabel('Hasło do aplikacji (16 liter)').inputValue(), '', 'the rejected password is not shown again');
  await shot('07-step3-failure');
  assert.equal(s.repos.mailboxes.getById(box)!.secretKind, 'account_password', 'nothing was saved');

  await page.getByLabel('Hasło do aplikacji (16 liter)').fill('hjkl bnmq wert yuio');
  await page.getByRole('button', { name: 'Sprawdź i zapisz' }).click();
  await page.getByText('Krok 4 z 4').waitFor();
  await shot('08-step4-done');
  await page.getByRole('button', { name: 'Pobierz e-maile' }).click();
  await page.getByText('W skrzynce odbiorczej są 2 wiadomości.').waitFor();
  assert.ok(await page.getByRole('cell', { name: 'Kupujący kasia_99 pyta o termin wysyłki' }).isVisible());
  await shot('09-fetched-mail');

  await page.getByRole('link', { name: 'Wróć do listy autoresponderów' }).first().click();
  assert.ok(await page.getByText('Połączono hasłem do aplikacji').first().isVisible());
  await shot('10-migration-relinked');
  assert.equal(s.repos.migrations.findByAutoresponder(ar)!.state, 'relinked_app_password');
});
