import { createHash } from 'node:crypto';
import type { ReplyTemplate } from '../domain/model.js';
/**
 * What a reply template must become to work in version 3. The Allegro Message Center takes plain
 * text only, at most 2000 characters a message (NewMessageInThread.text, maxLength 2000), and
 * attachments only as uploaded images or PDFs up to 5 MB. HTML is converted to readable text here;
 * nothing is ever cut: a text that is too long is reported and the seller shortens it.
 */

/** The Message Center's limit on one message, in characters (Unicode code points, as JSON Schema counts). */
export const V3_MAX_TEXT = 2000;
/** Attachments v3 accepts: images and PDFs up to this size. */
export const V3_MAX_ATTACHMENT_BYTES = 5 * 1024 * 1024;

/** Characters as the Message Center counts them: code points, with line breaks as one character. */
export function textLength(text: string): number {
  let n = 0;
  for (const _ of normalizeNewlines(text)) n++;
  return n;
}

export function normalizeNewlines(text: string): string {
  return text.replace(/\r\n?/g, '\n');
}

const NAMED_ENTITIES: Record<string, string> = {
  nbsp: ' ', amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", hellip: '…', ndash: '–', mdash: '—',
  bdquo: '„', rdquo: '”', ldquo: '“', lsquo: '‘', rsquo: '’', sbquo: '‚', laquo: '«', raquo: '»',
  euro: '€', copy: '©', reg: '®', trade: '™', deg: '°', middot: '·', bull: '•', times: '×', shy: '',
  zwnj: '', zwj: '', oacute: 'ó', Oacute: 'Ó', aogon: 'ą', Aogon: 'Ą', eogon: 'ę', Eogon: 'Ę',
  cacute: 'ć', Cacute: 'Ć', lstrok: 'ł', Lstrok: 'Ł', nacute: 'ń', Nacute: 'Ń', sacute: 'ś',
  Sacute: 'Ś', zacute: 'ź', Zacute: 'Ź', zdot: 'ż', Zdot: 'Ż', uuml: 'ü', ouml: 'ö', auml: 'ä',
};

export function decodeEntities(s: string): string {
  return s.replace(/&(#x[0-9a-f]{1,6}|#[0-9]{1,7}|[a-z][a-z0-9]{1,31});/gi, (whole, name: string) => {
    if (name[0] === '#') {
      const cp = name[1] === 'x' || name[1] === 'X' ? parseInt(name.slice(2), 16) : parseInt(name.slice(1), 10);
      return cp > 0 && cp <= 0x10ffff && !(cp >= 0xd800 && cp <= 0xdfff) ? String.fromCodePoint(cp) : whole;
    }
    return NAMED_ENTITIES[name] ?? whole;
  });
}

const PARAGRAPH = new Set(['p', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'ul', 'ol', 'table', 'blockquote', 'pre', 'hr', 'dl']);
const LINE = new Set(['div', 'tr', 'section', 'article', 'header', 'footer', 'address', 'dt', 'dd', 'center', 'form', 'fieldset', 'figure', 'figcaption', 'caption']);
const DROPPED_WITH_CONTENT = /<(head|style|script|title|noscript|template)\b[\s\S]*?<\/\1\s*>/gi;

export interface HtmlConversion {
  text: string;
  /** Image sources (or alt texts) that plain text cannot carry. */
  images: string[];
  /** Links whose address was written out after their text. */
  links: number;
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

function attribute(attrs: string, name: string): string | null {
  const m = new RegExp(`\\b${name}\\s*=\\s*("([^"]*)"|'([^']*)'|([^\\s>]+))`, 'i').exec(attrs);
  return m ? decodeEntities(m[2] ?? m[3] ?? m[4] ?? '') : null;
}

/**
 * Converts a template's HTML to text a buyer can read in the Message Center: paragraphs become blank
 * lines, `<br>` a line break, list items "• " or "1. ", links keep their address in brackets, images
 * are reported (v3 cannot show them inline). Whitespace is collapsed as a browser would.
 */
export function htmlToText(html: string): HtmlConversion {
  const images: string[] = [];
  let links = 0;
  const out: string[] = [];
  const lists: { ordered: boolean; n: number }[] = [];
  const anchors: { href: string | null; start: number }[] = [];
  let preDepth = 0;

  const src = html.replace(/<!--[\s\S]*?-->/g, '').replace(DROPPED_WITH_CONTENT, '');
  const re = /<(\/?)([a-zA-Z][a-zA-Z0-9]*)\b((?:[^>"']|"[^"]*"|'[^']*')*)>/g;
  // Block breaks are markers resolved at the end, so "</p><p>" gives one blank line, not two; an
  // explicit <br> (and a line in <pre>) is a real newline and always counts.
  const BR = '\u0001';
  const PARA = '\u0002';
  const INDENT = '\u0003';
  const text = (raw: string) => {
    if (!raw) return;
    const decoded = decodeEntities(raw);
    out.push(preDepth > 0 ? decoded.replace(/\r\n?/g, '\n') : decoded.replace(/[ \t\r\n\f]+/g, ' '));
  };

  let last = 0;
  for (let m = re.exec(src); m; m = re.exec(src)) {
    text(src.slice(last, m.index));
    last = re.lastIndex;
    const closing = m[1] === '/';
    const tag = m[2]!.toLowerCase();
    const attrs = m[3] ?? '';
    if (tag === 'br') out.push('\n');
    else if (tag === 'img' && !closing) {
      // Reported, not written into the text: "Logo sklepu" alone on a line reads as a mistake.
      images.push(attribute(attrs, 'src') || attribute(attrs, 'alt') || '?');
    } else if (tag === 'li') {
      if (!closing) {
        const list = lists[lists.length - 1];
        const indent = INDENT.repeat(Math.max(0, lists.length - 1));
        out.push(BR, indent + (list?.ordered ? `${++list.n}. ` : '• '));
      }
    } else if (tag === 'ul' || tag === 'ol') {
      if (closing) lists.pop();
      else lists.push({ ordered: tag === 'ol', n: Math.max(0, Number(attribute(attrs, 'start') ?? 1) - 1) || 0 });
      out.push(lists.length > (closing ? 0 : 1) ? BR : PARA);
    } else if (tag === 'a') {
      if (!closing) anchors.push({ href: attribute(attrs, 'href'), start: out.length });
      else {
        const a = anchors.pop();
        if (a?.href && /^https?:\/\//i.test(a.href)) {
          const label = out.slice(a.start).join('').replace(/[\u0001\u0002\u0003\n]/g, ' ').trim();
          if (label !== a.href && label.replace(/\/$/, '') !== a.href.replace(/\/$/, '')) {
            out.push(` (${a.href})`);
            links++;
          }
        } else if (a?.href && /^(mailto|tel):/i.test(a.href)) {
          const tel = /^tel:/i.test(a.href);
          const target = safeDecode(a.href.replace(/^(mailto|tel):/i, '')).split('?')[0]!;
          const label = out.slice(a.start).join('');
          // "22 123 45 67" already says what tel:+48221234567 says.
          const shown = tel
            ? label.replace(/\D/g, '').length >= 6 && target.replace(/\D/g, '').endsWith(label.replace(/\D/g, ''))
            : label.replace(/\s/g, '').toLowerCase().includes(target.toLowerCase());
          if (!shown) {
            out.push(` (${target})`);
            links++;
          }
        }
      }
    } else if (tag === 'td' || tag === 'th') {
      if (closing) out.push(' ');
    } else if (tag === 'pre') {
      preDepth += closing ? -1 : 1;
      out.push(PARA);
    } else if (PARAGRAPH.has(tag)) out.push(PARA);
    else if (LINE.has(tag)) out.push(BR);
  }
  text(src.slice(last));

  const joined = out
    .join('')
    .replace(/ *\u0002[ \u0001\u0002]*/g, '\n\n')
    .replace(/ *\u0001[ \u0001]*/g, '\n');
  const lines = joined.split('\n').map((l) => l.replace(/^ +/, '').replace(/\u0003/g, '  ').replace(/ +$/, ''));
  const result = lines.join('\n').replace(/\n{3,}/g, '\n\n').trim();
  return { text: result, images, links };
}

export type TemplateProblemCode = 'html_converted' | 'links_written_out' | 'images_removed' | 'too_long' | 'empty' | 'subject_unused';

export interface TemplateProblem {
  code: TemplateProblemCode;
  /** Blocking problems must be fixed by the seller before the switch. */
  blocking: boolean;
  count?: number;
  images?: string[];
}

export interface TemplateSource {
  name: string;
  subject: string;
  body: string;
  bodyFormat: 'html' | 'text';
}

export interface TemplatePreflight {
  /** The plain text v3 would send, before the seller edits it. */
  converted: string;
  length: number;
  problems: TemplateProblem[];
  ok: boolean;
}

/** Checks one text (converted or edited) against the Message Center's limits. */
export function textProblems(text: string): TemplateProblem[] {
  const problems: TemplateProblem[] = [];
  const length = textLength(text);
  if (!text.trim()) problems.push({ code: 'empty', blocking: true });
  if (length > V3_MAX_TEXT) problems.push({ code: 'too_long', blocking: true, count: length - V3_MAX_TEXT });
  return problems;
}

/** Everything that changes for one template in v3, and the converted text to start from. */
export function preflightTemplate(t: TemplateSource): TemplatePreflight {
  const problems: TemplateProblem[] = [];
  let converted = normalizeNewlines(t.body).trim();
  if (t.bodyFormat === 'html') {
    const c = htmlToText(t.body);
    converted = c.text;
    problems.push({ code: 'html_converted', blocking: false });
    if (c.links) problems.push({ code: 'links_written_out', blocking: false, count: c.links });
    if (c.images.length) problems.push({ code: 'images_removed', blocking: false, count: c.images.length, images: c.images });
  }
  if (t.subject.trim()) problems.push({ code: 'subject_unused', blocking: false });
  problems.push(...textProblems(converted));
  return { converted, length: textLength(converted), problems, ok: !problems.some((p) => p.blocking) };
}

/** Fingerprint of a template, so a draft made from an older version of it is not used. */
export const templateHash = (t: Pick<ReplyTemplate, 'name' | 'subject' | 'body' | 'bodyFormat'>) =>
  createHash('sha256').update(JSON.stringify([t.name, t.subject, t.body, t.bodyFormat])).digest('hex');
