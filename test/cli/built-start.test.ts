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
  writeFileSync(path.join(src, 'a.ts'), `import { b } from './b.js';\nexport const a: string = 'a' + b;\n`);
  writeFileSync(path.join(src, 'b.ts'), `export const b: number = 1;\n`);
  writeFileSync(path.join(src, 'i18n', 'pl.json'), `{"x":"tak"}`);
  return { dir, src, out: path.join(dir, 'dist') };
}

test('the build: made when missing, fresh after, made again after a source is edited, touched, added or deleted; the text catalogs go with it', async (t) => {
  const { dir, src, out } = project();
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  assert.equal(await ensureBuilt(src, out), true, 'no dist/: built');
  assert.equal(await ensureBuilt(src, out), false, 'nothing changed: not built again');
  const a = await import(pathToFileURL(path.join(out, 'a.js')).href);
  assert.equal(a.a, 'a1', 'the compiled modules run, imports between them resolved');
  assert.equal(readFileSync(path.join(out, 'i18n', 'pl.json'), 'utf8'), '{"x":"tak"}');

  // Only touched (the same content): its time is part of the fingerprint, so it counts as a change.
  const later = new Date(Date.now() + 60_000);
  utimesSync(path.join(src, 'b.ts'), later, later);
  assert.equal(isFresh(src, out), false, 'a touched source makes the build stale');
  assert.equal(await ensureBuilt(src, out), true);

  writeFileSync(path.join(src, 'c.ts'), `export const c = 3;\n`);
  assert.equal(await ensureBuilt(src, out), true, 'a new source: built');
  assert.ok(existsSync(path.join(out, 'c.js')));
  rmSync(path.join(src, 'c.ts'));
  assert.equal(await ensureBuilt(src, out), true, 'a deleted source: built');
  assert.ok(!existsSync(path.join(out, 'c.js')), 'and its old output is gone');
  writeFileSync(path.join(src, 'i18n', 'pl.json'), `{"x":"nie"}`);
  assert.equal(await ensureBuilt(src, out), true, 'a changed catalog: built');
  assert.equal(readFileSync(path.join(out, 'i18n', 'pl.json'), 'utf8'), '{"x":"nie"}');
});

test('the build: two starts at once build once, and both find it complete; a build that fails leaves the last good dist/ in place', async (t) => {
  const { dir, src, out } = project();
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const built = await Promise.all([ensureBuilt(src, out), ensureBuilt(src, out), ensureBuilt(src, out)]);
  assert.deepEqual(built.filter(Boolean).length, 1, `exactly one built: ${JSON.stringify(built)}`);
  assert.ok(isFresh(src, out));
  assert.ok(!existsSync(`${out}.lock`), 'the lock is given back');

  writeFileSync(path.join(src, 'b.ts'), `export const b: number = ;\n`);
  await assert.rejects(ensureBuilt(src, out));
  assert.equal(readFileSync(path.join(out, 'b.js'), 'utf8').includes('b = 1'), true, 'the previous build is untouched');
  assert.equal(isFresh(src, out), false, 'and it is still known to be stale');
  assert.ok(!existsSync(`${out}.lock`));
});
