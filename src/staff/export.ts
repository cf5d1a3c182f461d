import { Readable } from 'node:stream';
import type { TFunction } from 'i18next';
import type { AccountRow } from '../repositories/accounts.js';
import type { Repositories } from '../repositories/index.js';
import { warsawParts } from '../i18n/warsaw.js';
import { filterParams, type AccountFilter } from '../accounts/filter.js';
import { codeName } from './codes.js';
import { CSV_BOM, CSV_SEPARATOR, csvLine } from './csv.js';

/**
 * The two shapes of the export. "office" (the default) is for people: headers, states, paths and
 * providers in the agent's language, the error by its name beside its code, times in Europe/Warsaw
 * with their offset. "keys" (`?format=keys`) is for machines and stays as it always was: snake_case
 * headers, raw codes and UTC ISO timestamps, the same columns in the same order.
 */
export const EXPORT_FORMATS = ['office', 'keys'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

type ExportRow = AccountRow & { supportNumber?: string; sellerExternalId?: string; lastReminderAt?: string | null };
type Column = { header: string; value: (r: ExportRow) => string | number | null };

const KEY_COLUMNS: Column[] = [
  { header: 'autoresponder_id', value: (r) => r.autoresponderId },
  { header: 'seller_name', value: (r) => r.sellerName },
  { header: 'seller_email', value: (r) => r.sellerEmail },
  { header: 'allegro_login', value: (r) => r.allegroLogin },
  { header: 'mailbox', value: (r) => r.mailboxEmail },
  { header: 'version', value: (r) => r.version },
  { header: 'provider', value: (r) => r.provider },
  { header: 'state', value: (r) => r.state },
  { header: 'path', value: (r) => r.path },
  { header: 'last_error_code', value: (r) => r.lastErrorCode },
  { header: 'last_checked_at', value: (r) => r.lastCheckedAt || null },
  { header: 'last_activity_at', value: (r) => r.activityAt },
];

function officeColumns(t: TFunction): Column[] {
  const h = (k: string) => t(`staff.csv.${k}`) as string;
  return [
    // The number the seller reads on their page and quotes on the phone, not the internal one.
    { header: h('supportNumber'), value: (r) => r.supportNumber ?? null },
    { header: h('seller'), value: (r) => r.sellerName },
    { header: h('sellerId'), value: (r) => r.sellerExternalId ?? null },
    { header: h('sellerEmail'), value: (r) => r.sellerEmail },
    { header: h('login'), value: (r) => r.allegroLogin },
    { header: h('mailbox'), value: (r) => r.mailboxEmail },
    { header: h('version'), value: (r) => r.version },
    { header: h('provider'), value: (r) => t(`staff.providers.${r.provider}`) as string },
    { header: h('state'), value: (r) => t(`states.${r.state}`) as string },
    { header: h('path'), value: (r) => (r.path ? (t(`staff.paths.${r.path}`) as string) : null) },
    { header: h('error'), value: (r) => (r.lastErrorCode ? codeName(t, r.lastErrorCode) : null) },
    { header: h('errorCode'), value: (r) => r.lastErrorCode },
    { header: h('checked'), value: (r) => localTime(r.lastCheckedAt || null) },
    { header: h('activity'), value: (r) => localTime(r.activityAt || null) },
    { header: h('lastReminder'), value: (r) => localTime(r.lastReminderAt ?? null) },
  ];
}

export { warsawParts };

/**
 * "2026-11-21 12:55:03": Warsaw time as a spreadsheet reads a date and time (a trailing offset made it
 * text to Excel); the column's header says it is Warsaw time.
 */
export function localTime(iso: string | null): string | null {
  if (!iso) return null;
  const w = warsawParts(new Date(iso));
  return `${w.date} ${w.time}`;
}

/**
 * The CSV export of a filter: audited, then streamed in chunks of rows by id (constant memory, and
 * the database is never held between chunks). No secrets are among the columns. The file name
 * carries the Warsaw time the agent sees on the page.
 */
export function createAccountsExport(deps: { repos: Repositories; now: () => Date }) {
  const { repos, now } = deps;
  return {
    start(filter: AccountFilter, staffId: number, opts: { format: ExportFormat; t: TFunction; lang?: 'pl' | 'en' }): { filename: string; stream: Readable } {
      repos.audit.record({ type: 'staff', id: staffId }, null, { action: 'staff.export', details: { filter: filterParams(filter), total: repos.accounts.count(filter), ...(opts.format === 'keys' ? { format: 'keys' } : {}) } });
      const columns = opts.format === 'keys' ? KEY_COLUMNS : officeColumns(opts.t);
      // An English office file is for English spreadsheets: "," between cells (Polish Excel wants ";").
      const sep = opts.format === 'office' && opts.lang === 'en' ? ',' : CSV_SEPARATOR;
      let after = 0;
      let headerSent = false;
      const stream = new Readable({
        read() {
          if (!headerSent) {
            headerSent = true;
            this.push(CSV_BOM + csvLine(columns.map((c) => c.header), sep));
            return;
          }
          const rows: ExportRow[] = opts.format === 'keys' ? repos.accounts.chunk(filter, after, 1000) : repos.accounts.exportChunk(filter, after, 1000);
          if (rows.length === 0) return void this.push(null);
          after = rows[rows.length - 1]!.autoresponderId;
          this.push(rows.map((r) => csvLine(columns.map((c) => c.value(r)), sep)).join(''));
        },
      });
      const w = warsawParts(now());
      const name = opts.format === 'office' && opts.lang === 'en' ? 'autoresponders' : 'autorespondery';
      return { filename: `${name}-${w.date}-${w.time.slice(0, 5).replace(':', '-')}.csv`, stream };
    },
  };
}
export type AccountsExport = ReturnType<typeof createAccountsExport>;
