import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { build } from '../helpers/build.js';
import { launchChromium, screenshotDir } from '../helpers/browser.js';
import { freePort } from '../helpers/ports.js';
import { loadDemoIfEmpty } from '../../src/demo/demo.js';
import { startSimulator } from '../../src/simulator/server.js';

let browser: Browser;
before(async () => {
  browser = await launchChromium();
});
after(async () => browser?.close());

test('demo mode on a phone: a seller switches to v3 through the Allegro simulator, with screenshots', async (t) => {
  const port = await freePort();
  const simPort = await freePort();
  const base = `http://127.0.0.1:${port}`;
  // The demo as `npm start` runs it: demo data, ALLEGRO_ENV=simulator, the simulator beside the app.
  const { app, config } = await build(t, { env: { DEMO: '1', PORT: String(port), PUBLIC_URL: base, ALLEGRO_SIMULATOR_PORT: String(simPort) } });
  assert.equal(config.allegro.env, 'simulator');
  await loadDemoIfEmpty(app.services, config.demoDir);
  const sim = await startSimulator(config);
  t.after(() => sim.close());
  await app.listen({ host: '127.0.0.1', port });

  const { repos } = app.services;
  const seller = repos.sellers.findByExternalId('S-1003')!;
  const ar = repos.autoresponders.findByExternalId('AR-2003')!;
  const box = repos.mailboxes.getById(ar.mailboxId!)!;
  assert.equal(repos.migrations.findByAutoresponder(ar.id)!.state, 'affected');

  const shots = screenshotDir('seller-v3');
  const context = await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 1, locale: 'pl-PL' });
  t.after(() => context.close());
  const page = await context.newPage();
  const shot = (name: string) => page.screenshot({ path: path.join(shots, `${name}.png`), fullPage: true });

  // The sign-in link the demo prints to the log.
  const token = repos.loginTokens.issue(seller.id, 30 * 60_000);
  await page.goto(`${base}/login/verify?token=${encodeURIComponent(token)}`);
  await page.getByRole('button', { name: 'Zaloguj się' }).click();
  await page.getByRole('heading', { name: 'Twoje autorespondery' }).waitFor();
  await shot('01-migration-page');

  await page.locator(`#autoresponder-${ar.id}`).getByRole('button', { name: 'Przełącz na wersję 3' }).click();
  await page.getByText('Krok 1 z 3').waitFor();
  assert.ok(await page.getByText('Formatowanie HTML zostanie usunięte').first().isVisible());
  const longField = page.getByLabel('Tekst odpowiedzi w wersji 3 — „Zwroty i reklamacje (pełna informacja)”');
  assert.ok((await longField.inputValue()).length > 2000, 'the long template is offered whole');
  assert.ok(await page.getByText(/Tekst jest za długi o \d+ znak/).isVisible());
  await shot('02-templates');

  // Saving as it is: refused, the message next to the field, focus can go straight to it.
  await page.getByRole('button', { name: 'Zapisz szablony i przejdź dalej' }).click();
  await page.getByText('Niektóre szablony wymagają poprawek').waitFor();
  assert.equal(await longField.getAttribute('aria-invalid'), 'true');
  await shot('03-templates-too-long');
  const shortened = (await longField.inputValue()).split('\n\n').slice(0, 6).join('\n\n');
  await longField.fill(shortened);
  await page.getByRole('button', { name: 'Zapisz szablony i przejdź dalej' }).click();

  await page.getByText('Krok 2 z 3').waitFor();
  assert.ok(await page.getByText('Tryb demo: autoryzacja odbywa się w symulatorze Allegro').isVisible());
  await shot('04-authorize');
  await page.getByRole('button', { name: 'Przejdź do Allegro i zezwól na dostęp' }).click();

  // The simulator's consent page, with its banner.
  await page.getByText('Symulator Allegro – to nie jest prawdziwe Allegro').waitFor();
  assert.ok(page.url().startsWith(`http://127.0.0.1:${simPort}/auth/oauth/authorize?`));
  await page.getByLabel('Konto Allegro, na które się logujesz').selectOption({ label: 'ogrod_marzen (Ogród Marzeń Katarzyna Wójcik)' });
  await shot('05-allegro-consent');
  await page.getByRole('button', { name: 'Zezwól' }).click();

  await page.getByText('Krok 3 z 3').waitFor();
  assert.ok(await page.getByText(/Widzimy \d+ rozm|Widzimy co najmniej 20 rozmów/).isVisible());
  assert.ok(await page.getByLabel(`Usuń zapisane hasło do skrzynki ${box.email}`).isChecked());
  await shot('06-check');
  await page.getByRole('button', { name: 'Przełącz na wersję 3' }).click();

  await page.getByText('Autoresponder działa w wersji 3.').waitFor();
  await shot('07-done');
  const after = repos.autoresponders.getById(ar.id)!;
  assert.deepEqual([after.version, after.previousVersion], [3, ar.version]);
  assert.equal(repos.mailboxes.getById(box.id)!.hasSecret, false);
  assert.equal(repos.migrations.findByAutoresponder(ar.id)!.state, 'switched_v3');
  assert.ok(repos.autoresponders.listTemplates(ar.id).every((x) => x.bodyFormat === 'text' && [...x.body].length <= 2000));

  await page.getByRole('link', { name: 'Wróć do listy autoresponderów' }).last().click();
  assert.ok(await page.locator(`#autoresponder-${ar.id}`).getByText(/^Działa w wersji 3 od \d/).isVisible());
  await shot('08-migration-switched');
  // Nothing on any page was wider than the phone.
  assert.equal(await page.evaluate('document.documentElement.scrollWidth <= window.innerWidth'), true);
});
