// Progressive enhancement for two seller pages; every page works fully without it.
// - v3 templates: a live character counter (the server counts again on save, and is the authority).
// - "I do not see App passwords": a button that copies the message for the Workspace administrator.
// Texts come from data attributes rendered in the page's language; nothing here is translated.
(function () {
  'use strict';

  // Characters as the Message Center counts them (src/v3/templates.ts textLength): code points,
  // with a line break (CRLF, CR or LF) as one character.
  function textLength(text) {
    var n = 0;
    var s = text.replace(/\r\n?/g, '\n');
    for (var i = 0; i < s.length; i++) {
      var c = s.charCodeAt(i);
      if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
        var d = s.charCodeAt(i + 1);
        if (d >= 0xdc00 && d <= 0xdfff) i++;
      }
      n++;
    }
    return n;
  }

  function fill(template, values) {
    return template.replace(/\{(\w+)\}/g, function (_, name) {
      return Object.prototype.hasOwnProperty.call(values, name) ? String(values[name]) : '';
    });
  }

  var form = document.querySelector('form.templates');
  var lang = (form && form.getAttribute('data-lang')) || document.documentElement.lang || 'pl';
  var plural = typeof Intl !== 'undefined' && Intl.PluralRules ? new Intl.PluralRules(lang) : null;
  var number = typeof Intl !== 'undefined' && Intl.NumberFormat ? new Intl.NumberFormat(lang) : null;
  var fmt = function (n) { return number ? number.format(n) : String(n); };

  var counters = document.querySelectorAll('[data-counter-for]');
  Array.prototype.forEach.call(counters, function (counter) {
    var field = document.getElementById(counter.getAttribute('data-counter-for'));
    if (!field) return;
    var status = document.querySelector('[data-counter-status="' + field.id + '"]');
    var max = Number(field.getAttribute('data-max')) || 2000;
    var wasOver = null;
    function update() {
      var length = textLength(field.value);
      var over = length - max;
      var text;
      if (over > 0) {
        var form = plural ? plural.select(over) : 'other';
        var template = counter.getAttribute('data-over-' + form) || counter.getAttribute('data-over-other');
        text = fill(template, { length: fmt(length), max: fmt(max), over: fmt(over) });
      } else {
        text = fill(counter.getAttribute('data-fits'), { length: fmt(length), max: fmt(max) });
      }
      counter.textContent = text;
      counter.classList.toggle('over', over > 0);
      // The server's message from the last save ("za długi o 234 znaki") no longer holds once the
      // text fits: hide it while it fits, show it again if the text grows back.
      var fits = over <= 0 && field.value.trim() !== '';
      Array.prototype.forEach.call(document.querySelectorAll('[id="' + field.id + '-error"]'), function (e) { e.hidden = fits; });
      if (field.hasAttribute('data-was-invalid') || field.getAttribute('aria-invalid') === 'true') {
        field.setAttribute('data-was-invalid', '');
        field.setAttribute('aria-invalid', fits ? 'false' : 'true');
      }
      // Screen readers hear the counter only when the text crosses the limit, not at every key.
      if (status && wasOver !== null && wasOver !== over > 0) status.textContent = text;
      wasOver = over > 0;
    }
    field.addEventListener('input', update);
    update();
  });

  var copyButtons = document.querySelectorAll('button[data-copy]');
  Array.prototype.forEach.call(copyButtons, function (button) {
    var source = document.getElementById(button.getAttribute('data-copy'));
    var status = document.querySelector('[data-copy-status="' + button.getAttribute('data-copy') + '"]');
    if (!source) return;
    button.hidden = false;
    button.addEventListener('click', function () {
      var done = function () { if (status) status.textContent = button.getAttribute('data-copied') || ''; };
      if (navigator.clipboard && navigator.clipboard.writeText) {
        navigator.clipboard.writeText(source.value).then(done, function () { source.select(); });
      } else {
        source.select();
        try { if (document.execCommand('copy')) done(); } catch (e) { /* the text stays selected: copy by hand */ }
      }
    });
  });
})();
