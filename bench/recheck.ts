/**
 * Bulk re-check of many mailboxes against the local Dovecot, through the app's own job runner.
 * Mailboxes are spread over three loopback addresses (three "mail hosts"), each behind a counting
 * TCP proxy, so the most connections open at once is seen from outside the app. Where the time goes
 * is measured in three layers: the raw IMAP protocol steps, imapflow's whole login, and the job item.
 */
import type { FastifyInstance } from 'fastify';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import { performance } from 'node:perf_hooks';
import { checkImap } from '../src/mail/check.js';
import { startProxy, type TcpProxy } from '../test/helpers/tcp-proxy.js';
import { seedAccounts } from '../test/helpers/staff.js';
import { testCert } from '../test/helpers/tls.js';
import type { Dovecot } from '../test/helpers/dovecot.js';
import { stats } from './stats.js';

export const RECHECK_PASSWORD = 'abcdefghijklmnop';
export const HOSTS = ['127.0.0.2', '127.0.0.3', '127.0.0.4'];

const round = (n: number, d = 2) => Number(n.toFixed(d));
const meanAndP95 = (samples: number[]) => {
  const { mean, p95 } = stats(samples);
  return { mean, p95 };
};

export interface RawPhases {
  tcpConnect: number;
  tlsHandshake: number;
  greeting: number;
  login: number;
  logout: number;
  total: number;
}

/** One IMAP login by hand (TCP, TLS, greeting, LOGIN, LOGOUT), timing each step in ms. */
async function rawLogin(host: string, port: number, user: string, password: string, ca: string): Promise<RawPhases> {
  const t0 = performance.now();
  const socket = net.connect(port, host);
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  const t1 = performance.now();
  const secure = tls.connect({ socket, ca: [ca], minVersion: 'TLSv1.2' });
  await new Promise<void>((resolve, reject) => secure.once('secureConnect', resolve).once('error', reject));
  const t2 = performance.now();
  let buffer = '';
  const waitFor = (re: RegExp) =>
    new Promise<void>((resolve, reject) => {
      const check = () => {
        if (re.test(buffer)) {
          secure.off('data', onData);
          resolve();
        }
      };
      const onData = (c: Buffer) => {
        buffer += c.toString('latin1');
        check();
      };
      secure.on('data', onData);
      secure.once('error', reject);
      check();
    });
  await waitFor(/^\* OK/m);
  const t3 = performance.now();
  secure.write(`a1 LOGIN "${user}" "${password}"\r\n`);
  await waitFor(/^a1 (OK|NO|BAD)/m);
  if (!/^a1 OK/m.test(buffer)) throw new Error(`raw LOGIN refused: ${buffer.slice(-200)}`);
  const t4 = performance.now();
  const closed = new Promise<void>((resolve) => secure.once('close', () => resolve()));
  secure.write('a2 LOGOUT\r\n');
  await closed;
  const t5 = performance.now();
  return { tcpConnect: t1 - t0, tlsHandshake: t2 - t1, greeting: t3 - t2, login: t4 - t3, logout: t5 - t4, total: t5 - t0 };
}

/** Machine-wide CPU time (all cores) from /proc/stat, in ms, split into busy and total. */
function machineCpu(): { busy: number; total: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const idle = (line[3] ?? 0) + (line[4] ?? 0);
  const total = line.reduce((a, b) => a + b, 0);
  return { busy: ((total - idle) * 1000) / 100, total: (total * 1000) / 100 };
}

export interface RecheckReport {
  mailboxes: number;
  hosts: number;
  caps: { concurrency: number; perHost: number };
  seconds: number;
  checksPerSecond: number;
  outcomes: Record<string, number>;
  maxOpenAtOnce: number;
  maxOpenPerHost: Record<string, number>;
  runnerPeak: number;
  capsHeld: boolean;
  where: {
    rawSequential: Record<keyof RawPhases, number>;
    imapflowSequentialMs: { mean: number; p95: number };
    itemInJobMs: { mean: number; p95: number };
    appCpuMsPerCheck: number;
    machineCpuBusyPercent: number;
    eventLoopUtilization: number;
  };
}

/**
 * Seeds `count` relinked mailboxes (every 20th with a revoked app password) spread over HOSTS, runs
 * one bulk re-check job over them and reports throughput, connections and where the time goes.
 */
export async function benchRecheck(fastify: FastifyInstance, dovecot: Dovecot, count: number, staffId: number, caps: { concurrency: number; perHost: number }, ports: readonly number[]): Promise<RecheckReport> {
  const s = fastify.services;
  const ca = testCert().cert;
  const proxies: TcpProxy[] = [];
  // On the ports the app's MAIL_PORT_ALLOWLIST was given, one per host.
  for (const [i, host] of HOSTS.entries()) proxies.push(await startProxy(dovecot.port, host, { port: ports[i] }));
  try {
    const rows = seedAccounts(
      s,
      Array.from({ length: count }, (_, i) => ({
        name: `Skrzynka testowa ${i}`,
        email: `box${i}@gmail.com`,
        mailbox: `box${i}@gmail.com`,
        imapHost: HOSTS[i % HOSTS.length]!,
        imapPort: proxies[i % HOSTS.length]!.port,
        secret: i % 20 === 19 ? 'cofniete-haslo-xx' : RECHECK_PASSWORD,
        secretKind: 'app_password' as const,
        state: 'relinked_app_password' as const,
      })),
    );

    // Layer 1: the protocol by hand, one at a time (the floor for one check on this machine).
    const raw: RawPhases[] = [];
    for (let i = 0; i < 50; i++) raw.push(await rawLogin(HOSTS[0]!, proxies[0]!.port, `box${i}@gmail.com`, RECHECK_PASSWORD, ca));
    // Layer 2: the app's own login function (imapflow), one at a time.
    const flow: number[] = [];
    for (let i = 0; i < 50; i++) {
      const t0 = performance.now();
      const r = await checkImap({ imapHost: HOSTS[0]!, imapPort: proxies[0]!.port, imapSecurity: 'tls', username: `box${i}@gmail.com` } as never, RECHECK_PASSWORD, { timeoutMs: 10_000, extraCa: ca, policy: s.mailServers });
      if (!r.ok) throw new Error(`checkImap failed in the benchmark: ${r.code}`);
      flow.push(performance.now() - t0);
    }
    for (const p of proxies) p.max = 0;

    // Layer 3: the job. Each item's action is timed by wrapping it (the runner calls it through the object).
    const actions = fastify.staffActions;
    const original = actions.recheck;
    const itemMs: number[] = [];
    actions.recheck = async (...args: Parameters<typeof original>) => {
      const t0 = performance.now();
      try {
        return await original(...args);
      } finally {
        itemMs.push(performance.now() - t0);
      }
    };
    let maxOpen = 0;
    const sampler = setInterval(() => (maxOpen = Math.max(maxOpen, proxies.reduce((n, p) => n + p.active, 0))), 2);
    const cpu0 = process.cpuUsage();
    const m0 = machineCpu();
    const elu0 = performance.eventLoopUtilization();
    const t0 = performance.now();
    const ids = rows.map((r) => r.autoresponderId);
    const jobId = s.repos.jobs.create({ kind: 'recheck', selection: 'ids', filter: null, ids: JSON.stringify(ids), note: null, confirmedCount: ids.length, createdBy: staffId });
    fastify.jobs.wake();
    const deadline = Date.now() + 15 * 60_000;
    while (s.repos.jobs.get(jobId)!.status !== 'done') {
      if (Date.now() > deadline) throw new Error('the bulk re-check did not finish in 15 minutes');
      await new Promise((r) => setTimeout(r, 50));
    }
    const seconds = (performance.now() - t0) / 1000;
    clearInterval(sampler);
    const cpu = process.cpuUsage(cpu0);
    const m1 = machineCpu();
    const elu = performance.eventLoopUtilization(elu0);
    actions.recheck = original;

    const outcomes = Object.fromEntries(s.repos.jobs.outcomes(jobId).map((o) => [`${o.status}:${o.outcome}`, o.n]));
    const maxOpenPerHost = Object.fromEntries(HOSTS.map((h, i) => [h, proxies[i]!.max]));
    const runner = fastify.jobs.stats();
    const phases = Object.fromEntries((Object.keys(raw[0]!) as (keyof RawPhases)[]).map((k) => [k, stats(raw.map((r) => r[k])).mean])) as Record<keyof RawPhases, number>;
    return {
      mailboxes: count,
      hosts: HOSTS.length,
      caps,
      seconds: round(seconds),
      checksPerSecond: round(count / seconds, 1),
      outcomes,
      maxOpenAtOnce: maxOpen,
      maxOpenPerHost,
      runnerPeak: runner.peak,
      capsHeld: maxOpen <= caps.concurrency && Object.values(maxOpenPerHost).every((n) => n <= caps.perHost),
      where: {
        rawSequential: phases,
        imapflowSequentialMs: meanAndP95(flow),
        itemInJobMs: meanAndP95(itemMs),
        appCpuMsPerCheck: round((cpu.user + cpu.system) / 1000 / count),
        machineCpuBusyPercent: round(((m1.busy - m0.busy) / (m1.total - m0.total)) * 100, 0),
        eventLoopUtilization: round(elu.utilization),
      },
    };
  } finally {
    for (const p of proxies) await p.stop();
  }
}
