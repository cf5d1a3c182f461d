import type { TFunction } from 'i18next';
import { AUDIT_ACTIONS, type AuditAction, type AuditEntry, type KnownAuditEntry } from '../domain/audit.js';
import type { JobKind, StaffRole } from '../domain/model.js';
import { codeName, ruleName } from './codes.js';
import { DEFAULT_LANG, formatDateTime, type Lang } from '../i18n/index.js';

/** What a sentence may need to name besides the entry itself: staff members and mailboxes by id. */
export interface HistoryLookup {
  staffEmail(id: number): string | undefined;
  mailboxEmail(id: number): string | undefined;
}

export interface HistoryLine {
  id: number;
  at: string;
  /** One sentence in the agent's language. */
  sentence: string;
  /** The job the entry belongs to, when there is one (a link on the page). */
  jobHref: string | null;
  /**
   * The record in plain labelled lines, for the "szczegóły" disclosure: who, about what, when
   * (Europe/Warsaw) and each detail, codes and states by their names (the sentence says what happened).
   */
  details: HistoryDetail[];
}

export interface HistoryDetail {
  label: string;
  value: string;
  /** A code shown small beside its name (an error code), for searching the logs. */
  code?: string;
}

/**
 * Audit actions with a sentence in the catalogs (`staff.history.events.<action with _ for .>`): every
 * action the app writes (domain/audit.ts); the switch below has a case for each.
 */
export const HISTORY_ACTIONS: readonly AuditAction[] = AUDIT_ACTIONS;

/**
 * The account page's history in sentences: one catalog sentence per audit event type, filled from
 * the entry's typed details ("Sprzedawca przełączył autoresponder na wersję 3 (konto Allegro
 * ogrod_marzen, 3 szablony)"). The raw record stays available behind a disclosure. An action this
 * version does not know (a retired or a newer one) is still shown, by its name.
 */
export function historyLine(e: AuditEntry, t: TFunction, lookup: HistoryLookup, lang: Lang = DEFAULT_LANG): HistoryLine {
  const h = (key: string, params: Record<string, unknown> = {}) => t(`staff.history.${key}`, params) as string;
  const who = whoName(e, t, lookup);
  const raw = detailLines(e, t, lookup, lang, who);
  const jobPage = (id: number | null | undefined) => (e.targetType === 'job' && e.targetId ? `/staff/jobs/${e.targetId}` : id != null ? `/staff/jobs/${id}` : null);
  if (!e.known) {
    const jobId = e.details.jobId;
    return { id: e.id, at: e.at, sentence: h('events.unknown', { who, action: e.action }), jobHref: jobPage(typeof jobId === 'number' ? jobId : null), details: raw };
  }
  const { key, params, jobId } = sentenceOf(e, t, lookup);
  return { id: e.id, at: e.at, sentence: h(`events.${key}`, { who, ...params }), jobHref: jobPage(jobId), details: raw };
}

/** The catalog key of one event's sentence (a variant of its action's), its values, and its job. */
function sentenceOf(e: KnownAuditEntry, t: TFunction, lookup: HistoryLookup): { key: string; params: Record<string, unknown>; jobId?: number | null } {
  const h = (key: string, params: Record<string, unknown> = {}) => t(`staff.history.${key}`, params) as string;
  const quote = (s: string) => h('quote', { text: s });
  const state = (s: string | null | undefined) => (s ? quote(t(`states.${s}`) as string) : '');
  const reason = (r: string | null | undefined) => quote(r ? (t(`reasons.${r}`, { defaultValue: r }) as string) : '—');
  const role = (r: StaffRole) => t(`staff.roles.${r}`);
  const kind = (k: JobKind | undefined) => (k ? h(`jobKinds.${k}`) : '');
  const mailbox = (id: number | string | null) => {
    const n = typeof id === 'number' ? id : id && /^\d+$/.test(id) ? Number(id) : undefined;
    return (n !== undefined && lookup.mailboxEmail(n)) || (n !== undefined ? `#${n}` : '');
  };
  // "(a, b, c)" after the sentence, or nothing.
  const extra = (...parts: (string | false | null | undefined)[]) => {
    const list = parts.filter((p): p is string => !!p);
    return list.length ? h('extra', { parts: list.join(', ') }) : '';
  };
  const templates = (n: number | undefined) => (n !== undefined ? h('templates', { count: n }) : null);
  const job = (id: number | null | undefined) => id != null && h('job', { id });
  const key = e.action.replace(/\./g, '_');

  switch (e.action) {
    // ---- migration
    case 'migration.created':
      return { key, params: { state: state(e.details.state), rule: ruleName(t, e.details.rule) } };
    case 'migration.detected':
      return { key, params: { from: state(e.details.from), to: state(e.details.to), rule: ruleName(t, e.details.rule) || '—' } };
    case 'migration.abandoned':
    case 'migration.reopened':
      return { key, params: { to: state(e.details.to) } };
    case 'migration.start_v3':
    case 'migration.start_app_password':
      return { key, params: {} };
    case 'migration.switched_v3': {
      const d = e.details;
      return { key, params: { extra: extra(d.allegroLogin && h('allegroAccount', { login: d.allegroLogin }), templates(d.templates)) } };
    }
    case 'migration.relinked': {
      const d = e.details;
      return { key: d.recovered === true ? 'migration_relinked_recovered' : key, params: { extra: extra(d.mailboxId !== undefined && mailbox(d.mailboxId)) } };
    }
    case 'migration.needs_attention': {
      const d = e.details;
      return {
        key,
        params: {
          reason: reason(d.reason),
          extra: extra(
            d.allegroLogin && d.expectedLogin && h('mismatch', { login: d.allegroLogin, expected: d.expectedLogin }),
            d.trigger && h('trigger', { trigger: t(`staff.triggers.${d.trigger}`) }),
          ),
        },
      };
    }
    case 'migration.reauthorized': {
      const d = e.details;
      return { key: d.recovered === true ? 'migration_reauthorized_recovered' : key, params: { extra: extra(d.allegroLogin && h('allegroAccount', { login: d.allegroLogin })) } };
    }
    case 'migration.switched_back': {
      const d = e.details;
      return { key, params: { version: d.toVersion ?? '?', to: state(d.to) || '—', extra: extra(d.templatesRestored ? h('restored', { templates: templates(d.templatesRestored) }) : null) } };
    }
    case 'migration.reviewed': {
      const d = e.details;
      return { key: d.note ? 'migration_reviewed_note' : key, params: { extra: extra(job(d.jobId)), note: d.note || '' }, jobId: d.jobId };
    }

    // ---- sellers, mailboxes, autoresponders, the import
    case 'seller.created':
    case 'seller.updated':
      return { key, params: { externalId: e.details.externalId || '—' } };
    case 'seller.signed_in':
      return { key, params: {} };
    case 'mailbox.created':
      return { key, params: { mailbox: e.details.email || mailbox(e.targetId) } };
    case 'mailbox.servers_updated':
    case 'mailbox.secret_imported':
      return { key, params: { mailbox: mailbox(e.targetId) } };
    case 'mailbox.detected': {
      const d = e.details;
      return { key, params: { mailbox: mailbox(e.targetId), provider: d.provider ? t(`staff.providers.${d.provider}`) : '—', rule: ruleName(t, d.rule) || '—' } };
    }
    case 'mailbox.relinked': {
      const d = e.details;
      return { key, params: { mailbox: mailbox(e.targetId), imap: d.imapHost || '—', smtp: d.smtpHost ? `${d.smtpHost}${d.smtpPort ? `:${d.smtpPort}` : ''}` : '—' } };
    }
    case 'mailbox.secret_deleted':
      return { key: e.details.reason === 'switched_v3' ? 'mailbox_secret_deleted_switch' : 'mailbox_secret_deleted', params: { mailbox: mailbox(e.targetId) } };
    case 'autoresponder.created':
      return { key, params: { externalId: e.details.externalId || '—', version: e.details.version } };
    case 'autoresponder.updated':
      return { key, params: { version: e.details.version, previous: e.details.previous } };
    case 'autoresponder.switched_back':
      return { key, params: { version: e.details.toVersion ?? '?', extra: '' } };
    case 'import.completed':
      return { key, params: { count: e.details.rows, imported: e.details.imported, updated: e.details.updated } };

    // ---- authorization at Allegro, the key ring
    case 'allegro.authorized': {
      const d = e.details;
      return { key: d.mismatch === true && d.expectedLogin ? 'allegro_authorized_mismatch' : key, params: { login: d.allegroLogin || '—', expected: d.expectedLogin || '—' } };
    }
    case 'allegro.account_confirmed':
    case 'allegro.authorization_discarded':
      return { key, params: { login: e.details.allegroLogin || '—' } };
    case 'allegro.authorization_invalid':
      return { key, params: { reason: codeName(t, e.details.reason) || '—' } };
    case 'secrets.rotated':
      return { key, params: {} };

    // ---- staff
    case 'staff.signed_in':
    case 'staff.signed_out':
    case 'staff.password_reset':
    case 'staff.disabled':
    case 'staff.enabled':
    case 'staff.unlocked':
    case 'staff.password_set':
      return { key, params: {} };
    case 'staff.created':
    case 'staff.updated':
      return { key, params: { email: e.details.email || '—', role: role(e.details.role) } };
    case 'staff.role_changed':
      return { key, params: { from: role(e.details.from), to: role(e.details.to) } };
    case 'staff.note':
      return { key, params: { note: e.details.note || '' } };
    case 'staff.recheck':
    case 'staff.remind_not_sent':
      return { key, params: { outcome: outcomeText(t, e.details.outcome) } };
    case 'staff.export':
      return { key, params: { count: e.details.total ?? 0 } };

    // ---- reminders
    case 'reminder.sent':
    case 'reminder.resent': {
      const d = e.details;
      return { key, params: { extra: extra(h(`languages.${d.language}`), h('autoresponders', { count: d.autoresponders }), job(d.jobId)) }, jobId: d.jobId };
    }
    case 'reminder.uncertain':
      return { key, params: { extra: extra(job(e.details.jobId)) }, jobId: e.details.jobId };

    // ---- bulk jobs
    case 'job.created':
      return { key, params: { id: e.targetId ?? '?', kind: kind(e.details.kind) } };
    case 'job.started':
      return { key, params: { id: e.targetId ?? '?', kind: kind(e.details.kind), count: e.details.total } };
    case 'job.finished':
    case 'job.cancelled':
      return { key, params: { id: e.targetId ?? '?', kind: kind(e.details.kind) } };
    case 'job.cancel_requested':
      return { key, params: { id: e.targetId ?? '?' } };
    case 'job.item.done':
    case 'job.item.failed':
    case 'job.item.skipped':
    case 'job.item.unknown':
    case 'job.item.retry': {
      const d = e.details;
      return { key, params: { outcome: outcomeText(t, d.outcome), id: d.jobId, kind: kind(d.kind), attempt: d.attempt }, jobId: d.jobId };
    }

    // ---- the watch
    case 'watch.broke': {
      const d = e.details;
      return { key, params: { reason: reason(d.reason), extra: extra(d.code && codeName(t, d.code), d.noticeWithIncident !== undefined ? h('watchNoticeShared') : h('watchNotice')) } };
    }
    case 'watch.recovered': {
      const r = e.details.resolution;
      return { key: r === 'migrated_again' || r === 'not_watched' ? `watch_recovered_${r}` : key, params: { reason: reason(e.details.reason), extra: '' } };
    }
    case 'watch.problem_changed':
    case 'watch.notice_uncertain':
    case 'watch.notice_cancelled':
      return { key, params: { reason: reason(e.details.reason), extra: '' } };
    case 'watch.notice_sent':
      return { key, params: { reason: reason(e.details.reason), extra: extra(h(`languages.${e.details.language}`)) } };
    case 'watch.notice_failed':
      return { key, params: { reason: reason(e.details.reason), error: codeName(t, e.details.error) || '—' } };
  }
}

/** Who did it, as the subject of a sentence: the seller, a named staff member, the system, an operator. */
function whoName(e: AuditEntry, t: TFunction, lookup: HistoryLookup): string {
  const h = (key: string, params: Record<string, unknown> = {}) => t(`staff.history.who.${key}`, params) as string;
  switch (e.actorType) {
    case 'seller':
      return h('seller');
    case 'staff': {
      const id = e.actorId && /^\d+$/.test(e.actorId) ? Number(e.actorId) : undefined;
      const email = id !== undefined ? lookup.staffEmail(id) : undefined;
      return email ? h('staff', { email }) : h('staffUnknown');
    }
    case 'cli':
      return h('cli');
    default:
      return e.actorId === 'demo' ? h('demo') : e.actorId === 'allegro' ? h('allegro') : e.actorId === 'watch' ? h('watch') : h('system');
  }
}

/** An outcome in words: a code's name, or a plain outcome (sent, reviewed…). */
export function outcomeText(t: TFunction, outcome: string | undefined): string {
  if (!outcome) return '—';
  return codeName(t, outcome);
}

/** Detail keys whose value is a code (shown by its name, the code beside it). */
const CODE_KEYS = new Set(['code', 'outcome', 'reason', 'errorCode', 'lastErrorCode']);
/** Detail keys whose value is a migration state. */
const STATE_KEYS = new Set(['from', 'to', 'state']);
const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/;

/**
 * One audit record as labelled lines in the agent's language: no JSON, no UTC. A detail key without a
 * label in the catalogs (`staff.history.fields.<key>`) is shown by its key; nested values are flattened.
 */
export function detailLines(e: AuditEntry, t: TFunction, lookup: HistoryLookup, lang: Lang, who: string): HistoryDetail[] {
  const f = (key: string) => t(`staff.history.fields.${key}`, { defaultValue: key }) as string;
  const yes = t('staff.history.fields.yes') as string;
  const no = t('staff.history.fields.no') as string;
  const target = e.targetType === 'mailbox' && e.targetId && /^\d+$/.test(e.targetId) ? lookup.mailboxEmail(Number(e.targetId)) : undefined;
  const lines: HistoryDetail[] = [
    { label: f('who'), value: who },
    { label: f('target'), value: target ?? `${t(`staff.history.targets.${e.targetType}`, { defaultValue: e.targetType })}${e.targetId ? ` #${e.targetId}` : ''}` },
    { label: f('at'), value: formatDateTime(e.at, lang) },
  ];
  const value = (key: string, v: unknown): HistoryDetail => {
    if (v === null || v === undefined || v === '') return { label: f(key), value: '—' };
    if (typeof v === 'boolean') return { label: f(key), value: v ? yes : no };
    if (typeof v === 'string' && ISO_TIME.test(v)) return { label: f(key), value: formatDateTime(v, lang) };
    if (typeof v === 'string' && CODE_KEYS.has(key)) return { label: f(key), value: key === 'reason' ? (t(`reasons.${v}`, { defaultValue: codeName(t, v) }) as string) : codeName(t, v), code: v };
    if (typeof v === 'string' && STATE_KEYS.has(key)) return { label: f(key), value: t(`states.${v}`, { defaultValue: v }) as string };
    if (key === 'mailboxId' && typeof v === 'number') return { label: f(key), value: lookup.mailboxEmail(v) ?? `#${v}` };
    if (key === 'staffId' && typeof v === 'number') return { label: f(key), value: lookup.staffEmail(v) ?? `#${v}` };
    if (key === 'kind' && typeof v === 'string') return { label: f(key), value: t(`staff.history.jobKinds.${v}`, { defaultValue: v }) as string };
    if (key === 'rule' && typeof v === 'string') return { label: f(key), value: ruleName(t, v) || v };
    if (Array.isArray(v)) return { label: f(key), value: v.map((x) => (typeof x === 'object' && x !== null ? flat(x) : String(x))).join(', ') };
    if (typeof v === 'object') return { label: f(key), value: flat(v as Record<string, unknown>) };
    return { label: f(key), value: typeof v === 'number' ? v.toLocaleString(lang) : String(v) };
  };
  const flat = (o: object): string =>
    Object.entries(o)
      .map(([k, v]) => {
        const d = value(k, v);
        return `${d.label}: ${d.value}${d.code && d.code !== d.value ? ` (${d.code})` : ''}`;
      })
      .join('; ');
  for (const [key, v] of Object.entries(e.details ?? {})) lines.push(value(key, v));
  return lines;
}
