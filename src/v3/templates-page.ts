import { textLength, V3_MAX_TEXT, type TemplateProblem } from './templates.js';
import type { TemplateReview } from './switch.js';
import type { Autoresponder } from '../domain/model.js';
import type { Repositories } from '../repositories/index.js';

/**
 * What every page of the v3 path shows at its top: the autoresponder, its mailbox and the page title.
 * An autoresponder already on version 3 comes to these pages only to sign in to Allegro again (not a
 * switch: no switch steps, its own title), except on its done page (`reauthorize: false`).
 */
export function v3PageBase(repos: Repositories, t: (key: string) => string, a: Autoresponder, extra: Record<string, unknown> & { simulator: boolean }) {
  const reauthorize = (extra.reauthorize as boolean | undefined) ?? a.version === 3;
  return {
    title: t(reauthorize ? 'v3.reauthorizeTitle' : 'v3.title'),
    reauthorize,
    autoresponder: a,
    mailbox: a.mailboxId != null ? repos.mailboxes.getById(a.mailboxId) : undefined,
    ...extra,
  };
}

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#x27;', '`': '&#x60;', '=': '&#x3D;' };
const escapeHtml = (text: string) => text.replace(/[&<>"'`=]/g, (c) => HTML_ESCAPES[c]!);

/**
 * An HTML template's source as markup that a phone wraps between tags and after the punctuation of
 * attributes and addresses (`<wbr>`), never inside a word: without these points the browser had only
 * "anywhere" for long runs such as `width="100%"><tr><td><img` and split "lo / go.png". The source
 * is escaped piece by piece, so nothing of it is ever markup.
 */
export function sourceWithBreaks(source: string): string {
  let out = '';
  let piece = '';
  for (let i = 0; i < source.length; i++) {
    const c = source[i]!;
    const prev = source[i - 1] ?? ' ';
    const breakHere = /\S/.test(prev) && /\S/.test(c) && (c === '<' || '>;,=.&?'.includes(prev) || (prev === '/' && source[i - 2] !== '<' && c !== '/'));
    if (breakHere) {
      out += `${escapeHtml(piece)}<wbr>`;
      piece = '';
    }
    piece += c;
  }
  return out + escapeHtml(piece);
}

/** What the page shows for one problem of one template. */
function problemView(p: TemplateProblem) {
  return { key: `v3.problems.${p.code}`, blocking: p.blocking, count: p.count ?? 0, images: p.images ?? [] };
}

/** The templates step: every template, and the ones to fix first (for the jump links at the top). */
export const templatesPage = (reviews: TemplateReview[], typed?: Map<number, string>, errors?: Map<number, TemplateProblem[]>) => {
  const templates = templatesView(reviews, typed, errors);
  // Two templates are "oba" ("both"), never "wszystkie 2": the counted text is for one and three or more.
  return { templates, toFix: templates.filter((x) => x.invalid), allFitKey: templates.length === 2 ? 'v3.s1.allFitBoth' : 'v3.s1.allFit' };
};
export const templatesView = (reviews: TemplateReview[], typed?: Map<number, string>, errors?: Map<number, TemplateProblem[]>) =>
  reviews.map((r) => {
    const text = typed?.get(r.position) ?? r.text;
    const fieldProblems = errors?.get(r.position) ?? r.problems.filter((p) => p.blocking);
    return {
      position: r.position,
      number: r.position + 1,
      name: r.name,
      original: r.body,
      isHtml: r.bodyFormat === 'html',
      originalMarkup: sourceWithBreaks(r.body),
      subject: r.subject,
      text,
      length: textLength(text),
      max: V3_MAX_TEXT,
      over: Math.max(0, textLength(text) - V3_MAX_TEXT),
      notes: r.problems.filter((p) => !p.blocking).map(problemView),
      errors: fieldProblems.map(problemView),
      invalid: fieldProblems.length > 0,
      edited: r.edited,
    };
  });

