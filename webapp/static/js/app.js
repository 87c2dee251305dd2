/* Footing: small enhancements on top of pages that work without JavaScript. */
(function () {
  "use strict";

  // Quick exit: leave without a history entry to come back to.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.classList || !form.classList.contains("quick-exit")) return;
    event.preventDefault();
    try {
      fetch(form.action, { method: "POST", credentials: "same-origin", keepalive: true });
    } catch (e) { /* leaving matters more than signing out cleanly */ }
    window.location.replace(form.getAttribute("data-exit-url"));
  }, true);

  // An activation QR code carries the code in the URL fragment (never sent
  // to the server): put it into the field and drop it from the address bar.
  var codeInput = document.getElementById("code");
  if (codeInput && location.hash.indexOf("#code=") === 0) {
    codeInput.value = decodeURIComponent(location.hash.slice(6));
    history.replaceState(null, "", location.pathname);
  }

  if ("serviceWorker" in navigator) {
    window.addEventListener("load", function () {
      navigator.serviceWorker.register("/sw.js", { scope: "/" }).catch(function () {});
    });
  }
})();
