import fp from 'fastify-plugin';
import fastifyStatic from '@fastify/static';
import fastifyView from '@fastify/view';
import Handlebars from 'handlebars';
import { readdir, readFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../config.js';
import { DEFAULT_LANG, formatDateTime, isLang, LANGUAGES, langFromAcceptLanguage, type Lang } from '../i18n/index.js';
import { codeName, OUTCOME_WORDS, ruleName } from '../staff/codes.js';
import { registerSellerHelpers, supportPageData } from './view-helpers.js';
import { compileWithTexts } from './view-texts.js';

declare module 'fastify' {
  interface FastifyRequest {
    lang: Lang;
  }
  interface FastifyReply {
    /** Renders a view inside the layout with the request's language and the common page data. */
    page(view: string, data?: Record<string, unknown>): FastifyReply;
  }
  interface FastifyInstance {
    /** Renders a view to HTML without the layout (one page shown inside another, such as the seller's page for staff). */
    renderFragment(view: string, data: Record<string, unknown> & { lang: Lang }): string;
  }
}

const LANG_COOKIE = 'lang';

/**
 * Server-rendered pages: handlebars views with the layout, i18next catalogs (Polish default),
 * static assets, and the language switch (a plain link, so it works without JavaScript).
 */
export default fp(
  async (fastify) => {
    const i18n = fastify.i18n;
    /** The app's helpers, registered on each language's environment alike. */
    const registerHelpers = (hbs: typeof Handlebars) => {
      hbs.registerHelper('t', function (key: string, options: Handlebars.HelperOptions) {
        const lang: Lang = options.data?.root?.lang ?? DEFAULT_LANG;
        // Without parameters the text is the same every time (and cached by i18n).
        for (const _ in options.hash) return i18n.t(lang)(key, options.hash);
        return i18n.t(lang)(key);
      });
      hbs.registerHelper('datetime', function (iso: string, options: Handlebars.HelperOptions) {
        return formatDateTime(iso, options.data?.root?.lang ?? DEFAULT_LANG);
      });
      // A job item's or action's outcome: registered error codes have their text in errorCodes, the
      // other outcomes (sent, reviewed, recently_reminded…) in staff.outcomes.
      hbs.registerHelper('outcomeKey', (outcome: unknown) => (typeof outcome === 'string' && outcome.startsWith('MIG_ERR_') ? `errorCodes.${outcome}` : `staff.outcomes.${outcome}`));
      // A code (MIG_ERR_*, MAIL_*, invalid_grant, an outcome) by its name in the page's language; the
      // views show the code itself small beside it (partials/code.hbs).
      hbs.registerHelper('codeName', function (code: unknown, options: Handlebars.HelperOptions) {
        return typeof code === 'string' ? codeName(i18n.t(options.data?.root?.lang ?? DEFAULT_LANG), code) : '';
      });
      // Outcomes that are plain words (sent, reviewed…) are named only; every other code is shown small beside its name.
      hbs.registerHelper('isOutcomeWord', (v: unknown) => typeof v === 'string' && (OUTCOME_WORDS as readonly string[]).includes(v));
      hbs.registerHelper('ruleName', function (rule: unknown, options: Handlebars.HelperOptions) {
        return typeof rule === 'string' ? ruleName(i18n.t(options.data?.root?.lang ?? DEFAULT_LANG), rule) : '';
      });
      hbs.registerHelper('eq', (a: unknown, b: unknown) => a === b);
      hbs.registerHelper('concat', (...args: unknown[]) => args.slice(0, -1).join(''));
      hbs.registerHelper('or', (...args: unknown[]) => args.slice(0, -1).some(Boolean));
      hbs.registerHelper('and', (...args: unknown[]) => args.slice(0, -1).every(Boolean));
      hbs.registerHelper('not', (v: unknown) => !v);
      // The step indicator's steps (partials/step-indicator.hbs): 1…total, each current or done relative to step.
      hbs.registerHelper('stepList', (step: number, total: number) =>
        Array.from({ length: total }, (_, i) => ({ n: i + 1, current: i + 1 === step, done: i + 1 < step })),
      );
      hbs.registerHelper('number', function (n: number, options: Handlebars.HelperOptions) {
        return typeof n === 'number' ? n.toLocaleString(options.data?.root?.lang ?? DEFAULT_LANG) : '';
      });
      registerSellerHelpers(hbs, i18n, fastify.config);
    };
    const support = supportPageData(fastify.config);

    // One handlebars environment per language, each with its own compiled views and partials: a text
    // that takes no values is put into the template when it is compiled (view-texts.ts), so a page
    // asks i18n only for texts made from data. Each is compiled at its first use in a language.
    const partialsDir = path.join(PROJECT_ROOT, 'views/partials');
    const partialSources: [string, string][] = [];
    for (const file of await readdir(partialsDir)) {
      if (file.endsWith('.hbs')) partialSources.push([path.basename(file, '.hbs'), await readFile(path.join(partialsDir, file), 'utf8')]);
    }
    const environments = Object.fromEntries(
      LANGUAGES.map((lang) => {
        const hbs = Handlebars.create();
        registerHelpers(hbs);
        const t = i18n.t(lang);
        // The helpers are known when compiling: each call goes straight to its helper (the templates
        // name no field after a helper: test/unit/views.test.ts).
        const options: CompileOptions = { knownHelpers: Object.fromEntries(Object.keys(hbs.helpers).map((name) => [name, true])) };
        const compile = (source: string) => compileWithTexts(hbs, source, (key) => t(key) as string, options);
        for (const [name, source] of partialSources) hbs.registerPartial(name, compile(source));
        return [lang, compile];
      }),
    ) as Record<Lang, (source: string) => Handlebars.TemplateDelegate>;
    // The seller pages' footer depends only on the language and the operator's settings (its contact
    // link alone was a dozen texts and encodings per page): rendered at its first use in each language.
    const footerSource = partialSources.find(([name]) => name === 'site-footer')![1];
    const footers: Partial<Record<Lang, string>> = {};
    const siteFooter = (lang: Lang) => (footers[lang] ??= environments[lang](footerSource)({ lang, support }));
    /**
     * What @fastify/view compiles with: a view's source becomes one template per language, each
     * compiled (with its fixed texts) at its first use in that language, chosen by the page's `lang`.
     * @fastify/view keeps it in its cache, renders the page and then the layout around it.
     */
    // One template per source: a view that is both a page and a fragment (the seller's page, also shown
    // to staff) is compiled once per language, not once by @fastify/view and again for the fragment.
    const bySource = new Map<string, Handlebars.TemplateDelegate>();
    const byLanguage = {
      compile(source: string) {
        let template = bySource.get(source);
        if (!template) {
          const compiled: Partial<Record<Lang, Handlebars.TemplateDelegate>> = {};
          template = (data: Record<string, unknown>, runtimeOptions?: Handlebars.RuntimeOptions) => {
            const lang: Lang = isLang(data?.lang) ? data.lang : DEFAULT_LANG;
            return (compiled[lang] ??= environments[lang](source))(data, runtimeOptions);
          };
          bySource.set(source, template);
        }
        return template;
      },
      // Partials are each language's own (registered above); @fastify/view is given none.
      registerPartial() {
        throw new Error('partials are registered per language in plugins/views.ts');
      },
    };
    // A view rendered without the layout (the seller's page inside the staff account page).
    const fragments = new Map<string, Handlebars.TemplateDelegate>();
    const renderFragment = (view: string, data: Record<string, unknown>) => {
      let template = fragments.get(view);
      if (!template) fragments.set(view, (template = byLanguage.compile(readFileSync(path.join(PROJECT_ROOT, 'views', `${view}.hbs`), 'utf8'))));
      return template(data);
    };

    await fastify.register(fastifyStatic, {
      root: path.join(PROJECT_ROOT, 'views/static'),
      prefix: '/static/',
      maxAge: '1h',
      index: false,
    });

    await fastify.register(fastifyView, {
      engine: { handlebars: byLanguage },
      root: path.join(PROJECT_ROOT, 'views'),
      layout: 'layouts/main.hbs',
      viewExt: 'hbs',
      production: true,
    });

    fastify.decorate('renderFragment', (view: string, data: Record<string, unknown> & { lang: Lang }) => renderFragment(view, data));

    fastify.decorateRequest('lang', DEFAULT_LANG);
    fastify.addHook('onRequest', async (request, reply) => {
      const query = request.query as Record<string, unknown> | undefined;
      const fromQuery = query?.lang;
      if (isLang(fromQuery)) {
        request.lang = fromQuery;
        reply.setCookie(LANG_COOKIE, fromQuery, { path: '/', sameSite: 'lax', httpOnly: true, secure: fastify.config.https, maxAge: 365 * 24 * 3600 });
      } else if (isLang(request.cookies[LANG_COOKIE])) {
        request.lang = request.cookies[LANG_COOKIE] as Lang;
      } else if (!request.url.startsWith('/staff')) {
        // Before any choice (and before sign-in, when the seller's own language is not known yet) the
        // page speaks the browser's language; a signed-in seller's stored language overrides it
        // (plugins/auth.ts). The staff console stays Polish unless switched: its agents work in Polish.
        request.lang = langFromAcceptLanguage(request.headers['accept-language']);
      }
    });

    fastify.decorateReply('page', function (view: string, data: Record<string, unknown> = {}) {
      const lang = this.request.lang;
      const other: Lang = lang === 'pl' ? 'en' : 'pl';
      // A page rendered by a POST (a form with errors) switches language on its GET address.
      const canonical = typeof data.canonicalUrl === 'string' ? data.canonicalUrl : this.request.method === 'GET' ? this.request.url : this.request.seller ? '/migration' : '/';
      const url = new URL(canonical, 'http://local');
      url.searchParams.set('lang', other);
      // Parsing resolves '/.//evil.example/x' to the path '//evil.example/x', which a browser reads as
      // another host: the link is built from the path with its leading slashes collapsed into one.
      const localPath = url.pathname.replace(/^\/+/, '/');
      const page: Record<string, unknown> = {
        lang,
        otherLang: other,
        langSwitchUrl: localPath + url.search,
        demo: fastify.config.demo,
        demoGoogleSimulator: !!fastify.config.googleSimulator,
        seller: this.request.seller,
        staff: this.request.staff,
        // Every page gets a CSRF token: the sign-out form sits in the layout.
        csrfToken: this.generateCsrf(),
        // Who runs the service and where help is: the footer and every "contact support" text.
        support,
        siteFooter: siteFooter(lang),
        ...data,
      };
      // @fastify/view renders the view, then the layout with it as `body`, and sends it (or the error).
      void this.view(view, page);
      return this;
    });
  },
  { name: 'views', dependencies: ['services'], fastify: '5.x' },
);
