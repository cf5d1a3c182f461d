import { after, before, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { build } from '../helpers/build.js';
import { launchChromium, screenshotDir } from '../helpers/browser.js';
import { assertAccessible } from '../helpers/a11y.js';
import { freePort } from '../helpers/ports.js';
import { startDovecot, type Dovecot } from '../helpers/dovecot.js';
import { decodeQuotedPrintable, startSmtp, type TestSmtp } from '../helpers/smtp.js';
import { testCert } from '../helpers/tls.js';
import { createStaff, STAFF_PASSWORD } from '../helpers/staff.js';
import { allegroEnv, startSimulator, storeConsent } from '../helpers/allegro.js';
import { formatDay } from '../../src/watch/pages.js';

/**
 * The watch seen in a browser (Debian's Chromium): a seller on a phone gets one e-mail when a migrated
 * autoresponder breaks, its link signs them in at the fix, the fix works with and without JavaScript;
 * support sees it on the overview, the filtered list and the account's history; an outage is a host's,
 * not a seller's; an Allegro refusal leads to the v3 authorize page. Every page passes axe.
 */
const DAY = 86_400_000;
const GOOD = 'abcdefghijklmnop';
const USERS = ['anna@gmail.com', 'bartek@gmail.com'];
const DESKTOP = { viewport: { width: 1366, height: 768 }, locale: 'pl-PL' };
const PHONE = { viewport: { width: 390, height: 844 }, deviceScaleFactor: 1, locale: 'pl-PL' };
/** What a seller must never read: error codes and internal state names. */
const INTERNAL = /MAIL_[A-Z_]+|MIG_ERR|needs_attention|app_password_rejected|authorize_again|relinked_app_password|switched_v3|invalid_grant/;
let dovecot: Dovecot;
let mailSmtp: TestSmtp;
let relay: TestSmtp;
let browser: Browser;
const smtpUsers: Record<string, string> = Object.fromEntries(USERS.map((u) => [u, GOOD]));
const shots = screenshotDir('watch');

before(async () => {
  dovecot = await startDovecot(USERS.map((user) => ({ user, password: GOOD })));
  mailSmtp = await startSmtp({ security: 'starttls', users: smtpUsers });
  relay = await startSmtp({ security: 'plain' });
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
  await dovecot?.stop();
  await mailSmtp?.stop();
  await relay?.stop();
});

/** The app on a free port, its clock at 11:00 in Warsaw on 12 December, moved by the test. */
async function setup(t: TestContext, env: Record<string, string> = {}) {
  let now = Date.parse('2026-12-12T10:00:00Z');
  const port = await freePort();
  const closed = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const { app } = await build(t, {
    now: () => new Date(now),
    env: {
      WATCH_ENABLED: '1',
      WATCH_SEND_HOURS: '0-24',
      PUBLIC_URL: base,
      OPERATOR_NAME: 'Sklepy Przykładowe sp. z o.o.',
      SUPPORT_EMAIL: 'pomoc@sklepy-przykladowe.example',
      SMTP_URL: `smtp://127.0.0.1:${relay.port}`,
      MAIL_TLS_CA_FILE: testCert().certFile,
      MAIL_HOST_ALLOWLIST: '127.0.0.1',
      MAIL_ADDRESS_ALLOWLIST: '127.0.0.1',
      MAIL_PORT_ALLOWLIST: `${dovecot.port},${mailSmtp.port},${closed}`,
      MAIL_CHECK_TIMEOUT_MS: '3000',
      STAFF_SESSION_IDLE_MINUTES: String(24 * 60),
      ...env,
    },
  });
  await app.listen({ host: '127.0.0.1', port });
  const { repos, secrets, migrationService } = app.services;
  const clock = { now: () => new Date(now), advance: (ms: number) => void (now += ms), set: (iso: string) => void (now = Math.max(now, Date.parse(iso))) };
  /** A seller whose v2 autoresponder reads a gmail.com mailbox relinked with an app password. */
  const relinked = (user: string, imapPort = dovecot.port) => {
    const name = user.split('@')[0]!;
    const sellerId = repos.sellers.insert({ externalId: `S-${name}`, email: `sklep.${name}@example.pl`, name: `Sklep ${name}`, allegroLogin: `sklep_${name}` });
    const mailboxId = repos.mailboxes.insert({ sellerId, email: user, imapHost: '127.0.0.1', imapPort, imapSecurity: 'tls', smtpHost: '127.0.0.1', smtpPort: mailSmtp.port, smtpSecurity: 'starttls', username: user });
    repos.mailboxes.setDetection(mailboxId, { google: true, provider: 'gmail', rule: 'gmail_address', detail: 'gmail.com' });
    repos.mailboxes.setEncryptedSecret(mailboxId, { ciphertext: secrets.encrypt(GOOD, 'mailbox-secret'), kind: 'app_password', verifiedAt: clock.now().toISOString() });
    const autoresponderId = repos.autoresponders.insert({ sellerId, externalId: `AR-${name}`, version: 2, mailboxId });
    const m = migrationService.create(autoresponderId, { state: 'affected', rule: 'gmail_address', detail: null } as never, { type: 'system', id: 'test' });
    migrationService.transition(m.id, 'relinked', 'relinked_app_password', { actor: { type: 'seller', id: sellerId } });
    return { sellerId, mailboxId, autoresponderId, email: `sklep.${name}@example.pl` };
  };
  /** Runs the watch at every autoresponder's next check (the clock never goes back). */
  const checkAll = async (...ids: number[]) => {
    await app.watch.runDue();
    for (const id of ids) clock.set(repos.watch.get(id)!.dueAt);
    await app.watch.runDue();
  };
  const day = (d: Date) => formatDay(d.toISOString(), 'pl', clock.now());
  return { app, base, repos, clock, closed, relinked, checkAll, day };
}

/** The one e-mail to `to` (waited for, bounded) and the personal link in it. */
async function mailLink(to: string, base: string): Promise<{ body: string; link: string }> {
  const end = Date.now() + 10_000;
  while (!relay.received.some((m) => m.to.includes(to)) && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
  const mails = relay.received.filter((m) => m.to.includes(to));
  assert.equal(mails.length, 1, `exactly one e-mail to ${to}`);
  const body = decodeQuotedPrintable(mails[0]!.raw);
  const link = new RegExp(`${base.replace(/[.]/g, '\\.')}/login/verify\\?token=[A-Za-z0-9_-]+&(amp;)?next=[^\\s"<]+`).exec(body)?.[0];
  assert.ok(link, 'the e-mail holds a sign-in link');
  return { body, link: link.replace(/&amp;/g, '&') };
}

async function changePassword(user: string, password: string) {
  smtpUsers[user] = password;
  await dovecot.setPassword(user, password);
}

/** Screenshot, axe, and for a phone nothing wider than the screen; for a seller no code or state name. */
async function visit(page: Page, name: string, opts: { seller?: boolean } = {}) {
  await page.screenshot({ path: path.join(shots, `${name}.png`), fullPage: true });
  await assertAccessible(browser, page, name);
  if ((page.viewportSize()?.width ?? 0) < 500) assert.equal(await page.evaluate('document.documentElement.scrollWidth <= window.innerWidth'), true, `${name}: nothing wider than the phone`);
  if (opts.seller) assert.doesNotMatch(await page.locator('main').innerText(), INTERNAL, `${name}: no code or state name for a seller`);
}

/** Opens the e-mail's link and confirms the sign-in (a form: works without JavaScript too). */
async function openLink(page: Page, link: string, name: string) {
  await page.goto(link);
  await visit(page, `${name}-confirm`, { seller: true });
  await page.getByRole('button', { name: 'Zaloguj się' }).click();
}

/** Support signs in through the console's form. */
async function staffSignIn(page: Page, base: string) {
  await page.goto(`${base}/staff`);
  await page.getByLabel('E-mail służbowy').fill('ewa@wsparcie.example');
  await page.getByLabel('Hasło').fill(STAFF_PASSWORD);
  await page.getByRole('button', { name: 'Zaloguj się do panelu' }).click();
  await page.locator('section.watch-overview').waitFor();
}

async function newContext(t: TestContext, opts: Parameters<Browser['newContext']>[0]): Promise<Page> {
  const context: BrowserContext = await browser.newContext(opts);
  t.after(() => context.close());
  return context.newPage();
}

test('a relinked mailbox breaks: one e-mail, its link opens the fix signed in (phone, with and without JavaScript); support sees it, and an outage as a host\'s', async (t) => {
  const { app, base, repos, clock, closed, relinked, checkAll, day } = await setup(t);
  const anna = relinked('anna@gmail.com');
  const bartek = relinked('bartek@gmail.com');
  await checkAll(anna.autoresponderId, bartek.autoresponderId);
  const workedOn = clock.now();
  let bartekWorked = workedOn;
  assert.equal(repos.watch.get(anna.autoresponderId)!.failures, 0);

  await t.test('a seller on a phone, with JavaScript', async (t) => {
    await changePassword('anna@gmail.com', 'qrstuvwxyzabcdef');
    clock.advance(DAY);
    await app.watch.runDue();
    const { body, link } = await mailLink(anna.email, base);
    assert.ok(link.includes(`&next=${encodeURIComponent(`/mailboxes/${anna.mailboxId}/app-password/2`)}&lang=pl`), link);
    assert.doesNotMatch(body, INTERNAL);

    clock.advance(2 * 3_600_000); // the seller reads the e-mail two hours later
    const page = await newContext(t, PHONE);
    await openLink(page, link, 'a01');
    await page.getByText('Krok 2 z 4').waitFor();
    assert.equal(new URL(page.url()).pathname, `/mailboxes/${anna.mailboxId}/app-password/2`);
    const problem = await page.locator('#watch-problem').innerText();
    assert.match(problem, new RegExp(`przestał odpowiadać kupującym\\. Działał do ${day(workedOn)}`), 'what happened, in plain Polish');
    assert.match(problem, /Google odrzucił hasło do aplikacji zapisane u nas\. Najczęściej dzieje się tak po zmianie hasła do konta Google/);
    assert.match(problem, /Co zrobić: utwórz nowe hasło do aplikacji/, 'what to do next');
    await visit(page, 'a02-step2-from-email', { seller: true });

    await page.goto(`${base}/migration`);
    const card = page.locator(`#autoresponder-${anna.autoresponderId}`);
    assert.match(await card.innerText(), /Nie odpowiada — potrzebny Twój krok/);
    assert.match(await card.innerText(), new RegExp(`Działało do ${day(workedOn)} o \\d\\d:\\d\\d\\. Przyczyna: Google odrzucił hasło do aplikacji\\.`));
    assert.equal((await card.innerText()).match(/Google odrzucił hasło do aplikacji/g)?.length, 1, 'the cause told once, in the history');
    const situation = await page.locator('.situation').innerText();
    assert.match(situation, /Po migracji autoresponder działał, ale teraz nie może odczytywać wiadomości/, 'broke after its migration');
    assert.doesNotMatch(situation, /zwykłe hasło|jedną z dwóch dróg/, 'not the first migration\'s story');
    // The card's own way to the fix starts at a new app password (step 2), not at 2-Step Verification.
    assert.doesNotMatch(await card.innerText(), /włączysz weryfikację dwuetapową/);
    assert.match(await card.innerText(), /Weryfikacja dwuetapowa jest już włączona, więc wystarczy nowe hasło do aplikacji/);
    await visit(page, 'a03-list-broken', { seller: true });
    await card.getByRole('link', { name: 'Wpisz nowe hasło do aplikacji dla anna@gmail.com' }).click();
    await page.getByText('Krok 2 z 4').waitFor();
    await page.getByRole('link', { name: 'Dalej' }).click();
    await page.getByText('Krok 3 z 4').waitFor();
    await page.getByLabel('Hasło do aplikacji (16 liter)').fill('qrst uvwx yzab cdef');
    await page.getByRole('button', { name: 'Sprawdź i zapisz' }).click();
    await page.getByText('Krok 4 z 4').waitFor();
    await visit(page, 'a04-step4-fixed', { seller: true });
    await page.getByRole('link', { name: 'Wróć do listy autoresponderów' }).first().click();
    assert.match(await card.innerText(), /Działa — hasło do aplikacji/);
    assert.match(await card.innerText(), new RegExp(`Działało do ${day(workedOn)} o \\d\\d:\\d\\d, naprawione ${day(clock.now())} o \\d\\d:\\d\\d\\.`));
    await visit(page, 'a05-list-fixed', { seller: true });
  });

  await t.test('support at a desktop: the overview, "broke after migration" with exactly that account, the history by "Nadzór po migracji"', async (t) => {
    // Bartek's mailbox breaks too: the only open problem once Anna's is closed by the next check.
    bartekWorked = clock.now();
    await changePassword('bartek@gmail.com', 'zyxwvutsrqponmlk');
    clock.advance(DAY);
    await app.watch.runDue();
    await checkAll(anna.autoresponderId);
    assert.equal(repos.watch.openCount(), 1);
    await createStaff(app.services, 'ewa@wsparcie.example', 'viewer');
    const page = await newContext(t, DESKTOP);
    await staffSignIn(page, base);
    const block = page.locator('section.watch-overview');
    assert.match(await block.innerText(), /nadzorowane autorespondery\s*2/);
    assert.match(await block.innerText(), /zepsute po migracji — sprzedawca musi działać\s*1/);
    assert.match(await block.innerText(), /Brak awarii\./);
    // What needs someone today is said at the top, with the way to the accounts.
    assert.equal(await page.locator('#watch-broke-note').innerText(), '1 autoresponder przestał działać po migracji — sprzedawca musi działać. Pokaż te konta');
    assert.equal(await page.locator('#watch-outage-note').count(), 0);
    await visit(page, 'c01-overview');

    await block.getByRole('link', { name: /zepsute po migracji/ }).click();
    assert.equal(await page.getByLabel('Zepsute po migracji').isChecked(), true);
    const rows = page.locator('table.accounts tbody tr');
    assert.equal(await rows.count(), 1);
    assert.match(await rows.first().innerText(), /Sklep bartek/);
    await visit(page, 'c02-list-broke');

    await page.goto(`${base}/staff/accounts/${anna.autoresponderId}`);
    const timeline = await page.locator('.timeline').innerText();
    assert.match(timeline, /Nadzór po migracji wykrył, że autoresponder przestał działać: „Google odrzucił hasło do aplikacji”/);
    assert.match(timeline, /Nadzór po migracji wysłał sprzedawcy e-mail o problemie „Google odrzucił hasło do aplikacji”/);
    assert.match(timeline, /Nadzór po migracji: problem „Google odrzucił hasło do aplikacji” naprawiony — połączenie zapisano na nowo/);
    await visit(page, 'c03-account-history');
  });

  await t.test('the same fix without JavaScript', async (t) => {
    const { link } = await mailLink(bartek.email, base);
    const page = await newContext(t, { ...PHONE, javaScriptEnabled: false });
    await openLink(page, link, 'b01');
    await page.getByText('Krok 2 z 4').waitFor();
    assert.equal(new URL(page.url()).pathname, `/mailboxes/${bartek.mailboxId}/app-password/2`);
    assert.match(await page.locator('#watch-problem').innerText(), new RegExp(`Działał do ${day(bartekWorked)}[\\s\\S]*Google odrzucił hasło do aplikacji`));
    await visit(page, 'b02-step2-no-js', { seller: true });
    await page.getByRole('link', { name: 'Dalej' }).click();
    await page.getByLabel('Hasło do aplikacji (16 liter)').fill('zyxw vuts rqpo nmlk');
    await page.getByRole('button', { name: 'Sprawdź i zapisz' }).click();
    await page.getByText('Krok 4 z 4').waitFor();
    await visit(page, 'b03-step4-no-js', { seller: true });
    await page.getByRole('link', { name: 'Wróć do listy autoresponderów' }).first().click();
    const card = page.locator(`#autoresponder-${bartek.autoresponderId}`);
    assert.match(await card.innerText(), new RegExp(`Działało do ${day(bartekWorked)} o \\d\\d:\\d\\d, naprawione ${day(clock.now())} o \\d\\d:\\d\\d\\.`));
    await visit(page, 'b04-list-fixed-no-js', { seller: true });
  });

  await t.test('an outage: a day of failed checks shows by host on the overview, not as a seller\'s problem', async (t) => {
    const page = await newContext(t, DESKTOP);
    const block = page.locator('section.watch-overview');
    // Celina's mailbox server is down (nothing listens): retried for a day, then an outage by host.
    const celina = relinked('celina@gmail.com', closed);
    await app.watch.runDue();
    // Each retry when it is due, until the first failure is over a day old (bounded: the waits grow to hours).
    const failingFor = () => clock.now().getTime() - Date.parse(repos.watch.get(celina.autoresponderId)!.failingSince ?? clock.now().toISOString());
    for (let i = 0; i < 60 && failingFor() <= DAY + 3_600_000; i++) {
      clock.set(repos.watch.get(celina.autoresponderId)!.dueAt);
      await app.watch.runDue();
    }
    assert.ok(failingFor() > DAY, 'failing for over a day');
    assert.equal(repos.migrations.findByAutoresponder(celina.autoresponderId)!.state, 'relinked_app_password', 'not the seller\'s problem');
    assert.equal(relay.received.filter((m) => m.to.includes(celina.email)).length, 0, 'no e-mail to the seller');
    await staffSignIn(page, base);
    const outage = block.locator('tr.outage');
    assert.equal(await outage.count(), 1);
    assert.match(await outage.innerText(), /127\.0\.0\.1\s+serwer poczty nie przyjął połączenia MAIL_CONNECTION_REFUSED\s+1/);
    assert.match(await block.innerText(), /zepsute po migracji — sprzedawca musi działać\s*0/, 'the outage is not counted as broken');
    assert.equal(await page.locator('#watch-broke-note').count(), 0);
    assert.match(await page.locator('#watch-outage-note').innerText(), /Awaria serwera poczty lub Allegro trwa ponad dobę — to nie wina sprzedawców\./);
    await visit(page, 'c04-overview-outage');
    await block.screenshot({ path: path.join(shots, 'c04b-watch-block.png') });
    await page.setViewportSize({ width: 390, height: 844 });
    await visit(page, 'c05-overview-outage-phone');
    await block.screenshot({ path: path.join(shots, 'c05b-watch-block-phone.png') });
  });
});

test('Allegro refuses the v3 authorization: the e-mail\'s link opens the authorize page, signed in', async (t) => {
  const sim = await startSimulator(t);
  const { app, base, repos, clock, checkAll } = await setup(t, allegroEnv(sim.url));
  const { migrationService } = app.services;
  const sellerId = repos.sellers.insert({ externalId: 'S-v3', email: 'dawid.sklep@example.pl', name: 'Dawid', allegroLogin: 'sklep_testowy' });
  const authorizationId = await storeConsent(app.services, sim, { sellerId, login: 'sklep_testowy' });
  const mailboxId = repos.mailboxes.insert({ sellerId, email: 'dawid@gmail.com', imapHost: 'imap.gmail.com', imapPort: 993, imapSecurity: 'tls', smtpHost: 'smtp.gmail.com', smtpPort: 465, smtpSecurity: 'tls', username: 'dawid@gmail.com' });
  const id = repos.autoresponders.insert({ sellerId, externalId: 'AR-v3', version: 2, mailboxId });
  repos.autoresponders.switchVersion(id, { version: 3, previousVersion: 2, authorizationId });
  const m = migrationService.create(id, { state: 'affected', rule: 'gmail_address', detail: null } as never, { type: 'system' });
  migrationService.transition(m.id, 'start_v3', 'in_progress_v3', { actor: { type: 'seller', id: sellerId } });
  migrationService.transition(m.id, 'switched_v3', 'switched_v3', { actor: { type: 'seller', id: sellerId } });
  await checkAll(id);

  // The seller logs out of every device at Allegro: the refresh token is refused (invalid_grant).
  sim.state.revokeAccount('sklep_testowy');
  clock.advance(DAY);
  await app.watch.runDue();
  const { body, link } = await mailLink('dawid.sklep@example.pl', base);
  assert.ok(link.includes(`&next=${encodeURIComponent(`/autoresponders/${id}/v3/authorize`)}&lang=pl`), link);
  assert.match(body, /sklep_testowy/);

  const page = await newContext(t, PHONE);
  await openLink(page, link, 'd01');
  // Already on version 3: signing in again, not a switch (no steps of a switch, no way back to templates).
  await page.getByRole('heading', { name: 'Ponowne zalogowanie w Allegro', level: 1 }).waitFor();
  assert.equal(await page.getByText('Krok 2 z 3').count(), 0);
  assert.equal(await page.getByRole('link', { name: 'Wstecz' }).count(), 0);
  assert.equal(new URL(page.url()).pathname, `/autoresponders/${id}/v3/authorize`);
  const problem = await page.locator('#watch-problem').innerText();
  assert.match(problem, /przestał odpowiadać kupującym\. Działał do/);
  assert.match(problem, /Allegro cofnęło dostęp naszej aplikacji do konta sklep_testowy/, 'what happened, with the account');
  assert.match(problem, /Co zrobić: przejdź do Allegro przyciskiem poniżej/);
  assert.ok(await page.getByRole('button', { name: 'Przejdź do Allegro i zezwól na dostęp' }).isVisible());
  await visit(page, 'd02-v3-authorize-from-email', { seller: true });

  // The consent at the Allegro simulator, then the check and the new authorization saved.
  // The tests' Allegro client is registered with http://app.test/allegro/callback: the browser is sent
  // from there to this app, as a DNS name for it would.
  await page.context().route(/^http:\/\/app\.test\//, (route) =>
    route.fulfill({ status: 302, headers: { location: route.request().url().replace('http://app.test', base) } }),
  );
  await page.getByRole('button', { name: 'Przejdź do Allegro i zezwól na dostęp' }).click();
  await page.getByRole('button', { name: 'Zezwól' }).click();
  await page.getByRole('button', { name: 'Zapisz zgodę i włącz autoresponder' }).waitFor();
  assert.equal(await page.getByText('Krok 3 z 3').count(), 0);
  assert.ok(await page.getByRole('heading', { name: 'Ponowne zalogowanie w Allegro', level: 1 }).isVisible());
  await visit(page, 'd03-v3-check-again', { seller: true });
  await page.getByRole('button', { name: 'Zapisz zgodę i włącz autoresponder' }).click();
  await page.waitForURL(`${base}/autoresponders/${id}/v3/done`);
  await page.goto(`${base}/migration`);
  assert.match(await page.locator(`#autoresponder-${id}`).innerText(), new RegExp(`Działało do [^,]+, naprawione ${formatDay(clock.now().toISOString(), 'pl', clock.now())} o \\d\\d:\\d\\d\\.`));
  assert.match(await page.locator('p.notice').first().innerText(), /Wszystko działa: Twój autoresponder odpowiada kupującym\./, 'one autoresponder: singular');
  await visit(page, 'd04-list-fixed-v3', { seller: true });
});
