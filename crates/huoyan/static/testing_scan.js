// The sampler's scanner: scan the tube, then the people, then seal. What is read (by the phone's
// camera through scan.js, or typed by a keyboard-wedge scanner ending in Enter) goes first into
// the field app's outbox (outbox.js) with its idempotency key and is then sent, so a dead network
// loses nothing and a resend doubles nothing. Each answer is shown in its colour with a tone:
// green added, amber refused (full, sealed, scanned twice, unknown), red for a red or yellow code.
(function () {
  "use strict";
  var form = document.getElementById("scanner");
  if (!form || !window.HuoyanOutbox) return;
  var Outbox = window.HuoyanOutbox;
  var msg = form.dataset;
  var input = document.getElementById("scan-input");
  var choice = document.getElementById("round-point");
  var tubeLabel = document.getElementById("tube-label");
  var countEl = document.getElementById("tube-count");
  var capacityEl = document.getElementById("tube-capacity");
  var outcome = document.getElementById("outcome");
  var list = document.getElementById("scanned");
  var seal = document.getElementById("seal");
  var newTube = document.getElementById("new-tube");
  var camera = document.getElementById("camera");
  var video = document.getElementById("scan-video");
  var queue = document.getElementById("queue");
  var lang = document.documentElement.lang || "zh-CN";
  var account = form.dataset.account;

  // The tube being filled survives a reload (the phone may lock between two residents).
  var STATE = "huoyan-scanner";
  var state = JSON.parse(localStorage.getItem(STATE) || "{}");
  function save() { localStorage.setItem(STATE, JSON.stringify(state)); }
  if (state.choice && choice.querySelector('option[value="' + state.choice + '"]')) choice.value = state.choice;

  function capacity() {
    var o = choice.selectedOptions[0];
    return o ? Number(o.dataset.capacity) : 0;
  }
  function show() {
    tubeLabel.textContent = state.tube ? state.tube : msg.scanTube;
    countEl.textContent = state.tube ? String(state.count || 0) : "–";
    capacityEl.textContent = String(capacity());
    seal.disabled = !state.tube || !state.count;
    form.classList.toggle("has-tube", !!state.tube);
  }

  var audio = null;
  function tone(kind) {
    try {
      audio = audio || new (window.AudioContext || window.webkitAudioContext)();
      var o = audio.createOscillator(), g = audio.createGain();
      o.frequency.value = kind === "ok" ? 880 : kind === "alarm" ? 220 : 440;
      g.gain.value = 0.2;
      o.connect(g); g.connect(audio.destination);
      o.start();
      o.stop(audio.currentTime + (kind === "alarm" ? 0.6 : 0.15));
    } catch (e) { /* no sound on this phone: the colour says it */ }
    if (kind === "alarm" && navigator.vibrate) navigator.vibrate([200, 100, 200]);
  }
  function say(kind, text) {
    outcome.className = "outcome " + kind;
    outcome.textContent = text;
    tone(kind);
  }

  // A scan's answer as the sampler must act on it.
  var WORDS = {
    added: "added", tube_full: "tubeFull", tube_not_open: "tubeNotOpen", scanned_twice: "scannedTwice",
    sample_alone: "sampleAlone", unknown_code: "unknownCode"
  };
  function shown(a) {
    var key = WORDS[a.outcome] || "refused";
    var kind = a.outcome === "added" ? "ok" : a.outcome === "sample_alone" ? "alarm" : "warn";
    if (a.tube === state.tube) state.count = a.count;
    var li = document.createElement("li");
    li.className = "scan " + kind;
    li.dataset.outcome = a.outcome;
    li.textContent = (a.name ? a.name + " · " : "") + msg[key] + (a.colour ? " · " + msg["colour" + a.colour] : "");
    list.insertBefore(li, list.firstChild);
    say(kind, li.textContent + (a.full ? " · " + msg.full : ""));
    save();
    show();
  }

  var sending = null;
  // Sends what waits and shows each answer; on failure tries again in a moment.
  function send() {
    if (sending) return sending.then(send);
    sending = Outbox.flush().then(function (state) {
      (state.results || []).forEach(function (r) {
        if (r.outcome.invalid) {
          say("warn", r.outcome.invalid.map(function (f) { return f.message; }).join("; "));
        } else if (r.outcome.scan) {
          shown(r.outcome.scan);
        } else if (r.outcome.sealed) {
          say("ok", msg.sealed + " " + r.outcome.sealed.barcode);
        }
      });
      return Outbox.show(queue, account, state);
    }, function () {
      Outbox.later();
      setTimeout(send, 1500);
      return Outbox.show(queue, account, null);
    }).then(function () { sending = null; }, function () { sending = null; });
    return sending;
  }

  function enqueue(kind, fields) {
    var entry = { key: Outbox.newKey(), kind: kind, fields: fields, at: Date.now(), account: account, lang: lang };
    return Outbox.put(entry).then(send);
  }

  // A text read by the camera or the wedge: the tube's barcode when no tube is open, else a
  // resident's code.
  function read(text) {
    text = (text || "").trim();
    if (!text) return;
    if (!choice.value) return say("warn", msg.chooseRound);
    if (!state.tube) {
      var ids = choice.value.split(":");
      state.tube = text.toUpperCase();
      state.count = 0;
      list.innerHTML = "";
      save();
      show();
      say("ok", msg.tubeOpened + " " + state.tube);
      return enqueue("tube_open", { barcode: state.tube, round_id: Number(ids[0]), point_id: Number(ids[1]) });
    }
    if (state.count >= capacity()) return say("warn", msg.tubeFull);
    outcome.className = "outcome pending";
    outcome.textContent = msg.sending + " " + text;
    return enqueue("scan", { tube: state.tube, code: text });
  }

  input.addEventListener("keydown", function (ev) {
    if (ev.key !== "Enter") return;
    ev.preventDefault();
    var text = input.value;
    input.value = "";
    read(text);
  });
  form.addEventListener("submit", function (ev) { ev.preventDefault(); });
  choice.addEventListener("change", function () {
    state.choice = choice.value;
    save();
    show();
  });
  seal.addEventListener("click", function () {
    if (!state.tube) return;
    var tube = state.tube;
    state.tube = null;
    state.count = 0;
    save();
    show();
    enqueue("tube_seal", { tube: tube });
    input.focus();
  });
  newTube.addEventListener("click", function () {
    state.tube = null;
    state.count = 0;
    save();
    show();
    input.focus();
  });

  // The camera reads one code at a time and starts again for the next, until stopped.
  var stop = null, cameraOn = false;
  function cameraOff() {
    cameraOn = false;
    if (stop) stop();
    stop = null;
    video.hidden = true;
    camera.textContent = msg.camera;
  }
  camera.disabled = !window.HuoyanScan || !navigator.mediaDevices;
  camera.addEventListener("click", function () {
    if (cameraOn) return cameraOff();
    cameraOn = true;
    video.hidden = false;
    camera.textContent = msg.stop;
    (function next() {
      if (!cameraOn) return;
      window.HuoyanScan.start(video, function (text) {
        stop = null;
        Promise.resolve(read(text)).then(function () { setTimeout(next, 600); });
      }).then(function (s) { stop = s; }, function () {
        cameraOff();
        say("warn", msg.noCamera);
      });
    })();
  });

  Outbox.register();
  Outbox.onSent(function () { Outbox.show(queue, account, null); });
  window.addEventListener("online", send);
  show();
  send();
  form.dataset.ready = "1";
  input.focus();
})();
