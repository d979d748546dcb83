// While a backfill runs, refresh its progress panel every two seconds; when it is
// gone (the import finished) reload once so the receipt and messages show.
(function () {
  function poll() {
    var panel = document.getElementById("backfill-progress");
    if (!panel) return;
    fetch(panel.dataset.src, { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
      .then(function (html) {
        if (!html.trim()) { window.location.reload(); return; }
        panel.outerHTML = html;
        setTimeout(poll, 2000);
      })
      .catch(function () {});
  }
  setTimeout(poll, 2000);
})();
