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

/* Read aloud (DESIGN.md 3.7): the page's main text, spoken by the phone.
   Only a voice on the phone itself is used (localService): a voice that runs
   on someone's server would send them what the page says. No such voice for
   the page's language (Krio, often Dari): no button.
   The speaker buttons beside key phrases (issue #23, webapp/voice) play the
   organisation's recording of the phrase when the page has one (its <audio
   preload="none"> fetches nothing before the tap), else read the phrase with
   the same phone voice, else stay hidden. */
(function () {
  "use strict";
  var box = document.getElementById("read-aloud");
  var speech = window.speechSynthesis;
  var canSpeak = !!(speech && window.SpeechSynthesisUtterance);
  var lang = document.documentElement.lang.toLowerCase();
  var voice = null, playing = null;
  var says = Array.prototype.slice.call(document.querySelectorAll(".say-button"));
  var button = box && box.querySelector("button"), label = button && button.querySelector("span");
  var readLabel = label ? label.textContent : "";

  function clipOf(b) {
    var next = b.nextElementSibling;
    return next && next.tagName === "AUDIO" ? next : null;
  }

  function pickVoice() {
    var exact = null, near = null, base = lang.split("-")[0];
    speech.getVoices().forEach(function (v) {
      if (!v.localService) return;
      var tag = v.lang.replace("_", "-").toLowerCase();
      if (tag === lang && !exact) exact = v;
      if (tag.split("-")[0] === base && !near) near = v;
    });
    voice = exact || near;
    says.forEach(function (b) { if (!clipOf(b)) b.hidden = !voice; });
    if (!box) return;
    box.hidden = !voice;
    document.body.classList.toggle("reads-aloud", !!voice);
  }

  function pageText() {
    var parts = [];
    Array.prototype.forEach.call(document.getElementById("main").children, function (el) {
      if (el === box || el.hidden || el.hasAttribute("data-no-read")) return;
      parts.push(el.innerText);
    });
    // One sentence or line at a time: long utterances stop early on Android.
    return parts.join("\n").replace(/([.!?؟۔])\s+/g, "$1\n").split(/\n+/).map(function (s) {
      return s.trim();
    }).filter(Boolean);
  }

  function say(parts, done) {
    parts.forEach(function (text, i) {
      var u = new SpeechSynthesisUtterance(text);
      u.lang = voice.lang;
      u.voice = voice;
      if (i === parts.length - 1 && done) u.onend = done;
      speech.speak(u);
    });
  }

  function stop() {
    if (playing) { playing.pause(); playing.currentTime = 0; playing = null; }
    if (canSpeak) speech.cancel();
    if (label) label.textContent = readLabel;
  }

  says.forEach(function (b) {
    var clip = clipOf(b);
    if (clip) b.hidden = false;
    b.addEventListener("click", function () {
      var again = clip && playing === clip;
      stop();
      if (again) return;  // a second tap stops it
      if (clip) {
        playing = clip;
        clip.onended = function () { playing = null; };
        var started = clip.play();
        if (started && started.catch) started.catch(function () { playing = null; });
      } else if (voice) {
        // The phrase is the text of the element the button sits in.
        say([b.parentNode.parentNode.innerText.trim()]);
      }
    });
  });

  if (button) button.addEventListener("click", function () {
    if (canSpeak && (speech.speaking || speech.pending)) { stop(); return; }
    if (playing) { playing.pause(); playing = null; }
    var parts = pageText();
    say(parts, function () { label.textContent = readLabel; });
    if (parts.length) label.textContent = button.getAttribute("data-stop");
  });
  window.addEventListener("pagehide", stop);
  if (!canSpeak) return;
  pickVoice();
  if ("onvoiceschanged" in speech) speech.addEventListener("voiceschanged", pickVoice);
})();

/* Places nearest first (issue #22): only when the person asks, and only with
   the browser's permission. The position is used here on the phone to sort
   the list and is never sent anywhere. Without JavaScript or a position the
   list stays by town and name. */
(function () {
  "use strict";
  var box = document.getElementById("nearest");
  var list = document.querySelector("ul.places");
  if (!box || !list || !navigator.geolocation) return;
  var items = Array.prototype.slice.call(list.querySelectorAll("li[data-lat]"));
  if (!items.length) return;
  var status = box.querySelector("[role=status]");
  box.hidden = false;

  function km(a, b, c, d) {
    var r = Math.PI / 180, x = Math.sin((c - a) * r / 2), y = Math.sin((d - b) * r / 2);
    var h = x * x + Math.cos(a * r) * Math.cos(c * r) * y * y;
    return 12742 * Math.asin(Math.sqrt(h));
  }

  box.querySelector("button").addEventListener("click", function () {
    status.textContent = box.getAttribute("data-wait");
    navigator.geolocation.getCurrentPosition(function (pos) {
      var lat = pos.coords.latitude, lon = pos.coords.longitude;
      items.forEach(function (li) {
        li.distance = km(lat, lon, parseFloat(li.getAttribute("data-lat")),
                         parseFloat(li.getAttribute("data-lon")));
        var span = li.querySelector(".distance");
        span.textContent = box.getAttribute("data-km").replace("{n}", li.distance < 10
          ? li.distance.toFixed(1) : Math.round(li.distance));
        span.hidden = false;
      });
      items.sort(function (p, q) { return p.distance - q.distance; })
        .reverse().forEach(function (li) { list.insertBefore(li, list.firstChild); });
      status.textContent = box.getAttribute("data-done");
    }, function () {
      status.textContent = box.getAttribute("data-failed");
    }, { maximumAge: 600000, timeout: 20000 });
  });
})();

/* "I need help now" offline (issue #18). Every returnee page asks the service
   worker to keep a copy of the help page (once: it keeps it until sign-in or
   sign-out, or until a page names another organisation's numbers, data-keep),
   so that it opens without a connection. A report made there
   offline waits in the queue; the page says so in plain words (and so does
   the safety plan's "I need to use it", data-urgent, issue #22). */
(function () {
  "use strict";
  var link = document.querySelector("a.help-now-link[data-keep]");
  if (link && navigator.onLine !== false && "serviceWorker" in navigator) {
    navigator.serviceWorker.ready.then(function (reg) {
      if (reg.active) reg.active.postMessage({ type: "footing-keep-help", url: link.href,
                                               version: link.getAttribute("data-keep") });
    }).catch(function () {});
  }
  window.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.hasAttribute || !(form.hasAttribute("data-help-now") || form.hasAttribute("data-help-phone")
                                || form.hasAttribute("data-urgent"))) return;
    var note = document.getElementById("help-queued");
    if (note && navigator.onLine === false) note.hidden = false;
  }, true);
})();
