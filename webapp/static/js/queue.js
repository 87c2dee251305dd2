/* Footing offline queue (issue #8): a report made without a connection is
   kept on the phone and sent exactly once when the connection is back.

   Any <form method="post"> with a `client_uuid` field (or data-offline-queue)
   takes part. The same file runs in the page and in the service worker
   (importScripts), which share the IndexedDB store "footing"/"queue":

   - submit: the item {uuid, action, fields, owner} is written to IndexedDB
     first, then sent; the page stays usable whatever the network does.
   - send: GET /csrf for this session's token (the token in the page may
     belong to a session that ended hours ago), then POST the fields with it.
   - replay: Background Sync in the service worker, else on `online` and on
     every page load. One replay at a time (Web Locks where available); two at
     once would still store each report once, the server keys it by its UUID.
   - an item leaves the queue only when the server answered for its UUID:
     2xx/3xx = stored or already stored. 409 = this UUID is stored with other
     content (a form kept its UUID through Back and was changed): the item is
     a different report, so it gets a fresh UUID and is sent again. 400/403/404
     = refused as it is: dropped, and the person is asked to fill it in again.
     Network errors, 5xx and 429 keep it for later. 401 or a redirect to
     /signin (session ended) keep it and ask the person to sign in.
   - `owner` (a keyed hash from the server, see security.queue_owner) stops an
     item made by one person on a shared phone from being sent in the session
     of the next; it waits until its owner signs in again.

   Words come from data attributes rendered by the server: nothing here is
   English. */
(function (global) {
  "use strict";
  var DB = "footing", STORE = "queue", LOCK = "footing-queue";
  var Q = { syncTag: "footing-queue", csrfUrl: "/csrf" };

  function openDb() {
    return new Promise(function (resolve, reject) {
      var req = indexedDB.open(DB, 1);
      req.onupgradeneeded = function () { req.result.createObjectStore(STORE, { keyPath: "uuid" }); };
      req.onsuccess = function () { resolve(req.result); };
      req.onerror = function () { reject(req.error); };
    });
  }
  function store(mode, work) {
    return openDb().then(function (db) {
      return new Promise(function (resolve, reject) {
        var t = db.transaction(STORE, mode), req = work(t.objectStore(STORE));
        t.oncomplete = function () { db.close(); resolve(req && req.result); };
        t.onerror = t.onabort = function () { db.close(); reject(t.error); };
      });
    });
  }
  Q.items = function (owner) {
    return store("readonly", function (s) { return s.getAll(); }).then(function (all) {
      return all.filter(function (i) { return owner === undefined || i.owner === owner; })
        .sort(function (a, b) { return a.created - b.created; });
    });
  };
  // Sealed (static/js/vault.js) before it is stored: no report text at rest.
  function sealed(item) { return global.FootingVault ? global.FootingVault.seal(item) : Promise.resolve(item); }
  function readable(items) { return global.FootingVault ? global.FootingVault.readable(items) : items; }
  Q.put = function (item) {
    return sealed(item).then(function (kept) { return store("readwrite", function (s) { return s.put(kept); }); });
  };
  Q.remove = function (uuid) { return store("readwrite", function (s) { return s.delete(uuid); }); };
  Q.swap = function (item, uuid) {  // the same report under a new UUID, in one transaction
    return sealed(item).then(function (kept) {
      return store("readwrite", function (s) {
        s.delete(item.uuid);
        item.uuid = kept.uuid = uuid;
        return s.put(kept);
      });
    });
  };

  Q.newUuid = function () {
    var c = global.crypto;
    if (c.randomUUID) return c.randomUUID();
    var b = c.getRandomValues(new Uint8Array(16)), h = "";
    b[6] = (b[6] & 15) | 64; b[8] = (b[8] & 63) | 128;
    for (var i = 0; i < 16; i++) h += (b[i] + 256).toString(16).slice(1);
    return [h.slice(0, 8), h.slice(8, 12), h.slice(12, 16), h.slice(16, 20), h.slice(20)].join("-");
  };

  function locked(work) {
    var locks = global.navigator && global.navigator.locks;
    return locks ? locks.request(LOCK, work) : work();
  }

  // This session's token and owner, or {signin: true}, or {offline: true}.
  function session() {
    return fetch(Q.csrfUrl, { credentials: "same-origin", redirect: "manual", cache: "no-store",
                              headers: { Accept: "application/json" } })
      .then(function (res) {
        if (res.type === "opaqueredirect" || res.status === 401) return { signin: true };
        if (!res.ok) return { offline: true };
        return res.json();
      }, function () { return { offline: true }; });
  }

  function isSignin(res) {
    var path = new URL(res.url, global.location.href).pathname;
    return res.status === 401 || (res.redirected && /^\/(signin|activate)/.test(path));
  }

  // One POST: "sent" | "conflict" | "refused" | "signin" | "retry", with the response.
  function post(item, token) {
    var body = new URLSearchParams();
    item.fields.forEach(function (f) { body.append(f[0], f[0] === "client_uuid" ? item.uuid : f[1]); });
    body.append("csrf_token", token);
    return fetch(item.action, { method: "POST", body: body, credentials: "same-origin",
                                redirect: "follow", headers: { "X-CSRFToken": token } })
      .then(function (res) {
        var outcome = isSignin(res) ? "signin" : res.ok ? "sent" : res.status === 409 ? "conflict"
          : (res.status >= 500 || res.status === 429 || res.status === 408) ? "retry" : "refused";
        return { outcome: outcome, response: res };
      }, function () { return { outcome: "retry" }; });
  }

  function deliver(item, token) {
    return post(item, token).then(function (r) {
      if (r.outcome === "conflict" && (item.renewed || 0) < 3) {
        item.renewed = (item.renewed || 0) + 1;
        return Q.swap(item, Q.newUuid()).then(function () { return deliver(item, token); });
      }
      if (r.outcome === "sent" || r.outcome === "refused" || r.outcome === "conflict") {
        return Q.remove(item.uuid).then(function () { return r; });
      }
      return r;
    });
  }

  /* Send what is waiting for the signed-in person, oldest first. `first`
     (optional) is sent first and its answer returned as `firstResult`;
     `owner` (the page's, optional) counts what is left when nothing can be sent.
     Summary: {sent, refused, waiting, signin, offline}. */
  Q.replay = function (owner, first) {
    return locked(function () {
      var summary = { sent: 0, refused: 0, waiting: 0, signin: false, offline: false };
      return session().then(function (s) {
        if (s.signin || s.offline) {
          summary.signin = !!s.signin;
          summary.offline = !!s.offline;
          return Q.items(owner).then(function (left) {
            summary.waiting = left.length;
            return summary;
          });
        }
        return Q.items(s.owner).then(readable).then(function (items) {
          if (first) {
            items = items.filter(function (i) { return i.uuid !== first.uuid; });
            items.unshift(first);
          }
          return items.reduce(function (chain, item) {
            return chain.then(function () {
              if (summary.signin || summary.offline) return;
              return deliver(item, s.token).then(function (r) {
                if (item === first) summary.firstResult = r;
                if (r.outcome === "sent") summary.sent++;
                else if (r.outcome === "refused" || r.outcome === "conflict") summary.refused++;
                else if (r.outcome === "signin") summary.signin = true;
                else summary.offline = true;
              });
            });
          }, Promise.resolve()).then(function () { return Q.items(s.owner); }).then(function (left) {
            summary.waiting = left.length;
            return summary;
          });
        });
      });
    });
  };

  global.FootingQueue = Q;
  if (typeof document === "undefined") return;  // in the service worker: storage and replay only

  // --- The page ------------------------------------------------------------------------
  var status = document.getElementById("queue-status");
  var owner = status ? status.getAttribute("data-owner") : "";
  if (!owner || !global.indexedDB || !global.fetch || !global.URLSearchParams) return;

  function number(n) {
    try { return new Intl.NumberFormat(document.documentElement.lang).format(n); }
    catch (e) { return String(n); }
  }
  function show(summary) {
    var el = document.getElementById("queue-status");  // the body may have been replaced
    if (!el) return;
    var state = summary.refused ? "refused" : summary.waiting ? (summary.signin ? "signin" : "waiting")
      : summary.sent ? "sent" : "";
    el.hidden = !state;
    if (!state) return;
    el.querySelector("span").textContent =
      el.getAttribute("data-" + state).replace("{n}", number(summary.waiting));
    el.querySelector("a").hidden = state !== "signin";
    el.className = "flash" + (state === "refused" ? " flash-error" : "");
  }
  // The count of what waits here, with how the last replay went (if known).
  function refresh(summary) {
    var s = summary || {};
    return Q.items(owner).then(function (left) {
      show({ waiting: left.length, signin: !!s.signin, refused: s.refused, sent: s.sent });
    });
  }
  function askForSync() {
    if (!("serviceWorker" in navigator)) return;
    navigator.serviceWorker.ready.then(function (reg) {
      if (reg.sync) return reg.sync.register(Q.syncTag);
    }).catch(function () {});
  }
  function replayNow() {
    return Q.items(owner).then(function (mine) {
      if (!mine.length) return null;
      return Q.replay(owner).then(function (summary) {
        show(summary);
        if (summary.offline) askForSync();
        return summary;
      });
    }).catch(function () { return null; });
  }

  function freshUuids(root) {
    // Each page view gets its own UUIDs: a page read from the offline cache
    // would otherwise give two different reports the same one.
    var fields = root.querySelectorAll("form input[name=client_uuid]");
    for (var i = 0; i < fields.length; i++) fields[i].value = Q.newUuid();
  }
  function queueForm(form) {
    return form.method.toLowerCase() === "post" &&
      (form.hasAttribute("data-offline-queue") || !!form.querySelector("input[name=client_uuid]"));
  }
  function fieldsOf(form, submitter) {
    var data = new FormData(form), out = [];
    if (submitter && submitter.name) data.append(submitter.name, submitter.value);
    data.forEach(function (value, name) {
      if (name !== "csrf_token" && typeof value === "string") out.push([name, value]);
    });
    return out;
  }
  // Show the server's answer (the "received" page, or the form with its
  // errors) in place, as a normal form post would have.
  function showAnswer(res) {
    return res.text().then(function (html) {
      var doc = new DOMParser().parseFromString(html, "text/html");
      if (res.redirected) {
        history.pushState(null, "", res.url);
        // Back to the form's address: load it, as after a normal post.
        window.addEventListener("popstate", function () { location.reload(); }, { once: true });
      }
      document.title = doc.title;
      document.body.replaceWith(document.adoptNode(doc.body));
      if (global.htmx) global.htmx.process(document.body);
      var main = document.getElementById("main");
      if (main) main.focus();
    });
  }
  function waitingHere(form, summary) {
    form.reset();
    freshUuids(form.parentNode);
    show(summary);
    var el = document.getElementById("queue-status");
    if (el) el.scrollIntoView();
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form || !form.matches || !form.matches("form") || !queueForm(form)) return;
    // Ours from here on: htmx and the browser must not send it a second time.
    event.preventDefault();
    event.stopImmediatePropagation();
    var field = form.querySelector("input[name=client_uuid]");
    var item = { uuid: (field && field.value) || Q.newUuid(), action: form.action, owner: owner,
                 kind: form.getAttribute("data-offline-queue") || "", created: Date.now(),
                 fields: fieldsOf(form, event.submitter) };
    var buttons = form.querySelectorAll("button, input[type=submit]");
    for (var i = 0; i < buttons.length; i++) buttons[i].disabled = true;
    Q.put(item).then(function () {
      if (navigator.onLine === false) return { offline: true };
      return Q.replay(owner, item);
    }).then(function (summary) {
      for (var j = 0; j < buttons.length; j++) buttons[j].disabled = false;
      var r = summary.firstResult;
      if (r && (r.outcome === "sent" || r.outcome === "refused")) return showAnswer(r.response);
      if (summary.offline) askForSync();
      return Q.items(owner).then(function (left) {
        waitingHere(form, { waiting: left.length, signin: summary.signin, refused: summary.refused });
      });
    }).catch(function () {
      // IndexedDB unavailable (private mode quota, …): send it the plain way.
      for (var k = 0; k < buttons.length; k++) buttons[k].disabled = false;
      HTMLFormElement.prototype.submit.call(form);
    });
  }, true);

  window.addEventListener("online", replayNow);
  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.addEventListener("message", function (event) {
      if (event.data && event.data.type === "footing-queue") refresh(event.data.summary);
    });
  }
  freshUuids(document);
  refresh().then(function () { if (navigator.onLine !== false) return replayNow(); });
})(self);
