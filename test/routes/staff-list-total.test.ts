import { test } from 'node:test';
import assert from 'node:assert/strict';
import { build } from '../helpers/build.js';
import { memoryDb } from '../helpers/core.js';
import { staffAgent } from '../helpers/staff.js';
import { seed } from '../../bench/seed.js';

const href = (body: string, re: RegExp) => re.exec(body)![1]!.replace(/&amp;/g, '&').replace(/&#x3D;/g, '=');

test('over 10,000 matches the list says "ponad 10 000" (one language a page) and counts exactly on request; paging still works', async (t) => {
  const db = memoryDb();
  seed(db, 10_500);
  const { app } = await build(t, { db });
  const exact = db.prepare(`SELECT count(*) FROM account_index WHERE state != 'not_affected' AND instr(search, 'example.pl') > 0`).pluck().get() as number;
  assert.ok(exact > 10_000);
  const a = await staffAgent(app, 'agent');

  const page = await a.get('/staff/accounts?q=example.pl');
  assert.equal(page.statusCode, 200);
  assert.match(page.body, /Ponad 10\u00a0000 autoresponderów · strona 1 · <a href="[^"]*exact(=|&#x3D;)1[^"]*">Policz dokładnie<\/a>/);
  assert.match(page.body, /Eksportuj CSV \(ponad 10\u00a0000\)/);
  assert.match(page.body, /Wszystkie pasujące do filtra \(ponad 10\u00a0000\)/);
  assert.doesNotMatch(page.body, /More than|Count exactly/, 'one language a page');

  const counted = await a.get(href(page.body, /<a href="([^"]+)">Policz dokładnie/));
  assert.match(counted.body, new RegExp(`${exact.toLocaleString('pl')} autoresponderów · strona 1 z ${Math.ceil(exact / 25)}`));
  assert.match(counted.body, new RegExp(`Wszystkie pasujące do filtra \\(${exact}\\)`));
  // The exact count stays while paging on from there.
  const second = await a.get(href(counted.body, /<a href="([^"]+)" rel="next">/));
  assert.match(second.body, new RegExp(`${exact.toLocaleString('pl')} autoresponderów · strona 2 z ${Math.ceil(exact / 25)}`));

  // Without it, paging on says "page 2" without a page count.
  const next = await a.get(href(page.body, /<a href="([^"]+)" rel="next">/));
  assert.match(next.body, /Ponad 10\u00a0000 autoresponderów · strona 2 · /);

  const en = await a.get('/staff/accounts?q=example.pl&lang=en');
  assert.match(en.body, /More than 10,000 autoresponders · page 1 · <a href="[^"]+">Count exactly<\/a>/);
  assert.match(en.body, /Export CSV \(more than 10,000\)/);
  assert.doesNotMatch(en.body, /Ponad|Policz/, 'one language a page');

  // Equality filters are always counted exactly (from the counters), however many match.
  const all = await a.get('/staff/accounts?lang=pl');
  const listed = db.prepare(`SELECT count(*) FROM account_index WHERE state != 'not_affected'`).pluck().get() as number;
  assert.match(all.body, new RegExp(`${listed.toLocaleString('pl')} autoresponderów · strona 1 z ${Math.ceil(listed / 25)}`));
});
