// The supervisor's report form on a phone with a bad network. A report goes through the outbox
// (outbox.js): kept in IndexedDB (photos included) the moment it is sent, and sent with its own
// Idempotency-Key until the server has it, so a resend after a lost answer returns the same case
// and one report is never two cases. The page may come from the service worker's cache, without
// a network. Without script the form posts normally, with the same key in a hidden field.
(function () {
  "use strict";
  var form = document.getElementById("report");
  var outbox = document.getElementById("outbox");
  var queue = document.getElementById("queue");
  var Outbox = window.HuoyanOutbox;
  if (!form || !Outbox || !window.indexedDB || !window.fetch) return;
  var TEXT = ["category", "priority", "compound_id", "description", "address", "lon", "lat"];
  Outbox.register();
  // A page kept by the service worker offers the key it was kept with every time it opens.
  form.elements.idempotency_key.value = Outbox.newKey();

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

  function sent(outcome) {
    localStorage.removeItem(DRAFT_TEXT);
    outbox.hidden = false;
    outbox.innerHTML = "";
    var a = document.createElement("a");
    a.href = "/cases/" + outcome.id;
    a.textContent = form.dataset.msgSent + " #" + outcome.id;
    a.id = "sent-case";
    outbox.appendChild(a);
  }

  // A report the server refused goes back into the form to be corrected, not resent as it is.
  function giveBack(entries) {
    var back = entries.filter(function (e) {
      return (e.kind || "report") === "report" && e.refused && (!e.account || e.account === form.dataset.account);
    })[0];
    if (!back) return Promise.resolve();
    TEXT.forEach(function (n) { if (form.elements[n]) form.elements[n].value = back.fields[n] || ""; });
    // The photos the server did not refuse are chosen again; each refused one is named with why.
    var files = back.files || [];
    var refusedFiles = {};
    var named = back.refused.map(function (f) {
      var m = /^file(?:\[(\d+)\])?$/.exec(f.field);
      if (!m) return f;
      var which = m[1] === undefined ? files : [files[Number(m[1])]];
      which.forEach(function (file, i) { refusedFiles[m[1] === undefined ? i : m[1]] = true; });
      var names = which.filter(Boolean).map(function (file) { return file.name; }).join("、");
      return { field: f.field, message: (names ? names + "：" : "") + f.message };
    });
    if (window.DataTransfer) {
      var kept = new DataTransfer();
      files.forEach(function (file, i) { if (!refusedFiles[i]) kept.items.add(file); });
      form.elements.file.files = kept.files;
    }
    showErrors(named);
    say(form.dataset.msgFix);
    return Outbox.drop(back.key);
  }

  // Shows what a flush did: this page's, or the service worker's in the background.
  function settle(state) {
    if (outbox.textContent === form.dataset.msgSending) say("");
    state.results.forEach(function (r) { if (r.kind === "report" && r.outcome.id) sent(r.outcome); });
    return Outbox.all().then(giveBack).then(function () { return Outbox.show(queue, form.dataset.account, state); });
  }

  var busy = false;
  function flush() {
    if (busy) return Promise.resolve();
    busy = true;
    return Outbox.all().then(function (entries) {
      if (entries.some(function (e) { return !e.refused; })) say(form.dataset.msgSending);
      return Outbox.flush();
    }).then(settle, function () {
      say(form.dataset.msgSaved);
      return Outbox.show(queue, form.dataset.account).then(function () { return Outbox.later(); });
    }).then(function () { busy = false; }, function () { busy = false; });
  }

  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    var fields = {};
    TEXT.forEach(function (n) { fields[n] = form.elements[n].value; });
    var entry = {
      key: form.elements.idempotency_key.value, kind: "report", account: form.dataset.account,
      lang: document.documentElement.lang, fields: fields,
      files: Array.prototype.slice.call(form.elements.file.files || []), at: Date.now()
    };
    Outbox.put(entry).then(function () {
      form.reset();
      // A new key for the next report; this one stays with its entry until the server has it.
      form.elements.idempotency_key.value = Outbox.newKey();
      if (form.elements.compound_id.options.length === 1) form.elements.compound_id.selectedIndex = 0;
      showErrors([]);
      flush();
    }, function () { form.submit(); });
  });

  Outbox.onSent(settle);
  window.addEventListener("online", flush);
  setInterval(flush, 20000);
  flush();
})();
