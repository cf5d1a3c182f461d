import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { ensureBuilt, isFresh } from '../../scripts/build.mjs';

/**
 * `npm start` runs compiled JavaScript from dist/, rebuilt by scripts/start.mjs whenever the sources
 * changed: the build must never be taken for fresh when it is not, and two starts at once build once.
 * (That `npm start` serves the demo this way: test/cli/demo-start.test.ts.)
 */
function project() {
  const dir = mkdtempSync(path.join(tmpdir(), 'built-start-'));
  const src = path.join(dir, 'src');
  mkdirSync(path.join(src, 'i18n'), { recursive: true });
  writeFileSync(path.join(src, 'a.ts'), `import { b } from './b.js';\nimport pl from './i18n/pl.json' with { type: 'json' };\nexport const a: string = 'a' + b;\nexport const x: string = pl.x;\n`);
  writeFileSync(path.join(src, 'b.ts'), `export const b: number = 1;\n`);
  writeFileSync(path.join(src, 'i18n', 'pl.json'), `{"x":"tak"}`);
  return { dir, src, out: path.join(dir, 'dist') };
}

const ENTRY = 'a.ts';
/** Loads a build's output (once per test: a module is cached by its path). */
const load = async (out: string) => import(pathToFileURL(path.join(out, 'a.js')).href);

test('the build: made when missing, fresh after, made again after a source is edited, touched, added or deleted; the text catalogs go with it', async (t) => {
  const { dir, src, out } = project();
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  assert.equal(await ensureBuilt(src, out, ENTRY), true, 'no dist/: built');
  assert.equal(await ensureBuilt(src, out, ENTRY), false, 'nothing changed: not built again');
  const a = await load(out);
  assert.equal(a.a, 'a1', 'one module with what it imports from the sources');
  assert.equal(a.x, 'tak', 'the catalogs are in it');

  // Only touched (the same content): its time is part of the fingerprint, so it counts as a change.
  const later = new Date(Date.now() + 60_000);
  utimesSync(path.join(src, 'b.ts'), later, later);
  assert.equal(isFresh(src, out), false, 'a touched source makes the build stale');
  assert.equal(await ensureBuilt(src, out, ENTRY), true);

  writeFileSync(path.join(src, 'c.ts'), `export const c = 3;\n`);
  assert.equal(await ensureBuilt(src, out, ENTRY), true, 'a new source: built');
  rmSync(path.join(src, 'c.ts'));
  assert.equal(await ensureBuilt(src, out, ENTRY), true, 'a deleted source: built');
  writeFileSync(path.join(src, 'b.ts'), `export const b: number = 2;\n`);
  writeFileSync(path.join(src, 'i18n', 'pl.json'), `{"x":"nie"}`);
  assert.equal(await ensureBuilt(src, out, ENTRY), true, 'an edited source and catalog: built');
  const again = readFileSync(path.join(out, 'a.js'), 'utf8');
  assert.ok(again.includes('"nie"') && /b = 2/.test(again) && !again.includes('"tak"'), 'the new build has the new code and texts');
});

test('the build: two starts at once build once, and both find it complete; a build that fails leaves the last good dist/ in place', async (t) => {
  const { dir, src, out } = project();
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const built = await Promise.all([ensureBuilt(src, out, ENTRY), ensureBuilt(src, out, ENTRY), ensureBuilt(src, out, ENTRY)]);
  assert.deepEqual(built.filter(Boolean).length, 1, `exactly one built: ${JSON.stringify(built)}`);
  assert.ok(isFresh(src, out));
  assert.ok(!existsSync(`${out}.lock`), 'the lock is given back');

  writeFileSync(path.join(src, 'b.ts'), `export const b: number = ;\n`);
  await assert.rejects(ensureBuilt(src, out, ENTRY));
  assert.match(readFileSync(path.join(out, 'a.js'), 'utf8'), /b = 1/, 'the previous build is untouched');
  assert.equal(isFresh(src, out), false, 'and it is still known to be stale');
  assert.ok(!existsSync(`${out}.lock`));
});
