import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { build } from '../helpers/build.js';
import { launchChromium, screenshotDir } from '../helpers/browser.js';
import { assertAccessible } from '../helpers/axe.js';
import { startSmtp, type TestSmtp } from '../helpers/smtp.js';
import { freePort } from '../helpers/ports.js';
import { createStaff, seedAccounts, STAFF_PASSWORD, waitForJob, type SeedAccount } from '../helpers/staff.js';

/**
 * Issue 24, as a support agent on the first day: the overview's "Do zrobienia dziś" after a reminder
 * job through a relay that refuses some addresses for good (550), some for now (451, then accepts),
 * and stalls on others (takes the message, never answers); the bulk resend of the uncertain with its
 * risk named; a job that had failures says so wherever it is listed; and the search a phone call
 * needs (support number, a name without Polish letters, two words out of order). Every page passes
 * axe at 1366 and 390 px; screenshots in test-output/screenshots/staff-todo.
 */
const REFUSED = ['odmowa1@example.pl', 'odmowa2@example.pl'];
const LATER = ['kolejka1@example.pl'];
const STALLED = ['cisza1@example.pl', 'cisza2@example.pl', 'cisza3@example.pl'];
let relay: TestSmtp;
let browser: Browser;
const dropped = new Map<string, number>();

before(async () => {
  relay = await startSmtp({
    security: 'plain',
    rcpt: (address, nth) => (REFUSED.includes(address) ? { code: 550, text: '5.1.1 user unknown' } : LATER.includes(address) && nth === 1 ? { code: 451, text: '4.3.0 try later' } : undefined),
    // Stalls on the first message to each of these (the sender cannot know whether it arrived); a resend goes through.
    dataDrop: (to) => {
      if (!STALLED.includes(to)) return false;
      dropped.set(to, (dropped.get(to) ?? 0) + 1);
      return dropped.get(to) === 1;
    },
  });
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
  await relay?.stop();
});

const WIDTHS = [1366, 390] as const;

test('the overview says what needs someone today; the uncertain are resent in one go after a page naming the risk; a phone call takes one search', async (t) => {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const { app } = await build(t, { env: { PUBLIC_URL: base, SMTP_URL: `smtp://127.0.0.1:${relay.port}`, BULK_RETRY_BASE_MS: '20', MIGRATION_DEADLINE: '2027-03-31' } });
  const s = app.services;
  const addresses = [...REFUSED, ...LATER, ...STALLED, 'ok1@example.pl', 'ok2@example.pl', 'ok3@example.pl'];
  const accounts: SeedAccount[] = addresses.map((email, i) => ({ name: `Sklep ${i + 1}`, email, mailbox: `sklep${i + 1}@gmail.com` }));
  accounts.push({ name: 'Amber Gifts Gdańsk', email: 'amber@example.pl', login: 'amber_gifts', mailbox: 'amber.gifts@gmail.com', sellerExternalId: 'SELLER-77001' });
  const rows = seedAccounts(s, accounts);
  const amber = rows[rows.length - 1]!;
  const amberNumber = s.repos.autoresponders.getById(amber.autoresponderId)!.externalId;
  await createStaff(s, 'ola@wsparcie.example', 'agent');
  await app.listen({ host: '127.0.0.1', port });

  const context = await browser.newContext({ viewport: { width: 1366, height: 900 }, locale: 'pl-PL' });
  t.after(() => context.close());
  const page = await context.newPage();
  const shots = screenshotDir('staff-todo');
  const shot = (p: Page, name: string) => p.screenshot({ path: path.join(shots, `${name}.png`), fullPage: true });
  /**
   * What the eye checks on every page at each width: an error code is never broken inside (one line of
   * its own size); the funnel and the cohorts fit the screen; the list's count is on the first screen of
   * a phone; the chart's ticks are at least 10 px tall on screen.
   */
  const layout = async (p: Page, name: string, width: number) => {
    const m = (await p.evaluate(`(() => {
      const codes = [...document.querySelectorAll('code.code')].filter((c) => c.getClientRects().length).map((c) => ({ text: c.textContent, lines: c.getClientRects().length, tall: c.getBoundingClientRect().height > 2 * parseFloat(getComputedStyle(c).fontSize) }));
      const right = (sel) => { const el = document.querySelector(sel); return el ? el.getBoundingClientRect().right : null; };
      const summary = document.querySelector('p.summary');
      const tick = document.querySelector('.chart .tick');
      const provider = document.querySelector('#provider');
      return { codes, funnel: right('table.funnel-table'), cohorts: right('table.cohorts'), summaryTop: summary ? summary.getBoundingClientRect().top + window.scrollY : null, tick: tick ? tick.getBoundingClientRect().height : null, provider: provider ? provider.getClientRects().length > 0 : null };
    })()`)) as { codes: { text: string; lines: number; tall: boolean }[]; funnel: number | null; cohorts: number | null; summaryTop: number | null; tick: number | null; provider: boolean | null };
    for (const c of m.codes) assert.ok(c.lines === 1 && !c.tall, `${name} at ${width} px: ${c.text} is not broken inside`);
    for (const r of [m.funnel, m.cohorts]) if (r !== null) assert.ok(r <= width, `${name} at ${width} px: the funnel's last column is on the screen (${r})`);
    if (m.summaryTop !== null && width === 390) assert.ok(m.summaryTop < 844, `${name} at 390 px: the results start on the first screen (${m.summaryTop})`);
    if (m.provider !== null && width === 1366) assert.ok(m.provider, `${name} at 1366 px: the filters are laid out without a click`);
    if (m.tick !== null) assert.ok(m.tick >= 10, `${name} at ${width} px: chart ticks ${m.tick} px tall`);
    return m;
  };
  /** The page at both widths: axe on each, a screenshot of each. */
  const bothWidths = async (p: Page, name: string) => {
    for (const width of WIDTHS) {
      await p.setViewportSize({ width, height: width === 390 ? 844 : 900 });
      await assertAccessible(p, `${name} at ${width} px`);
      const overflow = await p.evaluate('document.documentElement.scrollWidth > window.innerWidth');
      assert.equal(overflow, false, `${name} at ${width} px: no sideways scrolling`);
      await shot(p, `${name}-${width}`);
      await layout(p, name, width);
    }
    await p.setViewportSize({ width: 1366, height: 900 });
  };

  await page.goto(`${base}/staff/login`);
  await page.getByLabel('E-mail służbowy').fill('ola@wsparcie.example');
  await page.getByLabel('Hasło').fill(STAFF_PASSWORD);
  await page.getByRole('button', { name: 'Zaloguj się do panelu' }).click();
  await page.getByRole('heading', { name: 'Przegląd migracji' }).waitFor();
  assert.match(await page.locator('#todo-nothing').innerText(), /Nic nie czeka/);

  // A reminder to every seller, from the list.
  await page.goto(`${base}/staff/accounts`);
  await page.getByLabel('Działanie', { exact: true }).selectOption('remind');
  await page.getByLabel(/Wszystkie pasujące do filtra \(10\)/).check();
  await page.getByRole('button', { name: 'Dalej: potwierdź' }).click();
  await page.getByRole('button', { name: 'Tak, wyślij do 10' }).click();
  const jobId = Number(/\/staff\/jobs\/(\d+)$/.exec(page.url())![1]);
  await waitForJob(app, jobId, 60_000);
  await page.reload();
  await page.getByRole('heading', { name: 'Podsumowanie' }).waitFor();
  // 550: refused for good, tried once; 451: tried again and sent; stalled: unknown.
  assert.equal(relay.rcpts.filter((r) => r === REFUSED[0]).length, 1);
  assert.match(await page.locator('.job-line').innerText(), /^zakończone: 5 wysłano, 2 nie udały się, 3 nie wiadomo, czy wysłano$/);
  await bothWidths(page, '1-job-summary');

  // The job list and the overview's recent jobs say the same, not "zakończone, 10/10".
  await page.goto(`${base}/staff/jobs`);
  assert.match(await page.locator('tbody tr').first().innerText(), /zakończone: 5 wysłano, 2 nie udały się, 3 nie wiadomo, czy wysłano/);

  await page.goto(`${base}/staff`);
  const todo = page.locator('section.todo');
  assert.match(await todo.locator('#todo-reminder-failed a').innerText(), /^Przypomnienie odrzucone na stałe: 2$/);
  assert.match(await todo.locator('#todo-reminder-uncertain a').innerText(), /^Nie wiadomo, czy przypomnienie doszło: 3$/);
  assert.match(await page.locator('main').innerText(), /zakończone: 5 wysłano, 2 nie udały się, 3 nie wiadomo, czy wysłano/);
  await bothWidths(page, '2-overview-todo');

  // Each figure opens its list, whose total is the same number.
  await todo.locator('#todo-reminder-failed a').click();
  assert.match(await page.locator('.summary').innerText(), /^2 autorespondery/);
  assert.deepEqual([...new Set(await page.locator('main table tbody a[href^="/staff/accounts/"]').allInnerTexts())].sort(), ['Sklep 1', 'Sklep 2']);
  await page.goBack();
  await todo.locator('#todo-reminder-uncertain a').click();
  assert.match(await page.locator('.summary').innerText(), /^3 autorespondery/);
  await bothWidths(page, '3-list-uncertain');

  // Resend the uncertain in one go: the confirmation names the risk of a second e-mail.
  await page.goto(`${base}/staff`);
  await page.getByRole('button', { name: 'Wyślij ponownie niepewne…' }).click();
  await page.getByRole('heading', { name: 'Wysłać ponownie niepewne przypomnienia dla 3 autoresponderów?' }).waitFor();
  assert.match(await page.locator('#resend-risk').innerText(), /dwa takie same e-maile/);
  await bothWidths(page, '4-resend-confirm');
  const before = relay.received.length;
  await page.getByRole('button', { name: 'Tak, wyślij ponownie (3)' }).click();
  const resendJob = Number(/\/staff\/jobs\/(\d+)$/.exec(page.url())![1]);
  await waitForJob(app, resendJob, 60_000);
  assert.equal(relay.received.length - before, 3, 'one e-mail to each of the three, despite the minimum interval');
  assert.deepEqual(s.repos.jobs.counts(resendJob).done, 3);
  assert.ok(s.repos.audit.listForTarget('seller', rows[3]!.sellerId).some((e) => e.action === 'reminder.resent'));
  await page.goto(`${base}/staff`);
  assert.equal(await page.locator('#todo-reminder-uncertain').count(), 0, 'nothing uncertain any more');
  assert.match(await page.locator('#todo-reminder-failed a').innerText(), /: 2$/);

  // A phone call: the support number, the seller id, the name without Polish letters, two words out of order.
  const search = async (q: string) => {
    await page.goto(`${base}/staff`);
    await page.getByRole('searchbox', { name: 'Znajdź sprzedawcę' }).fill(q);
    await page.getByRole('button', { name: 'Szukaj', exact: true }).click();
    return page.locator('.summary').innerText();
  };
  for (const q of [amberNumber, amberNumber.toLowerCase(), 'SELLER-77001', 'Amber Gifts Gdansk', 'amber gdańsk', 'gdansk AMBER', 'amber.gifts']) {
    assert.match(await search(q), /^1 autoresponder\b/, `"${q}" finds the seller`);
    assert.match(await page.locator('main table').innerText(), /Amber Gifts Gdańsk/, `"${q}" finds Amber Gifts Gdańsk`);
  }
  assert.match(await search('amber krakow'), /^0 autoresponderów|Nic nie pasuje|^Brak/, 'every word must match');
  await search('amber gdansk');
  await bothWidths(page, '5-search');
});
