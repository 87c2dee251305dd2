/* Footing offline queue (issue #8): a report made without a connection is
   kept on the phone and sent exactly once when the connection is back.

   Any <form method="post"> with a `client_uuid` field (or data-offline-queue)
   takes part. The same file runs in the page and in the service worker
   (importScripts), which share the IndexedDB store "footing"/"queue":

   - submit: the item {uuid, action, fields, owner} is written to IndexedDB
     first, then sent; the page stays usable whatever the network does.
   - send: POST the fields with the page's own token (good for its whole
     session); only when the page has none (the service worker) or the server
     refuses it (X-CSRF-Refused: the page outlived its session) GET /csrf
     for this session's token first. Nothing waiting: no request at all.
     What the person is looking at (their submit) follows the redirect to the
     page it answers with; a replay in the background does not follow it
     (X-Footing-Replay, redirect "manual"): the server answers it with 204.
   - replay: Background Sync in the service worker, else on `online` and on
     every page load. One replay at a time (Web Locks where available); two at
     once would still store each report once, the server keys it by its UUID.
   - an item leaves the queue only when the server answered for its UUID:
     2xx/3xx = stored or already stored. 409 = this UUID is stored with other
     content (a form kept its UUID through Back and was changed): the item is
     a different report, so it gets a fresh UUID and is sent again. Any other
     4xx = refused as it is, for good (issue #18): never sent again; kept with
     the server's reason and shown on every page, where its text can be copied
     and it can be removed (when it was just sent from the page, the page shows
     the server's answer instead). Only network errors (kept, the replay stops),
     5xx and 429 (kept, sent again after a backoff: Retry-After, else 30 s
     doubling up to an hour) and 401 or a redirect to /signin (session ended:
     kept, the person is asked to sign in) are tried again.
   - `owner` (a keyed hash from the server, see security.queue_owner) stops an
     item made by one person on a shared phone from being sent in the session
     of the next; it waits until its owner signs in again.
   - help without the PIN (a form with data-help-phone, issues #18/#19): its
     item's owner is "phone": no session is needed, the server knows the
     person by the phone's binding cookie. It is sent first, signed in or
     not, with the page's token or one its own address gives (GET, Accept:
     application/json); it holds the kind and the UUID only, never sealed.

   Words come from data attributes rendered by the server: nothing here is
   English. */
(function (global) {
  "use strict";
  var DB = "footing", STORE = "queue", LOCK = "footing-queue";
  var Q = { syncTag: "footing-queue", csrfUrl: "/csrf", PHONE: "phone" };

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
  // As it is, not sealed again (vault.js's wipe keeps help-now's minimal part).
  Q.putAsIs = function (item) { return store("readwrite", function (s) { return s.put(item); }); };
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

  function isCsrfRefused(res) {
    return res.status === 400 && res.headers.get("X-CSRF-Refused") === "1";
  }

  function isSignin(res) {
    var path = new URL(res.url, global.location.href).pathname;
    return res.status === 401 || (res.redirected && /^\/(signin|activate)/.test(path));
  }

  // One POST: "sent" | "conflict" | "refused" | "signin" | "retry" | "offline" | "token",
  // with the response. `shown`: the person waits for its answer (followed); else a replay.
  function post(item, token, shown) {
    var body = new URLSearchParams();
    item.fields.forEach(function (f) { body.append(f[0], f[0] === "client_uuid" ? item.uuid : f[1]); });
    body.append("csrf_token", token);
    var headers = { "X-CSRFToken": token };
    if (!shown) headers["X-Footing-Replay"] = "1";
    return fetch(item.action, { method: "POST", body: body, credentials: "same-origin",
                                redirect: shown ? "follow" : "manual", headers: headers })
      .then(function (res) {
        var outcome = res.type === "opaqueredirect" ? "sent" : isSignin(res) ? "signin"
          : isCsrfRefused(res) ? "token" : res.ok ? "sent" : res.status === 409 ? "conflict"
          : (res.status >= 500 || res.status === 429) ? "retry" : "refused";
        return { outcome: outcome, response: res };
      }, function () { return { outcome: "offline" }; });
  }

  // When to send again after a 5xx or 429.
  Q.retryAt = function (item, res) {
    var after = res ? parseInt(res.headers.get("Retry-After") || "", 10) : NaN;
    var wait = after > 0 ? after * 1000 : Math.min(30000 * Math.pow(2, item.tries || 0), 3600000);
    return Date.now() + wait;
  };
  // The server's reason for refusing (a form's errors, or an error page's
  // message), as plain text. A regular expression: the service worker has no
  // DOMParser.
  Q.reason = function (html) {
    var found = [], h;
    function add(text) {
      text = text.replace(/\s+/g, " ").trim();
      if (text && found.indexOf(text) < 0) found.push(text);
    }
    html.split(/<ul class="errors"|class="flash flash-error"/).slice(1).forEach(function (chunk) {
      var m = /^([^>]*)>\s*(?:<(?:li|p)>)?([^<]+)</.exec(chunk);
      if (m && m[1].indexOf("hidden") < 0) add(m[2]);
    });
    if (!found.length && (h = /<h1>([^<]+)<\/h1>\s*<p>([^<]+)</.exec(html))) add(h[1] + ": " + h[2]);
    return found.join(" ").replace(/&#39;/g, "'").replace(/&#34;|&quot;/g, '"').replace(/&lt;/g, "<")
      .replace(/&gt;/g, ">").replace(/&amp;/g, "&");
  };
  Q.pending = function (items) { return items.filter(function (i) { return !i.gaveUp; }); };

  function giveUp(item, r) {
    var res = r.response;
    return res.text().catch(function () { return ""; }).then(function (html) {
      item.gaveUp = { status: res.status, reason: Q.reason(html), at: Date.now() };
      return Q.put(item);
    }).then(function () { return r; });
  }

  // `shown`: the page that just sent it shows a refusal itself.
  function deliver(item, token, shown) {
    return post(item, token, shown).then(function (r) {
      if (r.outcome === "conflict" && (item.renewed || 0) < 3) {
        item.renewed = (item.renewed || 0) + 1;
        return Q.swap(item, Q.newUuid()).then(function () { return deliver(item, token, shown); });
      }
      if (r.outcome === "refused" && !shown) return giveUp(item, r);
      if (r.outcome === "sent" || r.outcome === "refused" || r.outcome === "conflict") {
        return Q.remove(item.uuid).then(function () { return r; });
      }
      if (r.outcome === "retry") {
        item.retryAt = Q.retryAt(item, r.response);
        item.tries = (item.tries || 0) + 1;
        return Q.put(item).then(function () { return r; });
      }
      return r;
    });
  }

  /* Send what is waiting for the signed-in person, oldest first. `first`
     (optional) is sent first and its answer returned as `firstResult`;
     `owner` (the page's, optional) counts what is left when nothing can be sent;
     `page` (optional) is the page's {token, owner}, used instead of asking /csrf.
     Summary: {sent, refused, waiting, signin, offline, later}: `later`, a 5xx
     or 429 kept something for after its backoff. */
  Q.replay = function (owner, first, page) {
    return locked(function () {
      var phoneFirst = first && first.owner === Q.PHONE ? first : null;
      return replayPhone(phoneFirst, page).then(function (ps) {
        if (phoneFirst) return ps;
        return replayOwned(owner, first, page).then(function (summary) {
          summary.sent += ps.sent;
          summary.refused += ps.refused;
          summary.waiting += ps.waiting;
          summary.offline = summary.offline || ps.offline;
          summary.later = summary.later || ps.later;
          return summary;
        });
      });
    });
  };

  // A token for help without the PIN, from the form's own address; null offline.
  function phoneToken(item) {
    return fetch(item.action, { credentials: "same-origin", cache: "no-store",
                                headers: { Accept: "application/json" } })
      .then(function (res) { return res.ok ? res.json().then(function (j) { return j.token || null; }) : null; })
      .catch(function () { return null; });
  }

  // Help without the PIN (owner "phone"): `first`, then what waits, oldest first.
  function replayPhone(first, page) {
    var summary = { sent: 0, refused: 0, waiting: 0, signin: false, offline: false, later: false };
    var token = page && page.token ? page.token : null, renewed = false;
    function send(item) {
      return (token ? Promise.resolve(token) : phoneToken(item)).then(function (t) {
        if (!t) return { outcome: "offline" };
        token = t;
        return deliver(item, token, item === first).then(function (r) {
          if (r.outcome !== "token" || renewed) return r;
          renewed = true;  // the page's token is of a session that ended: a fresh one
          token = null;
          return send(item);
        });
      });
    }
    return Q.items(Q.PHONE).then(function (all) {
      var items = Q.pending(all).filter(function (i) { return !first || i.uuid !== first.uuid; });
      if (first) items.unshift(first);
      return items.reduce(function (chain, item) {
        return chain.then(function () {
          if (summary.offline) return;
          if (item !== first && item.retryAt && item.retryAt > Date.now()) {
            summary.later = true;
            return;
          }
          return send(item).then(function (r) {
            if (item === first) summary.firstResult = r;
            if (r.outcome === "sent") summary.sent++;
            else if (r.outcome === "refused" || r.outcome === "conflict") summary.refused++;
            else if (r.outcome === "retry") summary.later = true;
            else summary.offline = true;  // offline, or a token refused twice: later
          });
        });
      }, Promise.resolve());
    }).then(function () {
      return Q.items(Q.PHONE).then(function (left) {
        summary.waiting = Q.pending(left).length;
        return summary;
      });
    });
  }

  function replayOwned(owner, first, page) {
    var summary = { sent: 0, refused: 0, waiting: 0, signin: false, offline: false, later: false };
    return Q.items().then(function (all) {
      var owned = all.filter(function (i) { return i.owner !== Q.PHONE; });
      if (!Q.pending(owned).length && !first) return summary;  // nothing to send: no request
      return (page && page.token ? Promise.resolve(page) : session()).then(send);
    });
    function send(s) {
      if (s.signin || s.offline) {
        summary.signin = !!s.signin;
        summary.offline = !!s.offline;
        return Q.items(owner).then(function (left) {
          summary.waiting = Q.pending(left).length;
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
            if (summary.signin || summary.offline || summary.token || item.gaveUp) return;
            if (item !== first && item.retryAt && item.retryAt > Date.now()) {
              summary.later = true;
              return;
            }
            return deliver(item, s.token, item === first).then(function (r) {
              if (r.outcome === "token") { summary.token = true; return; }
              if (item === first) summary.firstResult = r;
              if (r.outcome === "sent") summary.sent++;
              else if (r.outcome === "refused" || r.outcome === "conflict") summary.refused++;
              else if (r.outcome === "signin") summary.signin = true;
              else if (r.outcome === "retry") summary.later = true;
              else summary.offline = true;
            });
          });
        }, Promise.resolve()).then(function () {
          if (summary.token) {
            summary.token = false;
            if (s === page) return session().then(send);  // the page outlived its session
            summary.offline = true;  // refused with a token from /csrf just now: later
          }
          return Q.items(s.owner).then(function (left) {
            summary.waiting = Q.pending(left).length;
            return summary;
          });
        });
      });
    }
  }

  global.FootingQueue = Q;
  if (typeof document === "undefined") return;  // in the service worker: storage and replay only

  // --- The page ------------------------------------------------------------------------
  var status = document.getElementById("queue-status");
  var owner = status ? status.getAttribute("data-owner") : "";
  if (!global.indexedDB || !global.fetch || !global.URLSearchParams) return;
  // What this page sends: its signed-in person's items (if any) and help
  // without the PIN (anyone's on this phone).
  function mine() {
    return Q.items().then(function (all) {
      return all.filter(function (i) { return i.owner === Q.PHONE || (owner && i.owner === owner); });
    });
  }

  // This page's token (the body may have been replaced since it loaded).
  function pageSession() {
    var token = "";
    try { token = JSON.parse(document.body.getAttribute("hx-headers"))["X-CSRFToken"] || ""; }
    catch (e) { token = ""; }
    return token ? { token: token, owner: owner } : null;
  }
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
  // What the queue gave up on (issue #18), with the server's reason; its
  // text can be copied (to send it another way) and it can be removed.
  function showGaveUp(items) {
    var box = document.getElementById("queue-gave-up");
    if (!box) return;
    var list = box.querySelector("ul"), gone = items.filter(function (i) { return i.gaveUp; });
    list.textContent = "";
    box.hidden = !gone.length;
    gone.forEach(function (item) {
      var li = document.createElement("li"), why = document.createElement("strong");
      why.textContent = item.gaveUp.reason || String(item.gaveUp.status);
      li.appendChild(why);
      var text = (item.fields || []).filter(function (f) {
        return (item.texts || []).indexOf(f[0]) >= 0 && f[1];
      }).map(function (f) { return f[1]; }).join("\n");
      if (text) {
        var area = document.createElement("textarea"), copy = document.createElement("button");
        area.readOnly = true;
        area.rows = 3;
        area.value = text;
        copy.type = "button";
        copy.className = "button secondary";
        copy.textContent = box.getAttribute("data-copy");
        copy.addEventListener("click", function () {
          area.select();
          var done = function () { copy.textContent = box.getAttribute("data-copied"); };
          if (navigator.clipboard) navigator.clipboard.writeText(text).then(done, function () {});
          else { try { document.execCommand("copy"); done(); } catch (e) { /* selected */ } }
        });
        li.appendChild(area);
        li.appendChild(copy);
      }
      var remove = document.createElement("button");
      remove.type = "button";
      remove.className = "button secondary";
      remove.textContent = box.getAttribute("data-remove");
      remove.addEventListener("click", function () { Q.remove(item.uuid).then(refresh); });
      li.appendChild(remove);
      list.appendChild(li);
    });
  }
  // The count of what waits here, with how the last replay went (if known).
  function refresh(summary) {
    var s = summary || {};
    return mine().then(function (left) {
      show({ waiting: Q.pending(left).length, signin: !!s.signin, refused: s.refused,
             sent: s.sent });
      // Their text is sealed at rest (vault.js): readable while the vault is open.
      return Promise.resolve(readable(left.filter(function (i) { return i.gaveUp; })))
        .then(showGaveUp);
    });
  }
  function askForSync() {
    if (!("serviceWorker" in navigator)) return;
    navigator.serviceWorker.ready.then(function (reg) {
      if (reg.sync) return reg.sync.register(Q.syncTag);
    }).catch(function () {});
  }
  function replayNow() {
    return mine().then(function (waiting) {
      if (!Q.pending(waiting).length) return null;
      return Q.replay(owner, null, pageSession()).then(function (summary) {
        refresh(summary);
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
  // The fields a person typed in: what can be copied if the item is refused.
  function textsOf(form) {
    var names = [], els = form.elements;
    for (var i = 0; i < els.length; i++) {
      if (els[i].name && /^(textarea|text|tel|search|number|email)$/.test(els[i].type)) names.push(els[i].name);
    }
    return names;
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
    var phone = form.hasAttribute("data-help-phone");
    if (!owner && !phone) return;  // nobody signed in: the plain way
    // Ours from here on: htmx and the browser must not send it a second time.
    event.preventDefault();
    event.stopImmediatePropagation();
    var field = form.querySelector("input[name=client_uuid]");
    var item = { uuid: (field && field.value) || Q.newUuid(), action: form.action,
                 owner: phone ? Q.PHONE : owner,
                 kind: form.getAttribute("data-offline-queue") || "", created: Date.now(),
                 fields: fieldsOf(form, event.submitter), texts: textsOf(form) };
    var buttons = form.querySelectorAll("button, input[type=submit]");
    for (var i = 0; i < buttons.length; i++) buttons[i].disabled = true;
    Q.put(item).then(function () {
      if (navigator.onLine === false) return { offline: true };
      return Q.replay(owner, item, pageSession());
    }).then(function (summary) {
      for (var j = 0; j < buttons.length; j++) buttons[j].disabled = false;
      var r = summary.firstResult;
      if (r && (r.outcome === "sent" || r.outcome === "refused")) return showAnswer(r.response);
      if (summary.offline) askForSync();
      return mine().then(function (left) {
        waitingHere(form, { waiting: Q.pending(left).length, signin: summary.signin,
                            refused: summary.refused });
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
