import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { build } from '../helpers/build.js';
import { seedAccounts, staffAgent } from '../helpers/staff.js';
import type { Agent } from '../helpers/agent.js';
import { loadDemoIfEmpty } from '../../src/demo/demo.js';
import { fileMxResolver } from '../../src/detection/mx-lookup.js';
import { watchOverview } from '../../src/watch/pages.js';

/**
 * One source per figure (issue 22, part 3): every number the staff overview shows is the total of the
 * list it links to, and one word is one number wherever it appears on the page. Checked on the demo
 * data and on a seeded case with reminders, a migration finished after one, migrations done without
 * one, and one that broke after its migration.
 */
const DEMO_DIR = path.resolve(import.meta.dirname, '../../data/demo');
const decode = (s: string) => s.replace(/&amp;/g, '&').replace(/&#x3D;/g, '=').replace(/&#x27;/g, "'").replace(/&quot;/g, '"');
const text = (html: string) => decode(html.replace(/<[^>]+>/g, ' ')).replace(/\s+/g, ' ').trim();
const num = (s: string) => Number(s.replace(/[^\d]/g, ''));
const between = (html: string, from: string, to: string) => html.slice(html.indexOf(from), html.indexOf(to, html.indexOf(from)));

interface ShownFigure {
  id: string;
  href: string;
  n: number;
}

/** The figures as the page shows them: each link marked as a figure, with the number that goes with it. */
function figuresOf(html: string): ShownFigure[] {
  return [...html.matchAll(/<a data-figure="([^"]+)" href="([^"]+)">/g)].map((m) => {
    const n = /<span class="[^"]*\bn\b[^"]*">([^<]+)<\/span>/.exec(html.slice(m.index))!;
    return { id: decode(m[1]!), href: decode(m[2]!), n: num(n[1]!) };
  });
}

/**
 * Every word the page puts next to a number, read from what is shown (not from markup made for the
 * test): the headline, the funnel's steps and "stopped here" cells, the lists by state, version,
 * provider and error, the figures written as "word: N", and the chart's table (today's row under its
 * column words).
 */
function wordsOf(html: string): [string, number][] {
  const out: [string, number][] = [];
  const add = (word: string, n: number) => out.push([word.toLowerCase().replace(/:$/, '').trim(), n]);
  for (const li of between(html, '<ul class="stats">', '</ul>').split('<li>').slice(1)) {
    const t = text(li);
    const m = /^([\d\s\u00a0]+) (.+)$/.exec(t);
    if (m) add(m[2]!, num(m[1]!));
  }
  const funnel = between(html, 'class="funnel-table"', '</table>');
  for (const m of funnel.matchAll(/<th scope="row">([\s\S]*?)<\/th>\s*<td class="num">([\s\S]*?)<\/td>/g)) add(text(m[1]!), num(text(m[2]!)));
  for (const m of html.matchAll(/<a [^>]*href="\/staff\/accounts[^"]*"[^>]*>([^<]*?): (?:<span class="n">)?([\d\s\u00a0]+)(?:<\/span>)?<\/a>/g)) add(text(m[1]!), num(m[2]!));
  for (const list of html.matchAll(/<ul class="counts">([\s\S]*?)<\/ul>/g)) {
    for (const li of list[1]!.split('<li>').slice(1)) {
      const n = /<span class="n">([^<]+)<\/span>/.exec(li);
      if (n) add(text(li.replace(n[0], '').replace(/<code[^>]*>[^<]*<\/code>/, '')), num(n[1]!));
    }
  }
  const chart = between(html, '<summary>', '</details>');
  const heads = [...chart.matchAll(/<th scope="col">([^<]*)<\/th>/g)].map((m) => text(m[1]!));
  const rows = [...chart.matchAll(/<tr><td>[\s\S]*?<\/tr>/g)].map((m) => [...m[0].matchAll(/<td>([^<]*)<\/td>/g)].map((c) => c[1]!));
  const today = rows[rows.length - 1];
  if (today) heads.slice(1).forEach((h, i) => add(h, num(today[i + 1]!)));
  return out;
}

/** The total the list shows ("12 autoresponderów · strona 1 z 1"). */
async function listTotal(a: Agent, href: string): Promise<number> {
  const res = await a.get(href);
  assert.equal(res.statusCode, 200, href);
  const m = /<p class="summary" role="status">([\d\s\u00a0]+) autoresponder/.exec(res.body);
  assert.ok(m, `${href}: a list with an exact total`);
  return num(m[1]!);
}

/** Checks the page's promise and returns its figures by id. */
async function assertOneSourcePerFigure(a: Agent, html: string, minimum: number): Promise<Map<string, ShownFigure>> {
  // The same word is the same number everywhere on the page.
  const byWord = new Map<string, Set<number>>();
  for (const [w, n] of wordsOf(html)) byWord.set(w, (byWord.get(w) ?? new Set()).add(n));
  for (const [w, ns] of byWord) assert.equal(ns.size, 1, `„${w}” shows ${[...ns].join(' and ')}`);
  // Every headline number leads to its list.
  for (const li of between(html, '<ul class="stats">', '</ul>').split('<li>').slice(1)) assert.match(li, /href="\/staff\/accounts/, `the headline's „${text(li)}” links to its list`);
  // Every figure equals the total of the list it links to; one id, one number.
  const figures = figuresOf(html);
  assert.ok(figures.length >= minimum, `${figures.length} figures on the overview`);
  const byId = new Map<string, ShownFigure>();
  for (const f of figures) {
    const seen = byId.get(f.id);
    if (seen) assert.equal(f.n, seen.n, `${f.id} shown twice with different numbers`);
    byId.set(f.id, f);
    assert.equal(await listTotal(a, f.href), f.n, `${f.id} (${f.n}) against the list ${f.href}`);
  }
  // The headline splits the list in three; the funnel starts from the two that are not reviewed; the chart ends at today's headline.
  const n = (id: string) => byId.get(id)?.n ?? NaN;
  assert.equal(n('staff.overview.listed'), n('staff.overview.groups.migrated') + n('staff.overview.groups.awaiting') + n('states.reviewed'));
  assert.equal(n('staff.overview.groups.in_migration'), n('staff.overview.groups.migrated') + n('staff.overview.groups.awaiting'));
  assert.match(text(html), new RegExp(`zmigrowane \\(teraz ${n('staff.overview.groups.migrated')}\\)\\. Linia czerwona: czeka na sprzedawcę \\(teraz ${n('staff.overview.groups.awaiting')}\\)`));
  return byId;
}

test('the demo: every figure of the overview is the total of the list it links to, and one word is one number', async (t) => {
  const { app } = await build(t, { env: { DEMO: '1' }, resolver: fileMxResolver(path.join(DEMO_DIR, 'mx.json')) });
  await loadDemoIfEmpty(app.services, DEMO_DIR);
  const a = await staffAgent(app, 'viewer');
  const html = (await a.get('/staff')).body;
  const figures = await assertOneSourcePerFigure(a, html, 25);
  // The demo's sellers came on their own: the funnel after a reminder is empty, the migrated ones are counted without one.
  assert.equal(figures.get('staff.funnel.steps.done|reminded')!.n, 0);
  assert.equal(figures.get('staff.funnel.unprompted.done|none')!.n, figures.get('staff.overview.groups.migrated')!.n);
});

test('reminders, a migration finished after one, some without one, one broken after its migration: every figure is its list', async (t) => {
  let clock = Date.parse('2026-11-02T09:00:00Z');
  const { app } = await build(t, { env: { MIGRATION_DEADLINE: '2027-03-31', REMINDER_MIN_DAYS: '3' }, now: () => new Date(clock) });
  const s = app.services;
  const people = ['A1', 'A2', 'A3', 'N1', 'N2', 'B1', 'B2', 'R1', 'X1', 'P1', 'P2'];
  const rows = Object.fromEntries(
    seedAccounts(
      s,
      people.map((p) => ({
        name: `Sprzedawca ${p}`,
        email: `${p.toLowerCase()}@gmail.com`,
        mailbox: `${p.toLowerCase()}@gmail.com`,
        // P1 and P2 are one seller's two autoresponders.
        ...(p === 'P2' ? { sellerExternalId: 'S-10' } : {}),
        state: p === 'R1' ? ('reviewed' as const) : p === 'X1' ? ('not_affected' as const) : ('affected' as const),
      })),
    ).map((r, i) => [people[i]!, r]),
  );
  const system = { type: 'system' as const };
  const mig = (p: string) => s.repos.migrations.findByAutoresponder(rows[p]!.autoresponderId)!.id;
  const remind = (p: string) => s.repos.reminders.set(s.repos.reminders.begin({ sellerId: rows[p]!.sellerId, jobId: null, itemId: null, staffId: null }), 'sent');
  const signIn = (p: string) => s.repos.sellers.markSeen(rows[p]!.sellerId);
  const relinked = (p: string) => s.migrationService.transition(mig(p), 'relinked', 'relinked_app_password', { actor: system });
  const broke = (p: string) => {
    s.migrationService.transition(mig(p), 'needs_attention', 'needs_attention', { actor: system, reason: 'app_password_rejected', errorCode: 'MAIL_AUTH_FAILED' });
    const at = new Date(clock).toISOString();
    s.repos.watch.openIncidentFor({ autoresponderId: rows[p]!.autoresponderId, subject: `mailbox:${rows[p]!.mailboxId}`, reason: 'app_password_rejected', code: 'MAIL_AUTH_FAILED', workedUntil: at, foundAt: at });
  };

  relinked('P1'); // migrated before the reminder its seller got about P2
  relinked('B1');
  relinked('B2');
  clock = Date.parse('2026-11-03T10:00:00Z'); // the week of Monday 2 November
  for (const p of ['A1', 'A2', 'A3', 'R1', 'P2']) remind(p);
  clock += 3_600_000;
  signIn('A2');
  signIn('A3');
  relinked('A3'); // finished after the reminder
  signIn('N1');
  relinked('N1'); // finished without one
  broke('B1'); // the watch found its app password rejected: the seller must act
  broke('B2');
  relinked('B2'); // fixed again by the seller before the watch closed its problem: not broken
  clock = Date.parse('2026-11-20T10:00:00Z');

  const a = await staffAgent(app, 'viewer');
  const html = (await a.get('/staff')).body;
  const f = await assertOneSourcePerFigure(a, html, 25);
  const n = (id: string) => f.get(id)!.n;
  // Headline: the list (all but X1) = migrated (A3, N1, B2, P1) + awaiting (A1, A2, N2, B1, P2) + reviewed (R1).
  assert.deepEqual(['staff.overview.listed', 'staff.overview.groups.migrated', 'staff.overview.groups.awaiting', 'states.reviewed'].map(n), [10, 4, 5, 1]);
  // Funnel: covered (not R1) → reminded (A1, A2, A3, P1, P2) → signed in (A2; A3 and P1 got further) → chose → migrated (A3, P1).
  assert.deepEqual(['staff.overview.groups.in_migration', 'staff.funnel.steps.reminded|reminded', 'staff.funnel.steps.signed_in|reminded', 'staff.funnel.steps.chose|reminded', 'staff.funnel.steps.done|reminded'].map(n), [9, 5, 3, 2, 2]);
  assert.deepEqual(['staff.funnel.stuckAt.not_reminded', 'staff.funnel.stuckAt.reminded', 'staff.funnel.stuckAt.signed_in', 'staff.funnel.stuckAt.chose'].map(n), [1, 2, 1, 0]);
  // Without a reminder: N1 and B2 migrated, B1 (its way chosen, now broken) got that far.
  assert.deepEqual(['staff.funnel.unprompted.signed_in|none', 'staff.funnel.unprompted.chose|none', 'staff.funnel.unprompted.done|none'].map(n), [3, 3, 2]);
  // The week's row is the same numbers (one cohort), each its own list.
  assert.deepEqual(['staff.funnel.steps.reminded|2026-11-02', 'staff.funnel.steps.done|2026-11-02', 'staff.funnel.stuckAt.reminded|2026-11-02'].map(n), [5, 2, 2]);
  assert.match(text(between(html, 'class="funnel"', 'id="cohorts-title"')), /Z przypomnianych zmigrowano: 40%\./);

  // The watch's figure (its block shows when the watch is on): B1 only, and its list says so.
  const watch = watchOverview(s.repos, new Date(clock), { enabled: true, intervalMs: 86_400_000 });
  assert.equal(watch.broke, 1);
  assert.equal(await listTotal(a, watch.brokeHref!), 1);
});
