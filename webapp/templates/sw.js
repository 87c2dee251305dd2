/* Footing service worker: precaches the app shell and the offline page, keeps
   the returnee's own pages for offline reading, and replays the offline queue
   (static/js/queue.js) on Background Sync. Served from /sw.js so its scope is
   the whole site. */
"use strict";
importScripts("{{ queue_js }}");
importScripts("{{ url_for('static', filename='js/vault.js') }}");  // issue #19: copies and queue sealed
const VERSION = "{{ version }}";
const SHELL_CACHE = "footing-shell-" + VERSION;
// The returnee's own pages marked by the server (X-Offline-Copy), kept so they
// can be read offline. Personal: deleted whenever someone signs in or out.
const PAGES_CACHE = "footing-pages";
// Pages that hold nothing of the person (the directory of local services,
// marked X-Public-Copy): kept in the clear for anyone on the phone, through
// sign-in and out.
const PUBLIC_CACHE = "footing-public";
const FORGET_ON = ["/signout", "/exit", "/signin/pin", "/signin/staff/code", "/activate/returnee",
                   "/activate/staff"];
const SHELL = {{ shell|safe }};
const OFFLINE_URL = "{{ offline_url }}";
// "I need help now" with the phone locked (issues #18, #19): the page that
// asks without the PIN, kept as a public copy, stands in for the sealed one.
const HELP_URL = "{{ url_for('support.help_now') }}";
const HELP_PHONE_URL = "{{ url_for('support.help_now_phone') }}";


self.addEventListener("install", (event) => {
  event.waitUntil(
    caches.open(SHELL_CACHE)
      .then((cache) => cache.addAll(SHELL.map((url) => new Request(url, { credentials: "omit" }))))
      .then(() => self.skipWaiting())
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys()
      .then((keys) => Promise.all(keys.filter((k) => k.startsWith("footing-shell-") && k !== SHELL_CACHE)
        .map((k) => caches.delete(k))))
      .then(() => self.clients.claim())
  );
});

function forgetPages() {
  return Promise.all([caches.delete(PAGES_CACHE), FootingVault.lock()]);
}

// A copy is kept encrypted under the vault's key, and only while it is open.
// Which organisation's numbers a help copy holds (its sealed copy keeps it
// in the clear beside the others, to be compared without the key).
const VERSION_HEADER = "X-Footing-Help-Version";
const COPIED_HEADERS = ["Content-Type", "Content-Language", "Content-Security-Policy",
                        VERSION_HEADER];
async function keep(url, response) {
  const key = await FootingVault.key();
  if (!key) return;
  const headers = { "Content-Type": "application/octet-stream" };
  COPIED_HEADERS.forEach((h) => { if (response.headers.has(h)) headers["X-Copy-" + h] = response.headers.get(h); });
  const sealed = await FootingVault.encrypt(key, await response.arrayBuffer());
  await (await caches.open(PAGES_CACHE)).put(url, new Response(sealed, { headers }));
}

// The offline page: the copy kept for this phone (its organisation's and the
// directory's emergency numbers, issue #22), else the shell's (the
// configured number).
async function offlinePage() {
  const url = new URL(OFFLINE_URL, self.location.origin).href;
  return (await caches.match(url, { cacheName: PUBLIC_CACHE }))
    || caches.match(url, { cacheName: SHELL_CACHE });
}

// Locked: the offline page, which asks for the PIN (static/js/vault.js).
function lockPage() {
  return offlinePage();
}

// Help-now asked for while its sealed copy cannot be read: the copy that
// asks without the PIN (it names no one; its report goes to the no-PIN route).
async function helpWithoutPin(url) {
  if (new URL(url).pathname !== HELP_URL) return null;
  return caches.match(new URL(HELP_PHONE_URL, self.location.origin).href, { cacheName: PUBLIC_CACHE });
}

// Offline: the copy, readable only while the vault is open; locked, the PIN
// page (help-now: the page without the PIN); an altered copy is dropped and
// the PIN asked for.
async function offlineCopy(url) {
  const kept = await caches.match(url, { cacheName: PAGES_CACHE });
  if (!kept) {
    return (await caches.match(url, { cacheName: PUBLIC_CACHE })) || (await helpWithoutPin(url))
      || offlinePage();
  }
  const key = await FootingVault.key();
  if (!key) return (await helpWithoutPin(url)) || lockPage();
  try {
    const plain = await FootingVault.decrypt(key, await kept.arrayBuffer());
    const headers = {};
    COPIED_HEADERS.forEach((h) => { if (kept.headers.has("X-Copy-" + h)) headers[h] = kept.headers.get("X-Copy-" + h); });
    return new Response(plain, { headers });
  } catch (err) {
    await (await caches.open(PAGES_CACHE)).delete(url);
    await FootingVault.lock();
    return lockPage();
  }
}

async function networkFirst(request) {
  let response;
  try {
    response = await fetch(request);
  } catch (err) {
    return offlineCopy(request.url);
  }
  if (response.headers.get("X-Signed-Out") === "1") {
    // Nobody is signed in any more (the session timed out, or was ended
    // elsewhere: a PIN change, the account disabled or deleted): what was
    // kept of it goes too, and the key is locked.
    await forgetPages();
    return response;
  }
  // Signed in, for this many seconds of idleness: the key prepared with the
  // PIN just typed is kept, and the vault stays open as long as the session.
  const idle = Number(response.headers.get("X-Idle-Seconds") || 0);
  if (idle > 0) {
    await FootingVault.confirm(idle).then(() => FootingVault.extend(idle)).catch(() => {});
  }
  if (response.ok && response.headers.get("X-Offline-Copy") === "1") {
    await keep(request.url, response.clone()).catch(() => {});
  } else if (response.ok && response.headers.get("X-Public-Copy") === "1") {
    const copy = response.clone();
    await caches.open(PUBLIC_CACHE).then((cache) => cache.put(request.url, copy)).catch(() => {});
  }
  return response;
}

// "I need help now" must open offline (issue #18): a returnee's page asks for
// a copy of the help page to be kept, if there is none yet. Kept like any
// page the server marks (X-Offline-Copy): sealed, and forgotten with them.
// With it, the page that asks without the PIN, kept in the clear
// (X-Public-Copy) as it is shown to someone signed out: it stands in for the
// sealed one when the phone is locked offline (issue #19).
// The offline page is kept the same way, with the emergency numbers of the
// phone's organisation from the directory (issue #22). Both are fetched
// again once a day (staff change the numbers), and at once, like the sealed
// help copy, when the page names another organisation than the copy does:
// after a handover (issue #21) a copy must not offer the last country's
// numbers to someone offline in danger.
const PUBLIC_REFRESH_MS = 24 * 3600 * 1000;

function stale(kept) {
  const at = Date.parse(kept.headers.get("Date") || "");
  return !Number.isNaN(at) && Date.now() - at > PUBLIC_REFRESH_MS;
}

// `version`: the help version of the page that asks (its data-keep).
function current(kept, header, version) {
  return !version || kept.headers.get(header) === version;
}

function keepPublic(path, version) {
  const url = new URL(path, self.location.origin).href;
  return caches.open(PUBLIC_CACHE).then((cache) => cache.match(url).then((kept) => {
    if (kept && !stale(kept) && current(kept, VERSION_HEADER, version)) return null;
    return fetch(url, { credentials: "same-origin", headers: { "X-Footing-Keep": "public" } })
      .then((response) => {
        if (!response.ok || response.headers.get("X-Public-Copy") !== "1") return null;
        return cache.put(url, response);
      });
  })).catch(() => null);
}

function keepHelpWithoutPin(version) {
  return Promise.all([keepPublic(HELP_PHONE_URL, version), keepPublic(OFFLINE_URL, version)]);
}

self.addEventListener("message", (event) => {
  const data = event.data || {};
  if (data.type !== "footing-keep-help" || typeof data.url !== "string") return;
  const url = new URL(data.url, self.location.origin);
  if (url.origin !== self.location.origin) return;
  const version = typeof data.version === "string" ? data.version : "";
  event.waitUntil(keepHelpWithoutPin(version));
  event.waitUntil(caches.match(url.href, { cacheName: PAGES_CACHE }).then((kept) => {
    if (kept && current(kept, "X-Copy-" + VERSION_HEADER, version)) return null;
    return fetch(url.href, { credentials: "same-origin" }).then((response) => {
      if (!response.ok || response.headers.get("X-Offline-Copy") !== "1") return null;
      return keep(url.href, response);
    });
  }).catch(() => null));
});

// Only the shell comes from the cache: anything else (JSON such as /csrf,
// htmx fragments) goes to the network as if there were no service worker.
const CACHED = new Set(SHELL.map((u) => new URL(u, self.location.origin).pathname));

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (request.method === "POST" && FORGET_ON.includes(url.pathname)) {
    // Someone signs in or out: no page of the last person may stay behind.
    event.respondWith(forgetPages().then(() => fetch(request)));
    return;
  }
  if (request.method !== "GET") return;
  if (request.mode === "navigate") {
    event.respondWith(networkFirst(request));
    return;
  }
  if (!CACHED.has(url.pathname)) return;
  event.respondWith(
    caches.match(request, { cacheName: SHELL_CACHE }).then((hit) => hit || fetch(request))
  );
});

// Background Sync: send what waits in the queue; a network failure rejects so
// the browser tries again later. Open pages are told how it went (a page
// replaying at the same time must not be told less, e.g. lose "sign in").
async function replayQueue() {
  const summary = await FootingQueue.replay();
  const windows = await self.clients.matchAll({ type: "window" });
  windows.forEach((w) => w.postMessage({ type: "footing-queue", summary }));
  if (summary.offline || summary.later) throw new Error("still offline, or sent again later");
}

self.addEventListener("sync", (event) => {
  if (event.tag === FootingQueue.syncTag) event.waitUntil(replayQueue());
});

// Web push: the payload holds a generic line and a URL only.
self.addEventListener("push", (event) => {
  let data = {};
  try { data = event.data ? event.data.json() : {}; } catch (e) { data = {}; }
  const title = data.title || "Footing";
  event.waitUntil(self.registration.showNotification(title, {
    body: data.body || "",
    tag: data.tag || "footing",
    renotify: true,
    icon: "{{ icon_url }}",
    data: { url: data.url || "/home" },
  }));
});

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const target = new URL((event.notification.data && event.notification.data.url) || "/home",
                         self.location.origin);
  if (target.origin !== self.location.origin) return;
  event.waitUntil(self.clients.matchAll({ type: "window", includeUncontrolled: true })
    .then((windows) => {
      for (const w of windows) {
        if (new URL(w.url).origin === target.origin && "focus" in w) {
          return w.navigate(target.href).then((c) => (c || w).focus());
        }
      }
      return self.clients.openWindow(target.href);
    }));
});
