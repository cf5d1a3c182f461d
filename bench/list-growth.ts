/**
 * The staff list and overview at several table sizes, one app per size running side by side: each
 * scenario timed on each (one connection, sequential requests), so growth shows as the ratio between
 * sizes in one run.
 */
import http from 'node:http';
import { performance } from 'node:perf_hooks';
import { stats, type Stats } from './stats.js';

/** The console's list scenarios (the issue's, plus those its second measurement named) and the overview. */
export const LIST_SCENARIOS: Record<string, string> = {
  'list, first page, no filter': '/staff/accounts',
  'list, state filter': '/staff/accounts?state=affected',
  'list, state + provider + version': '/staff/accounts?state=affected&provider=gmail&version=2',
  'list, provider + version': '/staff/accounts?provider=gmail&version=2',
  'list, error-code filter, sorted by last check': '/staff/accounts?code=MAIL_AUTH_FAILED&sort=checked&dir=desc',
  'list, search "łódź" (Polish, any case)': `/staff/accounts?q=${encodeURIComponent('łódź')}`,
  'list, search a common word ("gmail")': '/staff/accounts?q=gmail',
  'list, search + state filter, 100 a page': `/staff/accounts?q=${encodeURIComponent('KOWALSKI')}&state=affected&size=100`,
  'list, inactive 30 days': '/staff/accounts?inactive=30',
  'list, inactive 90 days (none match, as after an import)': '/staff/accounts?inactive=90',
};
/** The deep page is found by walking the list, so its URL depends on the data. */
export const DEEP_PAGE = 'list, state filter, page ~400 (keyset cursor)';
export const OVERVIEW = 'overview (counts and chart)';

export const ROUTE_TARGET_MS = 50;
export const GROWTH_TARGET = 1.5;

const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

export function get(port: number, url: string, cookie: string): Promise<{ status: number; body: string; ms: number; bytes: number; setCookies: string[] }> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const req = http.get({ host: '127.0.0.1', port, path: url, agent, headers: { cookie } }, (res) => {
      const chunks: Buffer[] = [];
      let bytes = 0;
      res.on('data', (c: Buffer) => {
        bytes += c.length;
        if (bytes < 2_000_000) chunks.push(c);
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), ms: performance.now() - t0, bytes, setCookies: res.headers['set-cookie'] ?? [] }));
    });
    req.on('error', reject);
  });
}

export function closeAgent(): void {
  agent.destroy();
}

export type ScenarioStats = Stats & { status: number };

/** One running app per table size: where it listens and a signed-in staff cookie for it. */
export interface Target {
  rows: number;
  port: number;
  cookie: string;
}

/**
 * Times every scenario on every app: 10 warm-up requests each, then `samples` rounds of one request
 * to each app in turn (the order rotating), so a busy moment of the machine falls on every size alike
 * and the ratio between sizes stays a fair measure.
 */
export async function measureList(targets: Target[], samples: number): Promise<Growth['results']> {
  const urls = new Map<number, Record<string, string>>();
  for (const t of targets) {
    const scenarios: Record<string, string> = { ...LIST_SCENARIOS };
    // A deep page: walk up to 400 pages forward by keyset cursor, then measure that page. A smaller
    // table runs out of pages first: its deepest full page is measured (the last one may be short).
    let url = '/staff/accounts?state=affected&size=50';
    for (let i = 0, previous = url; i < 400; i++) {
      const res = await get(t.port, url, t.cookie);
      const next = /<a href="([^"]+)" rel="next">/.exec(res.body);
      if (!next) {
        url = previous;
        break;
      }
      previous = url;
      url = next[1]!.replace(/&amp;/g, '&').replace(/&#x3D;/g, '=');
    }
    scenarios[DEEP_PAGE] = url;
    scenarios[OVERVIEW] = '/staff';
    urls.set(t.rows, scenarios);
  }

  const results: Growth['results'] = {};
  for (const name of Object.keys(urls.get(targets[0]!.rows)!)) {
    const ms = new Map(targets.map((t) => [t.rows, [] as number[]]));
    const status = new Map<number, number>();
    for (const t of targets) for (let i = 0; i < 10; i++) await get(t.port, urls.get(t.rows)![name]!, t.cookie);
    for (let i = 0; i < samples; i++) {
      for (let j = 0; j < targets.length; j++) {
        const t = targets[(i + j) % targets.length]!;
        const r = await get(t.port, urls.get(t.rows)![name]!, t.cookie);
        status.set(t.rows, r.status === 200 ? (status.get(t.rows) ?? 200) : r.status);
        ms.get(t.rows)!.push(r.ms);
      }
    }
    results[name] = Object.fromEntries(targets.map((t) => [t.rows, { ...stats(ms.get(t.rows)!), status: status.get(t.rows)! }]));
  }
  return results;
}

export interface Growth {
  /** Table sizes measured, smallest first. */
  sizes: number[];
  /** Scenario → size → timings. */
  results: Record<string, Record<number, ScenarioStats>>;
}

/** p95 at the size measured `to` over p95 at `from`. */
export const ratio = (g: Growth, name: string, from: number, to: number): number => Number((g.results[name]![to]!.p95 / g.results[name]![from]!.p95).toFixed(2));

/**
 * The growth table in markdown: p50/p95 per size, the ratio of p95s between neighbouring sizes (the
 * target) and, beside it, the ratio of medians, which a busy moment of the machine moves far less.
 */
export function growthTable(g: Growth): string[] {
  const k = (n: number) => (n >= 1_000_000 ? `${n / 1_000_000}M` : `${n / 1000}k`);
  const pairs = g.sizes.slice(1).map((to, i) => [g.sizes[i]!, to] as const);
  const big = g.sizes.includes(100_000) ? 100_000 : g.sizes[g.sizes.length - 1]!;
  const header = ['Scenario', ...g.sizes.flatMap((n) => [`p50 ${k(n)}`, `p95 ${k(n)}`]), ...pairs.map(([a, b]) => `p95 ${k(b)}/${k(a)}`), ...pairs.map(([a, b]) => `p50 ${k(b)}/${k(a)}`), 'Met'];
  const rows = Object.keys(g.results).map((name) => {
    const cells = g.sizes.flatMap((n) => [g.results[name]![n]!.p50, g.results[name]![n]!.p95]);
    const ratios = pairs.map(([a, b]) => ratio(g, name, a, b));
    const medians = pairs.map(([a, b]) => Number((g.results[name]![b]!.p50 / g.results[name]![a]!.p50).toFixed(2)));
    const met = g.results[name]![big]!.status === 200 && g.results[name]![big]!.p95 < ROUTE_TARGET_MS && ratios.every((r) => r <= GROWTH_TARGET);
    return `| ${name} | ${cells.join(' | ')} | ${ratios.map((r) => (r > GROWTH_TARGET ? `**${r}**` : String(r))).join(' | ')} | ${medians.join(' | ')} | ${met ? 'yes' : '**no**'} |`;
  });
  return [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`, ...rows];
}
