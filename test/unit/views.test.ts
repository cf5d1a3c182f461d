import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../../src/config.js';

const VIEWS = path.join(PROJECT_ROOT, 'views');
const CSRF_PARTIAL = 'partials/csrf.hbs';

/** Every template under views/, by its path relative to views/. */
function templates(): { name: string; text: string }[] {
  return readdirSync(VIEWS, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.hbs'))
    .map((f) => f.split(path.sep).join('/'))
    .sort()
    .map((name) => ({ name, text: readFileSync(path.join(VIEWS, name), 'utf8') }));
}

test('the CSRF field is written only in its partial; every other view uses {{> csrf}}', () => {
  const all = templates();
  assert.ok(all.some((v) => v.name === CSRF_PARTIAL), `views/${CSRF_PARTIAL} exists`);
  const handWritten = all.filter((v) => v.name !== CSRF_PARTIAL && /name\s*=\s*["']?_csrf\b/.test(v.text)).map((v) => v.name);
  assert.deepEqual(handWritten, [], 'views with a hand-written _csrf field: use {{> csrf}} instead');
});

test('every POST form in the views sends the CSRF token', () => {
  const missing: string[] = [];
  let forms = 0;
  for (const v of templates()) {
    for (const m of v.text.matchAll(/<form\b[^>]*\bmethod="post"[^>]*>([\s\S]*?)<\/form>/gi)) {
      forms++;
      if (!/\{\{>\s*csrf\s*\}\}/.test(m[1]!)) missing.push(`${v.name}: ${m[0].slice(0, m[0].indexOf('>') + 1)}`);
    }
  }
  assert.ok(forms > 20, `found the views' POST forms (${forms})`);
  assert.deepEqual(missing, [], 'POST forms without {{> csrf}}');
});

test('a bare {{name}} never names a helper: the helper would run with no value and hide the field (the demo sign-in page lost every seller\'s address to {{email}})', async () => {
  const Handlebars = (await import('handlebars')).default;
  // The helpers the app registers, read from their registration calls.
  const sources = ['src/plugins/views.ts', 'src/plugins/view-helpers.ts'].map((f) => readFileSync(path.join(PROJECT_ROOT, f), 'utf8')).join('\n');
  const helpers = new Set([...sources.matchAll(/registerHelper\('([A-Za-z]+)'/g)].map((m) => m[1]!));
  assert.ok(helpers.has('addr') && helpers.has('t') && helpers.size > 10, `found the helpers (${[...helpers].join(', ')})`);
  // Helpers meant to be called bare: they read what they need from the page's root.
  const bareHelpers = new Set(['contactHref']);
  const found: string[] = [];
  class Finder extends Handlebars.Visitor {
    constructor(private readonly name: string) {
      super();
    }
    override MustacheStatement(m: hbs.AST.MustacheStatement): void {
      const p = m.path as hbs.AST.PathExpression;
      if (p.type === 'PathExpression' && m.params.length === 0 && !m.hash && p.parts.length === 1 && !p.data && p.original === p.parts[0] && helpers.has(p.parts[0]!) && !bareHelpers.has(p.parts[0]!)) {
        found.push(`${this.name}:${m.loc?.start.line}: {{${p.original}}}`);
      }
      super.MustacheStatement(m);
    }
  }
  for (const v of templates()) new Finder(v.name).accept(Handlebars.parse(v.text));
  assert.deepEqual(found, [], 'write {{this.name}} for the field, or give the helper its value');
});
