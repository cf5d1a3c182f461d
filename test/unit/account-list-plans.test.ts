import { test } from 'node:test';
import assert from 'node:assert/strict';
import { migrate, openDatabase } from '../../src/db/database.js';
import { parseListQuery, searchWords, statesOf, type AccountFilter, type ListView } from '../../src/accounts/filter.js';
import { createAccountsRepository, type AccountRow } from '../../src/repositories/accounts.js';
import { seed } from '../../bench/seed.js';
import { seedFunnel } from '../../bench/overview.js';

/**
 * The staff list must read about one page whatever the table size: every scenario the console offers
 * either walks an index in the list's order (no sort) or collects a few matches through an index and
 * sorts those. These tests read SQLite's own plans (EXPLAIN QUERY PLAN) for each scenario and fail
 * when one scans the table or sorts more than a handful of rows; and they check that every way of
 * reading a page gives the same rows as a plain scan and sort.
 */
const ROWS = 6000;
const db = openDatabase(':memory:');
migrate(db);
seed(db, ROWS);
db.pragma('optimize');
const repo = createAccountsRepository(db);
const listed = db.prepare(`SELECT count(*) FROM account_index WHERE state != 'not_affected'`).pluck().get() as number;

/** The list's scenarios (the bench's, and the combinations the console allows). */
const SCENARIOS: Record<string, string> = {
  'first page, no filter': '',
  'state filter': 'state=affected',
  'state + provider + version': 'state=affected&provider=gmail&version=2',
  'provider + version': 'provider=gmail&version=2',
  'error code, by last check': 'code=MAIL_AUTH_FAILED&sort=checked&dir=desc',
  'no error, by last check': 'code=none&sort=checked',
  'error code + version (few)': 'code=MAIL_TIMEOUT&version=3',
  'search "łódź"': `q=${encodeURIComponent('łódź')}`,
  'search, a common word': 'q=gmail',
  'search, a word that begins many names': 'q=sklep',
  'search + state, 100 a page': 'q=KOWALSKI&state=affected&size=100',
  'search + error code': `q=${encodeURIComponent('kraków')}&code=MAIL_TIMEOUT`,
  'search + inactive': `q=${encodeURIComponent('kraków')}&inactive=30`,
  'search, one seller': 'q=sprzedawca1234%40',
  'inactive 30 days': 'inactive=30',
  'inactive 30 days + state': 'inactive=30&state=affected',
  'inactive 30 days, by activity': 'inactive=30&sort=activity',
  'inactive 90 days (nothing matches)': 'inactive=90',
  'provider, by activity': 'provider=other&sort=activity',
  'sorted by state, descending': 'sort=state&dir=desc',
  'sorted by version': 'sort=version',
  'sorted by provider, state filter': 'sort=provider&state=needs_attention',
  'sorted by last check': 'sort=checked',
  'a group of states (the overview\'s "Czeka na sprzedawcę")': 'state=awaiting',
  'a group of states, few (migrated), by name': 'state=migrated',
  'a group of states + version': 'state=in_migration&version=2',
  'search + a group of states': 'q=KOWALSKI&state=migrated',
  // What a seller says on the phone (schema 14): the support number, a name without Polish letters,
  // two words out of order, a long word with a short one.
  'search, a support number': 'q=AR-1234',
  'search, without Polish letters': 'q=lodz',
  'search, two words out of order': `q=${encodeURIComponent('kraków sklep')}`,
  'search, two words + state': `q=${encodeURIComponent('kowalski gmail')}&state=affected`,
  'search, a long word and a short one': 'q=sklep%201',
  // "Do zrobienia dziś" (the seed has none of these: the read must still not walk the table).
  'reminders refused for good': 'reminder=failed',
  'reminders uncertain': 'reminder=uncertain',
  'an outage on a host': 'outage=imap.gmail.com',
  'reminders uncertain + search': 'reminder=uncertain&q=sklep',
};

const parse = (qs: string) => parseListQuery(Object.fromEntries(new URLSearchParams(qs)));
/** A sort with no index behind it: only allowed over a few collected matches. */
const SORT_BOUND = Math.sqrt(101 * listed);

/** Every row matching the filter in the list's order, by scanning and sorting: the reference. */
function reference(f: AccountFilter, v: ListView): AccountRow[] {
  const column = { name: 'sort_name', state: 'state', version: 'version', provider: 'provider', checked: 'last_checked_at', activity: 'activity_at' }[v.sort];
  const dir = v.dir === 'asc' ? 'ASC' : 'DESC';
  const all = db.prepare(`SELECT autoresponder_id AS autoresponderId, state, version, provider, last_error_code AS lastErrorCode, activity_at AS activityAt, search FROM account_index NOT INDEXED ORDER BY ${column} ${dir}, autoresponder_id ${dir}`).all() as (AccountRow & { search: string })[];
  const cutoff = f.inactiveDays ? new Date(Date.now() - f.inactiveDays * 86_400_000).toISOString() : null;
  return all.filter(
    (r) =>
      r.state !== 'not_affected' &&
      (!f.state || statesOf(f.state).includes(r.state)) &&
      (!f.version || r.version === f.version) &&
      (!f.provider || r.provider === f.provider) &&
      (!f.code || (f.code === 'none' ? r.lastErrorCode === null : r.lastErrorCode === f.code)) &&
      (!cutoff || r.activityAt < cutoff) &&
      (!f.q || searchWords(f.q).every((w) => r.search.includes(w))) &&
      // The seed has no refused or uncertain reminder and no failing watch.
      !f.reminder &&
      !f.outage,
  );
}

test('no list scenario scans the table or sorts more than a few collected matches; totals come from counters or an index', () => {
  const used = new Set<string>();
  for (const [name, qs] of Object.entries(SCENARIOS)) {
    const { filter, view } = parse(qs);
    const ex = repo.explain(filter, view);
    const where = `${name}: ${JSON.stringify(ex)}`;
    if (ex.countPlan !== 'counters') {
      assert.ok(ex.countPlan.every((l) => !/^SCAN (account_index|i)\b(?! USING)/.test(l) && !/TEMP B-TREE/.test(l)), `count ${where}`);
      // Reading rows by their id (the to-do filters: a few ids from their own index) is an index read too.
      assert.ok(ex.countPlan.some((l) => /USING (COVERING )?INDEX|USING INTEGER PRIMARY KEY|VIRTUAL TABLE/.test(l)), `count reads an index: ${where}`);
    }
    for (const a of ex.attempts) {
      if (a.used) used.add(a.strategy);
      assert.ok(a.plan.every((l) => !/^SCAN (account_index|i)\b(?! USING)/.test(l)), `full table scan: ${where}`);
      if (a.plan.some((l) => /USE TEMP B-TREE FOR ORDER BY/.test(l))) {
        assert.equal(a.strategy, 'collect', `only collected matches are sorted: ${where}`);
        assert.ok(ex.total <= SORT_BOUND, `a sort of ${ex.total} rows: ${where}`);
        assert.ok(a.plan.some((l) => /^SEARCH|VIRTUAL TABLE/.test(l)), `collected through an index: ${where}`);
      } else {
        assert.match(a.strategy, /^walk/, where);
        assert.ok(a.plan.some((l) => /USING (COVERING )?INDEX account_index_/.test(l)), `walks an index in the list's order: ${where}`);
      }
    }
    // Equality filters alone are counted by the counters, never by reading rows.
    if (!filter.q && !filter.inactiveDays && !filter.reminder && !filter.outage) assert.equal(ex.countPlan, 'counters', where);
  }
  assert.deepEqual([...used].sort(), ['collect', 'walk', 'walk-search-set'], 'the scenarios exercise every strategy');
});

test('the funnel\'s filters alone are counted by its counters, as the overview\'s figures are', () => {
  // Its own database, with reminders and sign-ins over eight weeks as the overview's bench seeds them.
  const db = openDatabase(':memory:');
  migrate(db);
  seed(db, 3000);
  seedFunnel(db);
  const repo = createAccountsRepository(db);
  for (const qs of ['stage=not_reminded', 'stage=reminded', 'reached=signed_in&cohort=reminded', 'reached=done&cohort=none', 'cohort=reminded', 'cohort=none']) {
    const { filter, view } = parse(qs);
    const ex = repo.explain(filter, view);
    assert.equal(ex.countPlan, 'counters', qs);
    const via = db.prepare(`SELECT count(*) FROM (SELECT 1 FROM account_index WHERE state != 'not_affected' AND autoresponder_id IN (SELECT autoresponder_id FROM account_funnel WHERE step != 'excluded' AND ${
      { 'stage=not_reminded': `step = 'affected' AND cohort IS NULL`, 'stage=reminded': `step = 'affected' AND cohort IS NOT NULL`, 'reached=signed_in&cohort=reminded': `step IN ('signed_in', 'chose', 'done') AND cohort IS NOT NULL`, 'reached=done&cohort=none': `step = 'done' AND cohort IS NULL`, 'cohort=reminded': 'cohort IS NOT NULL', 'cohort=none': 'cohort IS NULL' }[qs]
    }))`).pluck().get() as number;
    assert.equal(ex.total, via, `${qs}: the counters' total is the rows'`);
    if (qs !== 'cohort=none') assert.ok(via > 0, `${qs}: the seed has some`);
    assert.ok(ex.attempts.every((a) => a.plan.every((l) => !/^SCAN (account_index|i)\b(?! USING)/.test(l))), `no full table scan: ${qs}`);
  }
  // Combined with an equality filter, the rows are counted (the counters hold no such combination).
  assert.notEqual(repo.explain(parse('reached=done&cohort=none&version=2').filter, parse('').view).countPlan, 'counters');
  db.close();
});

test('the scenarios the issue measured take the expected way at this size', () => {
  const strategy = (qs: string) => repo.explain(parse(qs).filter, parse(qs).view).attempts.find((a) => a.used)?.strategy;
  assert.equal(strategy(''), 'walk');
  assert.equal(strategy('state=affected&provider=gmail&version=2'), 'walk');
  assert.equal(strategy('code=MAIL_AUTH_FAILED&sort=checked&dir=desc'), 'walk');
  assert.equal(strategy('inactive=30'), 'walk');
  assert.equal(strategy('q=gmail'), 'walk', 'a common word: the first rows in the order already match');
  assert.equal(strategy('q=sklep'), 'walk-search-set', 'matches clustered far into the order: the budgeted walk gives up');
  assert.equal(strategy('q=sprzedawca1234%40'), 'collect', 'one match: collected, not walked for');
  assert.equal(repo.explain(parse('inactive=90').filter, parse('inactive=90').view).attempts.length, 0, 'nothing matches: no page read at all');
});

test('every way of reading a page gives the rows of a plain scan and sort, forward and back by cursor', () => {
  for (const [name, qs] of Object.entries(SCENARIOS)) {
    const { filter, view } = parse(qs);
    const want = reference(filter, view).map((r) => r.autoresponderId);
    const first = repo.page(filter, view);
    assert.equal(first.totalCapped ? first.total > 10_000 : first.total, first.totalCapped ? want.length > 10_000 : want.length, `total: ${name}`);
    assert.deepEqual(first.rows.map((r) => r.autoresponderId), want.slice(0, view.size), `first page: ${name}`);
    if (!first.next) continue;
    const second = repo.page(filter, { ...view, after: first.next, page: 2 });
    assert.deepEqual(second.rows.map((r) => r.autoresponderId), want.slice(view.size, 2 * view.size), `second page: ${name}`);
    assert.ok(second.prev, name);
    const back = repo.page(filter, { ...view, before: second.prev!, page: 1 });
    assert.deepEqual(back.rows.map((r) => r.autoresponderId), want.slice(0, view.size), `back to the first page: ${name}`);
  }
});

test('the total: exact from the counters, capped above 10,000 for a search or an activity filter, exact on request', () => {
  const big = openDatabase(':memory:');
  migrate(big);
  seed(big, 12_000);
  const r = createAccountsRepository(big);
  const all = parse('');
  assert.deepEqual([r.page(all.filter, all.view).total, r.page(all.filter, all.view).totalCapped], [big.prepare(`SELECT count(*) FROM account_index WHERE state != 'not_affected'`).pluck().get(), false]);
  const q = parse('q=example.pl');
  const capped = r.page(q.filter, q.view);
  assert.equal(capped.totalCapped, true);
  assert.equal(capped.total, 10_001);
  const exact = r.page(q.filter, { ...q.view, exactTotal: true });
  assert.equal(exact.totalCapped, false);
  assert.equal(exact.total, big.prepare(`SELECT count(*) FROM account_index WHERE state != 'not_affected' AND instr(search, 'example.pl') > 0`).pluck().get());
  assert.equal(r.count(q.filter), exact.total, 'count() is always exact (bulk confirmation)');
  big.close();
});

test('a search finds what a seller says: the support number, the seller id, a name without Polish letters, words in any order', () => {
  const total = (q: string) => repo.page(parse(`q=${encodeURIComponent(q)}`).filter, parse('').view).total;
  const ar = db.prepare(`SELECT a.id FROM autoresponders a WHERE a.external_id = 'AR-1234'`).pluck().get() as number;
  const byNumber = repo.page(parse('q=ar-1234').filter, parse('').view);
  assert.ok(byNumber.rows.some((r) => r.autoresponderId === ar), 'AR-1234 finds its autoresponder');
  const seller = repo.get(ar)!;
  const ext = db.prepare(`SELECT external_id FROM sellers WHERE id = ?`).pluck().get(seller.sellerId) as string;
  assert.ok(repo.page(parse(`q=${ext}`).filter, parse('').view).rows.some((r) => r.sellerId === seller.sellerId), 'the seller id finds the seller');
  assert.ok(total('łódź') > 0);
  assert.equal(total('lodz'), total('łódź'));
  assert.equal(total('LODZ'), total('Łódź'));
  assert.ok(total('sklep kraków') > 0);
  assert.equal(total('kraków sklep'), total('sklep kraków'));
  assert.ok(total('kraków sklep') < total('sklep'), 'two words narrow the search');
});
