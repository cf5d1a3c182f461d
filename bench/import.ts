/**
 * `npm run bench:import`: the CLI import of the main system's export, as an operator runs it, on a
 * generated file of BENCH_ROWS rows (default 100,000; the target is 1,000,000 in under
 * 2 minutes). Runs the import in a child process under /usr/bin/time (wall, CPU, peak memory), then
 * the same file again (a no-op: every row unchanged), checks the trigger-kept counters against the
 * rows, and writes the figures into bench/REPORT.md between the import markers, with the machine's load.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { PROJECT_ROOT } from '../src/config.js';
import { openDatabase } from '../src/db/database.js';
import { writeImportFile } from './import-file.js';

const ROWS = Number(process.env.BENCH_ROWS ?? 100_000);
const dir = mkdtempSync(path.join(tmpdir(), 'bench-import-'));
const file = path.join(dir, 'eksport.csv');
const env = { PATH: process.env.PATH, HOME: process.env.HOME, DATABASE_PATH: path.join(dir, 'app.db'), SECRET_KEY_FILE: path.join(dir, 'secret.key'), DEMO: '0', OPERATOR_NAME: 'Bench sp. z o.o.', SUPPORT_EMAIL: 'pomoc@bench.example', MX_RESOLVER: 'demo', LOG_LEVEL: 'warn' };

interface Run {
  wallS: number;
  cpuS: number;
  maxRssMb: number;
  out: string;
  load: number;
}
function run(): Run {
  const load = loadavg()[0]!;
  const r = spawnSync('/usr/bin/time', ['-f', 'TIME %e %U %S %M', process.execPath, '--import', 'tsx', 'src/cli.ts', 'import', file], { cwd: PROJECT_ROOT, env, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  const m = /TIME (\S+) (\S+) (\S+) (\S+)/.exec(r.stderr);
  if (!m || (r.status !== 0 && r.status !== 2)) throw new Error(`import failed (${r.status}): ${r.stderr.slice(-2000)}`);
  return { wallS: Number(m[1]), cpuS: Number(m[2]) + Number(m[3]), maxRssMb: Math.round(Number(m[4]) / 1024), out: r.stdout, load };
}

console.log(`generating ${ROWS} rows…`);
await writeImportFile(file, ROWS);
const sizeMb = statSync(file).size / 1048576;
console.log(`importing (${sizeMb.toFixed(1)} MB)…`);
const first = run();
console.log(first.out);
console.log('again (no-op)…');
const again = run();
const db = openDatabase(env.DATABASE_PATH);
const one = (sql: string) => db.prepare(sql).pluck().get() as number;
const counters = {
  autoresponders: one('SELECT count(*) FROM autoresponders'),
  accountIndex: one('SELECT count(*) FROM account_index'),
  accountCounts: one('SELECT sum(n) FROM account_counts'),
  funnelCounts: one('SELECT sum(n) FROM funnel_counts'),
};
db.close();
const ok = counters.autoresponders === ROWS && counters.accountIndex === ROWS && counters.accountCounts === ROWS && counters.funnelCounts === ROWS;
rmSync(dir, { recursive: true, force: true });

const rate = (r: Run) => Math.round(ROWS / r.wallS).toLocaleString('en');
const row = (what: string, r: Run) => `| ${what} | ${r.wallS.toFixed(1)} | ${r.cpuS.toFixed(1)} | ${((r.cpuS * 1000) / ROWS).toFixed(3)} | ${rate(r)} | ${r.maxRssMb} | ${r.load.toFixed(1)} |`;
const md = [
  '<!-- import:start -->',
  `## Import of the main system's export (\`BENCH_ROWS=${ROWS} npm run bench:import\`)`,
  '',
  `${ROWS.toLocaleString('en')} rows (${sizeMb.toFixed(1)} MB, ${ROWS / 2} sellers, 60% @gmail.com), measured ${new Date().toISOString().slice(0, 16)} on ${cpus().length} cores; the machine is shared (load average in the table).`,
  '',
  '| run | wall s | CPU s | CPU ms/row | rows/s | peak memory MB | load (1 min) |',
  '|---|---|---|---|---|---|---|',
  row('first import', first),
  row('same file again (no-op)', again),
  '',
  `Trigger-kept figures after the import: account_index ${counters.accountIndex}, account_counts ${counters.accountCounts}, funnel_counts ${counters.funnelCounts} for ${counters.autoresponders} autoresponders: ${ok ? 'all equal' : '**NOT equal**'}.`,
  '<!-- import:end -->',
].join('\n');
console.log(md);
const report = path.join(PROJECT_ROOT, 'bench/REPORT.md');
const text = existsSync(report) ? readFileSync(report, 'utf8') : '';
const marked = /<!-- import:start -->[\s\S]*<!-- import:end -->/;
writeFileSync(report, marked.test(text) ? text.replace(marked, md) : `${text.trimEnd()}\n\n${md}\n`);
