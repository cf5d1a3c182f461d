import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { normalizeHost } from '../detection/rules.js';
import { isAllowedHost, isAllowedPort, securityForPort } from '../mail/servers.js';
import type { Mailbox, ServerSettings } from '../domain/model.js';
import { migrationPage } from '../seller/overview.js';
import { MAX_VERIFICATIONS } from '../checks/budget.js';
import { NotFoundError } from '../errors.js';
import { formBody, formOf, NO_FIELDS } from '../plugins/forms.js';
import { causesFor, failureView, limitView, wizardContext } from '../app-password/wizard-page.js';

const GOOGLE_DEFAULTS = { imapHost: 'imap.gmail.com', imapPort: 993, smtpHost: 'smtp.gmail.com', smtpPort: 465 };

const idParam = z.object({ id: z.coerce.number().int().positive().max(2 ** 31) });
const stepParam = idParam.extend({ step: z.enum(['1', '2', '3', '4', 'help']) });
/** What a page reports as done after a redirect (POST → 303 → GET): a known word, never free text. */
const noticeQuery = z.object({ done: z.enum(['switched_back']), ar: z.coerce.number().int().positive().max(2 ** 31) });

/** Strips what people paste around Google's 16 letters ("abcd efgh ijkl mnop", "abcd-efgh-…"). */
export function normalizeAppPassword(raw: string): string | null {
  const s = raw.replace(/[\s\u00a0\-–—]/g, '').toLowerCase();
  return /^[a-z]{16}$/.test(s) ? s : null;
}

type FieldError = { key: string; hosts?: string; ports?: string };

const seller: FastifyPluginAsync = async (fastify) => {
  const { repos, mailServers } = fastify.services;
  const { relink, config } = fastify;
  const t = (req: FastifyRequest) => fastify.i18n.t(req.lang);

  const mailboxOf = (req: FastifyRequest): Mailbox => {
    const p = idParam.safeParse(req.params);
    if (!p.success) throw new NotFoundError();
    // Another seller's mailbox, or none: the same 404.
    return relink.ownMailbox(req.seller!.id, p.data.id);
  };

  // ---- the migration page ------------------------------------------------------------------------
  fastify.register(async (app) => {
    app.addHook('preHandler', app.requireSeller);

    app.get('/migration', async (req, reply) => {
      const overview = migrationPage(repos, req.seller!.id, req.lang, {
        v3Available: fastify.allegro.configured,
        review: (id) => fastify.v3.review(id),
        deadline: config.migrationDeadline,
        now: fastify.services.now(),
      });
      // Most requests carry no notice: a failed parse builds zod's error (3 µs), so the query is parsed only when it names one.
      const q = (req.query as Record<string, unknown> | undefined)?.done !== undefined ? noticeQuery.safeParse(req.query) : { success: false as const };
      const noticeItem = q.success ? overview.items.find((i) => i.id === q.data.ar) : undefined;
      const notice = q.success && noticeItem ? { key: `migration.notice.${q.data.done}`, item: noticeItem } : null;
      return reply.page('migration', { title: t(req)('migration.title'), canonicalUrl: '/migration', allegroConfigured: fastify.allegro.configured, notice, ...overview });
    });

    app.post('/mailboxes/:id/app-password/start', { config: { form: NO_FIELDS } }, async (req, reply) => {
      const mailbox = mailboxOf(req);
      relink.start(req.seller!.id, mailbox.id, { type: 'seller', id: req.seller!.id });
      return reply.redirect(`/mailboxes/${mailbox.id}/app-password/1`, 303);
    });

    // Demo with the Google simulator: the wizard says so, and names the app password it accepts.
    const googleSimulator = fastify.demo?.appPasswordHint ? { appPassword: fastify.demo.appPasswordHint } : null;

    const isWorkspace = (m: Mailbox) => m.provider !== 'gmail';
    /** The servers to verify against: Google's for Workspace (editable), the stored ones for gmail.com. */
    const defaultServers = (m: Mailbox) => {
      const allowed = (h: string) => config.mailHostAllowlist.includes(normalizeHost(h));
      // gmail.com keeps its (allowed) stored servers; a relinked Workspace mailbox already has Google's;
      // otherwise Google's defaults replace the company host.
      const keepStored = isWorkspace(m) ? m.secretKind === 'app_password' && allowed(m.imapHost) : allowed(m.imapHost) && allowed(m.smtpHost);
      return keepStored ? { imapHost: m.imapHost, imapPort: m.imapPort, smtpHost: m.smtpHost, smtpPort: m.smtpPort } : GOOGLE_DEFAULTS;
    };

    const renderStep3 = (req: FastifyRequest, reply: FastifyReply, mailbox: Mailbox, extra: { values?: Record<string, string | number>; errors?: Record<string, FieldError | string>; failure?: ReturnType<typeof failureView> } = {}) => {
      const b = relink.budget(mailbox.id);
      const d = defaultServers(mailbox);
      const typed = extra.values ?? {};
      const errors = extra.errors ?? {};
      const field = (name: string, label: string, fallback: string | number, numeric = false, hint?: string) => ({
        name,
        label: `wizard.s3.${label}`,
        // What the seller typed wins over the defaults, so a mistake can be corrected, not retyped.
        value: typed[name] ?? fallback,
        numeric,
        hint,
        error: errors[name],
        describedBy: [hint && `${name}-hint`, errors[name] && `${name}-error`].filter(Boolean).join(' '),
      });
      return reply.page('wizard', {
        title: t(req)('wizard.title', { email: mailbox.email }),
        canonicalUrl: `/mailboxes/${mailbox.id}/app-password/3`,
        mailbox,
        ...wizardContext(repos, mailbox),
        allegroConfigured: fastify.allegro.configured,
        step: 3,
        googleSimulator,
        showServers: isWorkspace(mailbox),
        serverFields: [
          field('imap_host', 'imapHost', d.imapHost),
          field('imap_port', 'imapPort', d.imapPort, true),
          field('smtp_host', 'smtpHost', d.smtpHost),
          field('smtp_port', 'smtpPort', d.smtpPort, true, 'wizard.s3.smtpPortHint'),
        ],
        errors: { app_password: errors.app_password },
        failure: extra.failure,
        budget: { remaining: b.remaining, max: MAX_VERIFICATIONS },
        limit: limitView(b),
      });
    };

    app.get('/mailboxes/:id/app-password/:step', async (req, reply) => {
      const p = stepParam.safeParse(req.params);
      if (!p.success) throw new NotFoundError();
      const mailbox = mailboxOf(req);
      if (p.data.step === 'help') {
        // "I do not see App passwords": every documented cause, how to recognise it, what to do.
        return reply.page('wizard', {
          title: t(req)('noAppPasswords.title'),
          mailbox,
          ...wizardContext(repos, mailbox),
          allegroConfigured: fastify.allegro.configured,
          help: true,
          googleSimulator,
          causes: causesFor(mailbox),
        });
      }
      const step = Number(p.data.step);
      if (step === 3) return renderStep3(req, reply, mailbox);
      if (step === 4 && mailbox.secretKind !== 'app_password') return reply.redirect(`/mailboxes/${mailbox.id}/app-password/3`, 303);
      return reply.page('wizard', { title: t(req)('wizard.title', { email: mailbox.email }), mailbox, ...wizardContext(repos, mailbox), allegroConfigured: fastify.allegro.configured, step, googleSimulator });
    });

    app.post('/mailboxes/:id/app-password', { config: { form: formOf(null, 'app_password', 'imap_host', 'imap_port', 'smtp_host', 'smtp_port') } }, async (req, reply) => {
      const mailbox = mailboxOf(req);
      const body = formBody(req);
      const str = (k: string) => (typeof body[k] === 'string' ? (body[k] as string) : '');
      const errors: Record<string, FieldError | string> = {};
      const appPassword = normalizeAppPassword(str('app_password').slice(0, 64));
      if (!appPassword) errors.app_password = 'wizard.errors.appPassword';

      let servers = defaultServers(mailbox);
      const values: Record<string, string> = {};
      if (isWorkspace(mailbox)) {
        const hostErr: FieldError = { key: 'wizard.errors.host', hosts: config.mailHostAllowlist.join(', ') };
        const portErr: FieldError = { key: 'wizard.errors.port', ports: config.mailPortAllowlist.join(', ') };
        // The seller's own list of servers (Google's), within the policy the import and every
        // connection are held to: an allow-listed name that is an address must be one the app may reach.
        const host = (k: string) => {
          values[k] = str(k).trim().slice(0, 253);
          const h = normalizeHost(values[k]!);
          if (!config.mailHostAllowlist.includes(h) || !isAllowedHost(h, mailServers)) errors[k] = hostErr;
          return h;
        };
        const port = (k: string) => {
          values[k] = str(k).trim().slice(0, 5);
          const n = /^\d{1,5}$/.test(values[k]!) ? Number(values[k]) : NaN;
          if (!isAllowedPort(n, mailServers)) errors[k] = portErr;
          return n;
        };
        servers = { imapHost: host('imap_host'), imapPort: port('imap_port'), smtpHost: host('smtp_host'), smtpPort: port('smtp_port') };
      } else if (![servers.imapPort, servers.smtpPort].every((p) => isAllowedPort(p, mailServers))) {
        servers = GOOGLE_DEFAULTS;
      }
      if (Object.keys(errors).length) return renderStep3(req, reply.code(422), mailbox, { values, errors });

      const settings: ServerSettings = {
        ...servers,
        imapSecurity: securityForPort('imap', servers.imapPort),
        smtpSecurity: securityForPort('smtp', servers.smtpPort),
        username: mailbox.username || mailbox.email,
      };
      const outcome = await relink.relink({ sellerId: req.seller!.id, mailboxId: mailbox.id, appPassword: appPassword!, servers: settings, actor: { type: 'seller', id: req.seller!.id } });
      if (outcome.ok) return reply.redirect(`/mailboxes/${mailbox.id}/app-password/4`, 303);
      if (outcome.code === 'MIG_ERR_TOO_MANY_ATTEMPTS') return renderStep3(req, reply.code(429), mailbox, { values });
      req.log.info({ mailboxId: mailbox.id, code: outcome.code, protocol: outcome.protocol }, 'app password verification failed');
      // The page tells a wrong password from Google not answering (failure.notPassword); the status
      // stays 422 for both: nothing was saved and the form is shown again (never a 5xx for a form).
      return renderStep3(req, reply.code(422), mailbox, { values, failure: failureView(outcome) });
    });

    app.post('/mailboxes/:id/app-password/fetch', { config: { form: NO_FIELDS } }, async (req, reply) => {
      const mailbox = mailboxOf(req);
      const result = await relink.proof(req.seller!.id, mailbox.id);
      if (!result) return reply.redirect(`/mailboxes/${mailbox.id}/app-password/3`, 303);
      const base = { title: t(req)('wizard.title', { email: mailbox.email }), canonicalUrl: `/mailboxes/${mailbox.id}/app-password/4`, mailbox, ...wizardContext(repos, mailbox), allegroConfigured: fastify.allegro.configured, step: 4, googleSimulator };
      if ('retryAt' in result) return reply.code(429).page('wizard', { ...base, fetchLimit: { retryAt: result.retryAt } });
      if ('total' in result) {
        return reply.page('wizard', { ...base, proof: { ...result, allegro: result.latest.filter((m) => m.fromAllegro).slice(0, 5) } });
      }
      return reply.code(502).page('wizard', { ...base, failure: 'code' in result && 'protocol' in result ? failureView(result) : { code: 'MAIL_SERVER_ERROR', notPassword: true } });
    });
  });
};
export default seller;
