import { Readable } from 'node:stream';
import type { AccountRow } from '../repositories/accounts.js';
import type { Repositories } from '../repositories/index.js';
import { filterParams, type AccountFilter } from './account-filter.js';
import { CSV_BOM, csvLine } from './csv.js';

const CSV_COLUMNS: { header: string; value: (r: AccountRow) => string | number | null }[] = [
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

/**
 * The CSV export of a filter: audited, then streamed in chunks of rows by id (constant memory, and
 * the database is never held between chunks). No secrets are among the columns.
 */
export function createAccountsExport(deps: { repos: Repositories; now: () => Date }) {
  const { repos, now } = deps;
  return {
    start(filter: AccountFilter, staffId: number): { filename: string; stream: Readable } {
      repos.audit.append({ actor: { type: 'staff', id: staffId }, action: 'staff.export', targetType: 'accounts', targetId: null, details: { filter: filterParams(filter), total: repos.accounts.count(filter) } });
      let after = 0;
      let headerSent = false;
      const stream = new Readable({
        read() {
          if (!headerSent) {
            headerSent = true;
            this.push(CSV_BOM + csvLine(CSV_COLUMNS.map((c) => c.header)));
            return;
          }
          const rows = repos.accounts.chunk(filter, after, 1000);
          if (rows.length === 0) return void this.push(null);
          after = rows[rows.length - 1]!.autoresponderId;
          this.push(rows.map((r) => csvLine(CSV_COLUMNS.map((c) => c.value(r)))).join(''));
        },
      });
      const stamp = now().toISOString().slice(0, 16).replace(/[:T]/g, '-');
      return { filename: `autorespondery-${stamp}.csv`, stream };
    },
  };
}
export type AccountsExport = ReturnType<typeof createAccountsExport>;
