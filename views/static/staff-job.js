// A running bulk job's page follows its progress without reloading itself: every few seconds the page
// is fetched again and its live part (progress and counts) replaced; when the job has finished, the
// whole content is replaced once (the summary, "Ponów nieudane") and the fetching stops. Without this
// script the page has a link to refresh it. The texts come from the server in the page's language.
(function () {
  'use strict';
  var live = document.querySelector('[data-job-live]');
  if (!live || !window.fetch || !window.DOMParser) return;
  var every = Number(live.getAttribute('data-refresh-every')) || 3;
  var url = window.location.pathname;
  var stopped = false;
  function tick() {
    if (stopped) return;
    fetch(url, { credentials: 'same-origin', headers: { Accept: 'text/html' } })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) {
        if (!html) return;
        var doc = new DOMParser().parseFromString(html, 'text/html');
        var next = doc.querySelector('[data-job-live]');
        var main = document.querySelector('main');
        var nextMain = doc.querySelector('main');
        if (next && next.getAttribute('data-active') === '1') {
          live.innerHTML = next.innerHTML;
        } else if (main && nextMain) {
          // Finished: the whole page once (its summary and the retry), then no more fetching.
          stopped = true;
          main.innerHTML = nextMain.innerHTML;
          var status = document.querySelector('[data-job-live]');
          if (status) status.setAttribute('tabindex', '-1');
        }
      })
      .catch(function () { /* the next tick tries again; the link still works */ })
      .then(function () { if (!stopped) window.setTimeout(tick, every * 1000); });
  }
  window.setTimeout(tick, every * 1000);
})();
