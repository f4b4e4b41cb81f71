// The daily check-in on a phone with a bad network: the answer goes through the outbox
// (outbox.js), so without a network it is queued on the phone and sent when the network
// returns. Only the latest answer of the day matters, so a new one replaces any still queued.
// Without script the form posts as before.
(function () {
  "use strict";
  var form = document.getElementById("check-in");
  var Outbox = window.HuoyanOutbox;
  if (!form || !Outbox || !window.indexedDB || !window.fetch) return;
  var outbox = document.getElementById("outbox");
  var queue = document.getElementById("queue");
  Outbox.register();
  // The button pressed, for browsers whose submit event does not name it (`submitter`).
  var pressed = null;
  form.querySelectorAll("button[type=submit]").forEach(function (b) {
    b.addEventListener("click", function () { pressed = b; });
  });

  function say(text) { outbox.hidden = !text; outbox.textContent = text || ""; }
  // The answer recorded, where the page shows it after a plain post.
  function done(checkIn) {
    var shown = document.getElementById("checked-in");
    if (!shown) {
      shown = document.createElement("p");
      shown.id = "checked-in";
      shown.className = "notice";
      shown.setAttribute("role", "status");
      document.querySelector("main h1").after(shown);
    }
    shown.textContent = form.dataset.msgDone + " " + checkIn.day + " · " +
      (checkIn.nothing_to_report ? form.dataset.msgNothing : form.dataset.msgHadProblems);
  }

  // Shows what a flush did: this page's, or the service worker's in the background.
  function settle(state) {
    state.results.forEach(function (r) {
      if (r.outcome.checkIn) { say(""); done(r.outcome.checkIn); }
    });
    return Outbox.all().then(function (entries) {
      // A refused check-in (the account's role changed) is shown once and dropped: there is
      // nothing in it to correct.
      return Promise.all(entries.filter(function (e) {
        return e.kind === "check_in" && e.refused && e.account === form.dataset.account;
      }).map(function (e) {
        say(e.refused.map(function (f) { return f.message; }).join("; "));
        return Outbox.drop(e.key);
      }));
    }).then(function () { return Outbox.show(queue, form.dataset.account, state); });
  }

  var busy = false;
  function flush() {
    if (busy) return Promise.resolve();
    busy = true;
    return Outbox.flush().then(settle, function () {
      return Outbox.show(queue, form.dataset.account).then(function () { return Outbox.later(); });
    }).then(function () { busy = false; }, function () { busy = false; });
  }

  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    var entry = {
      key: Outbox.newKey(), kind: "check_in", account: form.dataset.account, lang: document.documentElement.lang,
      fields: { nothing_to_report: (ev.submitter || pressed || {}).name === "nothing_to_report" }, at: Date.now()
    };
    Outbox.all().then(function (entries) {
      var older = entries.filter(function (e) { return e.kind === "check_in" && e.account === entry.account; });
      return Promise.all(older.map(function (e) { return Outbox.drop(e.key); }));
    }).then(function () { return Outbox.put(entry); }).then(function () {
      say(form.dataset.msgQueued);
      return flush();
    }, function () {
      // No storage on this phone: post the form as it is, with the button pressed.
      if (entry.fields.nothing_to_report) {
        var pressed = document.createElement("input");
        pressed.type = "hidden";
        pressed.name = "nothing_to_report";
        pressed.value = "1";
        form.appendChild(pressed);
      }
      form.submit();
    });
  });

  Outbox.onSent(settle);
  window.addEventListener("online", flush);
  setInterval(flush, 20000);
  flush();
})();
