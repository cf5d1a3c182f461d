// The server's build: src/server.ts and everything it imports from src/ (the text catalogs included)
// bundled by esbuild into one ES module, dist/server.js, with a source map; the packages in
// node_modules stay outside it, loaded by Node as usual. `npm start` then runs JavaScript instead of
// compiling TypeScript at each start, and loads one file of ours instead of 140 (resolving and loading
// each was a sixth of a start's CPU). Types are checked by `npm run typecheck` and the tests, not here.
// Run at `npm install` (postinstall) and by scripts/start.mjs whenever a source changed: dist/ is
// never stale.
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, renameSync, rmSync, statSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createRequire } from 'node:module';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const STAMP = '.build-stamp';
/**
 * What compiles: esbuild's version and this file (its settings). Either changed, the build is
 * stale even with every source as it was.
 */
const BUILDER = `esbuild ${createRequire(import.meta.url)('esbuild/package.json').version}\0${createHash('sha256').update(readFileSync(fileURLToPath(import.meta.url))).digest('hex')}`;

/** Every TypeScript source under `src` and the JSON files beside them (the text catalogs), sorted: what a build may read. */
function sources(src) {
  const out = [];
  const walk = (dir) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if ((e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')) || e.name.endsWith('.json')) out.push(p);
    }
  };
  walk(src);
  return out.sort();
}

/**
 * What the build's output depends on: each source's path, size and modification time, and what
 * compiles them (BUILDER). A new, deleted, edited or touched source, another esbuild or new build
 * settings change it.
 */
export function fingerprint(src, files = sources(src)) {
  const h = createHash('sha256').update(BUILDER);
  for (const file of files) {
    const s = statSync(file);
    h.update(`${path.relative(src, file)}\0${s.size}\0${s.mtimeMs}\n`);
  }
  return h.digest('hex');
}

/** True when `out` holds a build of exactly the sources in `src` as they are now. */
export function isFresh(src, out) {
  try {
    return readFileSync(path.join(out, STAMP), 'utf8') === fingerprint(src);
  } catch {
    return false;
  }
}

/**
 * Builds `src` into `out` whole, in a folder beside it that replaces `out` only when complete: a
 * stopped or failed build never leaves a half-written dist/ that would be taken for fresh.
 */
export async function build(src = path.join(ROOT, 'src'), out = path.join(ROOT, 'dist'), entry = 'server.ts') {
  const esbuild = await import('esbuild');
  const files = sources(src);
  const print = fingerprint(src, files);
  const tmp = `${out}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  try {
    await esbuild.build({
      entryPoints: [path.join(src, entry)],
      outfile: path.join(tmp, entry.replace(/\.ts$/, '.js')),
      bundle: true,
      packages: 'external',
      format: 'esm',
      platform: 'node',
      target: 'node20',
      sourcemap: 'linked',
      logLevel: 'warning',
    });
    writeFileSync(path.join(tmp, STAMP), print);
    rmSync(out, { recursive: true, force: true });
    renameSync(tmp, out);
  } catch (err) {
    rmSync(tmp, { recursive: true, force: true });
    throw err;
  }
  return files.length;
}

/**
 * Builds when `out` is missing or older than any source; returns whether it built. One build at a
 * time: two starts at once (a double `npm start`) take turns through a lock folder, and the second
 * finds the first one's build fresh. A lock left by a killed build is taken over after a minute.
 */
export async function ensureBuilt(src = path.join(ROOT, 'src'), out = path.join(ROOT, 'dist'), entry = 'server.ts') {
  if (isFresh(src, out)) return false;
  const lock = `${out}.lock`;
  const deadline = Date.now() + 120_000;
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch (err) {
      if (err.code !== 'EEXIST') throw err;
      let age = 0;
      try {
        age = Date.now() - statSync(lock).mtimeMs;
      } catch {
        continue; // given back just now
      }
      if (age > 60_000) rmSync(lock, { recursive: true, force: true });
      else if (Date.now() > deadline) throw new Error(`another build holds ${lock}`);
      else await new Promise((r) => setTimeout(r, 100));
    }
  }
  try {
    if (isFresh(src, out)) return false;
    await build(src, out, entry);
    return true;
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const started = Date.now();
  const n = await build();
  console.log(`built dist/server.js from ${n} source files in ${Date.now() - started} ms`);
}
