/* Footing vault (issue #19): what the phone keeps of a returnee (page copies,
   queued reports) is encrypted at rest, under a key only her PIN recovers.

   - The data key (AES-GCM, 256 bits) encrypts every copy and queued report.
   - It is kept wrapped (AES-GCM) by a key derived from the PIN:
       material = HMAC-SHA256(device key, "footing-pin:" + PIN)
       wrapping key = PBKDF2-SHA256(material, random salt, ITERATIONS)
     The device key is a random HMAC key made on this phone, stored as a
     non-extractable CryptoKey: script on this site can use it, but no API
     gives out its bytes. docs/SECURITY.md says what this does and does not
     hold against.
   - "Open": while the session is alive (until the idle deadline the server
     announces with X-Idle-Seconds) or after the PIN was typed on the phone,
     the data key is kept non-extractable in IndexedDB with that deadline.
     Past it the key is dropped ("locked"); only the PIN opens it again.
   - Offline, the PIN is checked here against the wrapped key; five wrong
     ones (MAX_TRIES, as on the server) wipe the copies, the queued reports
     and the key.
   - Online, the server checks the PIN: the key wrapped with the typed PIN
     waits as "pending" and is kept only when the next page shows the person
     signed in.
   - Help-now's report (kind and reference, no text) is never sealed: it is
     sent without the PIN.

   The same file runs in the pages and in the service worker. Words come
   from data attributes the server renders: nothing here is English. */
(function (global) {
  "use strict";
  var DB = "footing-vault", STORE = "vault";
  var V = {
    ITERATIONS: 310000, MAX_TRIES: 5, PENDING_MS: 5 * 60 * 1000,
    pagesCache: "footing-pages", queueDb: "footing",
    // Help-now, with or without the PIN: its kind and reference stay outside
    // the lock, so that it can be sent without the PIN; anything typed in it
    // (a call-back number) is sealed beside them and goes with it only while
    // the vault is open.
    unsealed: ["/help/now", "/help/now/phone"], minimal: ["client_uuid"],
  };
  var subtle = global.crypto && global.crypto.subtle;
  var enc = new TextEncoder(), dec = new TextDecoder();

  function openDb() {
    return new Promise(function (resolve, reject) {
      var req = indexedDB.open(DB, 1);
      req.onupgradeneeded = function () { req.result.createObjectStore(STORE); };
      req.onsuccess = function () { resolve(req.result); };
      req.onerror = function () { reject(req.error); };
    });
  }
  function tx(mode, work) {
    return openDb().then(function (db) {
      return new Promise(function (resolve, reject) {
        var t = db.transaction(STORE, mode), req = work(t.objectStore(STORE));
        t.oncomplete = function () { db.close(); resolve(req && req.result); };
        t.onerror = t.onabort = function () { db.close(); reject(t.error); };
      });
    });
  }
  function get(name) { return tx("readonly", function (s) { return s.get(name); }); }
  function put(name, value) { return tx("readwrite", function (s) { return s.put(value, name); }); }
  function del(name) { return tx("readwrite", function (s) { return s.delete(name); }); }

  // Persian and Arabic-Indic digits count as the digits they are (as on the server).
  V.asciiDigits = function (text) {
    return String(text || "").replace(/[\u0660-\u0669\u06f0-\u06f9]/g, function (ch) {
      var c = ch.charCodeAt(0);
      return String(c >= 0x06f0 ? c - 0x06f0 : c - 0x0660);
    }).trim();
  };

  function deviceKey() {
    return get("device").then(function (key) {
      if (key) return key;
      return subtle.generateKey({ name: "HMAC", hash: "SHA-256", length: 256 }, false, ["sign"])
        .then(function (made) { return put("device", made).then(function () { return made; }); });
    });
  }
  function wrappingKey(pin, salt, iterations) {
    return deviceKey().then(function (device) {
      return subtle.sign("HMAC", device, enc.encode("footing-pin:" + V.asciiDigits(pin)));
    }).then(function (material) {
      return subtle.importKey("raw", material, "PBKDF2", false, ["deriveKey"]);
    }).then(function (base) {
      return subtle.deriveKey({ name: "PBKDF2", salt: salt, iterations: iterations, hash: "SHA-256" },
                              base, { name: "AES-GCM", length: 256 }, false, ["wrapKey", "unwrapKey"]);
    });
  }
  function unwrap(record, pin) {
    return wrappingKey(pin, record.salt, record.iterations).then(function (kek) {
      return subtle.unwrapKey("raw", record.wrapped, kek, { name: "AES-GCM", iv: record.iv },
                              { name: "AES-GCM" }, false, ["encrypt", "decrypt"]);
    });
  }
  // A new data key, wrapped under `pin`: {record, key}.
  function fresh(pin) {
    return subtle.generateKey({ name: "AES-GCM", length: 256 }, true, ["encrypt", "decrypt"])
      .then(function (dataKey) { return rewrap(dataKey, pin); });
  }
  // An (extractable) data key wrapped under `pin`, with a new salt: {record, key}.
  function rewrap(dataKey, pin) {
    var salt = global.crypto.getRandomValues(new Uint8Array(16));
    var iv = global.crypto.getRandomValues(new Uint8Array(12));
    return Promise.resolve(dataKey)
      .then(function (dataKey) {
        return wrappingKey(pin, salt, V.ITERATIONS).then(function (kek) {
          return subtle.wrapKey("raw", dataKey, kek, { name: "AES-GCM", iv: iv });
        }).then(function (wrapped) {
          return subtle.exportKey("raw", dataKey).then(function (raw) {
            // Kept only non-extractable from here on.
            return subtle.importKey("raw", raw, "AES-GCM", false, ["encrypt", "decrypt"]);
          }).then(function (key) {
            return { key: key, record: { salt: salt, iv: iv, wrapped: wrapped,
                                         iterations: V.ITERATIONS, tries: 0 } };
          });
        });
      });
  }

  // --- Open and locked ----------------------------------------------------------------

  // The data key while the vault is open, else null (a passed deadline locks it).
  V.key = function () {
    if (!subtle) return Promise.resolve(null);
    return get("open").then(function (open) {
      if (!open) return null;
      if (!(open.until > Date.now())) return V.lock().then(function () { return null; });
      return open.key;
    }).catch(function () { return null; });
  };
  V.lock = function () { return del("open").catch(function () {}); };
  V.hasVault = function () { return get("key").then(function (r) { return !!r; }, function () { return false; }); };
  // The session is alive for `seconds` more (X-Idle-Seconds): so is the open key.
  V.extend = function (seconds) {
    return get("open").then(function (open) {
      if (!open || !(open.until > Date.now())) return null;
      open.until = Date.now() + seconds * 1000;
      return put("open", open);
    }).catch(function () {});
  };
  function openFor(key, seconds) { return put("open", { key: key, until: Date.now() + seconds * 1000 }); }

  /* The PIN typed offline: "open", "wrong" (with `left`) or "wiped". */
  V.unlock = function (pin, seconds) {
    return get("key").then(function (record) {
      if (!record) return { outcome: "none" };
      return unwrap(record, pin).then(function (key) {
        record.tries = 0;
        return put("key", record).then(function () { return openFor(key, seconds); })
          .then(function () { return { outcome: "open" }; });
      }, function () {
        record.tries = (record.tries || 0) + 1;
        if (record.tries >= V.MAX_TRIES) return V.wipe().then(function () { return { outcome: "wiped" }; });
        return put("key", record).then(function () {
          return { outcome: "wrong", left: V.MAX_TRIES - record.tries };
        });
      });
    });
  };

  /* Online sign-in with `pin` (or activation, `renew`): prepare the key the
     server's answer decides on. The PIN that opens the vault here keeps its
     data key; any other starts a new one (the old copies are dropped when it
     is kept). */
  V.prepare = function (pin, renew) {
    return get("key").then(function (record) {
      var same = record && !renew ? unwrap(record, pin).then(function (key) {
        return { key: key, record: record, fresh: false };
      }, function () { return null; }) : Promise.resolve(null);
      return same.then(function (found) {
        return found || fresh(pin).then(function (made) {
          return { key: made.key, record: made.record, fresh: true };
        });
      });
    }).then(function (pending) {
      pending.at = Date.now();
      return put("pending", pending);
    });
  };
  /* A signed-in page of a returnee: the server took the PIN typed just
     before, so the key prepared with it is kept, open for `seconds`. */
  V.confirm = function (seconds) {
    return get("pending").then(function (pending) {
      if (!pending) return false;
      return del("pending").then(function () {
        if (!(Date.now() - pending.at < V.PENDING_MS)) return false;
        var before = pending.fresh ? V.wipe() : Promise.resolve();
        pending.record.tries = 0;
        return before.then(function () { return put("key", pending.record); })
          .then(function () { return openFor(pending.key, seconds); })
          .then(function () { return true; });
      });
    });
  };
  /* A PIN change (/me/pin): the same data key, wrapped under the new PIN,
     kept when the server took the change (the next signed-in page). */
  V.prepareChange = function (current, pin) {
    return get("key").then(function (record) {
      if (!record) return null;
      return wrappingKey(current, record.salt, record.iterations).then(function (kek) {
        return subtle.unwrapKey("raw", record.wrapped, kek, { name: "AES-GCM", iv: record.iv },
                                { name: "AES-GCM" }, true, ["encrypt", "decrypt"]);
      }).then(function (dataKey) { return rewrap(dataKey, pin); }).then(function (made) {
        return put("pending", { key: made.key, record: made.record, fresh: false, at: Date.now() });
      }, function () { return null; });
    });
  };
  V.forgetPending = function () { return del("pending").catch(function () {}); };

  /* Wipe: the copies, every sealed queued report, the key. What is not
     sealed (help-now's kind and reference) stays. */
  V.wipe = function () {
    var jobs = [tx("readwrite", function (s) { s.delete("open"); s.delete("pending"); return s.delete("key"); })];
    if (global.caches) jobs.push(global.caches.delete(V.pagesCache));
    if (global.FootingQueue) {
      jobs.push(global.FootingQueue.items().then(function (items) {
        return Promise.all(items.filter(function (i) { return i.sealed; }).map(function (i) {
          if (!i.fields) return global.FootingQueue.remove(i.uuid);
          delete i.sealed;  // help-now: its minimal fields stay, what was typed goes
          return global.FootingQueue.putAsIs(i);
        }));
      }));
    }
    return Promise.all(jobs).catch(function () {});
  };

  // --- Sealing ------------------------------------------------------------------------

  V.encrypt = function (key, bytes) {
    var iv = global.crypto.getRandomValues(new Uint8Array(12));
    return subtle.encrypt({ name: "AES-GCM", iv: iv }, key, bytes).then(function (ct) {
      var out = new Uint8Array(12 + ct.byteLength);
      out.set(iv, 0);
      out.set(new Uint8Array(ct), 12);
      return out.buffer;
    });
  };
  // Rejects on a wrong key or altered bytes (the GCM tag).
  V.decrypt = function (key, buffer) {
    var bytes = new Uint8Array(buffer);
    if (bytes.length < 28) return Promise.reject(new Error("too short"));
    return subtle.decrypt({ name: "AES-GCM", iv: bytes.slice(0, 12) }, key, bytes.slice(12));
  };

  function sealable(item) {
    var path = new URL(item.action, global.location.href).pathname;
    return V.unsealed.indexOf(path) < 0;
  }
  function minimal(fields) {
    return fields.filter(function (f) { return V.minimal.indexOf(f[0]) >= 0; });
  }
  /* A queued report as it is stored: its fields sealed when the vault is
     open (a copy; the item itself is not changed). Help-now keeps its
     minimal fields in the clear beside the sealed whole. */
  V.seal = function (item) {
    if (!item.fields) return Promise.resolve(item);
    var clear = sealable(item) ? null : minimal(item.fields);
    if (clear && clear.length === item.fields.length) return Promise.resolve(item);
    return V.key().then(function (key) {
      if (!key) return item;  // no vault on this phone yet (signed in before it existed)
      return V.encrypt(key, enc.encode(JSON.stringify(item.fields))).then(function (sealed) {
        var copy = {};
        Object.keys(item).forEach(function (k) { if (k !== "fields") copy[k] = item[k]; });
        if (clear) copy.fields = clear;
        copy.sealed = sealed;
        return copy;
      });
    });
  };
  /* The queued reports that can be sent now, fields readable: sealed ones
     only while the vault is open. One that does not decrypt (altered) is
     dropped from the queue. */
  V.readable = function (items) {
    var sealed = items.filter(function (i) { return i.sealed; });
    if (!sealed.length) return Promise.resolve(items);
    return V.key().then(function (key) {
      return Promise.all(items.map(function (item) {
        if (!item.sealed) return item;
        var clear = item.fields, sealed = item.sealed;  // clear: help-now's, sent even locked
        delete item.sealed;
        if (!key) return clear ? item : null;
        return V.decrypt(key, sealed).then(function (plain) {
          item.fields = JSON.parse(dec.decode(plain));
          return item;
        }, function () {
          if (clear) return item;
          return global.FootingQueue.remove(item.uuid).then(function () { return null; });
        });
      }));
    }).then(function (all) { return all.filter(Boolean); });
  };

  global.FootingVault = V;
  if (typeof document === "undefined") return;  // in the service worker

  // --- The page ------------------------------------------------------------------------
  // The PIN forms (sign-in: data-vault; activation: data-vault-renew) go
  // through here; the service worker keeps the key once a page shows the
  // person signed in (X-Idle-Seconds), and locks it at the deadline.
  if (!subtle || !global.indexedDB) return;

  function say(form, text) {
    var box = form.querySelector(".vault-note");
    if (!box) {
      box = document.createElement("p");
      box.className = "flash flash-error vault-note";
      box.setAttribute("role", "alert");
      form.insertBefore(box, form.firstChild);
    }
    box.textContent = text;
  }

  // The PIN change form: the key wrapped under the new PIN waits for the
  // server's yes. This page itself (the form, or the form with an error)
  // means no yes: what waited goes.
  if (document.querySelector("form[data-vault-change]")) V.forgetPending();
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form || !form.matches || !form.matches("form[data-vault-change]")) return;
    if (form.hasAttribute("data-vault-sent") || navigator.onLine === false) return;
    var current = form.querySelector("input[name=current]"), next = form.querySelector("input[name=pin]");
    if (!current || !next) return;
    event.preventDefault();
    event.stopImmediatePropagation();
    var send = function () {
      form.setAttribute("data-vault-sent", "");
      HTMLFormElement.prototype.submit.call(form);
    };
    V.prepareChange(current.value, next.value).then(send, send);
  }, true);

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form || !form.matches || !form.matches("form[data-vault], form[data-vault-renew]")) return;
    var input = form.querySelector("input[name=pin]");
    if (!input || form.hasAttribute("data-vault-sent")) return;
    var renew = form.hasAttribute("data-vault-renew");
    event.preventDefault();
    event.stopImmediatePropagation();
    var pin = input.value;
    if (navigator.onLine === false && !renew) {
      V.unlock(pin, Number(form.getAttribute("data-vault-seconds") || 1800)).then(function (r) {
        if (r.outcome === "open") {
          location.replace(location.pathname.indexOf("/signin") === 0 ? "/home" : location.href);
          return;
        }
        input.value = "";
        say(form, form.getAttribute(r.outcome === "wrong" ? "data-wrong-" + r.left
          : r.outcome === "wiped" ? "data-locked" : "data-offline") || "");
      }).catch(function () { say(form, form.getAttribute("data-offline") || ""); });
      return;
    }
    // Online: the server decides; the key is kept only if it takes the PIN.
    if (form.getAttribute("data-vault") === "offline") {  // the offline page's form has no token
      location.assign(form.action);
      return;
    }
    var send = function () {
      form.setAttribute("data-vault-sent", "");
      HTMLFormElement.prototype.submit.call(form);
    };
    V.prepare(pin, renew).then(send, send);
  }, true);

  // The offline page asks for the PIN when the phone keeps locked pages.
  var unlock = document.getElementById("vault-unlock");
  if (unlock) V.hasVault().then(function (has) { unlock.hidden = !has; });
})(self);
