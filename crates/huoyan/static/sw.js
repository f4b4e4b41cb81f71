// The field app's service worker: it keeps the field pages (report, check-in) and their scripts
// so that they open without a network, and sends the outbox in the background where the browser
// offers Background Sync.
//
// Pages are fetched from the network whenever it answers, and the copy kept is refreshed each
// time; the kept copy is shown only when the network fails or is too slow. Pages are `no-store`
// for browsers and proxies (app::router), so this cache is the only place they are kept: it holds
// one copy per page, is emptied when a session ends or begins on this phone (sign-out, sign-in),
// and a kept page never sends anything by itself (the outbox asks the server for the current
// session's CSRF token first, see outbox.js).
importScripts("/static/outbox.js");

// The field pages and their scripts, filled in by the server (web::field).
var OFFLINE = /*OFFLINE*/[];
var PAGES = "huoyan-pages", ASSETS = "huoyan-assets";
// How long a page may keep the user waiting on a bad network before the kept copy is shown.
var SLOW_MS = 6000;

function asset(path) { return path.indexOf("/static/") === 0; }
function cacheOf(path) { return asset(path) ? ASSETS : PAGES; }
function keepable(r) { return r.ok && !r.redirected && r.type === "basic"; }

// Fetches and keeps the field pages not yet kept (a page the role may not open is skipped).
function precachePages() {
  return caches.open(PAGES).then(function (cache) {
    return Promise.all(OFFLINE.filter(function (p) { return !asset(p); }).map(function (path) {
      return cache.match(path).then(function (hit) {
        if (hit) return;
        return fetch(path, { credentials: "same-origin" }).then(function (r) {
          if (keepable(r)) return cache.put(path, r);
        }).catch(function () { /* offline now: kept when next opened online */ });
      });
    }));
  });
}

self.addEventListener("install", function (event) {
  event.waitUntil(caches.open(ASSETS).then(function (cache) {
    return cache.addAll(OFFLINE.filter(asset));
  }).then(precachePages).then(function () { return self.skipWaiting(); }));
});

self.addEventListener("activate", function (event) {
  event.waitUntil(caches.keys().then(function (names) {
    return Promise.all(names.filter(function (n) { return n !== PAGES && n !== ASSETS; })
      .map(function (n) { return caches.delete(n); }));
  }).then(function () { return self.clients.claim(); }));
});

self.addEventListener("message", function (event) {
  if (event.data === "precache") event.waitUntil(precachePages());
});

self.addEventListener("fetch", function (event) {
  var req = event.request, url = new URL(req.url);
  if (url.origin !== self.location.origin) return;
  if (req.method === "POST" && (url.pathname === "/logout" || url.pathname === "/login")) {
    // A kept page shows its user's name and menu: none outlives its session. The request
    // itself goes to the network untouched.
    event.waitUntil(caches.delete(PAGES));
    return;
  }
  if (req.method !== "GET" || url.search || OFFLINE.indexOf(url.pathname) < 0) return;
  var path = url.pathname;
  var network = fetch(req);
  // Keeps a fresh copy (cloned before the page reads the body).
  event.waitUntil(network.then(function (r) {
    if (!keepable(r)) return;
    var copy = r.clone();
    return caches.open(cacheOf(path)).then(function (cache) { return cache.put(path, copy); });
  }).catch(function () { /* offline: nothing to keep */ }));
  event.respondWith(new Promise(function (resolve, reject) {
    network.then(resolve, function (error) {
      caches.match(path).then(function (kept) { if (kept) resolve(kept); else reject(error); });
    });
    setTimeout(function () {
      caches.match(path).then(function (kept) { if (kept) resolve(kept); });
    }, SLOW_MS);
  }));
});

// Tells the open pages what was sent, so they show it and what is left.
function tell(state) {
  return self.clients.matchAll({ type: "window" }).then(function (pages) {
    pages.forEach(function (page) { page.postMessage({ outbox: state }); });
  });
}

self.addEventListener("sync", function (event) {
  // A rejection (still no network) makes the browser try again later.
  if (event.tag === "outbox") event.waitUntil(self.HuoyanOutbox.flush().then(tell));
});
