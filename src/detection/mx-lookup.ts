import { Resolver } from 'node:dns/promises';
import type { MxCacheEntry, MxCacheStore } from '../domain/model.js';
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import type { MxAnswer, MxLookup } from './rules.js';
import { normalizeHost } from './rules.js';

/** The part of node's dns Resolver that detection needs; tests and demo mode inject their own. */
export interface MxResolver {
  resolveMx(domain: string): Promise<{ exchange: string; priority: number }[]>;
}


export function systemMxResolver(timeoutMs: number): MxResolver {
  return new Resolver({ timeout: timeoutMs, tries: 2 });
}

const demoMxFile = z.record(
  z.string(),
  z.union([z.array(z.string().min(1)), z.enum(['no_mx', 'fail'])]),
);

/**
 * Demo mode resolves from a file, so the demo shows Workspace detection (and a DNS failure) offline.
 * A domain not in the file fails like an unreachable DNS server: unknown, never "not affected".
 */
export function fileMxResolver(file: string): MxResolver {
  const table = demoMxFile.parse(JSON.parse(readFileSync(file, 'utf8')));
  const err = (code: string) => Object.assign(new Error(`demo resolver: ${code}`), { code });
  return {
    async resolveMx(domain) {
      const entry = table[domain];
      if (entry === undefined || entry === 'fail') throw err('ESERVFAIL');
      if (entry === 'no_mx') throw err('ENODATA');
      return entry.map((exchange, i) => ({ exchange, priority: (i + 1) * 10 }));
    },
  };
}

/**
 * MX lookup with a cache. Only real answers are cached ("these hosts", "no MX records"); a failure
 * is returned as such and not cached, so the next lookup tries again. ENOTFOUND is treated as a
 * failure, not as "no such domain": a resolver without network answers ENOTFOUND too, and calling
 * every mailbox "not affected" on a machine with broken DNS would be the worst possible mistake.
 */
export function createMxLookup(opts: {
  resolver: MxResolver;
  cache: MxCacheStore;
  ttlMs: number;
  now?: () => Date;
}): MxLookup {
  const now = opts.now ?? (() => new Date());
  const inFlight = new Map<string, Promise<MxAnswer>>();
  return async (rawDomain) => {
    const domain = normalizeHost(rawDomain);
    if (!domain) return { status: 'failed', code: 'NO_DOMAIN' };
    const cached = opts.cache.get(domain);
    if (cached && now().getTime() - Date.parse(cached.checkedAt) < opts.ttlMs) {
      return cached.status === 'ok' ? { status: 'ok', hosts: cached.hosts } : { status: 'no_mx' };
    }
    // Many mailboxes share a domain: one lookup serves all of them.
    const pending = inFlight.get(domain);
    if (pending) return pending;
    const p = (async (): Promise<MxAnswer> => {
      try {
        const records = await opts.resolver.resolveMx(domain);
        const hosts = records
          .slice()
          .sort((a, b) => a.priority - b.priority)
          .map((r) => normalizeHost(r.exchange))
          .filter(Boolean);
        const answer: MxAnswer = hosts.length ? { status: 'ok', hosts } : { status: 'no_mx' };
        opts.cache.put(domain, { status: hosts.length ? 'ok' : 'no_mx', hosts, checkedAt: now().toISOString() });
        return answer;
      } catch (err) {
        const code = String((err as { code?: unknown }).code ?? 'EDNS');
        if (code === 'ENODATA') {
          opts.cache.put(domain, { status: 'no_mx', hosts: [], checkedAt: now().toISOString() });
          return { status: 'no_mx' };
        }
        return { status: 'failed', code };
      } finally {
        inFlight.delete(domain);
      }
    })();
    inFlight.set(domain, p);
    return p;
  };
}
