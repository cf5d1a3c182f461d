import { z } from 'zod';
import { AWAITING_SELLER_STATES, MIGRATED_STATES, MIGRATION_STATES, type MigrationState } from '../migration/states.js';

export const PROVIDERS = ['gmail', 'workspace', 'other', 'unknown'] as const;
export const SORTS = ['name', 'state', 'version', 'provider', 'checked', 'activity'] as const;
export const PAGE_SIZES = [25, 50, 100] as const;
/** Above this many matches a search or activity filter shows "more than 10,000" and counts exactly only on request. */
export const TOTAL_CAP = 10_000;

/** Where an account stands in the migration funnel (src/staff/funnel.ts): the list of those stuck there. */
export const FUNNEL_STAGES = ['not_reminded', 'reminded', 'signed_in', 'chose', 'done'] as const;
/**
 * How far an account got in the funnel: the list of those that reached at least this step (a later
 * step passed the earlier ones), reminded or not; `cohort` narrows it to a reminder.
 */
export const FUNNEL_REACHED = ['signed_in', 'chose', 'done'] as const;
/** The cohort filter's values besides a week's Monday: reminded in any week, or never reminded. */
export const COHORT_ANY = ['reminded', 'none'] as const;
/** The staff list shows every autoresponder except those detection found not affected (and nobody reviewed). */
export const LISTED_STATES = MIGRATION_STATES.filter((s) => s !== 'not_affected');
export type ListedState = (typeof LISTED_STATES)[number];

/**
 * Named sets of states the state filter also takes (the overview's headline and the funnel's first
 * step link to them; src/accounts/figures.ts says what each counts). Each is a set the migration's
 * state table already names: migrated (works again), awaiting the seller, and both together (every
 * listed autoresponder except those support closed as reviewed).
 */
export const STATE_GROUPS = {
  migrated: MIGRATED_STATES,
  awaiting: AWAITING_SELLER_STATES,
  in_migration: [...MIGRATED_STATES, ...AWAITING_SELLER_STATES],
} as const satisfies Record<string, readonly MigrationState[]>;
export type StateGroup = keyof typeof STATE_GROUPS;
export const STATE_GROUP_NAMES = Object.keys(STATE_GROUPS) as StateGroup[];

export const isStateGroup = (v: string | undefined): v is StateGroup => v !== undefined && Object.hasOwn(STATE_GROUPS, v);
/** The states a state filter value stands for: one state, or every state of a group. */
export const statesOf = (v: ListedState | StateGroup): readonly MigrationState[] => (isStateGroup(v) ? STATE_GROUPS[v] : [v]);

export type Sort = (typeof SORTS)[number];

const PLAIN: Record<string, string> = { ą: 'a', ć: 'c', ę: 'e', ł: 'l', ń: 'n', ó: 'o', ś: 's', ź: 'z', ż: 'z' };
/**
 * A text as the search compares it: lower case (Polish letters too), then without Polish letters
 * ("Gdańsk" → "gdansk"). The search text of every account is folded exactly so in SQL (schema 14,
 * SEARCH_TEXT in src/db/migrations.ts): a seller's name typed with or without Polish letters matches.
 */
export const searchFold = (s: string): string => s.normalize('NFC').toLocaleLowerCase('pl').replace(/[ąćęłńóśźż]/g, (c) => PLAIN[c]!);

/** The words of a search, folded (searchFold), each matched on its own: "amber gdańsk" finds "Amber Gifts Gdańsk". */
export function searchWords(q: string): string[] {
  return [...new Set(searchFold(q).split(/\s+/).filter((w) => w !== ''))].slice(0, 8);
}

/** What the staff list is filtered by; the same object drives the page, the CSV and bulk jobs. */
export interface AccountFilter {
  /** One listed state, or a named group of them (STATE_GROUPS). */
  state?: ListedState | StateGroup;
  version?: 1 | 2 | 3;
  provider?: (typeof PROVIDERS)[number];
  /** A last error code, or 'none' for "no error". */
  code?: string;
  /** No activity (seller sign-in or state change) for at least this many days. */
  inactiveDays?: number;
  /**
   * Words to find, in any order, each somewhere in the seller's name, e-mail, Allegro login or id, the
   * mailbox or the support number (AR-…), regardless of case and of Polish letters (searchWords).
   */
  q?: string;
  /** Stuck at this step of the funnel (reminded: reminded, no sign-in since; done: reminded and migrated, as `reached: done, cohort: reminded`). */
  stage?: (typeof FUNNEL_STAGES)[number];
  /** Reached at least this step of the funnel (reminded or not: `cohort` says). */
  reached?: (typeof FUNNEL_REACHED)[number];
  /**
   * The Monday (Warsaw) of the week of the seller's first reminder; 'reminded': any week; 'none': never
   * reminded. Like every funnel condition, it leaves out the accounts the funnel does (reviewed ones).
   */
  cohort?: string;
  /** The seller's last reminder went out at least this many days ago. */
  remindedDays?: number;
  /** Broke after its migration: the watch found a problem the seller must fix, still open. */
  broke?: boolean;
  /**
   * Still awaiting the seller, and the seller's reminder needs someone: 'failed' — the mail server
   * refused it for good (MIG_ERR_SEND_REFUSED) and no reminder went out since; 'uncertain' — the newest
   * reminder that may have reached the seller is one nobody knows arrived (a resend is offered).
   */
  reminder?: (typeof REMINDER_PROBLEMS)[number];
  /** An outage: the watch has failed for at least OUTAGE_DAYS on this mail host ('allegro' for v3). */
  outage?: string;
}

export const REMINDER_PROBLEMS = ['failed', 'uncertain'] as const;
/** How long the watch's failures last before they are an outage (watch/schedule.ts, OUTAGE_AFTER_MS; a test holds them equal). */
export const OUTAGE_DAYS = 1;

export interface ListView {
  sort: Sort;
  dir: 'asc' | 'desc';
  size: (typeof PAGE_SIZES)[number];
  /** Keyset cursor: the page after (or before) this row. */
  after?: Cursor;
  before?: Cursor;
  page: number;
  /** Count the total to the end even when it is more than TOTAL_CAP. */
  exactTotal?: boolean;
}

export type Cursor = { value: string | number; id: number };

const fields = {
  state: z.enum([...LISTED_STATES, ...STATE_GROUP_NAMES] as unknown as [string, ...string[]]),
  version: z.enum(['1', '2', '3']).transform(Number),
  provider: z.enum(PROVIDERS),
  code: z.string().regex(/^(none|[A-Za-z0-9_]{1,64})$/),
  inactive: z.string().regex(/^\d{1,4}$/).transform(Number).refine((n) => n >= 1 && n <= 3650),
  q: z.string().max(100).transform((s) => s.replace(/[\u0000-\u001f\u007f]/g, '').trim()),
  stage: z.enum(FUNNEL_STAGES),
  reached: z.enum(FUNNEL_REACHED),
  cohort: z.union([z.enum(COHORT_ANY), z.string().regex(/^\d{4}-\d{2}-\d{2}$/).refine((d) => !Number.isNaN(Date.parse(d)) && new Date(d).getUTCDay() === 1)]),
  reminded: z.string().regex(/^\d{1,4}$/).transform(Number).refine((n) => n >= 0 && n <= 3650),
  broke: z.literal('1'),
  reminder: z.enum(REMINDER_PROBLEMS),
  outage: z.string().regex(/^[a-z0-9.?-]{1,253}$/),
};

const viewFields = {
  sort: z.enum(SORTS),
  dir: z.enum(['asc', 'desc']),
  size: z.enum(['25', '50', '100']).transform(Number),
  page: z.string().regex(/^\d{1,7}$/).transform(Number).refine((n) => n >= 1),
  after: z.string().max(300).transform(decodeCursor),
  before: z.string().max(300).transform(decodeCursor),
  exact: z.literal('1'),
};

export function encodeCursor(c: Cursor): string {
  return Buffer.from(JSON.stringify([c.value, c.id])).toString('base64url');
}

function decodeCursor(s: string, ctx: z.RefinementCtx): Cursor {
  try {
    const v = JSON.parse(Buffer.from(s, 'base64url').toString('utf8')) as unknown;
    if (Array.isArray(v) && v.length === 2 && (typeof v[0] === 'string' || typeof v[0] === 'number') && Number.isSafeInteger(v[1])) return { value: v[0], id: v[1] as number };
  } catch {
    /* reported below */
  }
  ctx.addIssue({ code: 'custom', message: 'bad cursor' });
  return z.NEVER;
}

export interface ParsedList {
  filter: AccountFilter;
  view: ListView;
  /** Field name → message key, for values that were refused (and ignored). */
  errors: Record<string, string>;
}

const one = (v: unknown): string | undefined => (Array.isArray(v) ? one(v[0]) : typeof v === 'string' && v !== '' ? v : undefined);

/**
 * Reads the list's filter and view from a query string. Each field is checked on its own: a bad
 * value is reported next to its field and ignored, the others still apply.
 */
export function parseListQuery(query: Record<string, unknown>): ParsedList {
  const errors: Record<string, string> = {};
  const get = <T>(name: string, schema: z.ZodType<T>): T | undefined => {
    const raw = one(query[name]);
    if (raw === undefined) return undefined;
    const r = schema.safeParse(raw);
    if (!r.success) {
      errors[name] = `staff.filters.errors.${name}`;
      return undefined;
    }
    return r.data;
  };
  const filter: AccountFilter = {};
  const state = get('state', fields.state);
  if (state) filter.state = state as AccountFilter['state'];
  const version = get('version', fields.version);
  if (version) filter.version = version as 1 | 2 | 3;
  const provider = get('provider', fields.provider);
  if (provider) filter.provider = provider;
  const code = get('code', fields.code);
  if (code) filter.code = code;
  const inactive = get('inactive', fields.inactive);
  if (inactive) filter.inactiveDays = inactive;
  const q = get('q', fields.q);
  if (q) filter.q = q;
  const stage = get('stage', fields.stage);
  if (stage) filter.stage = stage;
  const reached = get('reached', fields.reached);
  if (reached) filter.reached = reached;
  const cohort = get('cohort', fields.cohort);
  if (cohort) filter.cohort = cohort;
  const reminded = get('reminded', fields.reminded);
  if (reminded !== undefined) filter.remindedDays = reminded;
  if (get('broke', fields.broke)) filter.broke = true;
  const reminder = get('reminder', fields.reminder);
  if (reminder) filter.reminder = reminder;
  const outage = get('outage', fields.outage);
  if (outage) filter.outage = outage;
  const view: ListView = {
    sort: get('sort', viewFields.sort) ?? 'name',
    dir: get('dir', viewFields.dir) ?? 'asc',
    size: (get('size', viewFields.size) ?? 25) as ListView['size'],
    page: get('page', viewFields.page) ?? 1,
  };
  const after = get('after', viewFields.after);
  const before = get('before', viewFields.before);
  if (after) view.after = after;
  else if (before) view.before = before;
  if (get('exact', viewFields.exact)) view.exactTotal = true;
  // Paging without a cursor always starts at page 1.
  if (!view.after && !view.before) view.page = 1;
  return { filter, view, errors };
}

/** The filter as query parameters (for links, hidden fields and stored jobs). */
export function filterParams(f: AccountFilter): Record<string, string> {
  const p: Record<string, string> = {};
  if (f.state) p.state = f.state;
  if (f.version) p.version = String(f.version);
  if (f.provider) p.provider = f.provider;
  if (f.code) p.code = f.code;
  if (f.inactiveDays) p.inactive = String(f.inactiveDays);
  if (f.q) p.q = f.q;
  if (f.stage) p.stage = f.stage;
  if (f.reached) p.reached = f.reached;
  if (f.cohort) p.cohort = f.cohort;
  if (f.remindedDays !== undefined) p.reminded = String(f.remindedDays);
  if (f.broke) p.broke = '1';
  if (f.reminder) p.reminder = f.reminder;
  if (f.outage) p.outage = f.outage;
  return p;
}

/**
 * The filter as support reads it ("Stan: Wymaga uwagi, Wersja: 2, Zepsute po migracji"): each field's
 * label and its value's words, never a raw value like needs_attention.
 */
export function describeFilter(f: AccountFilter, t: (key: string) => string): string {
  // The words of the figures that link here (src/accounts/figures.ts): a list opened from the overview
  // is described with the word of the figure that was clicked.
  const words: Record<string, (v: string) => string> = {
    state: (v) => (isStateGroup(v) ? t(`staff.overview.groups.${v}`) : t(`states.${v}`)),
    provider: (v) => t(`staff.providers.${v}`),
    stage: (v) => t(`staff.funnel.stuckAt.${v}`),
    reached: (v) => t(`staff.funnel.reached.${v}`),
    cohort: (v) => ((COHORT_ANY as readonly string[]).includes(v) ? t(`staff.funnel.cohorts.${v}`) : v),
    code: (v) => (v === 'none' ? t('staff.filters.noError') : v),
    reminder: (v) => t(`staff.todo.reminder.${v}`),
  };
  return Object.entries(filterParams(f))
    .map(([k, v]) => (k === 'broke' ? t('staff.filters.broke') : `${t(`staff.filters.${k}`)}: ${words[k]?.(v) ?? v}`))
    .join(', ');
}

export function listUrl(base: string, f: AccountFilter, v: Partial<ListView> & { after?: Cursor; before?: Cursor }): string {
  const p = new URLSearchParams(filterParams(f));
  if (v.sort && v.sort !== 'name') p.set('sort', v.sort);
  if (v.dir && v.dir !== 'asc') p.set('dir', v.dir);
  if (v.size && v.size !== 25) p.set('size', String(v.size));
  if (v.after) p.set('after', encodeCursor(v.after));
  if (v.before) p.set('before', encodeCursor(v.before));
  if (v.page && v.page > 1 && (v.after || v.before)) p.set('page', String(v.page));
  if (v.exactTotal) p.set('exact', '1');
  const s = p.toString();
  return s ? `${base}?${s}` : base;
}

/** A stored job's filter, read back with the same rules. */
export function filterFromJson(json: string): AccountFilter {
  const raw = JSON.parse(json) as Record<string, unknown>;
  return parseListQuery(raw).filter;
}

/** Every query field the list reads (filter and view): a bulk form carries them as hidden fields. */
export const LIST_QUERY_FIELDS: readonly string[] = [...Object.keys(fields), ...Object.keys(viewFields)];
