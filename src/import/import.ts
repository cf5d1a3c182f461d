import { parse } from 'csv-parse/sync';
import { z } from 'zod';
import type { Db } from '../db/database.js';
import { createDerivedBatch, type DerivedBatch } from '../db/derived.js';
import { normalizeHost } from '../detection/rules.js';
import type { MailboxVerdict } from '../domain/model.js';
import { isAllowedHost, isAllowedPort, isHostname, securityForPort, type MailServerPolicy } from '../mail/servers.js';
import { DETECTION_STATES } from '../migration/states.js';
import { ImportFileError } from '../errors.js';
import type { Actor, Mailbox, Seller } from '../domain/model.js';
import type { Repositories } from '../repositories/index.js';
import type { DetectionService, KnownAutoresponder } from '../detection/service.js';
import { mapLimit } from '../detection/service.js';
import type { SecretsService } from '../crypto/secrets.js';
import type { MigrationService } from '../migration/service.js';
import { createI18n } from '../i18n/index.js';
import { bilingual } from '../i18n/bilingual.js';

export const IMPORT_COLUMNS = [
  'seller_id',
  'seller_email',
  'seller_name',
  'allegro_login',
  'autoresponder_id',
  'autoresponder_version',
  'mailbox_email',
  'imap_host',
  'imap_port',
  'smtp_host',
  'smtp_port',
  'mailbox_password',
] as const;
type Column = (typeof IMPORT_COLUMNS)[number];

// Whoever runs an import may read either language, so every message is given in both, Polish first
// ("pole jest wymagane / required"). The texts are in the catalogs; they do not depend on a request,
// so they are loaded once, with the module (the schemas below are built from them).
const i18n = await createI18n();
const msg = (key: string, vars?: Record<string, unknown>): string => bilingual(i18n, `import.${key}`, vars);

export interface RowProblem {
  line: number;
  column: Column | null;
  reason: string;
}

export interface ImportResult {
  rows: number;
  imported: number;
  updated: number;
  unchanged: number;
  rejected: number;
  /** Every problem of every rejected row. */
  problems: RowProblem[];
  /** Things applied differently than the file says, and why (never an error). */
  notes: RowProblem[];
  ignoredColumns: string[];
}

const CONTROL = /[\u0000-\u001f\u007f]/;
const id = (col: string) =>
  z
    .string()
    .trim()
    .min(1, msg('row.required'))
    .max(64, msg('row.tooLong', { count: 64 }))
    .regex(/^[A-Za-z0-9._:-]+$/, msg('row.idChars', { column: col }));
const email = z
  .string()
  .trim()
  .min(1, msg('row.required'))
  .max(254, msg('row.emailTooLong'))
  .pipe(z.email({ message: msg('row.email') }))
  .transform((e) => e.toLowerCase());
const host = z
  .string()
  .trim()
  .min(1, msg('row.required'))
  .refine(isHostname, msg('row.host'))
  .transform(normalizeHost);
const port = z
  .string()
  .trim()
  .regex(/^\d{1,5}$/, msg('row.portNumber'))
  .transform(Number)
  .refine((n) => n >= 1 && n <= 65535, msg('row.portRange'));
/** An optional column: empty means null, anything else must pass the schema. */
const optional = <T extends z.ZodType<unknown, string>>(schema: T) =>
  z.string().transform((v, ctx): z.output<T> | null => {
    const trimmed = v.trim();
    if (trimmed === '') return null;
    // Not a union: a union would replace the inner schema's own message with "Invalid input".
    const r = schema.safeParse(trimmed);
    if (r.success) return r.data as z.output<T>;
    for (const issue of r.error.issues) ctx.addIssue({ code: 'custom', message: issue.message });
    return z.NEVER;
  });

const rowSchema = z
  .object({
    seller_id: id('seller_id'),
    seller_email: email,
    seller_name: z
      .string()
      .trim()
      .min(1, msg('row.required'))
      .max(200, msg('row.tooLong', { count: 200 }))
      .refine((v) => !CONTROL.test(v), msg('row.controlCharacters')),
    allegro_login: optional(z.string().max(64, msg('row.tooLong', { count: 64 })).regex(/^[\p{L}\p{N}._-]+$/u, msg('row.allegroLogin'))),
    autoresponder_id: optional(id('autoresponder_id')),
    autoresponder_version: optional(
      z.enum(['1', '2', '3'], { message: msg('row.version') }).transform(Number),
    ),
    mailbox_email: email,
    imap_host: host,
    imap_port: port,
    smtp_host: host,
    smtp_port: port,
    // Not trimmed: spaces can be part of a password.
    mailbox_password: z
      .string()
      .max(256, msg('row.passwordTooLong', { count: 256 }))
      .refine((v) => !/[\r\n\u0000]/.test(v), msg('row.passwordLineBreak'))
      .transform((v) => (v === '' ? null : v)),
  })
  .superRefine((r, ctx) => {
    if ((r.autoresponder_id === null) !== (r.autoresponder_version === null)) {
      ctx.addIssue({
        code: 'custom',
        path: [r.autoresponder_id === null ? 'autoresponder_id' : 'autoresponder_version'],
        message: msg('row.autoresponderPair'),
      });
    }
  });
type Row = z.infer<typeof rowSchema>;

/**
 * The mail servers of a row against the policy every connection is held to, so a file cannot point
 * a later check (a staff re-check, one or bulk) at this machine, its network or another port.
 */
function serverProblems(r: Row, policy: MailServerPolicy): { column: Column; reason: string }[] {
  const out: { column: Column; reason: string }[] = [];
  for (const [hostColumn, portColumn] of [['imap_host', 'imap_port'], ['smtp_host', 'smtp_port']] as const) {
    if (!isAllowedHost(r[hostColumn], policy)) {
      out.push({ column: hostColumn, reason: msg('row.hostNotAllowed') });
    }
    if (!isAllowedPort(r[portColumn], policy)) {
      const allowed = policy.ports.join(', ');
      out.push({ column: portColumn, reason: msg('row.portNotAllowed', { port: r[portColumn], allowed }) });
    }
  }
  return out;
}

export interface ParsedRow {
  line: number;
  row: Row;
}

const mailboxKey = (sellerId: string, mailbox: string) => `${sellerId}\u0000${mailbox}`;
const factsKey = (r: Row) => `${r.mailbox_email}\u0000${r.imap_host}\u0000${r.smtp_host}`;

/**
 * Reads and validates a whole file. Whole-file problems throw; row problems are collected.
 * @throws {ImportFileError} when the file is not UTF-8 CSV or misses required columns
 */
export function parseImportFile(input: Buffer | string, policy: MailServerPolicy): { valid: ParsedRow[]; problems: RowProblem[]; rows: number; ignoredColumns: string[] } {
  let text: string;
  if (typeof input === 'string') text = input;
  else {
    if (input.includes(0)) throw new ImportFileError(msg('file.binary'));
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(input);
    } catch {
      throw new ImportFileError(msg('file.notUtf8'));
    }
  }
  text = text.replace(/^\uFEFF/, '');
  const firstLine = text.split(/\r?\n/, 1)[0] ?? '';
  if (!firstLine.trim()) throw new ImportFileError(msg('file.empty'));
  const delimiter = delimiterFor(firstLine);

  let records: { record: string[]; info: { lines: number } }[];
  try {
    records = parse(text, { delimiter, relax_column_count: true, skip_empty_lines: true, info: true, bom: true }) as unknown as typeof records;
  } catch (err) {
    const line = (err as { lines?: number }).lines;
    throw new ImportFileError(`${line ? msg('file.notCsvAt', { line }) : msg('file.notCsv')} ${(err as Error).message}`);
  }
  const [header, ...body] = records;
  const { names, ignoredColumns } = readHeader(header!.record);
  const problems: RowProblem[] = [];
  const valid: ParsedRow[] = [];
  let rows = 0;
  for (const { record, info } of body) {
    const r = validateRecord(record, info.lines, names, policy);
    if (r === null) continue;
    rows++;
    if ('problems' in r) problems.push(...r.problems);
    else valid.push(r);
  }
  return { valid, problems, rows, ignoredColumns };
}

/** A file's delimiter, from its first line: ';' (Polish Excel) when it has more of them than ','. */
export function delimiterFor(firstLine: string): ';' | ',' {
  return count(firstLine, ';') > count(firstLine, ',') ? ';' : ',';
}

/**
 * The header row: every required column once (any order, any case), the others named as ignored.
 * @throws {ImportFileError} when a column is missing or repeated
 */
export function readHeader(header: string[]): { names: string[]; ignoredColumns: string[] } {
  const names = header.map((h) => h.trim().toLowerCase());
  const missing = IMPORT_COLUMNS.filter((c) => !names.includes(c));
  if (missing.length) {
    throw new ImportFileError(`${msg('file.missingColumns', { columns: missing.join(', ') })} ${msg('file.expectedHeader')}: ${IMPORT_COLUMNS.join(',')}`);
  }
  const dup = names.find((n, i) => n && names.indexOf(n) !== i);
  if (dup) throw new ImportFileError(msg('file.duplicateColumn', { column: dup }));
  return { names, ignoredColumns: names.filter((n) => n && !(IMPORT_COLUMNS as readonly string[]).includes(n)) };
}

// Where each column is in the file's records, found once per header (a file's rows share one).
const positions = new WeakMap<string[], [Column, number][]>();
function positionsOf(names: string[]): [Column, number][] {
  let p = positions.get(names);
  if (!p) positions.set(names, (p = IMPORT_COLUMNS.map((c) => [c, names.indexOf(c)])));
  return p;
}

/**
 * One record of the file (after the header): null for an empty line, the row, or its problems.
 * `endLine` is the line where the record ends (a quoted field may span lines).
 */
export function validateRecord(record: string[], endLine: number, names: string[], policy: MailServerPolicy): ParsedRow | { problems: RowProblem[] } | null {
  let breaks = 0;
  for (const f of record) for (let i = f.indexOf('\n'); i !== -1; i = f.indexOf('\n', i + 1)) breaks++;
  const line = endLine - breaks;
  if (record.every((f) => f.trim() === '')) return null;
  if (record.length !== names.length) return { problems: [{ line, column: null, reason: msg('row.columnCount', { expected: names.length, found: record.length }) }] };
  const raw: Record<string, string> = {};
  for (const [column, at] of positionsOf(names)) raw[column] = record[at] ?? '';
  const parsed = rowSchema.safeParse(raw);
  if (!parsed.success) return { problems: parsed.error.issues.map((issue) => ({ line, column: (issue.path[0] as Column) ?? null, reason: issue.message })) };
  const refused = serverProblems(parsed.data, policy);
  if (refused.length) return { problems: refused.map((p) => ({ line, ...p })) };
  return { line, row: parsed.data };
}

/** Rows that contradict an earlier row of the same file are rejected, the first one stands. */
function checkConsistency(rows: ParsedRow[], problems: RowProblem[]): ParsedRow[] {
  const consistent = createConsistency();
  return rows.filter((p) => consistent(p, problems));
}

// FNV-1a, 32 bits: what a row said about its seller or mailbox, kept as a number, not the strings.
function hash32(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/**
 * The same-file consistency check, one row at a time (the streamed import keeps it across batches).
 * For each seller, mailbox and autoresponder it keeps only the first line and a hash of what that
 * line said (one number), so its memory is a few dozen bytes per distinct id, not the rows.
 */
export function createConsistency() {
  const sellers = new Map<string, number>();
  const mailboxes = new Map<string, number>();
  const autoresponders = new Map<string, number>();
  const pack = (line: number, hash: number) => line * 2 ** 32 + hash;
  const lineOf = (v: number) => Math.floor(v / 2 ** 32);
  const same = (v: number, hash: number) => v % 2 ** 32 === hash;
  return (p: ParsedRow, problems: RowProblem[]): boolean => {
    const r = p.row;
    const sh = hash32(`${r.seller_email}\u0000${r.seller_name}\u0000${r.allegro_login ?? '\u0001'}`);
    const s = sellers.get(r.seller_id);
    if (s !== undefined && !same(s, sh)) {
      problems.push({ line: p.line, column: 'seller_id', reason: msg('row.sellerDiffers', { seller: r.seller_id, line: lineOf(s) }) });
      return false;
    }
    const mk = mailboxKey(r.seller_id, r.mailbox_email);
    const mh = hash32(`${r.imap_host}\u0000${r.imap_port}\u0000${r.smtp_host}\u0000${r.smtp_port}\u0000${r.mailbox_password ?? '\u0001'}`);
    const m = mailboxes.get(mk);
    if (m !== undefined && !same(m, mh)) {
      problems.push({ line: p.line, column: 'mailbox_email', reason: msg('row.mailboxDiffers', { mailbox: r.mailbox_email, line: lineOf(m) }) });
      return false;
    }
    if (r.autoresponder_id) {
      const a = autoresponders.get(r.autoresponder_id);
      if (a !== undefined) {
        problems.push({ line: p.line, column: 'autoresponder_id', reason: msg('row.autoresponderRepeated', { autoresponder: r.autoresponder_id, line: a }) });
        return false;
      }
      autoresponders.set(r.autoresponder_id, p.line);
    }
    if (s === undefined) sellers.set(r.seller_id, pack(p.line, sh));
    if (m === undefined) mailboxes.set(mk, pack(p.line, mh));
    return true;
  };
}

class RowRejected extends Error {
  constructor(readonly column: Column, readonly reason: string) {
    super(reason);
  }
}

export interface ImportDeps {
  db: Db;
  repos: Repositories;
  secrets: SecretsService;
  detection: DetectionService;
  /** Its bulk mode: a batch is one all-or-nothing transaction, so a migration record takes no savepoint. */
  migrationService: Pick<MigrationService, 'inBulk'>;
  /** Which mail servers a row may name. */
  mailServers: MailServerPolicy;
}

/**
 * Imports the seller-tools export: validates every row, looks up MX for the mailboxes that need it,
 * then applies all valid rows in one transaction (a row that conflicts with stored data is refused
 * before any of it is written, so it touches nothing else). Re-importing the same
 * file changes nothing.
 * @throws {ImportFileError} for a file that is refused as a whole; nothing is written then
 */
export async function importCsv(input: Buffer | string, deps: ImportDeps, opts: { actor: Actor; fileName?: string }): Promise<ImportResult> {
  return applyImport(await prepareImport(input, deps), deps, opts);
}

/** A validated file with its detection verdicts, ready to apply. */
export interface PreparedImport {
  rows: number;
  valid: ParsedRow[];
  problems: RowProblem[];
  ignoredColumns: string[];
  verdicts: Map<string, MailboxVerdict>;
}

/**
 * Parses, validates and runs detection (DNS) for a file, writing nothing.
 * @throws {ImportFileError} for a file that is refused as a whole
 */
export async function prepareImport(input: Buffer | string, deps: Pick<ImportDeps, 'detection' | 'mailServers'>): Promise<PreparedImport> {
  const parsed = parseImportFile(input, deps.mailServers);
  const problems = [...parsed.problems];
  const valid = checkConsistency(parsed.valid, problems);
  // DNS first, outside the transaction: a transaction never waits on the network.
  const verdicts = await verdictsFor(valid, deps.detection);
  return { rows: parsed.rows, valid, problems, ignoredColumns: parsed.ignoredColumns, verdicts };
}

/** Detection's verdicts for rows (DNS, outside any transaction), each mailbox's facts looked up once. */
export async function verdictsFor(rows: ParsedRow[], detection: Pick<DetectionService, 'detect'>): Promise<Map<string, MailboxVerdict>> {
  const verdicts = new Map<string, MailboxVerdict>();
  const uniqueFacts = [...new Map(rows.map((p) => [factsKey(p.row), p.row])).values()];
  await mapLimit(uniqueFacts, 8, async (r) => {
    verdicts.set(factsKey(r), await detection.detect({ email: r.mailbox_email, imapHost: r.imap_host, smtpHost: r.smtp_host }));
  });
  return verdicts;
}

/**
 * Applies a prepared file in one transaction (nested as a savepoint when the caller has one open).
 */
export function applyImport(prepared: PreparedImport, deps: ImportDeps, opts: { actor: Actor; fileName?: string; completedAudit?: boolean }): ImportResult {
  const { db, repos, secrets, detection } = deps;
  const { verdicts } = prepared;
  const consistent = prepared.valid;
  const problems = [...prepared.problems];
  const notes: RowProblem[] = [];
  const actor = opts.actor;
  const result: ImportResult = { rows: prepared.rows, imported: 0, updated: 0, unchanged: 0, rejected: 0, problems, notes, ignoredColumns: prepared.ignoredColumns };

  // Mailboxes whose autoresponders have all been refreshed in this transaction: a later row of the same
  // mailbox that changes nothing about it refreshes only its own autoresponder (the others cannot move).
  const refreshed = new Set<number>();
  // Mailboxes whose password this transaction has stored or found equal: every row of a mailbox carries
  // the same one (the same-file check refuses a row that differs), so it is decrypted once, not per row.
  const secretSettled = new Set<number>();

  // The sellers and mailboxes this transaction has read or written, as stored now: a seller's later rows
  // (an export lists a seller's autoresponders together) find them here instead of reading them again.
  const sellersSeen = new Map<string, Pick<Seller, 'id' | 'email' | 'name' | 'allegroLogin'>>();
  const mailboxesSeen = new Map<string, Mailbox>();

  // Each row reads its seller, mailbox and autoresponder once; what it writes it keeps, not read again.
  const applyRow = (p: ParsedRow): 'imported' | 'updated' | 'unchanged' => {
    const r = p.row;
    let created = false;
    let changed = false;

    let seller: Pick<Seller, 'id' | 'email' | 'name' | 'allegroLogin'> | undefined = sellersSeen.get(r.seller_id) ?? repos.sellers.findByExternalId(r.seller_id);
    // The one row the stored data can refuse, refused before anything of it is written: no savepoint
    // per row is needed to undo it (the savepoints were a tenth of an import's time).
    const known = r.autoresponder_id ? repos.autoresponders.findByExternalId(r.autoresponder_id) : undefined;
    if (known && known.sellerId !== seller?.id) throw new RowRejected('autoresponder_id', msg('row.otherSeller', { autoresponder: r.autoresponder_id }));
    if (!seller) {
      const sid = repos.sellers.insert({ externalId: r.seller_id, email: r.seller_email, name: r.seller_name, allegroLogin: r.allegro_login });
      repos.audit.record(actor, sid, { action: 'seller.created', details: { externalId: r.seller_id } });
      seller = { id: sid, email: r.seller_email, name: r.seller_name, allegroLogin: r.allegro_login };
      changed = true;
    } else if (seller.email !== r.seller_email || seller.name !== r.seller_name || seller.allegroLogin !== r.allegro_login) {
      repos.sellers.update(seller.id, { email: r.seller_email, name: r.seller_name, allegroLogin: r.allegro_login });
      repos.audit.record(actor, seller.id, { action: 'seller.updated', details: { externalId: r.seller_id } });
      seller = { id: seller.id, email: r.seller_email, name: r.seller_name, allegroLogin: r.allegro_login };
      changed = true;
    }
    sellersSeen.set(r.seller_id, seller);

    const servers = {
      imapHost: r.imap_host,
      imapPort: r.imap_port,
      imapSecurity: securityForPort('imap', r.imap_port),
      smtpHost: r.smtp_host,
      smtpPort: r.smtp_port,
      smtpSecurity: securityForPort('smtp', r.smtp_port),
      username: r.mailbox_email,
    };
    // The mailbox as found (undefined: new); `written` when this row changed a mailbox it found, so it is
    // read again once. A new one is made with its password in one statement and not read back.
    const seenKey = mailboxKey(String(seller.id), r.mailbox_email);
    const found = mailboxesSeen.get(seenKey) ?? repos.mailboxes.findBySellerAndEmail(seller.id, r.mailbox_email);
    let written = false;
    let made: Mailbox | undefined;
    let mailboxId: number;
    if (!found) {
      const password = r.mailbox_password;
      made = repos.mailboxes.create({
        sellerId: seller.id,
        email: r.mailbox_email,
        ...servers,
        secret: password === null ? null : { ciphertext: secrets.encrypt(password, 'mailbox-secret'), kind: 'account_password' },
      });
      mailboxId = made.id;
      secretSettled.add(mailboxId);
      repos.audit.record(actor, mailboxId, { action: 'mailbox.created', details: { email: r.mailbox_email } });
      if (password !== null) repos.audit.record(actor, mailboxId, { action: 'mailbox.secret_imported', details: { kind: 'account_password' } });
      created = !r.autoresponder_id;
      changed = true;
    } else {
      mailboxId = found.id;
      if ((Object.keys(servers) as (keyof typeof servers)[]).some((k) => found[k] !== servers[k])) {
        if (found.secretKind === 'app_password') {
          // The seller relinked this mailbox here (often moving a Workspace mailbox to Google's
          // servers); an older export must not undo that.
          notes.push({ line: p.line, column: 'imap_host', reason: msg('note.serversKept') });
        } else {
          repos.mailboxes.updateServers(mailboxId, servers);
          repos.audit.record(actor, mailboxId, { action: 'mailbox.servers_updated', details: servers });
          written = true;
          changed = true;
        }
      }
    }

    if (r.mailbox_password !== null) {
      if (found?.secretKind === 'app_password') {
        notes.push({ line: p.line, column: 'mailbox_password', reason: msg('note.passwordKept') });
      } else if (!secretSettled.has(mailboxId)) {
        secretSettled.add(mailboxId);
        const stored = found ? repos.mailboxes.getEncryptedSecret(mailboxId) : null;
        if (stored === null || secrets.decrypt(stored, 'mailbox-secret') !== r.mailbox_password) {
          repos.mailboxes.setEncryptedSecret(mailboxId, { ciphertext: secrets.encrypt(r.mailbox_password, 'mailbox-secret'), kind: 'account_password', verifiedAt: null });
          repos.audit.record(actor, mailboxId, { action: 'mailbox.secret_imported', details: { kind: 'account_password' } });
          written = true;
          changed = true;
        }
      }
    }
    const mailbox = made ?? (written ? repos.mailboxes.getById(mailboxId)! : found!);

    // The row's autoresponder when this row made or changed it (its verdict to be refreshed).
    let moved: (KnownAutoresponder & { migration?: null }) | undefined;
    if (r.autoresponder_id && r.autoresponder_version) {
      const version = r.autoresponder_version as 1 | 2 | 3;
      const mailboxId = version === 3 ? null : mailbox.id;
      // Read before anything was written (and refused there when it is another seller's).
      const existing = known;
      if (!existing) {
        const aid = repos.autoresponders.insert({ sellerId: seller.id, externalId: r.autoresponder_id, version, mailboxId });
        repos.audit.record(actor, aid, { action: 'autoresponder.created', details: { externalId: r.autoresponder_id, version } });
        // New: it has no migration yet.
        moved = { id: aid, version, mailboxId, migration: null };
        created = true;
        changed = true;
      } else if (existing.version !== version || existing.mailboxId !== mailboxId) {
        const migration = repos.migrations.findByAutoresponder(existing.id);
        if (migration && !(DETECTION_STATES as readonly string[]).includes(migration.state)) {
          notes.push({ line: p.line, column: 'autoresponder_version', reason: msg('note.migrating', { state: migration.state }) });
        } else {
          repos.autoresponders.update(existing.id, { version, mailboxId });
          repos.audit.record(actor, existing.id, { action: 'autoresponder.updated', details: { version, previous: existing.version } });
          moved = { id: existing.id, version, mailboxId };
          changed = true;
        }
      }
      // A v3 autoresponder reads no mailbox, so the mailbox refresh below does not reach it.
      if (version === 3) {
        const a = moved ?? existing!;
        if (detection.refreshAutoresponder(a.id, actor, { autoresponder: a, migration: moved?.migration })) changed = true;
      }
    }

    // This row's autoresponder when it is on this mailbox: all a mailbox made by this row has.
    const mine = moved && moved.mailboxId === mailbox.id ? [moved] : [];
    const only = written || made || !refreshed.has(mailbox.id) ? undefined : mine;
    const d = detection.applyMailboxVerdict(mailbox.id, verdicts.get(factsKey(r))!, actor, { mailbox, only, every: made ? mine : undefined });
    refreshed.add(mailbox.id);
    mailboxesSeen.set(seenKey, d.stored);
    if (d.mailbox || d.migrations > 0) changed = true;
    return created ? 'imported' : changed ? 'updated' : 'unchanged';
  };

  // Immediate: the write lock is taken first, so a server writing at the same time makes this wait
  // (busy timeout) instead of failing a read-then-write upgrade. The derived tables (the staff list's
  // index, search and counters) are written once for the whole batch, at its end (db/derived.ts).
  // Any error but a refused row (refused before it writes anything) rolls the whole batch back.
  db.transaction(() => {
    derivedBatchOf(db).deferred(() =>
      deps.migrationService.inBulk(() => {
        for (const p of consistent) {
          try {
            result[applyRow(p)]++;
          } catch (err) {
            if (!(err instanceof RowRejected)) throw err;
            problems.push({ line: p.line, column: err.column, reason: err.reason });
          }
        }
      }),
    );
    if (opts.completedAudit !== false && result.imported + result.updated > 0) {
      repos.audit.record(actor, opts.fileName ?? null, {
        action: 'import.completed',
        details: { rows: result.rows, imported: result.imported, updated: result.updated, unchanged: result.unchanged, rejected: new Set(problems.map((x) => x.line)).size },
      });
    }
  }).immediate();

  result.rejected = new Set(problems.map((x) => x.line)).size;
  problems.sort((a, b) => a.line - b.line);
  notes.sort((a, b) => a.line - b.line);
  return result;
}

const derivedBatches = new WeakMap<Db, DerivedBatch>();
/** One set of the batch's statements per connection, prepared once. */
function derivedBatchOf(db: Db): DerivedBatch {
  let d = derivedBatches.get(db);
  if (!d) derivedBatches.set(db, (d = createDerivedBatch(db)));
  return d;
}

function count(s: string, ch: string): number {
  let n = 0;
  for (const c of s) if (c === ch) n++;
  return n;
}
