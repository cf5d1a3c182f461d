import { MAIL_CHECK_CODES } from '../mail/classify.js';
import type { AccountRow } from '../repositories/accounts.js';
import type { Repositories } from '../repositories/index.js';
import { weekLabel } from './funnel.js';
import { filterParams, FUNNEL_REACHED, FUNNEL_STAGES, LISTED_STATES, listUrl, PAGE_SIZES, PROVIDERS, SORTS, STATE_GROUP_NAMES, type AccountFilter, type ListView } from '../accounts/filter.js';

/** The accounts list page: one keyset page of rows, sort and paging links, page sizes, filter options. */
export function listModel(repos: Repositories, filter: AccountFilter, view: ListView, opts: { selectAll?: boolean; lang?: string; moreErrors?: boolean; foldErrors?: boolean } = {}) {
  const label = weekLabel(opts.lang ?? 'pl');
  const page = repos.accounts.page(filter, view);
  const sortLink = (s: (typeof SORTS)[number]) => {
    const dir = view.sort === s && view.dir === 'asc' ? 'desc' : 'asc';
    return { key: s, href: listUrl('/staff/accounts', filter, { sort: s, dir, size: view.size }), active: view.sort === s, dir: view.sort === s ? view.dir : null, aria: view.sort === s ? (view.dir === 'asc' ? 'ascending' : 'descending') : null };
  };
  // Over TOTAL_CAP matches the total is "more than 10,000" (counted exactly on request), so the page count is unknown.
  const pages = page.totalCapped ? null : Math.max(1, Math.ceil(page.total / view.size));
  const exact = view.exactTotal;
  // "Zaznacz wszystkie na tej stronie" without a script: the same page again, every row ticked.
  const here = listUrl('/staff/accounts', filter, view);
  return {
    selectAll: !!opts.selectAll,
    selectAllHref: `${here}${here.includes('?') ? '&' : '?'}select=page`,
    unselectHref: here,
    rows: page.rows.map(rowView),
    total: page.total,
    totalCapped: page.totalCapped,
    exactTotalUrl: page.totalCapped ? listUrl('/staff/accounts', filter, { sort: view.sort, dir: view.dir, size: view.size, after: view.after, before: view.before, page: view.page, exactTotal: true }) : null,
    page: view.page,
    pages,
    first: view.after || view.before ? listUrl('/staff/accounts', filter, { sort: view.sort, dir: view.dir, size: view.size, exactTotal: exact }) : null,
    next: page.next ? listUrl('/staff/accounts', filter, { sort: view.sort, dir: view.dir, size: view.size, after: page.next, page: pages ? Math.min(pages, view.page + 1) : view.page + 1, exactTotal: exact }) : null,
    prev: page.prev ? listUrl('/staff/accounts', filter, { sort: view.sort, dir: view.dir, size: view.size, before: page.prev, page: Math.max(1, view.page - 1), exactTotal: exact }) : null,
    sorts: Object.fromEntries(SORTS.map((s) => [s, sortLink(s)])),
    sizes: PAGE_SIZES.map((n) => ({ n, href: listUrl('/staff/accounts', filter, { sort: view.sort, dir: view.dir, size: n }), current: n === view.size })),
    csvUrl: listUrl('/staff/accounts.csv', filter, {}),
    filter: { ...filterParams(filter), inactive: filter.inactiveDays ?? '', reminded: filter.remindedDays ?? '' },
    filterHidden: hiddenFields(filter),
    filtered: Object.keys(filterParams(filter)).length > 0,
    // A list opened from "Do zrobienia dziś" says which figure it is (the form has no field for it; kept as hidden fields).
    todoFilter: filter.reminder ? { key: `staff.todo.reminder.${filter.reminder}`, host: null } : filter.outage ? { key: 'staff.todo.outage', host: filter.outage } : null,
    // On a phone every filter but the search folds away unless one of them is in use (or wrong).
    filtersOpen: Object.keys(filterParams(filter)).some((k) => !['q', 'reminder', 'outage'].includes(k)) || !!opts.foldErrors,
    // Activity and funnel filters fold away unless one of them is in use.
    moreFilters: filter.inactiveDays !== undefined || !!filter.stage || !!filter.reached || !!filter.cohort || filter.remindedDays !== undefined || !!filter.broke || !!opts.moreErrors,
    options: {
      states: LISTED_STATES,
      // The overview's groups of states (src/accounts/figures.ts), so a list opened from a headline figure shows its filter.
      stateGroups: STATE_GROUP_NAMES,
      providers: PROVIDERS,
      codes: [...new Set(['none', ...MAIL_CHECK_CODES, ...repos.accounts.codes()])],
      stages: FUNNEL_STAGES,
      reached: FUNNEL_REACHED,
      // The weeks sellers were first reminded in (newest first), and the one asked for even if empty.
      cohorts: [...new Set([...repos.funnel.cohorts(), ...(filter.cohort && /^\d/.test(filter.cohort) ? [filter.cohort] : [])])]
        .sort()
        .reverse()
        .map((week) => ({ value: week, label: label(week) })),
    },
  };
}

/** The list's filter as hidden form fields (bulk forms carry it to the confirmation and the job). */
export const hiddenFields = (filter: AccountFilter) => Object.entries(filterParams(filter)).map(([name, value]) => ({ name, value }));

function rowView(r: AccountRow) {
  return { ...r, lastCheckedAt: r.lastCheckedAt || null, href: `/staff/accounts/${r.autoresponderId}` };
}
