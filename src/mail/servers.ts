import { lookup as dnsLookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';
import type { Security } from '../domain/model.js';
import { normalizeHost } from '../detection/rules.js';
import type { MailCheckCode } from './classify.js';

const LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;
const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

/** A DNS host name (letters, digits, hyphens, dots; at least one dot) or an IPv4 address. */
export function isHostname(raw: string): boolean {
  const h = normalizeHost(raw);
  if (!h || h.length > 253) return false;
  if (IPV4.test(h)) return true;
  const labels = h.split('.');
  return labels.length >= 2 && labels.every((l) => LABEL.test(l)) && !/^\d+$/.test(labels.at(-1)!);
}

/**
 * The transport security a mail port implies, when the source system gives only the port:
 * 143 and 25/587/2525 are STARTTLS ports, everything else (993, 465) is implicit TLS.
 */
export function securityForPort(protocol: 'imap' | 'smtp', port: number): Security {
  if (protocol === 'imap') return port === 143 ? 'starttls' : 'tls';
  return port === 465 ? 'tls' : 'starttls';
}

// ---- where the app may open a mail connection ----------------------------------------------------

import { DEFAULT_MAIL_PORTS } from '../config.js';
export { DEFAULT_MAIL_PORTS };

/** What a host name resolves to; the system resolver unless a caller maps names itself. */
export type MailHostLookup = (host: string) => Promise<{ address: string; family: number }[]>;

/**
 * One policy for every mail server the app accepts or connects to: the CSV import, the seller's
 * form and each IMAP/SMTP connection (a seller's check, a staff re-check, one or bulk). Without it a
 * staff re-check of an imported 127.0.0.1:22 would report, by its result code, whether that port is
 * open: a port scanner for anyone who can import.
 */
export interface MailServerPolicy {
  /** Ports a mail server may use (MAIL_PORT_ALLOWLIST). */
  ports: readonly number[];
  /**
   * Addresses outside the public internet that may be reached anyway, as IPs or CIDR ranges
   * (MAIL_ADDRESS_ALLOWLIST): the tests' local Dovecot, a company's internal mail server.
   */
  allowedAddresses: readonly string[];
  /** Resolves host names at connect time; default the system resolver (dns.lookup). */
  lookup?: MailHostLookup;
}

/** No private addresses, the default ports: what a policy is when nothing is configured. */
export const STRICT_MAIL_SERVER_POLICY: MailServerPolicy = { ports: DEFAULT_MAIL_PORTS, allowedAddresses: [] };

// IANA's special-purpose ranges that are not the public internet: "this network", private, shared
// (carrier-grade NAT; Alibaba's metadata at 100.100.100.200), loopback, link-local (the cloud metadata
// service at 169.254.169.254), IETF protocol, documentation, benchmarking, multicast, reserved.
const NOT_PUBLIC = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12],
  ['192.0.0.0', 24], ['192.0.2.0', 24], ['192.88.99.0', 24], ['192.168.0.0', 16], ['198.18.0.0', 15],
  ['198.51.100.0', 24], ['203.0.113.0', 24], ['224.0.0.0', 4], ['240.0.0.0', 4],
] as const) NOT_PUBLIC.addSubnet(net, prefix, 'ipv4');
// IPv6: unspecified and loopback, IPv4-compatible (deprecated), local-use NAT64, discard, Teredo,
// documentation, unique local (AWS metadata at fd00:ec2::254), link-local, site-local, multicast.
// IPv4-mapped addresses are checked against the IPv4 ranges by BlockList itself.
for (const [net, prefix] of [
  ['::', 96], ['64:ff9b:1::', 48], ['100::', 64], ['2001::', 32], ['2001:db8::', 32], ['3fff::', 20],
  ['fc00::', 7], ['fe80::', 10], ['fec0::', 10], ['ff00::', 8],
] as const) NOT_PUBLIC.addSubnet(net, prefix, 'ipv6');

/** The eight 16-bit groups of an IPv6 address. */
function ipv6Groups(ip: string): number[] {
  let text = ip.toLowerCase();
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted) {
    const [a, b, c, d] = dotted[1]!.split('.').map(Number) as [number, number, number, number];
    text = text.slice(0, dotted.index) + `${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.includes('::') ? text.split('::') : [text, undefined];
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups = [...left, ...Array(tail === undefined ? 0 : 8 - left.length - right.length).fill('0'), ...right];
  return groups.map((g) => parseInt(g || '0', 16));
}

/** The IPv4 address a translated IPv6 address stands for (NAT64 64:ff9b::/96, 6to4 2002::/16). */
function embeddedIpv4(ip: string): string | null {
  const g = ipv6Groups(ip);
  const v4 = (hi: number, lo: number) => `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
  if (g[0] === 0x64 && g[1] === 0xff9b && g.slice(2, 6).every((x) => x === 0)) return v4(g[6]!, g[7]!);
  if (g[0] === 0x2002) return v4(g[1]!, g[2]!);
  return null;
}

/** Whether an IP address is on the public internet (not loopback, private, link-local, metadata, …). */
export function isPublicAddress(ip: string): boolean {
  const family = isIP(ip);
  if (family === 4) return !NOT_PUBLIC.check(ip, 'ipv4');
  if (family !== 6) return false;
  if (NOT_PUBLIC.check(ip, 'ipv6')) return false;
  const v4 = embeddedIpv4(ip);
  return v4 === null || isPublicAddress(v4);
}

const allowLists = new WeakMap<readonly string[], BlockList>();
function allowListOf(policy: MailServerPolicy): BlockList {
  let list = allowLists.get(policy.allowedAddresses);
  if (!list) {
    list = new BlockList();
    for (const entry of policy.allowedAddresses) {
      const [net, bits] = entry.split('/') as [string, string | undefined];
      const family = isIP(net) === 6 ? 'ipv6' : 'ipv4';
      list.addSubnet(net, bits === undefined ? (family === 'ipv6' ? 128 : 32) : Number(bits), family);
    }
    allowLists.set(policy.allowedAddresses, list);
  }
  return list;
}

/** Whether the app may connect to this IP address: a public one, or one the configuration allows. */
export function isAllowedAddress(ip: string, policy: MailServerPolicy): boolean {
  const family = isIP(ip);
  if (!family) return false;
  if (isPublicAddress(ip)) return true;
  const list = allowListOf(policy);
  const v4 = family === 6 ? embeddedIpv4(ip) : null;
  return list.check(ip, family === 6 ? 'ipv6' : 'ipv4') || (v4 !== null && list.check(v4, 'ipv4'));
}

/** Whether a port may be used for a mail server. */
export function isAllowedPort(port: number, policy: MailServerPolicy): boolean {
  return policy.ports.includes(port);
}

/**
 * Whether a mail server host may be entered or imported: a host name, or an IP address the app may
 * connect to. A name is checked again where it matters, after resolution, by resolveMailServer.
 */
export function isAllowedHost(raw: string, policy: MailServerPolicy): boolean {
  if (!isHostname(raw)) return false;
  const h = normalizeHost(raw);
  if (isIP(h)) return isAllowedAddress(h, policy);
  // *.localhost is loopback by definition (RFC 6761), whatever a resolver says.
  if (h.endsWith('.localhost')) return isAllowedAddress('127.0.0.1', policy);
  return true;
}


/** Where to connect: a checked address, and the name the server's certificate must carry. */
export interface ResolvedMailServer {
  address: string;
  family: 4 | 6;
  /** The host name for SNI and the certificate check; undefined when the host is an IP address. */
  servername: string | undefined;
}

/**
 * Resolves a mail server once and checks the port and every address it resolves to. The caller
 * connects to the returned address (with `servername` for TLS), so DNS cannot answer differently
 * between this check and the connection (DNS rebinding).
 * @throws an error with code MAIL_HOST_NOT_ALLOWED when the port or an address is not allowed
 * @throws the resolver's error (ENOTFOUND, EAI_AGAIN on timeout) when the name does not resolve
 */
export async function resolveMailServer(host: string, port: number, policy: MailServerPolicy, opts: { timeoutMs?: number } = {}): Promise<ResolvedMailServer> {
  const refuse = (why: string) => Object.assign(new Error(`mail server ${host}:${port} is not allowed (${why})`), { code: 'MAIL_HOST_NOT_ALLOWED' satisfies MailCheckCode });
  if (!isAllowedPort(port, policy)) throw refuse('port');
  const name = normalizeHost(host);
  let addresses: { address: string; family: number }[];
  if (isIP(name)) addresses = [{ address: name, family: isIP(name) }];
  else {
    const lookup = policy.lookup ?? ((h: string) => dnsLookup(h, { all: true, verbatim: true }));
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      if (opts.timeoutMs) timer = setTimeout(() => reject(Object.assign(new Error(`DNS lookup of ${name} timed out`), { code: 'EAI_AGAIN' })), opts.timeoutMs);
    });
    try {
      addresses = await Promise.race([lookup(name), timeout]);
    } finally {
      clearTimeout(timer);
    }
    if (!addresses.length) throw Object.assign(new Error(`${name} has no address`), { code: 'ENOTFOUND' });
  }
  // A name with one address outside the public internet is refused as a whole: there is no reason
  // for a mail server's public name to lead there, and it is how a check is pointed inwards.
  if (!addresses.every((a) => isAllowedAddress(a.address, policy))) throw refuse('address');
  const first = addresses[0]!;
  return { address: first.address, family: isIP(first.address) === 6 ? 6 : 4, servername: isIP(name) ? undefined : name };
}
