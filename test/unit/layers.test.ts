import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

// Imports run down the layers and nothing closes a circle (issue 22; "Rooms and doors" in STYLE.md).
// A small table, not a framework: every file under src/ is in a room (the longest path prefix that
// covers it), every room is on a floor, and a file imports only its own room or rooms on lower floors.
// Type-only imports count: they are how the `Services` bag leaked into every floor.

/** Bottom up. A prefix ending in '/' covers a folder; any other prefix is one file. */
const FLOORS: ReadonlyArray<readonly string[]> = [
  /* 0 */ ['src/errors.ts', 'src/logger.ts'],
  /* 1 */ ['src/i18n/', 'src/migration/states.ts'],
  /* 2 */ ['src/domain/', 'src/accounts/', 'src/config.ts', 'src/db/'],
  /* 3 */ ['src/repositories/'],
  /* 4 */ ['src/crypto/', 'src/migration/'],
  /* 5 */ ['src/detection/'],
  /* 6 */ ['src/mail/', 'src/allegro/', 'src/checks/slots.ts'],
  /* 7 */ ['src/checks/', 'src/outbox/', 'src/jobs/'],
  /* 8 */ ['src/v3/', 'src/import/', 'src/watch/'],
  /* 9 */ ['src/app-password/', 'src/seller/'],
  /* 10 */ ['src/staff/'],
  /* 11 */ ['src/simulator/'],
  /* 12 */ ['src/ops/', 'src/demo/'],
  /* 13 */ ['src/composition.ts'],
  /* 14 */ ['src/plugins/'],
  /* 15 */ ['src/routes/'],
  /* 16 */ ['src/app.ts', 'src/cli.ts'],
  /* 17 */ ['src/server.ts'],
];

/** The simulators are demo-only: production code gets demo wiring injected at the composition root. */
const SIMULATOR = 'src/simulator/';
const MAY_IMPORT_SIMULATOR = ['src/simulator/', 'src/demo/', 'src/server.ts'];

type Rooms = ReadonlyArray<readonly string[]>;
interface Room { prefix: string; floor: number }
/** One import edge, after resolving; typeOnly when every import of that target is type-only. */
interface Edge { to: string; typeOnly: boolean }
type Graph = Map<string, Edge[]>;

function roomOf(file: string, floors: Rooms): Room | undefined {
  let best: Room | undefined;
  floors.forEach((prefixes, floor) => {
    for (const prefix of prefixes) {
      const covers = prefix.endsWith('/') ? file.startsWith(prefix) : file === prefix;
      if (covers && (!best || prefix.length > best.prefix.length)) best = { prefix, floor };
    }
  });
  return best;
}

/**
 * The module specifiers a file imports: `import … from`, `import type … from`, `import '…'`,
 * `export … from`, `import('…')` (a call or a type), `import x = require('…')`. The parser skips
 * comments and strings, so a JSDoc `{import('…').X}` or a quoted example is no import.
 */
function importsOf(fileName: string, text: string): Array<{ spec: string; typeOnly: boolean }> {
  const source = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, false, ts.ScriptKind.TS);
  const found: Array<{ spec: string; typeOnly: boolean }> = [];
  const visit = (node: ts.Node, inType: boolean): void => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
      const clause = node.importClause;
      const named = clause?.namedBindings && ts.isNamedImports(clause.namedBindings) ? clause.namedBindings : undefined;
      const allNamedTypes = !!named && named.elements.length > 0 && !clause!.name && named.elements.every((e) => e.isTypeOnly);
      found.push({ spec: node.moduleSpecifier.text, typeOnly: !!clause && (clause.isTypeOnly || allNamedTypes) });
    } else if (ts.isExportDeclaration(node) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      const named = node.exportClause && ts.isNamedExports(node.exportClause) ? node.exportClause : undefined;
      const allNamedTypes = !!named && named.elements.length > 0 && named.elements.every((e) => e.isTypeOnly);
      found.push({ spec: node.moduleSpecifier.text, typeOnly: node.isTypeOnly || allNamedTypes });
    } else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)
      && ts.isStringLiteral(node.moduleReference.expression)) {
      found.push({ spec: node.moduleReference.expression.text, typeOnly: node.isTypeOnly });
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      const arg = node.arguments[0];
      if (arg && ts.isStringLiteralLike(arg)) found.push({ spec: arg.text, typeOnly: inType });
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument) && ts.isStringLiteral(node.argument.literal)) {
      found.push({ spec: node.argument.literal.text, typeOnly: true });
    }
    ts.forEachChild(node, (child) => visit(child, inType || ts.isTypeNode(child)));
  };
  visit(source, false);
  return found;
}

/** './x.js' from src/a/b.ts → 'src/a/x.ts' ('.js' names the '.ts' source); undefined when no such file. */
function resolveImport(from: string, spec: string, exists: (file: string) => boolean): string | undefined {
  const target = path.posix.normalize(path.posix.join(path.posix.dirname(from), spec));
  const candidates = target.endsWith('.js') ? [target.slice(0, -3) + '.ts', target.slice(0, -3) + '.d.ts', target] : [target];
  return candidates.find(exists);
}

/** Every file's relative imports, resolved. Unresolvable ones are problems of their own. */
function buildGraph(files: Map<string, string>, exists: (file: string) => boolean): { graph: Graph; problems: string[] } {
  const graph: Graph = new Map();
  const problems: string[] = [];
  for (const [file, text] of files) {
    const edges = new Map<string, boolean>();
    for (const { spec, typeOnly } of importsOf(file, text)) {
      if (!spec.startsWith('.')) continue;
      const to = resolveImport(file, spec, exists);
      if (!to) problems.push(`${file} imports '${spec}', which is no file`);
      else edges.set(to, (edges.get(to) ?? true) && typeOnly);
    }
    graph.set(file, [...edges].map(([to, typeOnly]) => ({ to, typeOnly })));
  }
  return { graph, problems };
}

function floorProblems(graph: Graph, floors: Rooms): string[] {
  const problems: string[] = [];
  const seen = new Set<string>();
  const place = (file: string): Room | undefined => {
    const room = roomOf(file, floors);
    if (!room && !seen.has(file)) {
      seen.add(file);
      problems.push(`${file} is in no room of the layering table: place it on a floor on purpose`);
    }
    return room;
  };
  for (const [from, edges] of graph) {
    const a = place(from);
    for (const { to, typeOnly } of edges) {
      const b = place(to);
      if (!a || !b || a.prefix === b.prefix || b.floor < a.floor) continue;
      const how = typeOnly ? ' (type-only)' : '';
      const same = b.floor === a.floor ? ` (same floor, another room: ${b.prefix})` : '';
      problems.push(`${from} (floor ${a.floor}) imports${how} ${to} (floor ${b.floor}): arrows must run down${same}`);
    }
  }
  return problems;
}

function simulatorProblems(graph: Graph): string[] {
  const problems: string[] = [];
  for (const [from, edges] of graph) {
    if (MAY_IMPORT_SIMULATOR.some((p) => (p.endsWith('/') ? from.startsWith(p) : from === p))) continue;
    for (const { to } of edges) {
      if (to.startsWith(SIMULATOR)) problems.push(`${from} imports ${to}: the simulator is demo-only (inject it from src/server.ts)`);
    }
  }
  return problems;
}

/** Strongly connected components of more than one file, and files importing themselves (Tarjan). */
function circles(graph: Graph): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  let next = 0;
  const strong = (v: string): void => {
    index.set(v, next); low.set(v, next); next++;
    stack.push(v); onStack.add(v);
    for (const { to: w } of graph.get(v) ?? []) {
      if (!index.has(w)) { strong(w); low.set(v, Math.min(low.get(v)!, low.get(w)!)); }
      else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do { w = stack.pop()!; onStack.delete(w); component.push(w); } while (w !== v);
      const selfLoop = (graph.get(v) ?? []).some((e) => e.to === v);
      if (component.length > 1 || selfLoop) found.push(component.sort());
    }
  };
  for (const v of [...graph.keys()].sort()) if (!index.has(v)) strong(v);
  return found;
}

/** One shortest loop through the first file of a circle, to show where to cut. */
function loopThrough(graph: Graph, component: string[]): string[] {
  const inside = new Set(component);
  const start = component[0]!;
  const parent = new Map<string, string>();
  const queue = [start];
  while (queue.length) {
    const v = queue.shift()!;
    for (const { to } of graph.get(v) ?? []) {
      if (!inside.has(to)) continue;
      if (to === start) {
        const loop = [start];
        for (let u = v; u !== start; u = parent.get(u)!) loop.splice(1, 0, u);
        return [...loop, start];
      }
      if (!parent.has(to)) { parent.set(to, v); queue.push(to); }
    }
  }
  return [start, start];
}

function circleProblems(graph: Graph): string[] {
  return circles(graph).map((c) => `circle of ${c.length} file(s): ${c.join(', ')} (for example ${loopThrough(graph, c).join(' → ')})`);
}

function checkAll(graph: Graph, floors: Rooms): string[] {
  return [...floorProblems(graph, floors), ...simulatorProblems(graph), ...circleProblems(graph)];
}

// ---------------------------------------------------------------------------------------------------

const ROOT = path.resolve(import.meta.dirname, '../..');

function* tsFiles(dir: string): Generator<string> {
  for (const name of readdirSync(dir).sort()) {
    const p = path.join(dir, name);
    if (statSync(p).isDirectory()) yield* tsFiles(p);
    else if (name.endsWith('.ts') && !name.endsWith('.test.ts')) yield p;
  }
}

test('every file under src/ is on a floor, imports run down, the simulator stays demo-only, no circles', () => {
  const files = new Map<string, string>();
  for (const p of tsFiles(path.join(ROOT, 'src'))) files.set(path.relative(ROOT, p).split(path.sep).join('/'), readFileSync(p, 'utf8'));
  assert.ok(files.size >= 100, `found only ${files.size} files under src/`);
  const { graph, problems } = buildGraph(files, (f) => existsSync(path.join(ROOT, f)));
  const edges = [...graph.values()].reduce((n, e) => n + e.length, 0);
  assert.ok(edges >= 300, `found only ${edges} imports between files under src/`);
  problems.push(...checkAll(graph, FLOORS));
  // One line per problem, all of them, and no diff that repeats them.
  if (problems.length) assert.fail(`${problems.length} layering problem(s):\n${problems.join('\n')}\n`);
});

test('the checker catches an upward import, a same-floor import, a stray file, the simulator and circles', () => {
  // src/mid/one.ts is a room of its own on a lower floor than the rest of src/mid/ (as migration/states.ts).
  const floors: Rooms = [['src/low/', 'src/mid/one.ts'], ['src/mid/', 'src/side/'], ['src/top.ts']];
  const g = (edges: Record<string, string[]>, typeOnly: string[] = []): Graph =>
    new Map(Object.entries(edges).map(([from, tos]) => [from, tos.map((to) => ({ to, typeOnly: typeOnly.includes(`${from}>${to}`) }))]));

  // Clean: down the floors, and within a room.
  const clean = g({ 'src/top.ts': ['src/mid/a.ts', 'src/low/x.ts'], 'src/mid/a.ts': ['src/mid/b.ts', 'src/mid/one.ts'], 'src/mid/b.ts': [], 'src/low/x.ts': ['src/low/y.ts'], 'src/low/y.ts': [], 'src/mid/one.ts': [] });
  assert.deepEqual(checkAll(clean, floors), []);

  assert.deepEqual(checkAll(g({ 'src/low/x.ts': ['src/top.ts'], 'src/top.ts': [] }, ['src/low/x.ts>src/top.ts']), floors), [
    'src/low/x.ts (floor 0) imports (type-only) src/top.ts (floor 2): arrows must run down',
  ]);
  // The file's own room is not its folder's: it may not use the rest of src/mid/, nor src/low/ its floor-mate.
  assert.deepEqual(checkAll(g({ 'src/mid/one.ts': ['src/mid/a.ts'], 'src/mid/a.ts': [], 'src/low/x.ts': ['src/mid/one.ts'] }), floors), [
    'src/mid/one.ts (floor 0) imports src/mid/a.ts (floor 1): arrows must run down',
    'src/low/x.ts (floor 0) imports src/mid/one.ts (floor 0): arrows must run down (same floor, another room: src/mid/one.ts)',
  ]);
  assert.deepEqual(checkAll(g({ 'src/mid/a.ts': ['src/side/c.ts'], 'src/side/c.ts': [] }), floors), [
    'src/mid/a.ts (floor 1) imports src/side/c.ts (floor 1): arrows must run down (same floor, another room: src/side/)',
  ]);
  assert.deepEqual(checkAll(g({ 'src/new/z.ts': ['src/low/x.ts'], 'src/low/x.ts': [] }), floors), [
    'src/new/z.ts is in no room of the layering table: place it on a floor on purpose',
  ]);
  assert.deepEqual(simulatorProblems(g({ 'src/routes/x.ts': ['src/simulator/google/y.ts'], 'src/demo/d.ts': ['src/simulator/s.ts'], 'src/server.ts': ['src/simulator/s.ts'] })), [
    'src/routes/x.ts imports src/simulator/google/y.ts: the simulator is demo-only (inject it from src/server.ts)',
  ]);

  // A circle inside one room passes the floors but not the circle check; so does a file importing itself.
  const loop = g({ 'src/mid/a.ts': ['src/mid/b.ts'], 'src/mid/b.ts': ['src/mid/c.ts'], 'src/mid/c.ts': ['src/mid/a.ts'], 'src/low/x.ts': ['src/low/x.ts'] });
  assert.deepEqual(checkAll(loop, floors), [
    'circle of 1 file(s): src/low/x.ts (for example src/low/x.ts → src/low/x.ts)',
    'circle of 3 file(s): src/mid/a.ts, src/mid/b.ts, src/mid/c.ts (for example src/mid/a.ts → src/mid/b.ts → src/mid/c.ts → src/mid/a.ts)',
  ]);
});

test('imports are read in every form, and comments and strings are no imports', () => {
  const text = [
    "import a from './a.js';",
    "import type { B } from '../b.js';",
    "import { type C, type D } from './c.js';",
    "import { e,\n  f } from './e.js';",
    "import './side-effect.js';",
    "export * from './g.js';",
    "export type { H } from './h.js';",
    "// import x from './comment.js';",
    "/** @throws {import('./jsdoc.js').X} */",
    "const s = \"import y from './string.js'\";",
    "const m = await import('./dynamic.js');",
    "type T = import('./type-query.js').T;",
    "import fs from 'node:fs';",
  ].join('\n');
  assert.deepEqual(importsOf('src/x/y.ts', text), [
    { spec: './a.js', typeOnly: false },
    { spec: '../b.js', typeOnly: true },
    { spec: './c.js', typeOnly: true },
    { spec: './e.js', typeOnly: false },
    { spec: './side-effect.js', typeOnly: false },
    { spec: './g.js', typeOnly: false },
    { spec: './h.js', typeOnly: true },
    { spec: './dynamic.js', typeOnly: false },
    { spec: './type-query.js', typeOnly: true },
    { spec: 'node:fs', typeOnly: false },
  ]);
  const exists = (f: string) => ['src/x/a.ts', 'src/b.ts', 'src/x/data.json', 'src/x/ambient.d.ts'].includes(f);
  assert.equal(resolveImport('src/x/y.ts', './a.js', exists), 'src/x/a.ts');
  assert.equal(resolveImport('src/x/y.ts', '../b.js', exists), 'src/b.ts');
  assert.equal(resolveImport('src/x/y.ts', './data.json', exists), 'src/x/data.json');
  assert.equal(resolveImport('src/x/y.ts', './ambient.js', exists), 'src/x/ambient.d.ts');
  assert.equal(resolveImport('src/x/y.ts', './gone.js', exists), undefined);
});
