import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { ERROR_CODES, MigError, NotFoundError, isErrorCode } from '../../src/errors.js';
import { AllegroUnavailableError } from '../../src/allegro/errors.js';
import { ConfigError } from '../../src/config.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const catalog = (lang: string) => JSON.parse(readFileSync(path.join(ROOT, 'src/i18n', `${lang}.json`), 'utf8')) as { errorCodes: Record<string, string> };

function* files(dir: string): Generator<string> {
  for (const name of readdirSync(dir)) {
    const p = path.join(dir, name);
    if (statSync(p).isDirectory()) yield* files(p);
    else if (/\.(ts|hbs)$/.test(name)) yield p;
  }
}

test('every registered error code has a Polish and an English text, and the catalogs name no other code', () => {
  for (const lang of ['pl', 'en']) {
    const texts = catalog(lang).errorCodes;
    for (const code of Object.keys(ERROR_CODES)) assert.ok(typeof texts[code] === 'string' && texts[code]!.trim().length > 3, `${lang}: errorCodes.${code}`);
    for (const code of Object.keys(texts)) assert.ok(isErrorCode(code), `${lang}: errorCodes.${code} is not registered in src/errors.ts`);
  }
});

test('every MIG_ERR_* code written in src/ and views/ is registered', () => {
  const seen = new Map<string, string>();
  for (const dir of ['src', 'views']) {
    for (const file of files(path.join(ROOT, dir))) {
      if (file.endsWith(path.join('src', 'errors.ts'))) continue;
      for (const m of readFileSync(file, 'utf8').matchAll(/MIG_ERR_[A-Z0-9_]*[A-Z0-9]/g)) seen.set(m[0], path.relative(ROOT, file));
    }
  }
  assert.ok(seen.size >= 20, `found ${seen.size} codes: the scan looks in the wrong place`);
  for (const [code, file] of seen) assert.ok(isErrorCode(code), `${code} (in ${file}) is not registered in src/errors.ts`);
});

test('one mechanism: every error class carries its registered code and status', () => {
  const nf = new NotFoundError();
  assert.ok(nf instanceof MigError);
  assert.equal(nf.code, 'MIG_ERR_NOT_FOUND');
  assert.equal(nf.statusCode, 404);
  const allegro = new AllegroUnavailableError('timeout');
  assert.ok(allegro instanceof MigError);
  assert.equal(allegro.code, 'MIG_ERR_ALLEGRO_UNAVAILABLE');
  const config = new ConfigError('PORT', 'PORT: must be a number');
  assert.ok(config instanceof MigError);
  assert.equal(config.code, 'MIG_ERR_CONFIG');
  assert.equal(config.message, 'PORT: must be a number');
  assert.equal(new MigError('MIG_ERR_ILLEGAL_TRANSITION', 'affected', 'x → y').message, 'Migration cannot go from "affected" by "x → y"');
});
