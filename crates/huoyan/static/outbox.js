// The field pages' outbox, shared by the pages (report form, check-in) and the service worker
// (/sw.js imports it for Background Sync). Whatever is entered is first stored in IndexedDB with
// its idempotency key, then sent; an entry leaves the store only once the server has answered
// for it, so a dead network, a closed tab or a lost answer never loses it, and a resend after a
// lost answer is answered with the same case (the server files one case per key and account).
//
// CSRF. A page opened from the service worker's cache carries the CSRF token of the session it
// was cached in, which may have ended since. So the token is never taken from the page: before
// sending, the outbox asks GET /api/v1/me for the current session's account and token. That
// answer is readable only by this origin's scripts (no CORS), like the pages themselves. Each
// entry remembers the account that entered it and is sent only under that account's session:
// a phone passed to someone else never files the first user's reports as the second's. Signed
// out, entries wait (the pages say so) until that account signs in again.
(function (root) {
  "use strict";
  // The report form's drafts were kept here before the outbox held check-ins too: the same
  // database and store, so drafts saved by an older page are still sent.
  var DB = "huoyan", STORE = "drafts";

  function open() {
    return new Promise(function (resolve, reject) {
      var req = indexedDB.open(DB, 1);
      req.onupgradeneeded = function () { req.result.createObjectStore(STORE, { keyPath: "key" }); };
      req.onsuccess = function () { resolve(req.result); };
      req.onerror = function () { reject(req.error); };
    });
  }
  function store(mode, fn) {
    return open().then(function (db) {
      return new Promise(function (resolve, reject) {
        var tx = db.transaction(STORE, mode);
        var req = fn(tx.objectStore(STORE));
        tx.oncomplete = function () { db.close(); resolve(req && req.result); };
        tx.onerror = function () { db.close(); reject(tx.error); };
      });
    });
  }
  function put(entry) { return store("readwrite", function (s) { return s.put(entry); }); }
  function drop(key) { return store("readwrite", function (s) { return s.delete(key); }); }
  function all() {
    return store("readonly", function (s) { return s.getAll(); }).then(function (entries) {
      return (entries || []).sort(function (a, b) { return a.at - b.at; });
    });
  }

  // A key made on the phone: a page served from the cache would otherwise offer the key it was
  // cached with each time it opens, and a second report under a used key is the first one.
  // A UUIDv7 (RFC 9562): the time in milliseconds first, then random bits. Keys in time order
  // land at the end of the server's unique index of keys, one page for many writes, where random
  // keys cost a page each (the scan writer's commit was mostly such pages).
  function newKey() {
    var bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    var ms = Date.now();
    for (var i = 5; i >= 0; i--) { bytes[i] = ms % 256; ms = Math.floor(ms / 256); }
    bytes[6] = (bytes[6] & 0x0f) | 0x70;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    var h = Array.prototype.map.call(bytes, function (b) { return (b + 256).toString(16).slice(1); }).join("");
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
  }

  function answer(r) {
    return r.json().then(function (j) { return { status: r.status, json: j }; },
      function () { return { status: r.status, json: {} }; });
  }
  // A 4xx other than these is the server refusing the entry itself: sending it again as it is
  // cannot succeed, so it goes back to the user. These are the network's or the session's.
  function refused(status) { return status >= 400 && status < 500 && [401, 408, 429].indexOf(status) < 0; }
  function lost(status) { return new Error("status " + status); }

  // A report and its photos as one multipart body: the server files both or neither.
  function reportBody(f, files) {
    var data = new FormData();
    var parts = { category: f.category, description: f.description, address: f.address, priority: f.priority, compound_id: f.compound_id };
    if (f.lon && f.lat) { parts.lon = f.lon; parts.lat = f.lat; }
    Object.keys(parts).forEach(function (k) { if (parts[k]) data.append(k, parts[k]); });
    (files || []).forEach(function (file) { data.append("file", file, file.name || "photo.jpg"); });
    return data;
  }

  // How each kind of entry is sent, given the session's CSRF token. Resolves to what the page
  // shows ({id}, {invalid: fields}, {checkIn}); rejects when it must be tried
  // again later.
  var senders = {
    // The case with its photos in one request, once by its key: a refused photo refuses the
    // whole report, so no case is filed without the photos it was sent with.
    report: function (entry, csrf, lang) {
      return fetch("/api/v1/cases" + lang, {
        method: "POST", credentials: "same-origin", body: reportBody(entry.fields, entry.files),
        headers: { "idempotency-key": entry.key, "x-csrf-token": csrf }
      }).then(answer).then(function (r) {
        if (refused(r.status)) return { invalid: r.json.fields || [{ field: "file", message: r.json.message || String(r.status) }] };
        if (r.status !== 200 && r.status !== 201) throw lost(r.status);
        return { id: r.json.id };
      });
    },
    // A check-in sets the day's answer: sent twice, it is recorded once (the server keeps one
    // answer per account, day and beat, and the same answer again changes nothing).
    check_in: function (entry, csrf, lang) {
      return fetch("/api/v1/check-ins" + lang, {
        method: "POST", credentials: "same-origin", body: JSON.stringify({ nothing_to_report: entry.fields.nothing_to_report }),
        headers: { "content-type": "application/json", "x-csrf-token": csrf }
      }).then(answer).then(function (r) {
        if (refused(r.status)) return { invalid: r.json.fields || [{ field: "nothing_to_report", message: r.json.message || String(r.status) }] };
        if (r.status !== 201) throw lost(r.status);
        return { checkIn: r.json };
      });
    },
    // The sampler's scanner (testing_scan.js): opening a tube, a scan, sealing. Each is the same
    // when sent twice (a tube opened or sealed again answers as it is; a scan is kept once per
    // key), so a lost answer costs nothing. A busy server (503) is tried again.
    tube_open: function (entry, csrf, lang) {
      return json("/api/v1/testing/tubes" + lang, entry.fields, csrf, 201, "barcode").then(function (r) {
        return r.invalid ? r : { tube: r.json };
      });
    },
    scan: function (entry, csrf, lang) {
      var body = { tube: entry.fields.tube, code: entry.fields.code, key: entry.key, scanned_at: new Date(entry.at).toISOString() };
      return json("/api/v1/testing/scans" + lang, body, csrf, 200, "code").then(function (r) {
        return r.invalid ? r : { scan: r.json };
      });
    },
    tube_seal: function (entry, csrf, lang) {
      var path = "/api/v1/testing/tubes/" + encodeURIComponent(entry.fields.tube) + "/seal" + lang;
      return json(path, {}, csrf, 200, "tube").then(function (r) {
        return r.invalid ? r : { sealed: r.json };
      });
    }
  };

  // POSTs `body` as JSON; resolves to {json} on `ok`, {invalid: fields} when refused, rejects
  // when it must be tried again.
  function json(path, body, csrf, ok, field) {
    return fetch(path, {
      method: "POST", credentials: "same-origin", body: JSON.stringify(body),
      headers: { "content-type": "application/json", "x-csrf-token": csrf }
    }).then(answer).then(function (r) {
      if (refused(r.status)) return { invalid: r.json.fields && r.json.fields.length ? r.json.fields : [{ field: field, message: r.json.message || String(r.status) }] };
      if (r.status !== ok) throw lost(r.status);
      return { json: r.json };
    });
  }

  // One sender at a time across the tabs and the service worker, where the browser can say so.
  function exclusively(fn) {
    var locks = root.navigator && navigator.locks;
    return locks ? locks.request("huoyan-outbox", fn) : fn();
  }

  // Sends every entry waiting, oldest first, under the signed-in account. Resolves to
  // {account, signedOut, results: [{key, kind, outcome}]}; rejects when the network or the
  // server failed (what is left is tried again later).
  function flush() {
    return exclusively(function () {
      return all().then(function (entries) {
        var waiting = entries.filter(function (e) { return !e.refused; });
        if (!waiting.length) return { results: [] };
        return fetch("/api/v1/me", { credentials: "same-origin", cache: "no-store" }).then(function (r) {
          if (r.status === 401) return { signedOut: true, results: [] };
          if (r.status !== 200) throw lost(r.status);
          return r.json().then(function (me) {
            var results = [];
            var mine = waiting.filter(function (e) { return !e.account || e.account === me.username; });
            return mine.reduce(function (p, e) {
              return p.then(function () {
                var lang = "?lang=" + encodeURIComponent(e.lang || "zh-CN");
                return (senders[e.kind || "report"])(e, me.csrf_token, lang).then(function (outcome) {
                  results.push({ key: e.key, kind: e.kind || "report", outcome: outcome });
                  if (!outcome.invalid) return drop(e.key);
                  // Kept, marked, for the page to give back to its user; never resent as it is.
                  e.refused = outcome.invalid;
                  return put(e);
                });
              });
            }, Promise.resolve()).then(function () { return { account: me.username, results: results }; });
          });
        });
      });
    });
  }

  var Outbox = { put: put, drop: drop, all: all, newKey: newKey, flush: flush };

  if (root.document) {
    // The page side: the worker that keeps these pages for offline use, Background Sync, and
    // the list of what waits.
    Outbox.register = function () {
      if (!("serviceWorker" in navigator)) return;
      navigator.serviceWorker.register("/sw.js", { scope: "/", updateViaCache: "none" }).then(function () {
        return navigator.serviceWorker.ready;
      }).then(function (reg) {
        // Pages cached by an earlier session were dropped at sign-out: keep this session's.
        if (reg.active) reg.active.postMessage("precache");
      }).catch(function () { /* the pages still work online without it */ });
    };
    // Asks the browser to wake the worker for the outbox when the network returns, where it can
    // (Background Sync); the pages also send on load and on the `online` event.
    Outbox.later = function () {
      if (!("serviceWorker" in navigator)) return Promise.resolve();
      return navigator.serviceWorker.ready.then(function (reg) {
        return reg.sync && reg.sync.register("outbox");
      }).catch(function () { /* no Background Sync: the pages send when opened or online */ });
    };
    // Calls `fn` with what the worker's flush did whenever it sent entries in the background.
    Outbox.onSent = function (fn) {
      if ("serviceWorker" in navigator) {
        navigator.serviceWorker.addEventListener("message", function (ev) { if (ev.data && ev.data.outbox) fn(ev.data.outbox); });
      }
    };
    // Shows in `section` (the `outbox.html` fragment) what waits, each with its time, why it
    // waits and, for `account`'s own entries, a line of what it says (another account's stay
    // unread: the phone may have changed hands). `state` is what the last flush found.
    Outbox.show = function (section, account, state) {
      if (!section) return Promise.resolve();
      var list = section.querySelector("ul");
      var msg = section.dataset;
      return all().then(function (entries) {
        list.innerHTML = "";
        entries.forEach(function (e) {
          var li = document.createElement("li");
          li.className = "queued";
          var parts = [new Date(e.at).toLocaleString(document.documentElement.lang || "zh-CN")];
          var theirs = e.account && e.account !== account;
          if (!theirs) parts.push(e.kind === "check_in" ? msg.msgCheckIn : e.kind === "scan" ? e.fields.tube + " · " + e.fields.code : e.kind === "tube_open" || e.kind === "tube_seal" ? e.fields.tube || e.fields.barcode : (e.fields.description || "").slice(0, 40));
          parts.push(e.refused ? msg.msgRefused : theirs ? msg.msgOtherAccount + " " + e.account :
            state && state.signedOut ? msg.msgSignedOut : msg.msgWaiting);
          li.textContent = parts.join(" · ");
          list.appendChild(li);
        });
        section.hidden = !entries.length;
      });
    };
  }

  root.HuoyanOutbox = Outbox;
})(self);
