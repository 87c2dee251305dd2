/* Footing service worker: precaches the app shell and the offline page.
   Served from /sw.js so its scope is the whole site. */
"use strict";
const VERSION = "{{ version }}";
const SHELL_CACHE = "footing-shell-" + VERSION;
// The returnee's own pages marked by the server (X-Offline-Copy), kept so they
// can be read offline. Personal: deleted whenever someone signs in or out.
const PAGES_CACHE = "footing-pages";
const FORGET_ON = ["/signout", "/exit", "/signin/pin", "/signin/staff/code", "/activate/returnee",
                   "/activate/staff"];
const SHELL = {{ shell|safe }};
const OFFLINE_URL = "{{ offline_url }}";

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
  return caches.delete(PAGES_CACHE);
}

async function networkFirst(request) {
  try {
    const response = await fetch(request);
    if (response.ok && response.headers.get("X-Offline-Copy") === "1") {
      const copy = response.clone();
      caches.open(PAGES_CACHE).then((cache) => cache.put(request.url, copy));
    }
    return response;
  } catch (err) {
    const kept = await caches.match(request.url, { cacheName: PAGES_CACHE });
    return kept || caches.match(OFFLINE_URL);
  }
}

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
  event.respondWith(
    caches.match(request).then((hit) => hit || fetch(request))
  );
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
    icon: "/static/icons/icon-192.png",
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
