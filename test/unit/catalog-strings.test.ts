import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { PROJECT_ROOT } from '../../src/config.js';

/*
 * Every text a person reads is in the catalogs (src/i18n/*.json) or in a template (views/), never
 * written into the code. A string literal with a Polish letter, or a "Polish / English" pair, in
 * src/ is such a text. Not scanned, on purpose:
 *   - src/i18n/: the catalogs themselves;
 *   - src/simulator/: it stands in for Allegro and answers with Allegro's own (Polish) texts, which
 *     are not this app's to translate.
 * Allowed literals (each one is data, not text for a reader):
 *   - a single character: the HTML entity table in src/v3/templates.ts (&oacute; → 'ó', …).
 */
const SKIP_DIRS = new Set(['src/i18n', 'src/simulator']);
const POLISH = /[ąćęłńóśźżĄĆĘŁŃÓŚŹŻ]/;
// "zaimportowane / imported", or `${n} kont / ${n} accounts`: a lower-case word, a spaced slash, and
// another word or the end of the literal part (names such as "A_ID / B_ID" are not texts).
const PAIR = /\p{Ll}{2,} \/ (\p{Ll}{2,}|$)/u;

function isAllowed(text: string): boolean {
  return [...text].length === 1;
}

/** A piece of HTML written in code: a mail or page built by hand instead of from views/. */
const MARKUP = /<\/?(html|body|p|a|br|div|span|ul|ol|li|strong|em|h[1-6]|table|tr|td)\b[^>]*>/i;

/** Every string literal (and every literal part of a template string) of one source text that looks person-facing. */
function inlineTexts(fileName: string, source: string, pattern?: RegExp): { line: number; text: string }[] {
  const file = ts.createSourceFile(fileName, source, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const found: { line: number; text: string }[] = [];
  const visit = (node: ts.Node) => {
    if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node) || ts.isTemplateHead(node) || ts.isTemplateMiddle(node) || ts.isTemplateTail(node)) {
      const text = node.text;
      if (pattern ? pattern.test(text) : (POLISH.test(text) || PAIR.test(text)) && !isAllowed(text)) {
        found.push({ line: file.getLineAndCharacterOfPosition(node.getStart()).line + 1, text });
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(file);
  return found;
}

function sourceFiles(dir: string): string[] {
  const rel = path.relative(PROJECT_ROOT, dir);
  if (SKIP_DIRS.has(rel)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(full);
    return e.name.endsWith('.ts') ? [full] : [];
  });
}

test('the scanner finds Polish and "Polish / English" literals, in strings and templates, and not in comments', () => {
  const found = inlineTexts(
    'sample.ts',
    [
      "// Zażółć gęślą jaźń: a comment is not a text",
      "const a = 'Zaloguj się';",
      'const b = `Nie można odczytać ${file}: ${code}`;',
      'const c = `${n} kont / ${n} accounts`;',
      "const d = 'Podaj plik / give a file';",
      "const e = { oacute: 'ó' };",
      "const f = 'text/html; charset=utf-8';",
      "const g = 'mail.signIn.subject';",
    ].join('\n'),
  );
  assert.deepEqual(
    found.map((f) => f.line),
    [2, 3, 4, 5],
  );
});

test('no person-facing text is written inline in src/: it is in the catalogs or views/', () => {
  const files = sourceFiles(path.join(PROJECT_ROOT, 'src'));
  // The folders this rule was written for must be among the scanned ones.
  for (const must of ['src/cli.ts', 'src/import/import.ts', 'src/seller/sign-in.ts', 'src/staff/actions.ts', 'src/mail/render.ts']) {
    assert.ok(files.includes(path.join(PROJECT_ROOT, must)), `${must} is scanned`);
  }
  const offences = files.flatMap((f) => inlineTexts(f, readFileSync(f, 'utf8')).map((o) => `${path.relative(PROJECT_ROOT, f)}:${o.line}: ${JSON.stringify(o.text)}`));
  assert.deepEqual(offences, [], 'move these texts to src/i18n/pl.json and en.json (or views/), or add a reasoned exception above');
});

test('every e-mail is rendered from views/mail/ by the one mail renderer: no other template engine, no HTML built in code', () => {
  const files = sourceFiles(path.join(PROJECT_ROOT, 'src'));
  const handlebars = files.filter((f) => /from 'handlebars'/.test(readFileSync(f, 'utf8'))).map((f) => path.relative(PROJECT_ROOT, f));
  assert.deepEqual(handlebars.sort(), ['src/mail/render.ts', 'src/plugins/view-helpers.ts', 'src/plugins/view-texts.ts', 'src/plugins/views.ts'], 'pages: plugins/views.ts (with its helpers in plugins/view-helpers.ts and its fixed texts put in at compile time by plugins/view-texts.ts); e-mails: mail/render.ts');
  // Page helpers (plugins/view-helpers.ts) may wrap a value in one inline element (an address's unbreakable part).
  const markup = files.filter((f) => !f.endsWith(path.join('plugins', 'view-helpers.ts'))).flatMap((f) => inlineTexts(f, readFileSync(f, 'utf8'), MARKUP).map((o) => `${path.relative(PROJECT_ROOT, f)}:${o.line}: ${JSON.stringify(o.text)}`));
  assert.deepEqual(markup, [], 'write markup in a template under views/');
  // And the check sees hand-built HTML such as the sign-in e-mail used to be.
  assert.ok(inlineTexts('old.ts', 'const html = `<p>${a}</p><p><a href="${link}">${b}</a></p>`;', MARKUP).length > 0);
});
