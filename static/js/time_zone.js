// A person's time zone, from their browser, once: the page carries the form (templates/channels_app/_time_zone_detect.html)
// only while they have none; the server keeps the first report and ignores later ones (views/time_zone.py).
(function () {
  "use strict";
  const form = document.getElementById("time-zone-detect");
  if (!form || !window.fetch || !window.Intl || !window.sessionStorage) return;
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  // A zone the server does not know answers 400: try again next session, not on every page.
  if (!zone || sessionStorage.getItem("time-zone-reported") === zone) return;
  form.elements.time_zone.value = zone;
  const body = new FormData(form);
  fetch(form.action, {
    method: "POST",
    body: body,
    credentials: "same-origin",
    headers: { "X-CSRFToken": body.get("csrfmiddlewaretoken"), "X-Requested-With": "fetch" },
  }).then(function () {
    // No reload: the next page shows times in the new zone, and a reload could cut short a click already made.
    sessionStorage.setItem("time-zone-reported", zone);
  }).catch(function () {}); // offline: the next page tries again
})();
