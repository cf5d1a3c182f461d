/**
 * Run by test/run.sh after the whole suite: searches every log line, page and export the app produced
 * during the tests (test-output/transcripts/*.out) for every secret the tests gave it (*.secrets):
 * app and mailbox passwords, OAuth tokens, the Allegro client secret, the encryption key, staff
 * passwords. Each secret is looked for as is, URL-encoded and JSON-escaped. Fails on any finding, and
 * also when there was nothing to scan (a broken recorder must not pass silently).
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { TRANSCRIPT_DIR } from './helpers/transcript.js';

const files = readdirSync(TRANSCRIPT_DIR);
const secrets = new Set<string>();
for (const f of files.filter((f) => f.endsWith('.secrets'))) {
  for (const line of readFileSync(path.join(TRANSCRIPT_DIR, f), 'utf8').split('\n')) if (line) secrets.add(JSON.parse(line) as string);
}
const forms = (s: string) => [...new Set([s, encodeURIComponent(s), JSON.stringify(s).slice(1, -1)])];
const needles = [...secrets].flatMap((s) => forms(s).map((form) => ({ secret: s, form })));

let records = 0;
let bytes = 0;
const counts: Record<string, number> = {};
const findings: string[] = [];
for (const f of files.filter((f) => f.endsWith('.out'))) {
  const text = readFileSync(path.join(TRANSCRIPT_DIR, f), 'utf8');
  bytes += text.length;
  for (const rec of text.split('\n=== ').slice(1)) {
    records++;
    const header = rec.slice(0, rec.indexOf('\n'));
    const kind = header.split(' ')[0]!;
    counts[kind] = (counts[kind] ?? 0) + 1;
    for (const n of needles) {
      if (rec.includes(n.form)) findings.push(`${f}: [${header.slice(0, 160)}] contains the secret ${n.secret.slice(0, 3)}…(${n.secret.length} chars)`);
    }
  }
}

console.log(`secret scan: ${secrets.size} secrets searched in ${records} records (${Object.entries(counts).map(([k, v]) => `${v} ${k}`).join(', ')}; ${(bytes / 1e6).toFixed(1)} MB)`);
if (records === 0 || secrets.size === 0 || !counts.log || !counts.page) {
  console.error('secret scan: nothing (or not every kind) was recorded; the recorder is broken');
  process.exit(1);
}
if (findings.length) {
  console.error(`secret scan: ${findings.length} finding(s):\n${findings.slice(0, 50).join('\n')}`);
  process.exit(1);
}
