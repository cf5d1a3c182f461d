// `npm start`: the server from compiled JavaScript. dist/ is rebuilt first whenever a source is newer
// than the last build (scripts/build.mjs), so a changed src/ is never served stale. `npm run dev`
// runs the sources directly and restarts on every change.
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { ensureBuilt, ROOT } from './build.mjs';

const started = Date.now();
if (await ensureBuilt()) console.error(`sources changed: dist/ rebuilt in ${Date.now() - started} ms`);
await import(pathToFileURL(path.join(ROOT, 'dist', 'server.js')).href);
