import type { Security } from '../domain/model.js';
import { normalizeHost } from '../detection/rules.js';

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
