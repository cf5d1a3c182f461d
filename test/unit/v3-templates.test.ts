import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeEntities, htmlToText, preflightTemplate, textLength, V3_MAX_TEXT } from '../../src/v3/templates.js';

test('HTML becomes readable text: paragraphs, line breaks, lists, links, entities', () => {
  const html = `<html><head><style>p{color:red}</style><title>x</title></head><body>
    <h2>Zwroty</h2><p>Dzień&nbsp;dobry,<br>dziękujemy &ndash; <b>bardzo</b>!</p>
    <ol><li>Wypełnij formularz</li><li>Nadaj paczkę<ul><li>InPost</li><li>DPD</li></ul></li></ol>
    <p>Szczegóły: <a href="https://allegro.pl/zwroty">tutaj</a>, <a href="https://allegro.pl/">https://allegro.pl/</a>,
    tel. <a href="tel:+48221234567">22 123 45 67</a>, <a href="mailto:sklep@example.pl">napisz</a>.</p>
    <script>alert(1)</script><!-- komentarz --></body></html>`;
  const { text, links, images } = htmlToText(html);
  assert.equal(
    text,
    [
      'Zwroty',
      '',
      'Dzień dobry,',
      'dziękujemy – bardzo!',
      '',
      '1. Wypełnij formularz',
      '2. Nadaj paczkę',
      '  • InPost',
      '  • DPD',
      '',
      'Szczegóły: tutaj (https://allegro.pl/zwroty), https://allegro.pl/, tel. 22 123 45 67, napisz (sklep@example.pl).',
    ].join('\n'),
  );
  assert.equal(links, 2);
  assert.deepEqual(images, []);
});

test('images are reported, not written into the text; entities decode, unknown ones stay', () => {
  const r = htmlToText('<p><img src="https://x/logo.png" alt="Logo"> Witaj</p><img alt="tylko alt">');
  assert.equal(r.text, 'Witaj');
  assert.deepEqual(r.images, ['https://x/logo.png', 'tylko alt']);
  assert.equal(decodeEntities('&oacute;&#x142;&#243;d&zdot; &bogus; &#0;'), 'ółódż &bogus; &#0;');
});

test('length is counted as the Message Center counts: code points, CRLF as one', () => {
  assert.equal(textLength('ąę'), 2);
  assert.equal(textLength('a\r\nb'), 3);
  assert.equal(textLength('👍'), 1);
});

test('preflight: a long template is reported with how much to cut, and never cut', () => {
  const body = 'Zdanie o zwrotach i reklamacjach. '.repeat(80);
  const p = preflightTemplate({ name: 'Długi', subject: '', body, bodyFormat: 'text' });
  assert.equal(p.converted, body.trim());
  assert.equal(p.ok, false);
  const tooLong = p.problems.find((x) => x.code === 'too_long')!;
  assert.equal(tooLong.blocking, true);
  assert.equal(tooLong.count, textLength(body.trim()) - V3_MAX_TEXT);

  const html = preflightTemplate({ name: 'HTML', subject: 'Re: {{temat}}', body: '<p>Hej <a href="https://a.pl/x">link</a><img src="i.png"></p>', bodyFormat: 'html' });
  assert.deepEqual(html.problems.map((x) => x.code), ['html_converted', 'links_written_out', 'images_removed', 'subject_unused']);
  assert.equal(html.ok, true);

  const empty = preflightTemplate({ name: 'Pusty', subject: '', body: '<p><img src="a.png"></p>', bodyFormat: 'html' });
  assert.equal(empty.ok, false);
  assert.ok(empty.problems.some((x) => x.code === 'empty' && x.blocking));
});
