import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { ALLEGRO_CALLBACK_PATH } from '../config.js';
import { templatesPage, v3PageBase } from '../v3/templates-page.js';
import { NotFoundError } from '../errors.js';
import { formBody, formOf, NO_FIELDS, numberedForm } from '../plugins/forms.js';
import { SESSION_COOKIE } from '../plugins/auth.js';
import type { Autoresponder } from '../domain/model.js';
import type { CallbackFailure } from '../allegro/authorization.js';
import { switchBackPossible } from '../v3/switch.js';
import { openProblem } from '../watch/pages.js';

const idParam = z.object({ id: z.coerce.number().int().positive().max(2 ** 31) });
const CALLBACK_FAILURES = ['state_unknown', 'state_used', 'state_expired', 'state_other_session', 'denied', 'allegro_error', 'exchange_failed', 'me_failed', 'unavailable'] as const satisfies readonly CallbackFailure[];
const callbackQuery = z.object({
  state: z.string().min(1).max(200),
  code: z.string().min(1).max(2000).optional(),
  error: z.string().max(100).optional(),
});
// Allegro's error code, passed back in the URL and shown to help support: a code, never free text.
const ALLEGRO_CODE = /^[A-Za-z0-9_.\-]{1,64}$/;
/** The result page's confirmation step (GET, so it works without JavaScript) and what was just done. */
const doneQuery = z.object({
  confirm: z.enum(['back', 'forget']).optional().catch(undefined),
  done: z.enum(['password_deleted']).optional().catch(undefined),
});
const confirmed = (req: FastifyRequest) => formBody(req).confirm === 'yes';
const problemQuery = z.object({
  problem: z.enum(CALLBACK_FAILURES).optional(),
  code: z.string().regex(ALLEGRO_CODE).optional(),
});

/**
 * The seller's v3 path: templates (step 1), authorization at Allegro (step 2), the live check and the
 * switch (step 3), then the result page with the way back.
 */
const v3Routes: FastifyPluginAsync = async (fastify) => {
  const { repos } = fastify.services;
  const { v3, allegro } = fastify;
  const t = (req: FastifyRequest) => fastify.i18n.t(req.lang);
  const sessionValue = (req: FastifyRequest) => req.cookies[SESSION_COOKIE];

  const autoresponderOf = (req: FastifyRequest): Autoresponder => {
    const p = idParam.safeParse(req.params);
    if (!p.success) throw new NotFoundError();
    return v3.own(req.seller!.id, p.data.id);
  };

  const base = (req: FastifyRequest, a: Autoresponder, extra: Record<string, unknown> = {}) =>
    v3PageBase(repos, t(req), a, { simulator: fastify.config.allegro.env === 'simulator', ...extra });

  const notConfigured = (req: FastifyRequest, reply: FastifyReply) =>
    reply.code(503).page('error', { title: t(req)('v3.unavailableTitle'), message: t(req)('v3.unavailable'), code: 'MIG_ERR_ALLEGRO_NOT_CONFIGURED' });

  fastify.register(async (app) => {
    app.addHook('preHandler', app.requireSeller);

    app.post('/autoresponders/:id/v3/start', { config: { form: NO_FIELDS } }, async (req, reply) => {
      const a = autoresponderOf(req);
      if (!allegro.configured) return notConfigured(req, reply);
      v3.start(req.seller!.id, a.id, { type: 'seller', id: req.seller!.id });
      return reply.redirect(`/autoresponders/${a.id}/v3`, 303);
    });

    // Step 1: what changes, and the templates as v3 will send them.
    app.get('/autoresponders/:id/v3', async (req, reply) => {
      const a = autoresponderOf(req);
      if (a.version === 3) return reply.redirect(`/autoresponders/${a.id}/v3/done`, 303);
      const reviews = v3.review(a.id);
      return reply.page('v3/templates', base(req, a, { ...templatesPage(reviews), allOk: reviews.every((r) => r.ok) }));
    });

    app.post('/autoresponders/:id/v3/templates', { config: { form: numberedForm('text_') } }, async (req, reply) => {
      const a = autoresponderOf(req);
      if (a.version === 3) return reply.redirect(`/autoresponders/${a.id}/v3/done`, 303);
      const body = formBody(req);
      const texts = new Map<number, string>();
      for (const [k, v] of Object.entries(body)) {
        const m = /^text_(\d{1,4})$/.exec(k);
        // A generous cap: far over the limit is still shown back to be shortened, not cut.
        if (m && typeof v === 'string') texts.set(Number(m[1]), v.slice(0, 20_000));
      }
      const saved = v3.saveDrafts(req.seller!.id, a.id, texts);
      if (!saved.ok) {
        return reply.code(422).page('v3/templates', base(req, a, { canonicalUrl: `/autoresponders/${a.id}/v3`, ...templatesPage(v3.review(a.id), texts, saved.problems), allOk: false, formError: true }));
      }
      const next = allegro.configured && repos.authorizations.findUsable(req.seller!.id) ? 'check' : 'authorize';
      return reply.redirect(`/autoresponders/${a.id}/v3/${next}`, 303);
    });

    // Step 2: authorization at Allegro.
    app.get('/autoresponders/:id/v3/authorize', async (req, reply) => {
      const a = autoresponderOf(req);
      if (!allegro.configured) return notConfigured(req, reply);
      const q = problemQuery.safeParse(req.query);
      const problem = q.success ? q.data : {};
      const usable = repos.authorizations.findUsable(req.seller!.id);
      return reply.page('v3/authorize', base(req, a, {
        canonicalUrl: `/autoresponders/${a.id}/v3/authorize`,
        problem: problem.problem ? { key: `v3.callback.${problem.problem}`, code: problem.code } : null,
        usable,
        expectedLogin: req.seller!.allegroLogin, watchProblem: openProblem(repos, [a.id], 'allegro'),
      }));
    });

    app.post('/autoresponders/:id/v3/authorize', { config: { form: formOf(null, 'discard') } }, async (req, reply) => {
      const a = autoresponderOf(req);
      if (!allegro.configured) return notConfigured(req, reply);
      const body = formBody(req);
      // "Try again with the right account": the unconfirmed authorization of the wrong one goes.
      const discard = z.coerce.number().int().positive().safeParse(body.discard);
      if (discard.success) allegro.discard(req.seller!.id, discard.data);
      let url = allegro.start({ sellerId: req.seller!.id, autoresponderId: a.id, sessionValue: sessionValue(req)! });
      // The demo's simulator preselects the account this autoresponder belongs to on its consent page
      // (real Allegro has its own login form; it is never sent there).
      if (fastify.config.allegro.env === 'simulator' && req.seller!.allegroLogin) {
        const u = new URL(url);
        u.searchParams.set('login_hint', req.seller!.allegroLogin);
        url = u.toString();
      }
      return reply.redirect(url, 303);
    });

    app.get(ALLEGRO_CALLBACK_PATH, async (req, reply) => {
      if (!allegro.configured) return notConfigured(req, reply);
      const q = callbackQuery.safeParse(req.query);
      if (!q.success) {
        return reply.code(400).page('error', { title: t(req)('v3.callback.title'), message: t(req)('v3.callback.state_unknown'), code: 'MIG_ERR_OAUTH_CALLBACK' });
      }
      const result = await allegro.complete({ sellerId: req.seller!.id, sessionValue: sessionValue(req), ...q.data });
      if (result.ok) {
        req.log.info({ authorizationId: result.authorizationId, mismatch: result.mismatch }, 'Allegro authorization stored');
        if (result.autoresponderId == null) return reply.redirect('/migration', 303);
        if (result.mismatch) return reply.redirect(`/autoresponders/${result.autoresponderId}/v3/account?authorization=${result.authorizationId}`, 303);
        return reply.redirect(`/autoresponders/${result.autoresponderId}/v3/check`, 303);
      }
      req.log.info({ failure: result.failure, allegroCode: result.allegroCode, traceId: result.traceId }, 'Allegro authorization not completed');
      if (result.autoresponderId == null) {
        return reply.code(400).page('error', { title: t(req)('v3.callback.title'), message: t(req)(`v3.callback.${result.failure}`), code: 'MIG_ERR_OAUTH_CALLBACK' });
      }
      const params = new URLSearchParams({ problem: result.failure });
      if (result.allegroCode && ALLEGRO_CODE.test(result.allegroCode)) params.set('code', result.allegroCode);
      return reply.redirect(`/autoresponders/${result.autoresponderId}/v3/authorize?${params}`, 303);
    });

    // A different Allegro account than expected: say so, and let the seller retry or confirm.
    app.get('/autoresponders/:id/v3/account', async (req, reply) => {
      const a = autoresponderOf(req);
      const id = z.coerce.number().int().positive().safeParse((req.query as Record<string, unknown>).authorization);
      const authorization = id.success ? repos.authorizations.getById(id.data) : undefined;
      if (!authorization || authorization.sellerId !== req.seller!.id || authorization.confirmedAt) return reply.redirect(`/autoresponders/${a.id}/v3/authorize`, 303);
      const confirm = (req.query as Record<string, unknown>).confirm === '1';
      return reply.page('v3/account', base(req, a, { canonicalUrl: `/autoresponders/${a.id}/v3/account?authorization=${authorization.id}`, mismatch: { authorization, expected: req.seller!.allegroLogin }, confirm }));
    });

    // Another Allegro account than the one on record is taken in two explicit steps: the choice, then
    // "are you sure" naming both accounts; a form without the second step's mark leads to the question.
    app.post('/autoresponders/:id/v3/account', { config: { form: formOf(null, 'authorization', 'confirm') } }, async (req, reply) => {
      const a = autoresponderOf(req);
      const body = formBody(req);
      const id = z.coerce.number().int().positive().safeParse(body.authorization);
      if (id.success && body.confirm !== '1') return reply.redirect(`/autoresponders/${a.id}/v3/account?authorization=${id.data}&confirm=1#confirm`, 303);
      if (!id.success || !allegro.confirm(req.seller!.id, id.data)) return reply.redirect(`/autoresponders/${a.id}/v3/authorize`, 303);
      v3.start(req.seller!.id, a.id, { type: 'seller', id: req.seller!.id });
      return reply.redirect(`/autoresponders/${a.id}/v3/check`, 303);
    });

    // Step 3: the live check, and the switch. Each load calls Allegro, so a seller (or a stuck reload
    // loop) gets a bounded number of checks. One limiter as the route's preHandler: Fastify's HEAD twin
    // of the route shares it, whereas config.rateLimit would give HEAD a second budget of its own.
    const checkLimit = fastify.rateLimit({ max: 10, timeWindow: '5 minutes', keyGenerator: (req: FastifyRequest) => `v3-check:${req.seller?.id ?? req.ip}` });
    app.get('/autoresponders/:id/v3/check', { preHandler: checkLimit }, async (req, reply) => {
      const a = autoresponderOf(req);
      if (!allegro.configured) return notConfigured(req, reply);
      const m = repos.migrations.findByAutoresponder(a.id);
      const reauthorize = a.version === 3;
      if (reauthorize && m?.state !== 'needs_attention') return reply.redirect(`/autoresponders/${a.id}/v3/done`, 303);
      if (!reauthorize && !v3.draftsReady(a.id)) return reply.redirect(`/autoresponders/${a.id}/v3`, 303);
      const authorization = repos.authorizations.findUsable(req.seller!.id);
      if (!authorization) return reply.redirect(`/autoresponders/${a.id}/v3/authorize`, 303);
      // A HEAD (a link preview, a monitor) gets the page's headers, never a call to Allegro.
      if (req.method === 'HEAD') return reply.type('text/html; charset=utf-8').send();
      const check = await v3.check(req.seller!.id, a.id, authorization.id);
      const view = base(req, a);
      const mailbox = view.mailbox;
      return reply.code(check.ok ? 200 : 502).page('v3/check', {
        ...view,
        check,
        authorization,
        reauthorize,
        templatesCount: repos.autoresponders.listTemplates(a.id).length,
        secret: mailbox?.hasSecret && !reauthorize ? { shared: v3.mailboxSharedWithMailboxVersion(a), kind: mailbox.secretKind } : null,
      });
    });

    app.post('/autoresponders/:id/v3/switch', { config: { form: formOf(null, 'delete_secret') } }, async (req, reply) => {
      const a = autoresponderOf(req);
      const body = formBody(req);
      const outcome = v3.switchToV3(req.seller!.id, a.id, { deleteSecret: body.delete_secret === '1', actor: { type: 'seller', id: req.seller!.id } });
      if (outcome.ok) {
        req.log.info({ autoresponderId: a.id, secretDeleted: outcome.secretDeleted }, 'switched to version 3');
        return reply.redirect(`/autoresponders/${a.id}/v3/done`, 303);
      }
      const to = { templates: '', authorization: '/authorize', check: '/check', state: '/done' }[outcome.reason];
      return reply.redirect(`/autoresponders/${a.id}/v3${to}`, 303);
    });

    app.get('/autoresponders/:id/v3/done', async (req, reply) => {
      const a = autoresponderOf(req);
      if (a.version !== 3) return reply.redirect('/migration', 303);
      const m = repos.migrations.findByAutoresponder(a.id);
      const authorization = a.authorizationId != null ? repos.authorizations.getById(a.authorizationId) : undefined;
      const view = base(req, a, { reauthorize: false });
      const q = doneQuery.safeParse(req.query);
      return reply.page('v3/done', {
        ...view,
        canonicalUrl: `/autoresponders/${a.id}/v3/done`,
        confirm: q.success ? q.data.confirm : undefined,
        notice: q.success ? q.data.done : undefined,
        migration: m,
        authorization,
        templates: repos.autoresponders.listTemplates(a.id),
        canSwitchBack: switchBackPossible(a, view.mailbox),
        secretKept: !!view.mailbox?.hasSecret,
        authorizeAgain: m?.state === 'needs_attention',
      });
    });

    // Going back and deleting the password are asked first (the result page's confirm step) and
    // reported after; a form without the confirmation leads to the question, never to the change.
    app.post('/autoresponders/:id/v3/switch-back', { config: { form: formOf(null, 'confirm') } }, async (req, reply) => {
      const a = autoresponderOf(req);
      if (!confirmed(req)) return reply.redirect(`/autoresponders/${a.id}/v3/done?confirm=back#confirm`, 303);
      if (!v3.switchBack(req.seller!.id, a.id, { type: 'seller', id: req.seller!.id })) return reply.redirect(`/autoresponders/${a.id}/v3/done`, 303);
      return reply.redirect(`/migration?done=switched_back&ar=${a.id}#autoresponder-${a.id}`, 303);
    });

    app.post('/autoresponders/:id/v3/forget-password', { config: { form: formOf(null, 'confirm') } }, async (req, reply) => {
      const a = autoresponderOf(req);
      if (!confirmed(req)) return reply.redirect(`/autoresponders/${a.id}/v3/done?confirm=forget#confirm`, 303);
      const deleted = v3.forgetSecret(req.seller!.id, a.id, { type: 'seller', id: req.seller!.id });
      return reply.redirect(`/autoresponders/${a.id}/v3/done${deleted ? '?done=password_deleted' : ''}`, 303);
    });
  });
};
export default v3Routes;
