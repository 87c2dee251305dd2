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

/* Notifications: subscribe this browser (the settings page's button). */
(function () {
  "use strict";
  var box = document.getElementById("push-setup");
  if (!box || !("serviceWorker" in navigator) || !("PushManager" in window)) return;
  var button = document.getElementById("push-on");
  document.getElementById("push-needs-js").hidden = true;
  button.hidden = false;

  function keyBytes(b64) {
    var s = (b64 + "===".slice((b64.length + 3) % 4)).replace(/-/g, "+").replace(/_/g, "/");
    var raw = atob(s), out = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) out[i] = raw.charCodeAt(i);
    return out;
  }
  function csrf() {
    try { return JSON.parse(document.body.getAttribute("hx-headers"))["X-CSRFToken"]; }
    catch (e) { return ""; }
  }
  button.addEventListener("click", function () {
    Notification.requestPermission().then(function (permission) {
      if (permission !== "granted") throw new Error("denied");
      return navigator.serviceWorker.ready;
    }).then(function (reg) {
      return reg.pushManager.subscribe({
        userVisibleOnly: true, applicationServerKey: keyBytes(box.dataset.publicKey)
      });
    }).then(function (sub) {
      return fetch(box.dataset.subscribeUrl, {
        method: "POST", credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRFToken": csrf() },
        body: JSON.stringify(sub.toJSON())
      });
    }).then(function (res) {
      if (!res.ok) throw new Error("refused");
      document.getElementById("push-done").hidden = false;
      button.hidden = true;
    }).catch(function () {
      document.getElementById("push-failed").hidden = false;
    });
  });
})();

/* Offline indicator and install prompt (issue #8): the words are in the page. */
(function () {
  "use strict";
  var note = document.getElementById("offline-note");
  function connection() { if (note) note.hidden = navigator.onLine !== false; }
  window.addEventListener("online", connection);
  window.addEventListener("offline", connection);
  connection();

  var install = document.getElementById("install");
  if (!install) return;
  var offer = null;
  window.addEventListener("beforeinstallprompt", function (event) {
    event.preventDefault();  // offered by our button, when the person wants it
    offer = event;
    install.hidden = false;
  });
  install.querySelector("button").addEventListener("click", function () {
    if (!offer) return;
    install.hidden = true;
    offer.prompt();
    offer = null;
  });
  window.addEventListener("appinstalled", function () { install.hidden = true; });
})();
