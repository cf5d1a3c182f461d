import { MigError } from './errors.js';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { parseEnv } from 'node:util';
import path from 'node:path';
import { isIP } from 'node:net';
import { z } from 'zod';

/** The mail ports allowed when MAIL_PORT_ALLOWLIST is not set: IMAP 993/143, SMTP 465/587. */
export const DEFAULT_MAIL_PORTS: readonly number[] = [993, 143, 465, 587];

const bool = (name: string) =>
  z
    .string()
    .trim()
    .toLowerCase()
    .refine((v) => ['1', '0', 'true', 'false', 'yes', 'no', 'on', 'off'].includes(v), {
      message: `${name} must be one of 1, 0, true, false, yes, no`,
    })
    .transform((v) => ['1', 'true', 'yes', 'on'].includes(v));

const port = (name: string) =>
  z
    .string()
    .trim()
    .regex(/^\d+$/, `${name} must be a whole number`)
    .transform(Number)
    .refine((n) => n >= 1 && n <= 65535, `${name} must be between 1 and 65535`);

/** One plain sentence or two for sellers: no markup, no line breaks, at most 300 characters. */
const deadlineMeans = (variable: string) =>
  z
    .string()
    .trim()
    .min(1, `${variable} must not be empty`)
    .max(300, `${variable} must be at most 300 characters (one or two sentences a seller reads beside the deadline)`)
    .refine((v) => !/[<>\r\n]/.test(v), `${variable} must be plain text on one line (no HTML, no line breaks)`);

const positiveNumber = (name: string, max: number) =>
  z
    .string()
    .trim()
    .regex(/^\d+(\.\d+)?$/, `${name} must be a positive number`)
    .transform(Number)
    .refine((n) => n > 0 && n <= max, `${name} must be greater than 0 and at most ${max}`);

const httpUrl = (name: string) =>
  z
    .string()
    .trim()
    .refine((v) => {
      try {
        const u = new URL(v);
        // The WHATWG parser drops an empty "?" or "#" (u.search is '' for "http://host/?"), so the text
        // itself is looked at too: a lone "?" would otherwise end up inside every address joined to it.
        return (u.protocol === 'http:' || u.protocol === 'https:') && !u.search && !u.hash && !/[?#]/.test(v) && !u.username && !u.password;
      } catch {
        return false;
      }
    }, `${name} must be an http(s) URL without user, query or fragment, e.g. https://migracja.example.pl`)
    .transform((v) => v.replace(/\/+$/, ''));

/**
 * A base the app joins paths to (PUBLIC_URL, ALLEGRO_AUTH_URL, ALLEGRO_API_URL): a bare origin, since
 * anything after it (a path, "?", "#", user info) would end up inside every address the app makes.
 */
const originUrl = (name: string, example: string) =>
  httpUrl(name).refine((v) => new URL(v).pathname === '/' && !/^[a-z]+:\/\/[^/]*\/./i.test(v), `${name} must be the bare address without a path, query, fragment or user, e.g. ${example}`);

/**
 * Trust the nearest `hops` proxies (Fastify does the same for a number, but its types take only a
 * function): hop 0 is the peer of the socket, hop 1 the address that peer appended, and so on.
 */
export type TrustHops = ((address: string, hop: number) => boolean) & { hops: number };
export const trustHops = (hops: number): TrustHops => Object.assign((_address: string, hop: number) => hop < hops, { hops });

/** Names proxy-addr (Fastify's trustProxy) knows for ranges of addresses. */
const PROXY_RANGE_NAMES = ['loopback', 'linklocal', 'uniquelocal'];

/**
 * TRUST_PROXY: false (0, false, no, off); the number of proxies in front of the app (1, 2…); or the
 * proxies' addresses or ranges, comma-separated (10.0.0.1, 10.0.0.0/8, loopback). A bare "true" trusts
 * every hop: behind a proxy that appends to X-Forwarded-For, the client then chooses its own address.
 */
const trustProxy = z
  .string()
  .trim()
  .transform((v, ctx): boolean | string[] | TrustHops => {
    const lower = v.toLowerCase();
    if (['0', 'false', 'no', 'off'].includes(lower)) return false;
    if (['true', 'yes', 'on'].includes(lower)) return true;
    if (/^\d{1,2}$/.test(v)) return trustHops(Number(v));
    const entries = v.split(',').map((x) => x.trim());
    if (entries.every((x) => isAddressOrRange(x) || PROXY_RANGE_NAMES.includes(x.toLowerCase()))) return entries.map((x) => (PROXY_RANGE_NAMES.includes(x.toLowerCase()) ? x.toLowerCase() : x));
    ctx.addIssue({ code: 'custom', message: 'TRUST_PROXY must be 0, the number of proxies in front of the app (e.g. 1), or their addresses separated by commas (e.g. 10.0.0.1,10.20.0.0/16)' });
    return z.NEVER;
  });

/** An IP address, or a range in CIDR notation (10.0.0.0/8, fd00::/8). */
function isAddressOrRange(entry: string): boolean {
  const [ip, bits, ...rest] = entry.split('/');
  const family = isIP(ip ?? '');
  if (!family || rest.length) return false;
  return bits === undefined || (/^\d{1,3}$/.test(bits) && Number(bits) <= (family === 6 ? 128 : 32));
}

/**
 * Raw environment schema: every variable the app reads, each optional with its default applied after
 * parsing (so defaults can depend on each other, e.g. PUBLIC_URL on HOST and PORT).
 */
const envSchema = z.object({
  HOST: z
    .string()
    .trim()
    .regex(/^[A-Za-z0-9.:\-\[\]]+$/, 'HOST must be a host name or IP address')
    .optional(),
  PORT: port('PORT').optional(),
  PUBLIC_URL: originUrl('PUBLIC_URL', 'https://migracja.example.pl').optional(),
  DATABASE_PATH: z.string().trim().min(1, 'DATABASE_PATH must not be empty').optional(),
  DEMO: bool('DEMO').optional(),
  APP_SECRET_KEY: z.string().trim().min(1, 'APP_SECRET_KEY must not be empty').optional(),
  SECRET_KEY_FILE: z.string().trim().min(1, 'SECRET_KEY_FILE must not be empty').optional(),
  LOG_LEVEL: z
    .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], {
      message: 'LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent',
    })
    .optional(),
  MX_RESOLVER: z
    .enum(['dns', 'demo'], { message: 'MX_RESOLVER must be "dns" (real DNS) or "demo" (data/demo/mx.json)' })
    .optional(),
  MX_CACHE_TTL_HOURS: positiveNumber('MX_CACHE_TTL_HOURS', 24 * 30).optional(),
  DNS_TIMEOUT_MS: positiveNumber('DNS_TIMEOUT_MS', 60_000).optional(),
  TRUST_PROXY: trustProxy.optional(),
  SMTP_URL: z
    .string()
    .trim()
    .refine((v) => {
      try {
        return ['smtp:', 'smtps:'].includes(new URL(v).protocol);
      } catch {
        return false;
      }
    }, 'SMTP_URL must look like smtp://user:password@host:587 or smtps://host:465')
    .optional(),
  MAIL_FROM: z.string().trim().min(3, 'MAIL_FROM must be an address, e.g. "Migracja <no-reply@example.pl>"').optional(),
  MAIL_HOST_ALLOWLIST: z
    .string()
    .trim()
    .regex(/^[A-Za-z0-9.\-]+(\s*,\s*[A-Za-z0-9.\-]+)*$/, 'MAIL_HOST_ALLOWLIST must be host names separated by commas')
    .optional(),
  MAIL_PORT_ALLOWLIST: z
    .string()
    .trim()
    .regex(/^\d{1,5}(\s*,\s*\d{1,5})*$/, 'MAIL_PORT_ALLOWLIST must be port numbers separated by commas')
    .optional(),
  MAIL_ADDRESS_ALLOWLIST: z
    .string()
    .trim()
    .refine(
      (v) => v.split(',').every((entry) => isAddressOrRange(entry.trim())),
      'MAIL_ADDRESS_ALLOWLIST must be IP addresses or ranges separated by commas, e.g. 127.0.0.1,10.20.0.0/16',
    )
    .optional(),
  MAIL_CHECK_TIMEOUT_MS: positiveNumber('MAIL_CHECK_TIMEOUT_MS', 120_000).optional(),
  MAIL_TLS_CA_FILE: z
    .string()
    .trim()
    .refine((f) => existsSync(f), 'MAIL_TLS_CA_FILE must name a readable PEM file')
    .optional(),
  SESSION_IDLE_MINUTES: positiveNumber('SESSION_IDLE_MINUTES', 24 * 60).optional(),
  STAFF_SESSION_IDLE_MINUTES: positiveNumber('STAFF_SESSION_IDLE_MINUTES', 24 * 60).optional(),
  SESSION_MAX_HOURS: positiveNumber('SESSION_MAX_HOURS', 24 * 30).optional(),
  STAFF_SESSION_MAX_HOURS: positiveNumber('STAFF_SESSION_MAX_HOURS', 24 * 7).optional(),
  MIGRATION_DEADLINE: z
    .string()
    .trim()
    .regex(/^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2})?(\.\d+)?(Z|[+-]\d{2}:\d{2}))?$/, 'MIGRATION_DEADLINE must be a date (2027-03-31) or a date and time with a zone (2027-03-31T23:59:00+02:00)')
    .refine((v) => !Number.isNaN(Date.parse(v)), 'MIGRATION_DEADLINE must be a real calendar date')
    .optional(),
  MIGRATION_DEADLINE_MEANS_PL: deadlineMeans('MIGRATION_DEADLINE_MEANS_PL').optional(),
  MIGRATION_DEADLINE_MEANS_EN: deadlineMeans('MIGRATION_DEADLINE_MEANS_EN').optional(),
  REMINDER_MIN_DAYS: positiveNumber('REMINDER_MIN_DAYS', 365).optional(),
  BULK_CONCURRENCY: positiveNumber('BULK_CONCURRENCY', 64).optional(),
  BULK_PER_HOST_CONCURRENCY: positiveNumber('BULK_PER_HOST_CONCURRENCY', 15).optional(),
  BULK_RETRY_BASE_MS: positiveNumber('BULK_RETRY_BASE_MS', 600_000).optional(),
  WATCH_ENABLED: bool('WATCH_ENABLED').optional(),
  WATCH_INTERVAL_HOURS: positiveNumber('WATCH_INTERVAL_HOURS', 24 * 30)
    .refine((h) => h >= 0.005, 'WATCH_INTERVAL_HOURS must be at least 0.005 (18 seconds)')
    .optional(),
  WATCH_SEND_HOURS: z
    .string()
    .trim()
    .refine((v) => parseSendHours(v) !== null, 'WATCH_SEND_HOURS must be two hours in Poland, from-to, e.g. 8-20 (0-24: any time)')
    .optional(),
  ALLEGRO_ENV: z
    .enum(['production', 'sandbox', 'simulator'], { message: 'ALLEGRO_ENV must be production, sandbox or simulator' })
    .optional(),
  // The app appends /auth/oauth/authorize and /auth/oauth/token itself; a base with a path of its own
  // would need one joining rule for the browser's address and another for the token request, and a
  // mismatch only shows when a seller's authorization fails. So the OAuth host is a bare origin.
  ALLEGRO_AUTH_URL: originUrl('ALLEGRO_AUTH_URL', 'https://allegro.pl (the app adds /auth/oauth/…)').optional(),
  ALLEGRO_API_URL: originUrl('ALLEGRO_API_URL', 'https://api.allegro.pl (the app adds /me, /messaging/…)').optional(),
  ALLEGRO_CLIENT_ID: z.string().trim().regex(/^[\x21-\x7e]{1,200}$/, 'ALLEGRO_CLIENT_ID must be the Client ID from apps.developer.allegro.pl').optional(),
  ALLEGRO_CLIENT_SECRET: z.string().trim().regex(/^[\x21-\x7e]{1,500}$/, 'ALLEGRO_CLIENT_SECRET must be the Client Secret from apps.developer.allegro.pl').optional(),
  ALLEGRO_REDIRECT_URI: httpUrl('ALLEGRO_REDIRECT_URI').optional(),
  ALLEGRO_TIMEOUT_MS: positiveNumber('ALLEGRO_TIMEOUT_MS', 120_000).optional(),
  ALLEGRO_INFO_URL: httpUrl('ALLEGRO_INFO_URL').optional(),
  ALLEGRO_SIMULATOR_PORT: port('ALLEGRO_SIMULATOR_PORT').optional(),
  GOOGLE_SIMULATOR: bool('GOOGLE_SIMULATOR').optional(),
  GOOGLE_SIMULATOR_IMAP_PORT: port('GOOGLE_SIMULATOR_IMAP_PORT').optional(),
  GOOGLE_SIMULATOR_SMTP_PORT: port('GOOGLE_SIMULATOR_SMTP_PORT').optional(),
  GOOGLE_SIMULATOR_SUBMISSION_PORT: port('GOOGLE_SIMULATOR_SUBMISSION_PORT').optional(),
  GOOGLE_SIMULATOR_DIR: z.string().trim().min(1, 'GOOGLE_SIMULATOR_DIR must not be empty').optional(),
  OPERATOR_NAME: z.string().trim().min(2, 'OPERATOR_NAME must name who runs the service, e.g. "Sklepy Kowalski sp. z o.o."').max(120, 'OPERATOR_NAME must be at most 120 characters').optional(),
  SUPPORT_EMAIL: z.string().trim().max(254).pipe(z.email({ message: 'SUPPORT_EMAIL must be an e-mail address, e.g. pomoc@example.pl' })).optional(),
  SUPPORT_URL: httpUrl('SUPPORT_URL').optional(),
});

/** Local hours in Poland in which the watch may send e-mails: from ≤ hour < to. */
export interface SendHours {
  from: number;
  to: number;
}

/** Parses "8-20" (WATCH_SEND_HOURS); null when it is not two hours 0–24 in order. */
export function parseSendHours(text: string): SendHours | null {
  const m = /^\s*(\d{1,2})\s*-\s*(\d{1,2})\s*$/.exec(text);
  if (!m) return null;
  const from = Number(m[1]);
  const to = Number(m[2]);
  return from >= 0 && to <= 24 && from < to ? { from, to } : null;
}

/** Where each Allegro environment lives: OAuth on the marketplace host, the REST API on api.*. */
export const ALLEGRO_ENVIRONMENTS = {
  production: { authUrl: 'https://allegro.pl', apiUrl: 'https://api.allegro.pl' },
  sandbox: { authUrl: 'https://allegro.pl.allegrosandbox.pl', apiUrl: 'https://api.allegro.pl.allegrosandbox.pl' },
} as const;

/** The built-in simulator's client, used when ALLEGRO_ENV=simulator and no credentials are given. */
export const SIMULATOR_CLIENT = { id: 'demo-client', secret: 'demo-client-secret' } as const;

/** The app's OAuth callback path; the default redirect URI is PUBLIC_URL + this. */
export const ALLEGRO_CALLBACK_PATH = '/allegro/callback';

export interface AllegroConfig {
  env: 'production' | 'sandbox' | 'simulator';
  /** Base of the OAuth endpoints (…/auth/oauth/authorize, …/auth/oauth/token). */
  authUrl: string;
  /** Base of the REST API (…/me, …/messaging/threads). */
  apiUrl: string;
  clientId: string | undefined;
  clientSecret: string | undefined;
  redirectUri: string;
  timeoutMs: number;
  /** Sent with every API call, as Allegro asks: AppName/Version (+https://info-url). */
  userAgent: string;
  /** When set, `npm start` runs the Allegro simulator itself on this port (demo, offline). */
  simulatorPort: number | null;
  /**
   * Demo only, with the simulator beside the app and a database file: where the simulator keeps the
   * tokens it issued (beside the database), so a restart does not revoke the demo's authorizations.
   */
  simulatorTokenFile: string | null;
}

/**
 * Demo only: the local Google mail simulator (src/simulator/google/), on loopback. Connections the app
 * opens to Google's mail hosts go there instead, trusting only its certificate authority.
 */
export interface GoogleSimulatorConfig {
  host: '127.0.0.1';
  /** IMAP over TLS (imap.gmail.com:993). */
  imapPort: number;
  /** SMTP with implicit TLS (smtp.gmail.com:465). */
  smtpPort: number;
  /** SMTP with STARTTLS (smtp.gmail.com:587). */
  submissionPort: number;
  /** Where its CA and server certificate are kept (made on first start). */
  dir: string;
}

export interface AppConfig {
  host: string;
  port: number;
  publicUrl: string;
  /** Served over HTTPS (PUBLIC_URL is https:): cookies are Secure and HSTS is sent. */
  https: boolean;
  databasePath: string;
  demo: boolean;
  /** Encryption keys from APP_SECRET_KEY (comma-separated, newest first), if set. */
  secretKeys: string[] | undefined;
  secretKeyFile: string;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  mxResolver: 'dns' | 'demo';
  mxCacheTtlMs: number;
  dnsTimeoutMs: number;
  /**
   * Which proxies' X-Forwarded-For is believed (Fastify's trustProxy): false, the number of hops, or
   * their addresses. `true` (every hop) only in the demo.
   */
  trustProxy: boolean | string[] | TrustHops;
  /** Folder with the demo data files. */
  demoDir: string;
  /** Outgoing mail (sign-in links, reminders); undefined: not configured. */
  smtpUrl: string | undefined;
  mailFrom: string;
  /** Mail servers a seller may enter, lower case. */
  mailHostAllowlist: string[];
  /** Ports of every mail server: entered, imported or connected to. */
  mailPortAllowlist: number[];
  /** Addresses outside the public internet that mail connections may reach anyway (IPs or CIDR ranges). */
  mailAddressAllowlist: string[];
  mailCheckTimeoutMs: number;
  /** Extra CA (PEM text) trusted for mailbox connections. */
  mailTlsCa: string | undefined;
  sessionIdleMs: number;
  staffSessionIdleMs: number;
  /** A seller session ends this long after sign-in however busy it is (SESSION_MAX_HOURS). */
  sessionMaxMs: number;
  /** A staff session ends this long after sign-in however busy it is (STAFF_SESSION_MAX_HOURS). */
  staffSessionMaxMs: number;
  /** When the mailbox versions stop working for good; the overview counts down to it. */
  migrationDeadline: Date | null;
  /**
   * What happens on that day, in the operator's words, one sentence per language
   * (MIGRATION_DEADLINE_MEANS_PL/_EN): sellers read it beside the deadline (the demo, without one, shows its catalog's example: seller/deadline.ts).
   */
  migrationDeadlineMeans: { pl: string; en: string } | null;
  /** A seller is reminded at most once in this many days. */
  reminderMinDays: number;
  /** Bulk job items processed at once, over all jobs. */
  bulkConcurrency: number;
  /** Connections open at once to one mail host (never more than one per mailbox). */
  bulkPerHostConcurrency: number;
  /** First wait before a failed item is tried again; doubled each attempt, jittered, at most 5 minutes. */
  bulkRetryBaseMs: number;
  /**
   * The watch over migrated autoresponders. In demo mode on by default only while both simulators
   * stand in for Google and Allegro (the demo's mailboxes and authorizations exist only there).
   */
  watchEnabled: boolean;
  /** Every watched autoresponder is checked once per interval, in its own slot. */
  watchIntervalMs: number;
  /** Local hours in Poland in which the watch may send e-mails. */
  watchSendHours: SendHours;
  allegro: AllegroConfig;
  /** Set only in demo mode (GOOGLE_SIMULATOR, default on in the demo); null otherwise. */
  googleSimulator: GoogleSimulatorConfig | null;
  support: SupportConfig;
}

/** Who runs the service and where a seller gets help: shown in every seller page's footer. */
export interface SupportConfig {
  /** The operator named on every seller page. */
  operatorName: string;
  /** Where "contact support" writes to; null: not configured (the help page is offered instead). */
  email: string | null;
  /** The operator's own help page; null: the app's built-in /help. */
  url: string | null;
  /** False when OPERATOR_NAME or SUPPORT_EMAIL fell back to a placeholder (a warning is logged outside the demo). */
  configured: boolean;
}

/** The demo's stand-ins, so the offline demo shows what a configured footer looks like. */
export const DEMO_SUPPORT = { operatorName: 'Migracja Autorespondera (demo)', email: 'pomoc@migracja.example' } as const;

/** A bad environment variable: one readable line naming it, printed at boot instead of a stack. */
export class ConfigError extends MigError {
  constructor(readonly variable: string, message: string) {
    super('MIG_ERR_CONFIG', variable);
    this.message = message;
    this.name = 'ConfigError';
  }
}

export const PROJECT_ROOT = path.resolve(import.meta.dirname, '..');
export const APP_VERSION: string = (JSON.parse(readFileSync(path.join(PROJECT_ROOT, 'package.json'), 'utf8')) as { version: string }).version;

/**
 * Validates the environment once. Values from the process environment win over `.env`.
 * @throws {ConfigError} naming the first bad variable, in one readable line.
 */
export function loadConfig(env: NodeJS.ProcessEnv, root = PROJECT_ROOT): AppConfig {
  // Empty strings mean "not set": a blank line in .env must not override a default.
  const cleaned = Object.fromEntries(
    Object.keys(envSchema.shape)
      .map((k) => [k, env[k]] as const)
      .filter(([, v]) => v !== undefined && v.trim() !== ''),
  );
  const parsed = envSchema.safeParse(cleaned);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const variable = String(issue.path[0] ?? 'environment');
    const got = cleaned[variable];
    // Values that can hold secrets are named, never echoed.
    const shown = ['APP_SECRET_KEY', 'SMTP_URL', 'ALLEGRO_CLIENT_SECRET'].includes(variable) || got === undefined ? '' : ` (got "${got}")`;
    throw new ConfigError(variable, `Invalid configuration: ${variable}: ${issue.message}${shown}`);
  }
  const e = parsed.data;
  const host = e.HOST ?? '127.0.0.1';
  const port = e.PORT ?? 3000;
  const demo = e.DEMO ?? true;
  const resolvePath = (p: string) => (p === ':memory:' ? p : path.resolve(root, p));
  const publicUrl = e.PUBLIC_URL ?? `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  const allegro = allegroConfig(e, { host, port, demo, publicUrl: e.PUBLIC_URL ?? `http://${host.includes(':') ? `[${host}]` : host}:${port}`, dataDir: dataDir(e.DATABASE_PATH, root) });
  const google = googleSimulatorConfig(e, { port, demo, databasePath: e.DATABASE_PATH, root });
  if (!demo) refuseUnsafeProduction(e);
  refuseReadableKeyFile(e, root);
  return {
    host,
    port,
    publicUrl,
    https: publicUrl.startsWith('https:'),
    databasePath: resolvePath(e.DATABASE_PATH ?? 'data/app.db'),
    demo,
    secretKeys: e.APP_SECRET_KEY ? e.APP_SECRET_KEY.split(',').map((k) => k.trim()).filter(Boolean) : undefined,
    secretKeyFile: resolvePath(e.SECRET_KEY_FILE ?? 'data/secret.key'),
    logLevel: e.LOG_LEVEL ?? 'info',
    mxResolver: e.MX_RESOLVER ?? (demo ? 'demo' : 'dns'),
    mxCacheTtlMs: (e.MX_CACHE_TTL_HOURS ?? 24) * 3_600_000,
    dnsTimeoutMs: e.DNS_TIMEOUT_MS ?? 3000,
    trustProxy: e.TRUST_PROXY ?? false,
    demoDir: path.resolve(root, 'data/demo'),
    smtpUrl: e.SMTP_URL,
    mailFrom: e.MAIL_FROM ?? '"Migracja autorespondera Allegro" <no-reply@localhost>',
    mailHostAllowlist: (e.MAIL_HOST_ALLOWLIST ?? 'imap.gmail.com,smtp.gmail.com').split(',').map((h) => h.trim().toLowerCase()).filter(Boolean),
    mailPortAllowlist: e.MAIL_PORT_ALLOWLIST ? e.MAIL_PORT_ALLOWLIST.split(',').map((p) => Number(p.trim())) : [...DEFAULT_MAIL_PORTS],
    mailAddressAllowlist: (e.MAIL_ADDRESS_ALLOWLIST ?? '').split(',').map((a) => a.trim()).filter(Boolean),
    mailCheckTimeoutMs: e.MAIL_CHECK_TIMEOUT_MS ?? 10_000,
    mailTlsCa: e.MAIL_TLS_CA_FILE ? readFileSync(e.MAIL_TLS_CA_FILE, 'utf8') : undefined,
    sessionIdleMs: (e.SESSION_IDLE_MINUTES ?? 120) * 60_000,
    staffSessionIdleMs: (e.STAFF_SESSION_IDLE_MINUTES ?? 30) * 60_000,
    // A working day for staff; a seller finishes a migration in one sitting.
    sessionMaxMs: Math.round((e.SESSION_MAX_HOURS ?? 12) * 3_600_000),
    staffSessionMaxMs: Math.round((e.STAFF_SESSION_MAX_HOURS ?? 10) * 3_600_000),
    // A bare date means the end of that day in Poland.
    // The demo without one gets a deadline DEMO_DEADLINE_DAYS ahead, so the countdown and the chart's deadline show.
    migrationDeadlineMeans: deadlineMeansConfig(e),
    migrationDeadline: e.MIGRATION_DEADLINE ? endOfDay(e.MIGRATION_DEADLINE) : demo ? endOfDay(new Date(Date.now() + DEMO_DEADLINE_DAYS * 86_400_000).toISOString().slice(0, 10)) : null,
    reminderMinDays: e.REMINDER_MIN_DAYS ?? 3,
    bulkConcurrency: Math.floor(e.BULK_CONCURRENCY ?? 8) || 1,
    bulkPerHostConcurrency: Math.floor(e.BULK_PER_HOST_CONCURRENCY ?? 4) || 1,
    bulkRetryBaseMs: Math.ceil(e.BULK_RETRY_BASE_MS ?? 2000),
    // In the demo only while its e-mails stay in the log: with SMTP_URL set they would reach the demo's made-up sellers.
    watchEnabled: e.WATCH_ENABLED ?? (!demo || (!!google && allegro.simulatorPort !== null && !e.SMTP_URL)),
    watchIntervalMs: Math.round((e.WATCH_INTERVAL_HOURS ?? 24) * 3_600_000),
    watchSendHours: parseSendHours(e.WATCH_SEND_HOURS ?? '8-20')!,
    allegro,
    googleSimulator: google,
    support: {
      // Outside the demo both are required (refuseUnsafeProduction); the demo shows its stand-ins.
      operatorName: e.OPERATOR_NAME ?? DEMO_SUPPORT.operatorName,
      email: e.SUPPORT_EMAIL ?? DEMO_SUPPORT.email,
      url: e.SUPPORT_URL ?? null,
      configured: !!(e.OPERATOR_NAME && e.SUPPORT_EMAIL),
    },
  };
}

/**
 * What only the demo may do, refused outside it before anything starts: a seller page that asks for a
 * mailbox credential must say who runs the service and where to get help, and X-Forwarded-For must
 * not be believed from every hop (the client would choose the address every per-IP limit counts).
 * @throws {ConfigError}
 */
function refuseUnsafeProduction(e: z.infer<typeof envSchema>): void {
  const missing = (['OPERATOR_NAME', 'SUPPORT_EMAIL'] as const).filter((k) => !e[k]);
  if (missing.length) {
    throw new ConfigError(
      missing[0]!,
      `Invalid configuration: ${missing.join(' and ')} ${missing.length > 1 ? 'are' : 'is'} required outside the demo (DEMO=0): every seller page names who runs the service and where to write for help, e.g. OPERATOR_NAME="Sklepy Kowalski sp. z o.o." SUPPORT_EMAIL=pomoc@example.pl`,
    );
  }
  if (e.TRUST_PROXY === true) {
    throw new ConfigError(
      'TRUST_PROXY',
      'Invalid configuration: TRUST_PROXY: "true" trusts every hop, so a client could choose its own address (every per-IP limit would count what it says); outside the demo give the number of proxies in front of the app (e.g. TRUST_PROXY=1) or their addresses (e.g. TRUST_PROXY=10.0.0.1)',
    );
  }
}

/**
 * A key file other users of the machine can read is refused, in the demo too: whoever reads it
 * decrypts every stored password and token. (The database file is checked when it is opened.)
 * @throws {ConfigError}
 */
function refuseReadableKeyFile(e: z.infer<typeof envSchema>, root: string): void {
  if (!e.APP_SECRET_KEY) {
    const keyFile = path.resolve(root, e.SECRET_KEY_FILE ?? 'data/secret.key');
    const mode = existsSync(keyFile) ? statSync(keyFile).mode : 0;
    if (mode & 0o077) {
      throw new ConfigError('SECRET_KEY_FILE', `Invalid configuration: SECRET_KEY_FILE: the key file ${keyFile} can be read by other users of this machine (mode ${(mode & 0o777).toString(8)}); make it private: chmod 600 ${keyFile}`);
    }
  }
}

/** The folder of the database file (the simulators keep their files there); null for an in-memory database. */
function dataDir(databasePath: string | undefined, root: string): string | null {
  if (databasePath === ':memory:') return null;
  return path.dirname(path.resolve(root, databasePath ?? 'data/app.db'));
}

/**
 * The Google simulator's settings, in the demo only. Outside it the mapping of Google's hosts to the
 * simulator cannot be switched on: any GOOGLE_SIMULATOR* variable stops the process.
 * @throws {ConfigError} when asked for outside demo mode
 */
function googleSimulatorConfig(e: z.infer<typeof envSchema>, app: { port: number; demo: boolean; databasePath: string | undefined; root: string }): GoogleSimulatorConfig | null {
  const asked = (['GOOGLE_SIMULATOR_IMAP_PORT', 'GOOGLE_SIMULATOR_SMTP_PORT', 'GOOGLE_SIMULATOR_SUBMISSION_PORT', 'GOOGLE_SIMULATOR_DIR'] as const).find((k) => e[k] !== undefined);
  if (!app.demo) {
    if (e.GOOGLE_SIMULATOR || asked) {
      const variable = e.GOOGLE_SIMULATOR ? 'GOOGLE_SIMULATOR' : asked!;
      throw new ConfigError(variable, `Invalid configuration: ${variable}: the Google simulator works only in demo mode (DEMO=1); Google's mail servers cannot be redirected otherwise`);
    }
    return null;
  }
  if (e.GOOGLE_SIMULATOR === false) return null;
  // Next to the Allegro simulator (PORT+1), unless set; certificates beside the database.
  const next = (n: number) => (app.port + n <= 65535 ? app.port + n : app.port - n);
  const dbDir = app.databasePath && app.databasePath !== ':memory:' ? path.dirname(path.resolve(app.root, app.databasePath)) : path.resolve(app.root, 'data');
  return {
    host: '127.0.0.1',
    imapPort: e.GOOGLE_SIMULATOR_IMAP_PORT ?? next(2),
    smtpPort: e.GOOGLE_SIMULATOR_SMTP_PORT ?? next(3),
    submissionPort: e.GOOGLE_SIMULATOR_SUBMISSION_PORT ?? next(4),
    dir: path.resolve(app.root, e.GOOGLE_SIMULATOR_DIR ?? path.join(dbDir, 'google-simulator')),
  };
}

function deadlineMeansConfig(e: { MIGRATION_DEADLINE_MEANS_PL?: string | undefined; MIGRATION_DEADLINE_MEANS_EN?: string | undefined }): { pl: string; en: string } | null {
  const { MIGRATION_DEADLINE_MEANS_PL: pl, MIGRATION_DEADLINE_MEANS_EN: en } = e;
  if (pl && en) return { pl, en };
  if (pl || en) {
    const missing = pl ? 'MIGRATION_DEADLINE_MEANS_EN' : 'MIGRATION_DEADLINE_MEANS_PL';
    throw new ConfigError(missing, `Invalid configuration: ${missing}: set both MIGRATION_DEADLINE_MEANS_PL and MIGRATION_DEADLINE_MEANS_EN (sellers read the page in either language), or neither`);
  }
  return null;
}

/** How far ahead the demo's deadline is when MIGRATION_DEADLINE is not set. */
export const DEMO_DEADLINE_DAYS = 60;

/** A deadline as given: a date and time with its zone, or a bare date meaning the end of that day in Poland. */
function endOfDay(v: string): Date {
  return new Date(/T/.test(v) ? v : `${v}T23:59:59${warsawOffset(v)}`);
}

/** Poland's UTC offset on a date (+01:00 in winter, +02:00 in summer), for a bare-date deadline. */
function warsawOffset(date: string): string {
  const noon = new Date(`${date}T12:00:00Z`);
  const part = new Intl.DateTimeFormat('en', { timeZone: 'Europe/Warsaw', timeZoneName: 'longOffset' }).formatToParts(noon).find((p) => p.type === 'timeZoneName');
  const m = /GMT([+-]\d{2}:\d{2})/.exec(part?.value ?? '');
  return m ? m[1]! : '+01:00';
}

function allegroConfig(e: z.infer<typeof envSchema>, app: { host: string; port: number; demo: boolean; publicUrl: string; dataDir: string | null }): AllegroConfig {
  const env = e.ALLEGRO_ENV ?? (app.demo ? 'simulator' : 'production');
  // Explicit URLs win over ALLEGRO_ENV; the simulator runs next to the app unless URLs point elsewhere.
  const explicit = !!(e.ALLEGRO_AUTH_URL || e.ALLEGRO_API_URL);
  if (explicit && !(e.ALLEGRO_AUTH_URL && e.ALLEGRO_API_URL)) {
    const missing = e.ALLEGRO_AUTH_URL ? 'ALLEGRO_API_URL' : 'ALLEGRO_AUTH_URL';
    throw new ConfigError(missing, `Invalid configuration: ${missing}: set both ALLEGRO_AUTH_URL and ALLEGRO_API_URL, or neither`);
  }
  let simulatorPort: number | null = null;
  let urls: { authUrl: string; apiUrl: string };
  if (explicit) urls = { authUrl: e.ALLEGRO_AUTH_URL!, apiUrl: e.ALLEGRO_API_URL! };
  else if (env === 'simulator') {
    simulatorPort = e.ALLEGRO_SIMULATOR_PORT ?? (app.port < 65535 ? app.port + 1 : app.port - 1);
    const host = app.host === '0.0.0.0' || app.host === '::' ? '127.0.0.1' : app.host;
    const base = `http://${host.includes(':') ? `[${host}]` : host}:${simulatorPort}`;
    urls = { authUrl: base, apiUrl: base };
  } else urls = ALLEGRO_ENVIRONMENTS[env];
  const simulatorDefaults = env === 'simulator' && !e.ALLEGRO_CLIENT_ID;
  return {
    env,
    ...urls,
    clientId: e.ALLEGRO_CLIENT_ID ?? (simulatorDefaults ? SIMULATOR_CLIENT.id : undefined),
    clientSecret: e.ALLEGRO_CLIENT_SECRET ?? (simulatorDefaults ? SIMULATOR_CLIENT.secret : undefined),
    redirectUri: e.ALLEGRO_REDIRECT_URI ?? `${app.publicUrl}${ALLEGRO_CALLBACK_PATH}`,
    timeoutMs: e.ALLEGRO_TIMEOUT_MS ?? 10_000,
    userAgent: `MigracjaAutorespondera/${APP_VERSION} (+${e.ALLEGRO_INFO_URL ?? app.publicUrl})`,
    simulatorPort,
    simulatorTokenFile: simulatorPort !== null && app.demo && app.dataDir ? path.join(app.dataDir, 'allegro-simulator', 'tokens.json') : null,
  };
}

/** The process environment merged over an optional `.env` file (the environment wins). */
export function readEnvironment(root = PROJECT_ROOT, env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const file = path.join(root, '.env');
  const fromFile = existsSync(file) ? parseEnv(readFileSync(file, 'utf8')) : {};
  return { ...fromFile, ...env };
}
