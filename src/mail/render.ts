import Handlebars from 'handlebars';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../config.js';
import { DEFAULT_LANG, type I18n, type Lang } from '../i18n/index.js';

/** Every e-mail the app sends (the watch's too): each is views/mail/<name>.html.hbs and views/mail/<name>.txt.hbs. */
export const MAILS = ['sign-in', 'reminder', 'watch-broken'] as const;
export type MailName = (typeof MAILS)[number];

export interface RenderedMail {
  subject: string;
  html: string;
  text: string;
}

/** The catalog section of a mail: 'sign-in' → mail.signIn. */
const section = (name: string) => `mail.${name.replace(/-(\w)/g, (_, c: string) => c.toUpperCase())}`;

/**
 * The one renderer of e-mails. Both parts of a mail are compiled once, at its first use, with a `t`
 * helper over the catalogs (the HTML part escapes what it is given, the text part does not); the
 * subject is the catalog's `mail.<name>.subject`. Senders get it as a dependency. Compiling every
 * template at the server's start cost a tenth of its time before the first page; that each one
 * exists and compiles is proved by test/unit/mail-render.test.ts instead (`checkAll`).
 * @throws {Error} when a template of MAILS is missing or does not compile
 */
export function createMailRenderer(i18n: I18n, opts: { dir?: string } = {}) {
  const dir = opts.dir ?? path.join(PROJECT_ROOT, 'views/mail');
  const hbs = Handlebars.create();
  hbs.registerHelper('t', function (key: string, options: Handlebars.HelperOptions) {
    const lang: Lang = options.data?.root?.lang ?? DEFAULT_LANG;
    for (const _ in options.hash) return i18n.t(lang)(key, options.hash);
    return i18n.t(lang)(key);
  });
  const compile = (file: string, noEscape: boolean) => {
    const template = hbs.compile(readFileSync(path.join(dir, file), 'utf8'), { noEscape, strict: false });
    template({ lang: DEFAULT_LANG }); // Handlebars compiles lazily: a broken template fails now, not at the first send.
    return template;
  };
  const templates = new Map<MailName, { html: Handlebars.TemplateDelegate; text: Handlebars.TemplateDelegate }>();
  const templateOf = (name: MailName) => {
    let t = templates.get(name);
    if (!t) templates.set(name, (t = { html: compile(`${name}.html.hbs`, false), text: compile(`${name}.txt.hbs`, true) }));
    return t;
  };

  return {
    /** Compiles every mail's templates now (the tests' proof that each exists and compiles). */
    checkAll(): void {
      for (const name of MAILS) templateOf(name);
    },
    /** Renders one mail in the seller's language; `data` is what its templates use (`lang` is added). */
    render(name: MailName, lang: Lang, data: Record<string, unknown>): RenderedMail {
      const template = templateOf(name);
      const context = { ...data, lang };
      return { subject: i18n.t(lang)(`${section(name)}.subject`), html: template.html(context), text: template.text(context) };
    },
  };
}
export type MailRenderer = ReturnType<typeof createMailRenderer>;
