import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createI18n } from '../../src/i18n/index.js';
import { createMailRenderer } from '../../src/mail/render.js';

test('the sign-in e-mail comes from views/mail/ in the seller language, with the text it had when it was built by hand', async () => {
  const i18n = await createI18n();
  const mail = createMailRenderer(i18n);
  const link = 'https://migracja.example.pl/login/verify?token=a-b_c%2Fd&x=1';
  for (const lang of ['pl', 'en'] as const) {
    const t = i18n.t(lang);
    const m = mail.render('sign-in', lang, { name: 'Jan <b>& "Ola"', link });
    assert.equal(m.subject, t('mail.signIn.subject'));
    // The text part, as sign-in.ts used to join it line by line.
    const before = [t('mail.signIn.hello', { name: 'Jan <b>& "Ola"' }), '', t('mail.signIn.body'), '', link, '', t('mail.signIn.expiry'), t('mail.signIn.ignore')].join('\n');
    assert.equal(m.text.trimEnd(), before);
    // The HTML part: the same paragraphs, the name escaped, the link a working href.
    assert.match(m.html, new RegExp(`<html lang="${lang}">`));
    assert.ok(m.html.includes(`<p>${t('mail.signIn.hello', { name: 'Jan &lt;b&gt;&amp; &quot;Ola&quot;' })}</p>`), m.html);
    assert.ok(!m.html.includes('<b>&'), 'the name is escaped');
    assert.ok(m.html.includes(`<p>${t('mail.signIn.body')}</p>`));
    assert.match(m.html, /<a href="https:\/\/migracja\.example\.pl\/login\/verify\?token&#x3D;a-b_c%2Fd&amp;x&#x3D;1"[^>]*>/);
    assert.ok(m.html.includes(`>${t('mail.signIn.button')}</a>`));
    assert.ok(m.html.includes(`${t('mail.signIn.expiry')}<br>${t('mail.signIn.ignore')}`));
  }
});

test('reminders go through the same renderer: both parts, the subject and every text from the catalog', async () => {
  const i18n = await createI18n();
  const mail = createMailRenderer(i18n);
  const m = mail.render('reminder', 'en', {
    name: 'Ola',
    link: 'https://migracja.example.pl/login/verify?token=t',
    autoresponders: [{ name: 'Autoresponder (version 2)', mailbox: 'ola@gmail.com' }],
    deadline: '31 Mar 2027, 23:59',
    expiryHours: 72,
  });
  const t = i18n.t('en');
  assert.equal(m.subject, t('mail.reminder.subject'));
  for (const part of [m.text, m.html]) {
    assert.ok(part.includes(t('mail.reminder.hello', { name: 'Ola' })));
    assert.ok(part.includes('ola@gmail.com'));
    assert.ok(part.includes(t('mail.reminder.deadline', { date: '31 Mar 2027, 23:59' })));
    assert.ok(part.includes(t('mail.reminder.expiry', { hours: 72 })));
  }
  assert.match(m.text, /^- Autoresponder \(version 2\): ola@gmail\.com$/m);
});

test("every e-mail's templates exist and compile (they are compiled at first use, so this is where a broken one is caught); a missing one is named", async () => {
  const i18n = await createI18n();
  assert.doesNotThrow(() => createMailRenderer(i18n).checkAll());
  const missing = createMailRenderer(i18n, { dir: '/nonexistent-mail-templates' });
  assert.throws(() => missing.checkAll(), /ENOENT.*nonexistent-mail-templates/);
  assert.throws(() => missing.render('reminder', 'pl', {}), /ENOENT/, 'and a send fails (the outbox records it), never an empty e-mail');
});
