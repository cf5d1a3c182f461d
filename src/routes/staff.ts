import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { Readable } from 'node:stream';
import { dummyHash, hashPassword, PASSWORD_MAX, PASSWORD_MIN, verifyPassword } from '../crypto/password.js';
import {
  filterParams,
  LISTED_STATES,
  listUrl,
  PAGE_SIZES,
  parseListQuery,
  PROVIDERS,
  SORTS,
  type AccountFilter,
  type ListView,
} from '../domain/account-filter.js';
import { MAIL_CHECK_CODES } from '../domain/mail-errors.js';
import { NotFoundError } from '../errors.js';
import { hasRole } from '../plugins/staff-auth.js';
import type { AccountRow } from '../repositories/accounts.js';
import { JOB_KINDS, type Job, type JobKind } from '../repositories/jobs.js';
import { STAFF_ROLES, type StaffRole } from '../repositories/staff.js';
import { csvLine, CSV_BOM } from '../services/csv.js';
import { countdown, progressChart } from '../services/staff-overview.js';
import type { ActionOutcome } from '../services/staff-actions.js';

/** Failed sign-ins per address in the window before that address is locked out for the rest of it. */
export const STAFF_FAILURES_PER_ADDRESS = 5;
export const STAFF_FAILURE_WINDOW_MS = 15 * 60_000;
const NOTE_MAX = 2000;

const signInForm = z.object({
  email: z.string().trim().min(1).max(254).pipe(z.email()),
  password: z.string().min(1).max(PASSWORD_MAX),
  next: z.string().max(500).optional(),
});
const idParam = z.object({ id: z.coerce.number().int().positive().max(2 ** 31) });
const noteText = z
  .string()
  .max(NOTE_MAX)
  .transform((s) => s.replace(/\r\n?/g, '\n').replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/g, '').trim())
  .pipe(z.string().min(1));
const idList = z
  .union([z.string(), z.array(z.string())])
  .transform((v) => (Array.isArray(v) ? v : [v]))
  .pipe(z.array(z.string().regex(/^\d{1,10}$/).transform(Number)).max(1000));
const bulkForm = z.object({
  action: z.enum(JOB_KINDS),
  scope: z.enum(['selected', 'all']),
  ids: idList.optional(),
  note: z.string().max(NOTE_MAX).optional(),
  confirmedCount: z.string().regex(/^\d{1,7}$/).transform(Number).optional(),
});
const userForm = z.object({
  email: z.string().trim().min(1).max(254).pipe(z.email()),
  role: z.enum(STAFF_ROLES),
  password: z.string().min(PASSWORD_MIN).max(PASSWORD_MAX),
});
const userChange = z.object({ role: z.enum(STAFF_ROLES).optional(), disabled: z.enum(['0', '1']).optional() });

/** A local /staff path to return to after sign-in; anything else becomes the overview. */
export function safeStaffNext(next: unknown): string {
  if (typeof next !== 'string' || !/^\/staff(\/[^\s\\?#]*)?(\?[^\s\\#]*)?$/.test(next)) return '/staff';
  const pathPart = next.split('?')[0]!;
  return /(^|\/)\.\.?(\/|$)|\/\//.test(pathPart) ? '/staff' : next;
}

const staff: FastifyPluginAsync = async (fastify) => {
  const { repos, now } = fastify.services;
  const { config, staffActions, jobs } = fastify;
  const t = (req: FastifyRequest) => fastify.i18n.t(req.lang);
  const viewer = { preHandler: fastify.requireStaff('viewer') };
  const agent = { preHandler: fastify.requireStaff('agent') };
  const admin = { preHandler: fastify.requireStaff('admin') };
  const actor = (req: FastifyRequest) => ({ type: 'staff' as const, id: req.staff!.id });
  const body = (req: FastifyRequest) => (req.body ?? {}) as Record<string, unknown>;

  const staffPage = (req: FastifyRequest, reply: FastifyReply, view: string, data: Record<string, unknown>) =>
    reply.page(`staff/${view}`, {
      ...data,
      staffArea: true,
      canAct: hasRole(req.staff!.role, 'agent'),
      isAdmin: hasRole(req.staff!.role, 'admin'),
    });

  // ---- sign-in -------------------------------------------------------------------------------
  fastify.get('/staff/login', async (req, reply) => {
    const next = safeStaffNext((req.query as Record<string, unknown>).next);
    if (req.staff) return reply.redirect(next, 303);
    return reply.page('staff/login', { title: t(req)('staff.login.title'), next, values: {}, errors: {}, staffArea: true });
  });

  // Per IP by the rate limiter (in memory); per address in the database, so a restart does not reset it.
  fastify.post('/staff/login', { config: { rateLimit: { max: 20, timeWindow: '15 minutes' } } }, async (req, reply) => {
    const b = body(req);
    const next = safeStaffNext(b.next);
    const email = typeof b.email === 'string' ? b.email.trim().slice(0, 254) : '';
    const again = (status: number, error: string, params: Record<string, unknown> = {}) =>
      reply.code(status).page('staff/login', { title: t(req)('staff.login.title'), canonicalUrl: '/staff/login', next, values: { email }, errors: { form: t(req)(error, params) }, staffArea: true });
    const parsed = signInForm.safeParse(b);
    if (!parsed.success) return again(422, 'staff.login.errors.missing');
    const since = new Date(now().getTime() - STAFF_FAILURE_WINDOW_MS);
    const failures = repos.staff.failuresSince(parsed.data.email, since);
    if (failures.n >= STAFF_FAILURES_PER_ADDRESS) {
      const retryAt = new Date(Date.parse(failures.oldest!) + STAFF_FAILURE_WINDOW_MS).toISOString();
      return again(429, 'staff.login.errors.locked', { time: new Intl.DateTimeFormat(req.lang, { timeStyle: 'short', timeZone: 'Europe/Warsaw' }).format(new Date(retryAt)) });
    }
    const user = repos.staff.findByEmail(parsed.data.email);
    const hash = user && !user.disabledAt ? repos.staff.passwordHash(user.id)! : await dummyHash();
    const ok = (await verifyPassword(parsed.data.password, hash)) && !!user && !user.disabledAt;
    if (!ok) {
      repos.staff.recordFailure(parsed.data.email);
      req.log.info({ staffId: user?.id ?? null }, 'staff sign-in failed');
      return again(401, 'staff.login.errors.wrong');
    }
    repos.staff.clearFailures(parsed.data.email);
    reply.signInStaff(user.id);
    repos.audit.append({ actor: { type: 'staff', id: user.id }, action: 'staff.signed_in', targetType: 'staff', targetId: user.id });
    return reply.redirect(next, 303);
  });

  fastify.post('/staff/logout', async (req, reply) => {
    if (req.staff) repos.audit.append({ actor: actor(req), action: 'staff.signed_out', targetType: 'staff', targetId: req.staff.id });
    reply.signOutStaff();
    return reply.redirect('/staff/login', 303);
  });

  // ---- overview ------------------------------------------------------------------------------
  fastify.get('/staff', viewer, async (req, reply) => {
    const counts = repos.accounts.counts();
    const listed = Object.entries(counts.state).filter(([s]) => s !== 'not_affected').reduce((n, [, c]) => n + c, 0);
    const migrated = (counts.state.switched_v3 ?? 0) + (counts.state.relinked_app_password ?? 0);
    return staffPage(req, reply, 'overview', {
      title: t(req)('staff.overview.title'),
      counts: {
        state: [
          ...LISTED_STATES.map((s) => ({ key: s as string, n: counts.state[s] ?? 0, href: listUrl('/staff/accounts', { state: s }, {}) as string | null })),
          { key: 'not_affected', n: counts.state.not_affected ?? 0, href: null },
        ],
        version: ['1', '2', '3'].map((v) => ({ key: v, n: counts.version[v] ?? 0, href: listUrl('/staff/accounts', { version: Number(v) as 1 }, {}) })),
        provider: PROVIDERS.map((p) => ({ key: p, n: counts.provider[p] ?? 0, href: listUrl('/staff/accounts', { provider: p }, {}) })),
        code: Object.entries(counts.code).map(([k, n]) => ({ key: k, n, href: listUrl('/staff/accounts', { code: k }, {}) })),
      },
      listed,
      migrated,
      remaining: listed - migrated - (counts.state.reviewed ?? 0),
      chart: progressChart(repos, now(), config.migrationDeadline),
      countdown: countdown(config.migrationDeadline, now()),
      recentJobs: repos.jobs.recent(5).map(jobSummary),
    });
  });

  // ---- accounts list -------------------------------------------------------------------------
  const errorCodes = () => [...new Set(['none', ...MAIL_CHECK_CODES, ...repos.accounts.codes()])];

  function listModel(filter: AccountFilter, view: ListView) {
    const page = repos.accounts.page(filter, view);
    const sortLink = (s: (typeof SORTS)[number]) => {
      const dir = view.sort === s && view.dir === 'asc' ? 'desc' : 'asc';
      return { key: s, href: listUrl('/staff/accounts', filter, { sort: s, dir, size: view.size }), active: view.sort === s, dir: view.sort === s ? view.dir : null, aria: view.sort === s ? (view.dir === 'asc' ? 'ascending' : 'descending') : null };
    };
    // Over TOTAL_CAP matches the total is "more than 10,000" (counted exactly on request), so the page count is unknown.
    const pages = page.totalCapped ? null : Math.max(1, Math.ceil(page.total / view.size));
    const exact = view.exactTotal;
    return {
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
    };
  }

  function rowView(r: AccountRow) {
    return { ...r, lastCheckedAt: r.lastCheckedAt || null, href: `/staff/accounts/${r.autoresponderId}` };
  }

  fastify.get('/staff/accounts', viewer, async (req, reply) => {
    const { filter, view, errors } = parseListQuery(req.query as Record<string, unknown>);
    const model = listModel(filter, view);
    const hasErrors = Object.keys(errors).length > 0;
    return staffPage(req, reply.code(hasErrors ? 400 : 200), 'accounts', {
      title: t(req)('staff.accounts.title'),
      filter: { ...filterParams(filter), inactive: filter.inactiveDays ?? '' },
      filterHidden: Object.entries(filterParams(filter)).map(([name, value]) => ({ name, value })),
      filtered: Object.keys(filterParams(filter)).length > 0,
      view,
      errors,
      options: { states: LISTED_STATES, providers: PROVIDERS, codes: errorCodes() },
      ...model,
    });
  });

  // ---- CSV export ----------------------------------------------------------------------------
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

  fastify.get('/staff/accounts.csv', agent, async (req, reply) => {
    const { filter, errors } = parseListQuery(req.query as Record<string, unknown>);
    if (Object.keys(errors).length) throw Object.assign(new Error('bad filter'), { statusCode: 400, code: 'MIG_ERR_BAD_FILTER' });
    repos.audit.append({ actor: actor(req), action: 'staff.export', targetType: 'accounts', targetId: null, details: { filter: filterParams(filter), total: repos.accounts.count(filter) } });
    // Chunks of rows by id: constant memory, and the connection is never held between chunks.
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
    return reply
      .type('text/csv; charset=utf-8')
      .header('content-disposition', `attachment; filename="autorespondery-${stamp}.csv"`)
      .header('cache-control', 'no-store')
      .send(stream);
  });

  // ---- account detail ------------------------------------------------------------------------
  function accountModel(id: number) {
    const row = repos.accounts.get(id);
    const a = repos.autoresponders.getById(id);
    if (!row || !a) throw new NotFoundError();
    const seller = repos.sellers.getById(a.sellerId)!;
    const mailboxes = repos.mailboxes.listBySeller(seller.id).map((m) => ({
      id: m.id,
      email: m.email,
      imap: `${m.imapHost}:${m.imapPort} (${m.imapSecurity})`,
      smtp: `${m.smtpHost}:${m.smtpPort} (${m.smtpSecurity})`,
      username: m.username,
      provider: m.provider,
      secretKind: m.secretKind,
      secretVerifiedAt: m.secretVerifiedAt,
      usedHere: m.id === a.mailboxId,
    }));
    const migration = repos.migrations.findByAutoresponder(id)!;
    return {
      row,
      seller,
      autoresponder: a,
      authorization: a.authorizationId ? repos.authorizations.getById(a.authorizationId) : undefined,
      mailboxes,
      templates: repos.autoresponders.listTemplates(id),
      migration,
      checks: repos.connectionChecks.listForAutoresponder(id, a.mailboxId),
      timeline: repos.audit.timeline(id, a.mailboxId, seller.id).map((e) => ({ ...e, detailsText: Object.keys(e.details).length ? JSON.stringify(e.details) : '' })),
      reminderBlock: staffActions.reminderBlock(seller.id, { jobId: null, itemId: null, staffId: 0 }),
      lastReminder: repos.reminders.lastFor(seller.id),
    };
  }

  /** The autoresponder id from the URL, when it is on the list; otherwise 404. */
  const accountId = (req: FastifyRequest) => {
    const p = idParam.safeParse(req.params);
    if (!p.success || !repos.accounts.get(p.data.id)) throw new NotFoundError();
    return p.data.id;
  };

  const showAccount = (req: FastifyRequest, reply: FastifyReply, id: number, extra: Record<string, unknown> = {}) => {
    const model = accountModel(id);
    return staffPage(req, reply, 'account', { title: `${model.seller.name} · ${t(req)('staff.account.title')}`, canonicalUrl: `/staff/accounts/${id}`, ...model, ...extra });
  };

  fastify.get('/staff/accounts/:id', viewer, async (req, reply) => {
    const q = req.query as Record<string, unknown>;
    const done = typeof q.done === 'string' && /^[a-z_]{1,40}$/.test(q.done) ? q.done : null;
    const outcome = typeof q.outcome === 'string' && /^[A-Za-z0-9_]{1,64}$/.test(q.outcome) ? q.outcome : null;
    return showAccount(req, reply, accountId(req), { done, outcome });
  });

  const afterAction = (reply: FastifyReply, id: number, action: string, o: ActionOutcome) =>
    reply.redirect(`/staff/accounts/${id}?done=${action}&outcome=${encodeURIComponent(o.outcome)}#result`, 303);

  fastify.post('/staff/accounts/:id/recheck', agent, async (req, reply) => {
    const id = accountId(req);
    const o = await staffActions.recheck(id, 'staff', actor(req));
    repos.audit.append({ actor: actor(req), action: 'staff.recheck', targetType: 'autoresponder', targetId: id, details: { outcome: o.outcome } });
    return afterAction(reply, id, 'recheck', o);
  });

  fastify.post('/staff/accounts/:id/remind', agent, async (req, reply) => {
    const id = accountId(req);
    const o = await staffActions.remind(id, { jobId: null, itemId: null, staffId: req.staff!.id });
    if (o.status !== 'done') repos.audit.append({ actor: actor(req), action: 'staff.remind_not_sent', targetType: 'autoresponder', targetId: id, details: { outcome: o.outcome } });
    return afterAction(reply, id, 'remind', o);
  });

  fastify.post('/staff/accounts/:id/note', agent, async (req, reply) => {
    const id = accountId(req);
    const parsed = noteText.safeParse(body(req).note);
    if (!parsed.success) {
      const raw = typeof body(req).note === 'string' ? (body(req).note as string).slice(0, NOTE_MAX + 100) : '';
      return showAccount(req, reply.code(422), id, { noteError: raw.length > NOTE_MAX ? 'staff.account.errors.noteLong' : 'staff.account.errors.noteEmpty', noteValue: raw });
    }
    staffActions.note(id, parsed.data, actor(req));
    return reply.redirect(`/staff/accounts/${id}?done=note&outcome=ok#result`, 303);
  });

  fastify.post('/staff/accounts/:id/review', agent, async (req, reply) => {
    const id = accountId(req);
    const raw = body(req).note;
    const parsed = raw === undefined || raw === '' ? { success: true as const, data: null } : noteText.safeParse(raw);
    if (!parsed.success) return showAccount(req, reply.code(422), id, { reviewError: 'staff.account.errors.noteLong' });
    const o = staffActions.review(id, parsed.data, actor(req));
    return afterAction(reply, id, 'review', o);
  });

  fastify.post('/staff/accounts/:id/reopen', agent, async (req, reply) => {
    const id = accountId(req);
    const o = staffActions.reopen(id, actor(req));
    return afterAction(reply, id, 'reopen', o);
  });

  // ---- bulk jobs -----------------------------------------------------------------------------
  /** The list's filter, from the hidden fields that came with a bulk form. */
  const formFilter = (b: Record<string, unknown>) => parseListQuery(b).filter;

  function bulkSelection(req: FastifyRequest) {
    const b = body(req);
    const parsed = bulkForm.safeParse(b);
    if (!parsed.success) return { ok: false as const, field: String(parsed.error.issues[0]?.path[0] ?? 'action') };
    const filter = formFilter(b);
    const ids = parsed.data.scope === 'selected' ? repos.accounts.listedIds([...new Set(parsed.data.ids ?? [])]) : null;
    if (ids && ids.length === 0) return { ok: false as const, field: 'ids' };
    const count = ids ? ids.length : repos.accounts.count(filter);
    return { ok: true as const, data: parsed.data, filter, ids, count };
  }

  const bulkError = (req: FastifyRequest, reply: FastifyReply, field: string) =>
    staffPage(req, reply.code(422), 'bulk-error', { title: t(req)('staff.bulk.errorTitle'), message: `staff.bulk.errors.${['ids', 'action', 'scope', 'note', 'confirmedCount'].includes(field) ? field : 'action'}`, back: listUrl('/staff/accounts', formFilter(body(req)), {}) });

  type Selection = Extract<ReturnType<typeof bulkSelection>, { ok: true }>;
  /** The confirmation page: the exact count, what will happen, and the selection carried in hidden fields. */
  const confirmPage = (req: FastifyRequest, reply: FastifyReply, s: Selection, values = { note: '' }, errors: Record<string, string> = {}) =>
    staffPage(req, reply, 'confirm', {
      title: t(req)(`staff.bulk.confirm.${s.data.action}`, { count: s.count }),
      action: s.data.action,
      scope: s.data.scope,
      count: s.count,
      ids: s.ids,
      filterHidden: Object.entries(filterParams(s.filter)).map(([name, value]) => ({ name, value })),
      filterText: Object.entries(filterParams(s.filter)).map(([k, v]) => `${t(req)(`staff.filters.${k}`)}: ${v}`).join(', '),
      back: listUrl('/staff/accounts', s.filter, {}),
      values,
      errors,
    });

  // Step 1: the agent picked rows or "all matching"; this page states the exact count and asks to confirm.
  fastify.post('/staff/jobs/confirm', agent, async (req, reply) => {
    const s = bulkSelection(req);
    if (!s.ok) return bulkError(req, reply, s.field);
    return confirmPage(req, reply, s);
  });

  // Step 2: confirmed. The job is stored; the runner takes it from the database.
  fastify.post('/staff/jobs', agent, async (req, reply) => {
    const s = bulkSelection(req);
    if (!s.ok) return bulkError(req, reply, s.field);
    let note: string | null = null;
    if (s.data.action === 'review') {
      const n = noteText.safeParse(s.data.note ?? '');
      if (!n.success) {
        const typed = typeof s.data.note === 'string' ? s.data.note : '';
        return confirmPage(req, reply.code(422), s, { note: typed }, { note: typed.length > NOTE_MAX ? 'staff.account.errors.noteLong' : 'staff.bulk.errors.note' });
      }
      note = n.data;
    }
    if (s.data.confirmedCount === undefined) return bulkError(req, reply, 'confirmedCount');
    const jobId = fastify.services.db.transaction(() => {
      const id = repos.jobs.create({
        kind: s.data.action as JobKind,
        selection: s.ids ? 'ids' : 'filter',
        filter: s.ids ? null : JSON.stringify(filterParams(s.filter)),
        ids: s.ids ? JSON.stringify(s.ids) : null,
        note,
        confirmedCount: s.data.confirmedCount!,
        createdBy: req.staff!.id,
      });
      repos.audit.append({ actor: actor(req), action: 'job.created', targetType: 'job', targetId: id, details: { kind: s.data.action, scope: s.data.scope, confirmed: s.data.confirmedCount, filter: s.ids ? undefined : filterParams(s.filter) } });
      return id;
    })();
    jobs.wake();
    return reply.redirect(`/staff/jobs/${jobId}`, 303);
  });

  function jobSummary(job: Job) {
    const counts = repos.jobs.counts(job.id);
    const total = job.total ?? job.confirmedCount;
    const finished = counts.done + counts.failed + counts.skipped + counts.cancelled + counts.unknown;
    const active = ['queued', 'running', 'cancelling'].includes(job.status);
    const creator = repos.staff.getById(job.createdBy);
    return {
      ...job,
      counts,
      total,
      finished,
      percent: total ? Math.floor((finished / total) * 100) : active ? 0 : 100,
      active,
      creator: creator?.email ?? `#${job.createdBy}`,
      href: `/staff/jobs/${job.id}`,
      differs: job.total !== null && job.total !== job.confirmedCount,
    };
  }

  fastify.get('/staff/jobs', viewer, async (req, reply) =>
    staffPage(req, reply, 'jobs', { title: t(req)('staff.jobs.title'), jobs: repos.jobs.recent(50).map(jobSummary) }),
  );

  fastify.get('/staff/jobs/:id', viewer, async (req, reply) => {
    const p = idParam.safeParse(req.params);
    if (!p.success) throw new NotFoundError();
    const found = repos.jobs.get(p.data.id);
    if (!found) throw new NotFoundError();
    const job = jobSummary(found);
    const problems = repos.jobs.problems(job.id).map((i) => ({ ...i, account: repos.accounts.get(i.autoresponderId) }));
    return staffPage(req, reply, 'job', {
      title: t(req)(`staff.jobs.kind.${job.kind}`) + ` #${job.id}`,
      job,
      outcomes: repos.jobs.outcomes(job.id),
      problems,
      // Refreshes itself while the job runs: a meta refresh, so no script is needed.
      refreshSeconds: job.active ? 2 : null,
    });
  });

  fastify.post('/staff/jobs/:id/cancel', agent, async (req, reply) => {
    const p = idParam.safeParse(req.params);
    if (!p.success) throw new NotFoundError();
    if (!repos.jobs.get(p.data.id)) throw new NotFoundError();
    if (repos.jobs.requestCancel(p.data.id, req.staff!.id)) {
      repos.audit.append({ actor: actor(req), action: 'job.cancel_requested', targetType: 'job', targetId: p.data.id });
      jobs.wake();
    }
    return reply.redirect(`/staff/jobs/${p.data.id}`, 303);
  });

  // ---- staff accounts (admin) ----------------------------------------------------------------
  const usersPage = (req: FastifyRequest, reply: FastifyReply, extra: Record<string, unknown> = {}) =>
    staffPage(req, reply, 'users', { title: t(req)('staff.users.title'), canonicalUrl: '/staff/users', users: repos.staff.list().map((u) => ({ ...u, self: u.id === req.staff!.id })), roles: STAFF_ROLES, values: { role: 'viewer' }, errors: {}, passwordMin: PASSWORD_MIN, ...extra });

  fastify.get('/staff/users', admin, async (req, reply) => usersPage(req, reply));

  fastify.post('/staff/users', admin, async (req, reply) => {
    const b = body(req);
    const parsed = userForm.safeParse(b);
    const values = { email: typeof b.email === 'string' ? b.email.slice(0, 254) : '', role: typeof b.role === 'string' && (STAFF_ROLES as readonly string[]).includes(b.role) ? b.role : 'viewer' };
    if (!parsed.success) {
      const errors: Record<string, string> = {};
      for (const issue of parsed.error.issues) {
        const f = String(issue.path[0]);
        if (!errors[f]) errors[f] = `staff.users.errors.${['email', 'role', 'password'].includes(f) ? f : 'email'}`;
      }
      return usersPage(req, reply.code(422), { values, errors });
    }
    if (repos.staff.findByEmail(parsed.data.email)) return usersPage(req, reply.code(409), { values, errors: { email: 'staff.users.errors.exists' } });
    const hash = await hashPassword(parsed.data.password);
    fastify.services.db.transaction(() => {
      const { id } = repos.staff.upsert({ email: parsed.data.email, passwordHash: hash, role: parsed.data.role });
      repos.audit.append({ actor: actor(req), action: 'staff.created', targetType: 'staff', targetId: id, details: { email: parsed.data.email, role: parsed.data.role } });
    })();
    return reply.redirect('/staff/users?done=created', 303);
  });

  fastify.post('/staff/users/:id', admin, async (req, reply) => {
    const p = idParam.safeParse(req.params);
    if (!p.success) throw new NotFoundError();
    const user = repos.staff.getById(p.data.id);
    if (!user) throw new NotFoundError();
    const parsed = userChange.safeParse(body(req));
    if (!parsed.success) return usersPage(req, reply.code(422), { rowError: { id: user.id, key: 'staff.users.errors.role' } });
    const { role, disabled } = parsed.data;
    // The last active admin cannot demote or disable themselves out of the console.
    const losesAdmin = user.role === 'admin' && !user.disabledAt && ((role && role !== 'admin') || disabled === '1');
    if (losesAdmin && repos.staff.activeAdmins() <= 1) return usersPage(req, reply.code(409), { rowError: { id: user.id, key: 'staff.users.errors.lastAdmin' } });
    fastify.services.db.transaction(() => {
      if (role && role !== user.role) {
        repos.staff.setRole(user.id, role as StaffRole);
        repos.audit.append({ actor: actor(req), action: 'staff.role_changed', targetType: 'staff', targetId: user.id, details: { from: user.role, to: role } });
      }
      if (disabled !== undefined && (disabled === '1') !== !!user.disabledAt) {
        repos.staff.setDisabled(user.id, disabled === '1');
        repos.audit.append({ actor: actor(req), action: disabled === '1' ? 'staff.disabled' : 'staff.enabled', targetType: 'staff', targetId: user.id });
      }
    })();
    return reply.redirect('/staff/users?done=changed', 303);
  });
};

export default staff;
