import { createHash } from 'node:crypto';
import type { ReplyTemplate } from '../domain/model.js';
/**
 * What a reply template must become to work in version 3. The Allegro Message Center takes plain
 * text only, at most 2000 characters a message (NewMessageInThread.text, maxLength 2000), and
 * attachments only as uploaded images or PDFs up to 5 MB. HTML is converted to readable text here;
 * nothing is ever cut: a text that is too long is reported and the seller shortens it.
 */

import { DecodingMode, EntityDecoder, htmlDecodeTree, replaceCodePoint } from 'entities/decode';
import { createRequire } from 'node:module';
import type { compile as Compile, FormatCallback } from 'html-to-text';

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

/**
 * Decodes HTML character references with the decoder htmlparser2 itself uses (`entities`), strictly:
 * only references closed by ";". A name it does not know, and a numeric reference that names no
 * character (`&#0;`, a surrogate, past U+10FFFF), stay as written rather than becoming "\uFFFD".
 */
export function decodeEntities(s: string): string {
  let decoded = '';
  let namesCharacter = true;
  const decoder = new EntityDecoder(htmlDecodeTree, (cp) => (decoded += String.fromCodePoint(cp)), {
    missingSemicolonAfterCharacterReference() {},
    absenceOfDigitsInNumericCharacterReference() {},
    validateNumericCharacterReference(code) {
      namesCharacter = code === 0xfffd || replaceCodePoint(code) !== 0xfffd;
    },
  });
  let out = '';
  let copied = 0;
  for (let amp = s.indexOf('&'); amp >= 0; amp = s.indexOf('&', amp + 1)) {
    decoded = '';
    namesCharacter = true;
    decoder.startEntity(DecodingMode.Strict);
    const length = decoder.write(s, amp + 1);
    if (length <= 0 || !namesCharacter) continue;
    out += s.slice(copied, amp) + decoded;
    copied = amp + length;
  }
  return out + s.slice(copied);
}

export interface HtmlConversion {
  text: string;
  /** Image sources (or alt texts) that plain text cannot carry. */
  images: string[];
  /** Links whose address was written out after their text. */
  links: number;
}

/**
 * What the formatters collect during one conversion, handed to html-to-text as the document's
 * metadata. @types/html-to-text (written for 9) leaves out that argument of the compiled function and
 * the builder's `metadata`, though html-to-text 9 and 10 have both: hence the two casts below.
 */
interface Found {
  images: string[];
  links: number;
}
type Builder = Parameters<FormatCallback>[2];
const found = (builder: Builder) => (builder as Builder & { metadata: Found }).metadata;

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** The address to write after a link's text, or null when the text already says it or a buyer could not follow it. */
function addressToWrite(href: string, label: string): string | null {
  let url: URL;
  try {
    url = new URL(href);
  } catch {
    return null; // relative or broken: there is no page to name
  }
  if (url.protocol === 'http:' || url.protocol === 'https:') {
    const bare = (s: string) => (s.endsWith('/') ? s.slice(0, -1) : s);
    return bare(label) === bare(href) ? null : href;
  }
  if (url.protocol === 'mailto:') {
    const address = safeDecode(url.pathname);
    return label.toLowerCase().includes(address.toLowerCase()) ? null : address;
  }
  if (url.protocol === 'tel:') {
    const number = safeDecode(url.pathname);
    const digits = (s: string) => s.replace(/\D/g, '');
    // "22 123 45 67" already says what tel:+48221234567 says.
    return digits(label).length >= 6 && digits(number).endsWith(digits(label)) ? null : number;
  }
  return null;
}

/** html-to-text writes links as "text [address]" and always; here as "text (address)", only when the text does not say it. */
const link: FormatCallback = (elem, walk, builder) => {
  let label = '';
  builder.pushWordTransform((word) => ((label += word), word));
  walk(elem.children, builder);
  builder.popWordTransform();
  const address = addressToWrite(String(elem.attribs?.href ?? '').trim(), label);
  if (!address) return;
  builder.addInline(label ? ` (${address})` : address, { noWordTransform: true });
  found(builder).links++;
};

/** Reported, not written into the text: "Logo sklepu" alone on a line reads as a mistake. */
const image: FormatCallback = (elem, _walk, builder) => {
  found(builder).images.push(elem.attribs?.src || elem.attribs?.alt || '?');
};

/**
 * "• " or "1. " (from `start`) before each item. A nested list, and an item's further lines, are
 * indented by two spaces whatever the marker's width: the Message Center's font is proportional, so
 * html-to-text's alignment under the marker would not line up anyway.
 */
const list: FormatCallback = (elem, walk, builder) => {
  const nested = elem.parent?.name === 'li';
  const start = Number(elem.attribs?.start ?? 1);
  let n = Number.isInteger(start) && start > 0 ? start : 1;
  builder.openBlock({ leadingLineBreaks: nested ? 1 : 2 });
  for (const child of elem.children) {
    if (child.name !== 'li') {
      walk([child], builder);
      continue;
    }
    const marker = elem.name === 'ol' ? `${n++}. ` : '• ';
    builder.openBlock({ leadingLineBreaks: 1 });
    walk(child.children, builder);
    builder.closeBlock({
      trailingLineBreaks: 1,
      blockTransform: (text) => (text ? marker + text.split('\n').map((line, i) => (i && line ? `  ${line}` : line)).join('\n') : marker.trimEnd()),
    });
  }
  builder.closeBlock({ trailingLineBreaks: nested ? 1 : 2 });
};

/** A cell ends with a space, so a row "<td>Termin</td><td>14 dni</td>" reads "Termin 14 dni" on one line. */
const cell: FormatCallback = (elem, walk, builder) => {
  walk(elem.children, builder);
  builder.addInline(' ');
};

const block = (lineBreaks: number) => (selector: string) => ({
  selector,
  format: 'block',
  options: { leadingLineBreaks: lineBreaks, trailingLineBreaks: lineBreaks },
});

/**
 * html-to-text is loaded at the first conversion, synchronously, rather than at the server's start
 * (its parser is a noticeable part of a start, and most starts convert nothing for a while).
 */
let converter: ((html: string, metadata: Found) => string) | undefined;
const convert = (html: string, metadata: Found) => (converter ??= makeConverter())(html, metadata);
const makeConverter = () => (createRequire(import.meta.url)('html-to-text') as { compile: typeof Compile }).compile({
  wordwrap: false, // the Message Center wraps; a line break added here would count as a character
  limits: { maxInputLength: Number.POSITIVE_INFINITY }, // html-to-text cuts at 16 MiB by default; nothing is ever cut
  // A non-breaking space is a space to the buyer (and collapses like one); a soft hyphen is invisible but would count.
  whitespaceCharacters: ' \t\r\n\f\u200b\u00a0',
  encodeCharacters: { '\u00ad': '' },
  formatters: { link, image, list, cell },
  selectors: [
    { selector: 'a', format: 'link' },
    { selector: 'img', format: 'image' },
    { selector: 'ul', format: 'list' },
    { selector: 'ol', format: 'list' },
    { selector: 'td', format: 'cell' },
    { selector: 'th', format: 'cell' },
    // Plain paragraphs rather than html-to-text's upper-cased headings, "> " quotes, dashed rules and
    // column-aligned tables, none of which read well in a proportional font.
    ...['h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'blockquote', 'hr', 'dl', 'table'].map(block(2)),
    ...['tr', 'dt', 'dd', 'center', 'address', 'fieldset', 'figure', 'figcaption', 'caption'].map(block(1)),
    // A template is often a whole e-mail document; its head is not part of the message.
    ...['head', 'title', 'noscript', 'template'].map((selector) => ({ selector, format: 'skip' })),
  ],
}) as (html: string, metadata: Found) => string;

/**
 * Converts a template's HTML to text a buyer can read in the Message Center (html-to-text over
 * htmlparser2): paragraphs become blank lines, `<br>` a line break, list items "• " or "1. ", links
 * keep their address in brackets, images are reported (v3 cannot show them inline). Whitespace is
 * collapsed as a browser would.
 */
export function htmlToText(html: string): HtmlConversion {
  const metadata: Found = { images: [], links: 0 };
  // At most one blank line in a row and none at either end, as a browser shows a trailing <br> or an
  // empty block: spacer paragraphs (<p>&nbsp;</p>) and rules would otherwise add empty lines, each
  // counted toward the 2000.
  const text = convert(html, metadata).replace(/\n{3,}/g, '\n\n').replace(/^\n+|\n+$/g, '');
  return { text, images: metadata.images, links: metadata.links };
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
