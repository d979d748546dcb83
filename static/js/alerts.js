// Pop-up alerts (templates/channels_app/notifications/_popup.html): poll the server-rendered
// fragment so a problem shows on a page already open, and dismiss without leaving the page.
(function () {
  "use strict";
  const box = document.getElementById("alerts");
  if (!box || !box.dataset.src || !window.fetch) return;
  const interval = parseInt(box.dataset.interval, 10) || 4000;
  const headers = { "X-Requested-With": "fetch" };
  let timer = null;

  // CSRF tokens are re-masked on every render, so compare the alerts listed, not the raw HTML:
  // replacing unchanged content would steal focus from a button being used.
  function keyIn(root) {
    const list = root.querySelector("[data-key]");
    return list ? list.dataset.key : null;
  }

  function keyOf(html) {
    const holder = document.createElement("template");
    holder.innerHTML = html;
    return keyIn(holder.content);
  }

  // The fragment's HTML, or null when the server said anything but a plain 200
  // (a redirect to the sign-in page counts: the session is over).
  async function fetchFragment(url, options) {
    const response = await fetch(url, Object.assign({ credentials: "same-origin", headers: headers }, options));
    return response.status === 200 && !response.redirected ? response.text() : null;
  }

  function show(html) {
    // The live list, not box.innerHTML parsed again: whatever others added to the page (a style
    // attribute from an extension or a test's screenshot) would be parsed too and refused by our CSP.
    if (keyOf(html) !== keyIn(box)) box.innerHTML = html;
  }

  function poll() {
    if (timer === null || document.hidden) return; // a hidden tab catches up when shown again
    fetchFragment(box.dataset.src)
      .then(function (html) {
        if (html === null) { clearInterval(timer); timer = null; } else show(html);
      })
      .catch(function () {}); // a network blip: the next tick tries again
  }

  box.addEventListener("submit", function (event) {
    const form = event.target.closest("form[data-alert-dismiss]");
    if (!form) return;
    event.preventDefault();
    const body = new FormData(form);
    const withToken = Object.assign({ "X-CSRFToken": body.get("csrfmiddlewaretoken") }, headers);
    fetchFragment(form.action, { method: "POST", body: body, headers: withToken })
      .then(function (html) { if (html === null) form.submit(); else box.innerHTML = html; })
      .catch(function () { form.submit(); }); // fall back to the plain form post and redirect
  });

  timer = setInterval(poll, interval);
  document.addEventListener("visibilitychange", poll);
})();
