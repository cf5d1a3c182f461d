import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

const ROUTES = path.resolve(import.meta.dirname, '../../src/routes');

function* files(dir: string): Generator<string> {
  for (const name of readdirSync(dir)) {
    const p = path.join(dir, name);
    if (statSync(p).isDirectory()) yield* files(p);
    else if (name.endsWith('.ts')) yield p;
  }
}

// Routes are thin adapters (src/README.md): parse, call one use case, render.
test('route files stay small and never open a transaction, write an audit entry or run SQL', () => {
  const found = [...files(ROUTES)];
  assert.ok(found.length >= 10, `found only ${found.length} route files`);
  for (const file of found) {
    const text = readFileSync(file, 'utf8');
    const name = path.relative(ROUTES, file);
    const lines = text.split('\n').length;
    assert.ok(lines <= 250, `${name} has ${lines} lines (at most 250: move page models and rules out of the route)`);
    assert.doesNotMatch(text, /\.transaction\(/, `${name} opens a transaction`);
    assert.doesNotMatch(text, /audit\.append\(/, `${name} writes an audit entry`);
    assert.doesNotMatch(text, /\.prepare\(|\bdb\.(exec|pragma)\(/, `${name} runs SQL`);
  }
});
