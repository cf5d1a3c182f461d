import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { createI18n, formatDateTime, LANGUAGES } from '../../src/i18n/index.js';

function keys(obj: Record<string, unknown>, prefix = ''): string[] {
  return Object.entries(obj).flatMap(([k, v]) => (v && typeof v === 'object' ? keys(v as Record<string, unknown>, `${prefix}${k}.`) : [`${prefix}${k}`]));
}
const catalog = (lang: string) => JSON.parse(readFileSync(path.join(import.meta.dirname, '../../src/i18n', `${lang}.json`), 'utf8')) as Record<string, unknown>;

test('the fast translate path gives exactly what i18next gives, for every key of both catalogs', async () => {
  const i18n = await createI18n();
  let compared = 0;
  for (const lang of LANGUAGES) {
    const fast = i18n.t(lang);
    const exact = i18n.exact(lang);
    for (const key of keys(catalog(lang))) {
      // Plural forms are looked up by their base key with a count.
      const base = key.replace(/_(zero|one|two|few|many|other)$/, '');
      const raw = String(i18n.exact(lang)(base));
      const names = [...raw.matchAll(/\{\{\s*(\w+)\s*\}\}/g)].map((m) => m[1]!);
      // Values with HTML, regex replacement patterns and Polish letters: filled in as they are.
      const vars = Object.fromEntries(names.map((n, i) => [n, i % 2 ? `<b>$&${n}ł</b>` : 1234 + i]));
      assert.equal(fast(base), exact(base), `${lang} ${base} without options`);
      assert.equal(fast(base), fast(base), 'cached text is stable');
      assert.equal(fast(base, vars), exact(base, vars), `${lang} ${base} with ${JSON.stringify(vars)}`);
      for (const count of [0, 1, 2, 5, 12, 22, 101, -1, 1.5]) assert.equal(fast(base, { ...vars, count }), exact(base, { ...vars, count }), `${lang} ${base} count=${count}`);
      assert.equal(fast(base, { ...vars, count: undefined }), exact(base, { ...vars, count: undefined }), `${lang} ${base} count=undefined`);
      // A placeholder left without a value is i18next's business.
      if (names.length) assert.equal(fast(base, { unrelated: 'x' }), exact(base, { unrelated: 'x' }));
      compared++;
    }
  }
  assert.ok(compared > 300, `compared ${compared} keys`);
  // A key missing in English falls back to Polish on both paths; an unknown key stays the key.
  assert.equal(i18n.t('en')('no.such.key', { a: 1 }), i18n.exact('en')('no.such.key', { a: 1 }));
  assert.equal(i18n.t('en')('no.such.key'), 'no.such.key');
});

test('dates are formatted in Warsaw time in each language', () => {
  assert.equal(formatDateTime('2026-01-15T23:30:00Z', 'pl'), '16 sty 2026, 00:30');
  assert.equal(formatDateTime('2026-07-15T10:00:00Z', 'en'), '15 Jul 2026, 12:00');
  assert.equal(formatDateTime(null, 'pl'), '');
});
