// The supervisor's report form on a phone with a bad network. A report is kept as a draft in
// IndexedDB (photos included) the moment it is sent, and sent with its own Idempotency-Key until
// the server has it: a resend after a lost answer returns the same case, so one report is never
// two cases. Without script the form posts normally, with the same key in a hidden field.
(function () {
  "use strict";
  var form = document.getElementById("report");
  var outbox = document.getElementById("outbox");
  if (!form || !window.indexedDB || !window.fetch) return;
  var csrf = form.dataset.csrf;
  var TEXT = ["category", "priority", "compound_id", "description", "address", "lon", "lat"];

  function db() {
    return new Promise(function (resolve, reject) {
      var open = indexedDB.open("huoyan", 1);
      open.onupgradeneeded = function () { open.result.createObjectStore("drafts", { keyPath: "key" }); };
      open.onsuccess = function () { resolve(open.result); };
      open.onerror = function () { reject(open.error); };
    });
  }
  function store(mode, fn) {
    return db().then(function (d) {
      return new Promise(function (resolve, reject) {
        var tx = d.transaction("drafts", mode);
        var req = fn(tx.objectStore("drafts"));
        tx.oncomplete = function () { resolve(req && req.result); };
        tx.onerror = function () { reject(tx.error); };
      });
    });
  }
  var put = function (draft) { return store("readwrite", function (s) { return s.put(draft); }); };
  var drop = function (key) { return store("readwrite", function (s) { return s.delete(key); }); };
  var all = function () { return store("readonly", function (s) { return s.getAll(); }); };

  // The API's error messages in the page's language.
  var lang = "?lang=" + encodeURIComponent(document.documentElement.lang || "zh-CN");
  function say(text) { outbox.hidden = !text; outbox.textContent = text || ""; }
  function showErrors(fields) {
    form.querySelectorAll(".error[data-for]").forEach(function (el) { el.textContent = ""; });
    (fields || []).forEach(function (f) {
      var name = f.field.replace(/\[.*$/, "");
      var el = form.querySelector('.error[data-for="' + name + '"]') || form.querySelector('.error[data-for="description"]');
      if (el) el.textContent = (el.textContent ? el.textContent + "; " : "") + f.message;
    });
  }

  // Text typed so far survives a closed tab or a dead battery.
  var DRAFT_TEXT = "huoyan.report.text";
  try {
    var saved = JSON.parse(localStorage.getItem(DRAFT_TEXT) || "null");
    if (saved) TEXT.forEach(function (n) { if (saved[n] && form.elements[n] && !form.elements[n].value) form.elements[n].value = saved[n]; });
  } catch (e) { /* a corrupt draft is dropped */ }
  form.addEventListener("input", function () {
    var text = {};
    TEXT.forEach(function (n) { text[n] = form.elements[n].value; });
    localStorage.setItem(DRAFT_TEXT, JSON.stringify(text));
  });

  document.getElementById("locate").addEventListener("click", function () {
    var where = document.getElementById("where");
    if (!navigator.geolocation) { where.textContent = form.dataset.msgNoLocation; return; }
    navigator.geolocation.getCurrentPosition(function (pos) {
      form.elements.lon.value = pos.coords.longitude.toFixed(6);
      form.elements.lat.value = pos.coords.latitude.toFixed(6);
      where.textContent = form.dataset.msgLocated + " " + form.elements.lat.value + ", " + form.elements.lon.value;
    }, function () { where.textContent = form.dataset.msgNoLocation; }, { enableHighAccuracy: true, timeout: 15000 });
  });

  // Sends one draft: the case with its photos in one request, once by its key. A refused photo
  // refuses the whole report, so no case is filed without the photos it was sent with.
  function send(draft) {
    var data = new FormData();
    var f = draft.fields;
    var parts = { category: f.category, description: f.description, address: f.address, priority: f.priority, compound_id: f.compound_id };
    if (f.lon && f.lat) { parts.lon = f.lon; parts.lat = f.lat; }
    Object.keys(parts).forEach(function (k) { if (parts[k]) data.append(k, parts[k]); });
    (draft.files || []).forEach(function (file) { data.append("file", file, file.name || "photo.jpg"); });
    var headers = { "idempotency-key": draft.key, "x-csrf-token": csrf };
    return fetch("/api/v1/cases" + lang, { method: "POST", headers: headers, body: data, credentials: "same-origin" })
      .then(function (r) {
        if (r.status === 200 || r.status === 201) return r.json().then(function (j) { return { id: j.id }; });
        if (r.status === 413 || r.status === 422) {
          return r.json().then(function (j) { return { invalid: j.fields || [] }; });
        }
        throw new Error("status " + r.status);
      });
  }

  // A refused report comes back into the form as it was typed, with the photos the server did
  // not refuse chosen again; each refused photo is named with why.
  function giveBack(draft, fields) {
    TEXT.forEach(function (n) { if (form.elements[n]) form.elements[n].value = draft.fields[n] || ""; });
    var files = draft.files || [];
    var refused = {};
    var named = fields.map(function (f) {
      var m = /^file(?:\[(\d+)\])?$/.exec(f.field);
      if (!m) return f;
      var which = m[1] === undefined ? files : [files[Number(m[1])]];
      which.forEach(function (file, i) { refused[m[1] === undefined ? i : m[1]] = true; });
      var names = which.filter(Boolean).map(function (file) { return file.name; }).join("、");
      return { field: f.field, message: (names ? names + "：" : "") + f.message };
    });
    if (window.DataTransfer) {
      var kept = new DataTransfer();
      files.forEach(function (file, i) { if (!refused[i]) kept.items.add(file); });
      form.elements.file.files = kept.files;
    }
    showErrors(named);
  }

  var busy = false;
  function flush() {
    if (busy) return;
    busy = true;
    all().then(function (drafts) {
      if (!drafts.length) { busy = false; return; }
      say(form.dataset.msgSending);
      return drafts.reduce(function (p, d) {
        return p.then(function () {
          return send(d).then(function (r) {
            if (r.invalid) {
              // The server refused it: back into the form to fix, not retried as it is.
              giveBack(d, r.invalid);
              say(form.dataset.msgFix);
              return drop(d.key);
            }
            localStorage.removeItem(DRAFT_TEXT);
            outbox.hidden = false;
            outbox.innerHTML = "";
            var a = document.createElement("a");
            a.href = "/cases/" + r.id;
            a.textContent = form.dataset.msgSent + " #" + r.id;
            a.id = "sent-case";
            outbox.appendChild(a);
            return drop(d.key);
          });
        });
      }, Promise.resolve());
    }).catch(function () {
      say(form.dataset.msgSaved);
    }).then(function () { busy = false; });
  }

  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    var fields = {};
    TEXT.forEach(function (n) { fields[n] = form.elements[n].value; });
    var files = Array.prototype.slice.call(form.elements.file.files || []);
    var draft = { key: form.elements.idempotency_key.value, fields: fields, files: files, at: Date.now() };
    put(draft).then(function () {
      form.reset();
      // A new key for the next report; this one stays with its draft until the server has it.
      form.elements.idempotency_key.value = (crypto.randomUUID ? crypto.randomUUID() : String(Date.now()) + Math.random());
      if (form.elements.compound_id.options.length === 1) form.elements.compound_id.selectedIndex = 0;
      showErrors([]);
      flush();
    }, function () { form.submit(); });
  });

  window.addEventListener("online", flush);
  setInterval(flush, 20000);
  flush();
})();
