import { normalizeHost } from '../detection/rules.js';

/** Where connections to one mail host and port really go, and the only certificate authority trusted there. */
export interface MailRouteTarget {
  host: string;
  port: number;
  /** PEM of the CA that signed the target's certificate (for the original host name). */
  ca: string;
}

/**
 * Explicit routes for mail connections, keyed "host:port" (host in lower case, no trailing dot). Only
 * the demo makes one (Google's mail hosts → the local Google simulator); production has none.
 */
export type MailRoutes = ReadonlyMap<string, MailRouteTarget>;

export interface MailEndpoint {
  /** What the socket connects to. */
  host: string;
  port: number;
  /** The name the server's certificate is checked against (the host the seller's settings name). */
  servername: string | undefined;
  /** Set on a routed connection: trust this CA alone, not the system's. */
  ca?: string;
}

const isIp = (host: string) => /^\d+\.\d+\.\d+\.\d+$/.test(host);

/**
 * The one place where a mail connection's address is decided: the configured host and port, unless
 * an explicit route (demo only) sends them elsewhere. A connect-time host policy (no loopback or
 * private addresses) can exempt exactly the routed endpoints this returns.
 */
export function mailEndpoint(host: string, port: number, routes: MailRoutes | undefined): MailEndpoint {
  const name = normalizeHost(host);
  const route = routes?.get(`${name}:${port}`);
  if (route) return { host: route.host, port: route.port, servername: name, ca: route.ca };
  return { host, port, servername: isIp(host) ? undefined : host };
}
