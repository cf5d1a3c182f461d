import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { build } from '../helpers/build.js';
import { launchChromium, screenshotDir } from '../helpers/browser.js';
import { freePort } from '../helpers/ports.js';
import { loadDemoIfEmpty } from '../../src/demo/demo.js';
import { startSimulator } from '../../src/simulator/server.js';
import { DEFAULT_MAIL_PORTS } from '../../src/mail/servers.js';

/**
 * A seller who gets stuck at Google still gets to done, on a 390 px phone: help and contact on every
 * page, a failure that is not the seller's fault, the "no App passwords" branches each ending in
 * version 3, the recommendation, the live counter, the simulator's preselected account and the
 * confirmations before going back or deleting the password.
 */
const OPERATOR = 'Sklepy Przykładowe sp. z o.o.';
const SUPPORT = 'pomoc@sklepy-przykladowe.example';
let browser: Browser;
before(async () => {
  browser = await launchChromium();
});
after(async () => browser?.close());

async function setup(t: import('node:test').TestContext) {
  const port = await freePort();
  const simPort = await freePort();
  const closed = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const { app, config } = await build(t, {
    env: {
      DEMO: '1',
      PORT: String(port),
      PUBLIC_URL: base,
      ALLEGRO_SIMULATOR_PORT: String(simPort),
      MIGRATION_DEADLINE: '2027-03-31',
      OPERATOR_NAME: OPERATOR,
      SUPPORT_EMAIL: SUPPORT,
      // A Workspace seller may type Google's servers; here one that is down (nothing listens).
      MAIL_HOST_ALLOWLIST: 'imap.gmail.com,smtp.gmail.com,127.0.0.1',
      MAIL_PORT_ALLOWLIST: `${DEFAULT_MAIL_PORTS.join(",")},${closed}`,
      MAIL_CHECK_TIMEOUT_MS: '2000',
      MAIL_ADDRESS_ALLOWLIST: '127.0.0.1',
    },
  });
  await loadDemoIfEmpty(app.services, config.demoDir);
  const sim = await startSimulator(config);
  t.after(() => sim.close());
  await app.listen({ host: '127.0.0.1', port });
  const context = await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 1, locale: 'pl-PL' });
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: base });
  t.after(() => context.close());
  const page = await context.newPage();
  const shots = screenshotDir('seller-stuck');
  const { repos } = app.services;
  /** Signs in as a demo seller the way the e-mail link does. */
  const signInAs = async (sellerExternalId: string) => {
    const seller = repos.sellers.findByExternalId(sellerExternalId)!;
    await page.goto(`${base}/login/verify?token=${encodeURIComponent(repos.loginTokens.issue(seller.id, 30 * 60_000))}`);
    await page.getByRole('button', { name: 'Zaloguj się' }).click();
    await page.getByRole('heading', { name: 'Twoje autorespondery' }).waitFor();
  };
  return { app, base, page, shots, repos, closed, signInAs };
}

/** Every seller page: who runs it, the help page, the contact address; nothing wider than the phone. */
async function checkPage(page: Page, shots: string, name: string, seen: Set<string>) {
  const footer = page.locator('footer.site-footer');
  assert.match(await footer.innerText(), new RegExp(`Usługę prowadzi: ${OPERATOR.replace(/[.]/g, '\\.').replace(/ /g, '\\s')}`), `${name}: the operator`);
  assert.equal(await footer.getByRole('link', { name: 'Pomoc', exact: true }).getAttribute('href'), '/help', `${name}: the help page`);
  assert.match(String(await footer.locator(`a[href^="mailto:${SUPPORT}"]`).getAttribute('href')), /subject=/, `${name}: the contact`);
  assert.equal(await page.evaluate('document.documentElement.scrollWidth <= window.innerWidth'), true, `${name}: nothing wider than the phone`);
  seen.add(new URL(page.url()).pathname.replace(/\d+/g, ':id'));
  await page.screenshot({ path: path.join(shots, `${name}.png`), fullPage: true });
}

test('stuck at Google on a phone: a failure that is not the seller\'s, "no App passwords" with every branch ending in v3', async (t) => {
  const { base, page, shots, repos, closed, signInAs } = await setup(t);
  const seen = new Set<string>();
  const ar = repos.autoresponders.findByExternalId('AR-2016')!;
  const box = repos.mailboxes.getById(ar.mailboxId!)!;
  assert.equal(box.provider, 'workspace');

  await page.goto(`${base}/`);
  await checkPage(page, shots, 'a01-home', seen);
  assert.equal(await page.getByText(/Konta objęte migracją/).count(), 0, 'no internal statistics on the public page');
  await page.getByRole('link', { name: 'Pomoc i kontakt' }).click();
  await checkPage(page, shots, 'a02-help', seen);

  await signInAs('S-1016');
  const card = page.locator(`#autoresponder-${ar.id}`);
  assert.match(await card.innerText(), /Autoresponder skrzynki biuro@meble-olszewski\.pl/, 'titled by its mailbox');
  assert.match(await card.innerText(), /Nie odpowiada kupującym/);
  assert.match(await card.innerText(), /Autoresponder w wersji \d/, 'its version in words');
  assert.doesNotMatch(await card.innerText(), /AR-2016/, 'the support number is not read by the seller (issue 25)');
  assert.equal(await card.locator('[data-support-number="AR-2016"]').count(), 1, 'it is in the markup, for support');
  assert.doesNotMatch(await card.innerText(), /MX|aspmx|DNS/, 'no detection detail for sellers');
  assert.match(await page.locator('.situation').innerText(), /Termin: 31 marca 2027 — zosta(ło|ły|ł) \d+ (dni|dzień)\./);
  await checkPage(page, shots, 'a03-migration-workspace', seen);

  await card.getByRole('button', { name: /Użyj hasła do aplikacji dla/ }).click();
  await page.getByText('Krok 1 z 4').waitFor();
  assert.ok(await page.getByRole('link', { name: 'Nie widzę opcji „Hasła do aplikacji”' }).isVisible(), 'reachable from step 1');
  await checkPage(page, shots, 'a04-step1', seen);
  await page.getByRole('link', { name: 'Dalej' }).click();
  await page.getByText('Krok 2 z 4').waitFor();
  await checkPage(page, shots, 'a05-step2', seen);
  await page.getByRole('link', { name: 'Dalej' }).click();
  await page.getByText('Krok 3 z 4').waitFor();
  await page.getByText('Co się stanie z hasłem?').click();
  assert.ok(await page.getByText('Nie pokazujemy go nikomu').isVisible(), 'what is stored, next to the field');
  await checkPage(page, shots, 'a06-step3', seen);

  // Google's server cannot be reached: not the seller's fault, no attempt used, retry and v3 offered.
  await page.getByLabel('Hasło do aplikacji (16 liter)').fill('abcd efgh ijkl mnop');
  await page.getByLabel('Serwer odbierający pocztę').fill('127.0.0.1');
  await page.getByLabel('Port serwera odbierającego').fill(String(closed));
  await page.getByRole('button', { name: 'Sprawdź i zapisz' }).click();
  const alert = page.locator('#check-error');
  await alert.waitFor();
  assert.match(await alert.innerText(), /Serwer poczty nie przyjął połączenia\.[\s\S]*Google nie sprawdził hasła, więc ta próba nie liczy się do limitu\./);
  assert.doesNotMatch(await alert.innerText(), /Sprawdź nazwę serwera/);
  assert.ok(await page.getByText('Pozostałe próby: 5 z 5 w ciągu 15 minut.').isVisible(), 'the attempt was not counted');
  assert.ok(await alert.getByRole('button', { name: 'Przełącz na wersję 3' }).isVisible());
  assert.match(String(await alert.locator('a[href^="mailto:"]').getAttribute('href')), /MAIL_CONNECTION_REFUSED/, 'the code goes into the e-mail');
  await checkPage(page, shots, 'a07-step3-google-unreachable', seen);

  // "I do not see App passwords": the Workspace cause first, a message for the administrator.
  await page.goto(`${base}/mailboxes/${box.id}/app-password/2`);
  await page.getByRole('link', { name: 'Nie widzę opcji „Hasła do aplikacji”' }).click();
  await page.getByRole('heading', { level: 1, name: 'Nie widzę opcji „Hasła do aplikacji”' }).waitFor();
  const causes = page.locator('section.cause');
  assert.equal(await causes.count(), 5);
  assert.equal(await causes.first().getAttribute('id'), 'cause-workspace', 'for a company mailbox the administrator comes first');
  for (let i = 0; i < 5; i++) {
    const section = causes.nth(i);
    assert.equal(await section.getByRole('button', { name: 'Przełącz na wersję 3' }).count(), 1, `${await section.getAttribute('id')}: ends with one click to version 3`);
    assert.match(await section.innerText(), /Jak to rozpoznać:[\s\S]*Co zrobić:/);
  }
  const message = page.getByLabel('Wiadomość do administratora');
  const text = await message.inputValue();
  assert.match(text, /biuro@meble-olszewski\.pl/);
  assert.match(text, /Weryfikacja dwuetapowa/);
  assert.match(text, /Dostęp IMAP[\s\S]*jednostki organizacyjnej/);
  // The copy button exists only with JavaScript (progressive enhancement) and says it copied.
  await page.getByRole('button', { name: 'Kopiuj wiadomość' }).click();
  await page.getByText('Skopiowano. Wklej wiadomość w e-mailu do administratora.').waitFor();
  assert.equal(await page.evaluate('navigator.clipboard.readText()'), text);
  assert.match(String(await page.getByRole('link', { name: 'Otwórz w programie pocztowym' }).getAttribute('href')), /^mailto:\?subject=/);
  await checkPage(page, shots, 'a08-no-app-passwords', seen);
  await page.locator('#cause-workspace').screenshot({ path: path.join(shots, 'a08b-no-app-passwords-workspace.png') });
  await page.locator('#cause-advanced_protection').scrollIntoViewIfNeeded();
  await page.screenshot({ path: path.join(shots, 'a09-no-app-passwords-advanced-protection.png') });

  // The branch ends in version 3 for this very autoresponder.
  await page.locator('#cause-advanced_protection').getByRole('button', { name: 'Przełącz na wersję 3' }).click();
  await page.getByText('Krok 1 z 3').waitFor();
  assert.equal(new URL(page.url()).pathname, `/autoresponders/${ar.id}/v3`);
  assert.equal(repos.migrations.findByAutoresponder(ar.id)!.state, 'in_progress_v3');
  await checkPage(page, shots, 'a10-v3-templates-from-help', seen);
  t.diagnostic(`seller pages checked for help and contact: ${[...seen].join(', ')}`);
});

test('the recommendation, the templates step with a live counter, the preselected Allegro account', async (t) => {
  const { page, shots, repos, signInAs } = await setup(t);
  const seen = new Set<string>();

  // IMAP off for the domain: version 3, with the reason.
  await signInAs('S-1045');
  const imapOff = page.locator(`#autoresponder-${repos.autoresponders.findByExternalId('AR-2045')!.id}`);
  assert.match(await imapOff.locator('.recommendation').innerText(), /Polecamy wersję 3\. Google nie wpuszcza programów pocztowych do tej skrzynki/);
  assert.equal(await imapOff.getByRole('button', { name: 'Przełącz na wersję 3' }).getAttribute('class'), null, 'the recommended way is the main button');
  assert.equal(await imapOff.getByRole('button', { name: /Użyj hasła do aplikacji/ }).getAttribute('class'), 'secondary', 'the other one is secondary');
  await checkPage(page, shots, 'b01-recommend-imap-off', seen);
  await page.getByRole('button', { name: 'Wyloguj się' }).click();

  // Templates to fix: still version 3, saying how many and by how much.
  await signInAs('S-1003');
  const ar = repos.autoresponders.findByExternalId('AR-2003')!;
  const card = page.locator(`#autoresponder-${ar.id}`);
  assert.match(await card.locator('.recommendation').innerText(), /Polecamy wersję 3\.[\s\S]*poprawić 1 szablon/);
  assert.match(await card.innerText(), /Za długie łącznie o \d+ znak/);
  await checkPage(page, shots, 'b02-recommend-templates', seen);

  await card.getByRole('button', { name: 'Przełącz na wersję 3' }).click();
  await page.getByText('Krok 1 z 3').waitFor();
  const height = await page.evaluate('document.documentElement.scrollHeight');
  t.diagnostic(`templates step height at 390 px: ${height} px`);
  assert.ok(Number(height) < 4000, `the templates step is no longer ~6,300 px tall (${height})`);
  // Templates that fit are collapsed; the one to fix is open, with a jump link.
  assert.equal(await page.locator('details.template').count(), 2);
  assert.equal(await page.locator('details.template[open]').count(), 0);
  await checkPage(page, shots, 'b03-templates', seen);
  await page.screenshot({ path: path.join(shots, 'b03b-templates-top-of-list.png'), fullPage: true, clip: { x: 0, y: (await page.locator('h2', { hasText: 'Twoje szablony odpowiedzi' }).boundingBox())!.y - 10, width: 390, height: 844 } });
  await page.locator('nav.jump').getByRole('link', { name: /Zwroty i reklamacje/ }).click();
  const field = page.getByLabel('Tekst odpowiedzi w wersji 3 — „Zwroty i reklamacje (pełna informacja)”');
  const counter = page.locator(`#${await field.getAttribute('id')}-count`);
  assert.match(await counter.innerText(), /^2 ?\d{3} z 2 ?000 znaków — za długi o \d+ znak/);
  // The counter follows typing, before anything is sent.
  const original = await field.inputValue();
  t.diagnostic(`original: ${[...original].length} code points, ${original.split('\n\n').length} paragraphs, counter ${await counter.innerText()}`);
  const shortened = original.split('\n\n').slice(0, 6).join('\n\n');
  await field.fill(shortened);
  assert.match(await counter.innerText(), new RegExp(`^${[...shortened].length} z 2\\s?000 znaków$`));
  assert.equal(await page.locator(`#${await field.getAttribute('id')}-error`).isVisible(), false, 'the stale "too long" message is hidden once the text fits');
  await field.scrollIntoViewIfNeeded();
  await page.screenshot({ path: path.join(shots, 'b04-templates-live-counter.png') });
  await page.getByRole('button', { name: 'Zapisz szablony i przejdź dalej' }).click();
  await page.getByText('Krok 2 z 3').waitFor();
  await checkPage(page, shots, 'b05-authorize', seen);

  // The simulator's consent page preselects the account this autoresponder belongs to.
  await page.getByRole('button', { name: 'Przejdź do Allegro i zezwól na dostęp' }).click();
  await page.getByText('Symulator Allegro – to nie jest prawdziwe Allegro').waitFor();
  const selected = await page.getByLabel('Konto Allegro, na które się logujesz').evaluate((s) => { const el = s as unknown as { options: { text: string }[]; selectedIndex: number }; return el.options[el.selectedIndex]!.text; });
  assert.match(selected, /^ogrod_marzen /);
  await page.screenshot({ path: path.join(shots, 'b06-allegro-consent-preselected.png'), fullPage: true });
  await page.getByRole('button', { name: 'Zezwól' }).click();
  await page.getByText('Krok 3 z 3').waitFor();
  assert.ok(await page.getByText('Konto Allegro: ogrod_marzen.').isVisible(), 'no other account was authorized');
  await checkPage(page, shots, 'b07-check', seen);
});

test('going back to the old version and deleting the password: asked first, reported after', async (t) => {
  const { page, shots, repos, signInAs } = await setup(t);
  const seen = new Set<string>();
  const ar = repos.autoresponders.findByExternalId('AR-2044')!;
  const box = repos.mailboxes.getById(ar.mailboxId!)!;
  assert.equal(ar.version, 3);
  assert.ok(box.hasSecret, 'the demo kept this mailbox password at the switch');

  await signInAs('S-1044');
  await page.locator(`#autoresponder-${ar.id}`).getByRole('link', { name: /Szczegóły i powrót do wersji/ }).click();
  await page.getByText('Autoresponder działa w wersji 3.').waitFor();
  // Both risky actions are secondary.
  assert.equal(await page.getByRole('link', { name: `Wróć do wersji ${ar.previousVersion}` }).getAttribute('class'), 'button secondary');
  assert.equal(await page.getByRole('link', { name: `Usuń hasło do skrzynki ${box.email}` }).getAttribute('class'), 'button secondary');
  await checkPage(page, shots, 'c01-done', seen);

  // Going back: the warning, and "no" changes nothing.
  await page.getByRole('link', { name: `Wróć do wersji ${ar.previousVersion}` }).click();
  const ask = page.locator('#confirm');
  await ask.waitFor();
  assert.match(await ask.innerText(), new RegExp(`Wersja ${ar.previousVersion} nie działa ze zwykłym hasłem Google`));
  await checkPage(page, shots, 'c02-confirm-back', seen);
  await page.getByRole('link', { name: 'Nie, zostaw jak jest' }).click();
  assert.equal(repos.autoresponders.getById(ar.id)!.version, 3);

  // Deleting the password: asked, done, reported.
  await page.getByRole('link', { name: `Usuń hasło do skrzynki ${box.email}` }).click();
  await page.locator('#confirm').waitFor();
  assert.match(await page.locator('#confirm').innerText(), /Tego nie da się cofnąć/);
  await checkPage(page, shots, 'c03-confirm-delete', seen);
  assert.ok(repos.mailboxes.getById(box.id)!.hasSecret, 'nothing deleted before the confirmation');
  await page.getByRole('button', { name: 'Tak, usuń hasło' }).click();
  await page.getByText(`Hasło do skrzynki ${box.email} zostało usunięte.`).waitFor();
  assert.equal(repos.mailboxes.getById(box.id)!.hasSecret, false);
  await checkPage(page, shots, 'c04-deleted', seen);
});

test('going back, confirmed: the list says what was done and what it means', async (t) => {
  const { app, page, shots, repos, signInAs } = await setup(t);
  const seen = new Set<string>();
  const ar = repos.autoresponders.findByExternalId('AR-2044')!;
  await signInAs('S-1044');
  await page.goto(`${new URL(page.url()).origin}/autoresponders/${ar.id}/v3/done?confirm=back#confirm`);
  await page.getByRole('button', { name: `Tak, wróć do wersji ${ar.previousVersion}` }).click();
  const notice = page.locator('#notice');
  await notice.waitFor();
  assert.match(await notice.innerText(), new RegExp(`wrócił do wersji ${ar.previousVersion}, z poprzednimi szablonami`));
  assert.match(await notice.innerText(), /nie działa ze zwykłym hasłem Google/);
  assert.equal(app.services.repos.autoresponders.getById(ar.id)!.version, ar.previousVersion);
  await checkPage(page, shots, 'c05-switched-back', seen);
});
