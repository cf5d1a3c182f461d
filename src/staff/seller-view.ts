import type { Lang } from '../i18n/index.js';
import type { Repositories } from '../repositories/index.js';
import { migrationPage, type OverviewOptions } from '../seller/overview.js';

/**
 * "Co widzi sprzedawca": the seller's own migration page (the real template, views/migration.hbs,
 * with the real page model), rendered for staff and made read-only. Every form becomes its button's
 * label, inert; links into the seller's pages become plain text; headings move one level down to sit
 * under the staff page's own heading. Staff never sign in as the seller and nothing here can act.
 */
export function sellerViewHtml(
  render: (view: string, data: Record<string, unknown> & { lang: Lang }) => string,
  repos: Repositories,
  sellerId: number,
  opts: { lang: Lang; allegroConfigured: boolean; overview: OverviewOptions },
): string {
  const seller = repos.sellers.getById(sellerId)!;
  const html = render('migration', {
    lang: opts.lang,
    seller,
    allegroConfigured: opts.allegroConfigured,
    csrfToken: '',
    ...migrationPage(repos, sellerId, opts.lang, opts.overview),
  });
  const part = (view: string, data: Record<string, unknown>) => render(`staff/parts/${view}`, { lang: opts.lang, ...data }).trim();
  return readOnly(html, { button: (label) => part('inert-button', { label }), link: (text) => part('inert-link', { text }) });
}

/**
 * Forms to inert buttons, seller links to text, h1…h5 to h2…h6. The replacements come from
 * views/staff/parts/ (their inputs are the template's own, already escaped, HTML).
 */
export function readOnly(html: string, parts: { button: (label: string) => string; link: (text: string) => string }): string {
  return html
    .replace(/<form\b[^>]*>([\s\S]*?)<\/form>/gi, (_, inner: string) =>
      [...inner.matchAll(/<button\b[^>]*>([\s\S]*?)<\/button>/gi)].map((m) => parts.button(m[1]!.trim())).join(''),
    )
    .replace(/<input\b[^>]*>/gi, '')
    .replace(/<a\b[^>]*href="\/(?!\/)[^"]*"[^>]*>([\s\S]*?)<\/a>/gi, (_, text: string) => parts.link(text))
    .replace(/<(\/?)h([1-5])\b/gi, (_, slash: string, n: string) => `<${slash}h${Number(n) + 1}`);
}
