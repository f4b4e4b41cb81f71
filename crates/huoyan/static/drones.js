// The drones' live map (templates/drones/live.html), on the page's map (static/map.js): each drone
// an arrow turned to its heading, moved by the server's events (/drones/live/events) with its
// track behind it; the fleet table's status and battery kept current; a mission's sorties drawn
// beside the tracks with their downloads (and, for a pilot, the upload); the video of a drone
// played by its URL's kind (HLS by hls.js, WebRTC by WHEP); registering a drone; and the aerial
// finding form.
(function () {
  "use strict";
  var root = document.getElementById("drones");
  var kit = window.huoyanMap;
  if (!root || !kit || !window.L) return;
  var map = kit.map;
  var statuses = JSON.parse(root.getAttribute("data-statuses"));
  var csrf = root.getAttribute("data-csrf");
  var fly = root.hasAttribute("data-fly");
  var lang = document.documentElement.lang === "en" ? "en" : "zh";
  var TRACK = 600; // points kept per drone: ten minutes at one a second

  function row(system) {
    return document.querySelector('#fleet tr[data-system="' + system + '"]');
  }

  var drones = {}; // system id -> {marker, track, moves}
  function drone(system) {
    if (drones[system]) return drones[system];
    var r = row(system);
    var name = r ? r.getAttribute("data-callsign") : "#" + system;
    var icon = L.divIcon({ className: "drone", html: '<span class="arrow">&#10148;</span>', iconSize: [24, 24] });
    var marker = L.marker([0, 0], { icon: icon, title: name, keyboard: true });
    marker.bindTooltip(name, { permanent: true, direction: "right", offset: [10, 0] });
    var track = L.polyline([], { className: "drone-track", weight: 2 });
    drones[system] = { marker: marker, track: track, moves: 0, shown: false };
    return drones[system];
  }

  // Once, a moment after the first drones appear and after the map has fitted its outlines: the
  // view over the drones instead of the whole city.
  var fitted = false;
  function fitDrones() {
    var b = L.latLngBounds([]);
    Object.keys(drones).forEach(function (k) {
      if (drones[k].shown) b.extend(drones[k].marker.getLatLng());
    });
    if (b.isValid()) map.fitBounds(b.pad(0.3), { animate: false, maxZoom: 16 });
  }
  function fitSoon() {
    if (fitted) return;
    fitted = true;
    var later = function () { setTimeout(fitDrones, 1000); };
    if (document.getElementById("map").getAttribute("data-ready") === "true") later();
    else document.addEventListener("huoyan-map-ready", later, { once: true });
  }

  function show(t) {
    var d = drone(t.system_id);
    var r = row(t.system_id);
    var status = r && r.hasAttribute("data-charging") ? "charging" : t.status;
    if (t.position) {
      var at = kit.toMap(t.position.lat, t.position.lon);
      d.marker.setLatLng(at);
      d.track.addLatLng(at);
      var pts = d.track.getLatLngs();
      if (pts.length > TRACK) d.track.setLatLngs(pts.slice(pts.length - TRACK));
      if (!d.shown) {
        d.marker.addTo(map);
        d.track.addTo(map);
        d.shown = true;
        fitSoon();
      }
      d.moves += 1;
      var el = d.marker.getElement();
      if (el) {
        el.setAttribute("data-system", String(t.system_id));
        el.setAttribute("data-link", t.link);
        el.setAttribute("data-moves", String(d.moves));
        el.className = el.className.replace(/\bst-\S+/g, "") + " st-" + status;
        var arrow = el.querySelector(".arrow");
        // The arrow glyph points east: turn it from there to the heading (clockwise from north).
        if (arrow && t.position.heading_deg !== null) {
          arrow.style.transform = "rotate(" + (t.position.heading_deg - 90) + "deg)";
        }
      }
    }
    if (r) {
      r.setAttribute("data-status", status);
      r.setAttribute("data-link", t.link);
      var cell = r.querySelector(".status");
      cell.textContent = statuses[status] || status;
      cell.className = "status st-" + status;
      if (t.battery_pct !== null) r.querySelector(".battery").textContent = t.battery_pct + "%";
    }
  }

  // The last stored positions, until the link says more.
  Array.prototype.forEach.call(document.querySelectorAll("#fleet tr[data-lat]"), function (r) {
    show({
      system_id: Number(r.getAttribute("data-system")),
      link: "none",
      status: r.getAttribute("data-status"),
      position: { lat: Number(r.getAttribute("data-lat")), lon: Number(r.getAttribute("data-lon")), heading_deg: null },
      battery_pct: null
    });
  });

  var source = new EventSource("/drones/live/events");
  source.onmessage = function (e) {
    show(JSON.parse(e.data));
    root.setAttribute("data-events", String(Number(root.getAttribute("data-events") || 0) + 1));
  };
  source.onopen = function () {
    root.setAttribute("data-live", "true");
  };

  function api(method, path, body) {
    var init = { method: method, credentials: "same-origin", headers: { Accept: "application/json" } };
    if (body) {
      init.headers["content-type"] = "application/json";
      init.headers["x-csrf-token"] = csrf;
      init.body = JSON.stringify(body);
    }
    var url = path + (path.indexOf("?") < 0 ? "?" : "&") + "lang=" + lang;
    return fetch(url, init).then(function (r) {
      return r.json().then(function (j) {
        if (!r.ok) {
          var err = new Error(j.fields && j.fields.length ? j.fields.map(function (f) { return f.message; }).join("; ") : j.message);
          err.fields = j.fields || [];
          throw err;
        }
        return j;
      });
    });
  }

  // An error for a form's note: each field at fault named by its label in the form.
  function explain(form, err) {
    if (!err.fields || !err.fields.length) return err.message;
    return err.fields.map(function (f) {
      var input = form.elements[f.field];
      var label = input && input.closest ? input.closest("label") : null;
      return (label ? label.firstChild.textContent.trim() : f.field) + ": " + f.message;
    }).join("; ");
  }

  // The operator's charging mark, for those who manage the fleet: on or off the charger.
  document.addEventListener("click", function (e) {
    var b = e.target.closest ? e.target.closest("button.charging") : null;
    if (!b) return;
    var r = b.closest("tr");
    var on = b.getAttribute("aria-pressed") !== "true";
    b.disabled = true;
    api("PATCH", "/api/v1/drones/" + r.getAttribute("data-id"), { charging: on }).then(function (d) {
      b.setAttribute("aria-pressed", String(d.charging));
      if (d.charging) r.setAttribute("data-charging", ""); else r.removeAttribute("data-charging");
      r.setAttribute("data-status", d.status);
      var cell = r.querySelector(".status");
      cell.textContent = statuses[d.status] || d.status;
      cell.className = "status st-" + d.status;
    }).catch(function (err) { b.title = err.message; }).then(function () { b.disabled = false; });
  });

  // Missions: the list, and the chosen one's sorties on the map with their files.
  var select = document.getElementById("mission");
  var detail = document.getElementById("mission-detail");
  var planned = L.layerGroup().addTo(map);
  api("GET", "/api/v1/drones/missions").then(function (list) {
    list.forEach(function (m) {
      var o = document.createElement("option");
      o.value = m.id;
      o.textContent = m.name;
      select.appendChild(o);
    });
  });
  function link(text, href) {
    var a = document.createElement("a");
    a.href = href;
    a.textContent = text;
    a.setAttribute("download", "");
    return a;
  }
  select.addEventListener("change", function () {
    planned.clearLayers();
    detail.textContent = "";
    if (!select.value) return;
    var id = select.value;
    api("GET", "/api/v1/drones/missions/" + id).then(function (m) {
      m.plan.drones.forEach(function (dp) {
        dp.sorties.forEach(function (s) {
          L.polyline(s.waypoints.map(function (w) { return kit.toMap(w.lat, w.lon); }),
            { className: "mission-path", weight: 2, dashArray: "6 4" }).addTo(planned);
        });
      });
      var p = document.createElement("p");
      p.textContent = root.getAttribute("data-sorties")
        .replace("{n}", m.sorties.length)
        .replace("{km}", (m.length_m / 1000).toFixed(1))
        .replace("{min}", Math.round(m.makespan_s / 60));
      detail.appendChild(p);
      var ul = document.createElement("ul");
      m.sorties.forEach(function (s) {
        var li = document.createElement("li");
        var r = document.querySelector('#fleet tr[data-id="' + s.drone_id + '"]');
        li.appendChild(document.createTextNode("#" + s.number + " " + (r ? r.getAttribute("data-callsign") : s.drone_id) + " "));
        li.appendChild(link(".plan", "/api/v1/drones/missions/" + id + "/plan?sortie=" + s.number));
        li.appendChild(document.createTextNode(" "));
        li.appendChild(link(".waypoints", "/api/v1/drones/missions/" + id + "/waypoints?sortie=" + s.number));
        if (fly) {
          var b = document.createElement("button");
          b.type = "button";
          b.textContent = "⇪";
          b.title = "MAVLink";
          var note = document.createElement("span");
          b.addEventListener("click", function () {
            b.disabled = true;
            api("POST", "/api/v1/drones/missions/" + id + "/upload", { sortie: s.number })
              .then(function () { note.textContent = " " + root.getAttribute("data-uploaded"); })
              .catch(function (e) { note.textContent = " " + e.message; })
              .then(function () { b.disabled = false; });
          });
          li.appendChild(document.createTextNode(" "));
          li.appendChild(b);
          li.appendChild(note);
        }
        ul.appendChild(li);
      });
      detail.appendChild(ul);
    }).catch(function (e) { detail.textContent = e.message; });
  });

  // Planning: the compounds under a control order as zones, the squad's drones, then the new
  // mission shown as any other.
  var plan = document.getElementById("plan");
  // Zones drawn on the map: each click a corner, "finish" closes the ring (GeoJSON, WGS-84).
  var drawn = [];
  var corners = null;
  var drawnLayer = L.layerGroup().addTo(map);
  var sketch = null;
  function drawnNote() {
    document.getElementById("drawn").textContent = drawn.length
      ? root.getAttribute("data-drawn").replace("{n}", drawn.length) : "";
    document.getElementById("draw-clear").hidden = !drawn.length;
  }
  if (plan) {
    document.getElementById("draw").addEventListener("click", function () {
      corners = [];
      sketch = L.polyline([], { className: "mission-path" }).addTo(drawnLayer);
      document.getElementById("draw-done").hidden = false;
    });
    map.on("click", function (e) {
      if (!corners) return;
      corners.push(kit.fromMap(e.latlng));
      sketch.addLatLng(e.latlng);
    });
    document.getElementById("draw-done").addEventListener("click", function () {
      if (corners && corners.length >= 3) {
        var ring = corners.map(function (c) { return [c[1], c[0]]; });
        ring.push(ring[0]);
        drawn.push({ type: "Polygon", coordinates: [ring] });
        drawnLayer.removeLayer(sketch);
        L.polygon(corners.map(function (c) { return kit.toMap(c[0], c[1]); }), { className: "mission-path" }).addTo(drawnLayer);
      }
      corners = null;
      document.getElementById("draw-done").hidden = true;
      drawnNote();
    });
    document.getElementById("draw-clear").addEventListener("click", function () {
      drawn = [];
      drawnLayer.clearLayers();
      drawnNote();
    });
    api("GET", "/api/v1/regions?level=compound&limit=500").then(function (page) {
      page.items.forEach(function (r) {
        if (!r.control || r.control.level === "lifted") return;
        var o = document.createElement("option");
        o.value = r.id;
        o.textContent = r.name + " · " + r.control.label;
        plan.elements.region_ids.appendChild(o);
      });
    });
    plan.addEventListener("submit", function (e) {
      e.preventDefault();
      var checked = function (name) {
        return Array.prototype.filter.call(plan.querySelectorAll('input[name="' + name + '"]'), function (i) {
          return i.checked;
        }).map(function (i) { return i.value; });
      };
      var body = {
        name: plan.elements.name.value,
        objectives: checked("objectives"),
        altitude_m: Number(plan.elements.altitude_m.value),
        region_ids: Array.prototype.map.call(plan.elements.region_ids.selectedOptions, function (o) { return Number(o.value); }),
        polygons: drawn,
        drone_ids: checked("drone_ids").map(Number)
      };
      var note = document.getElementById("plan-note");
      note.textContent = "";
      api("POST", "/api/v1/drones/missions", body).then(function (m) {
        var o = document.createElement("option");
        o.value = m.id;
        o.textContent = m.name;
        select.appendChild(o);
        select.value = String(m.id);
        select.dispatchEvent(new Event("change"));
      }).catch(function (err) { note.textContent = explain(plan, err); });
    });
  }

  // Registering a drone, for those who manage the fleet: its take-off point typed or picked on
  // the map; once registered the page is loaded again, so that its row, its place in the forms
  // and its stream's origin in the page's policy all come from the server.
  var register = document.getElementById("register");
  if (register) {
    map.on("click", function (e) {
      if (!register.elements.pick_home.checked) return;
      var wgs = kit.fromMap(e.latlng);
      register.elements.home_lat.value = wgs[0].toFixed(7);
      register.elements.home_lon.value = wgs[1].toFixed(7);
    });
    register.addEventListener("submit", function (e) {
      e.preventDefault();
      var f = register.elements;
      var note = document.getElementById("register-note");
      var streams = [];
      if (f.hls.value.trim()) streams.push({ kind: "hls", url: f.hls.value.trim() });
      if (f.whep.value.trim()) streams.push({ kind: "whep", url: f.whep.value.trim() });
      var body = {
        callsign: f.callsign.value, model: f.model.value, system_id: Number(f.system_id.value),
        endurance_min: Number(f.endurance_min.value), cruise_mps: Number(f.cruise_mps.value),
        hfov_deg: Number(f.hfov_deg.value), home_lon: Number(f.home_lon.value),
        home_lat: Number(f.home_lat.value), streams: streams
      };
      if (f.team_id) body.team_id = Number(f.team_id.value);
      note.textContent = "";
      api("POST", "/api/v1/drones", body).then(function () {
        location.reload();
      }).catch(function (err) { note.textContent = explain(register, err); });
    });
  }

  // Video, by the kind of its URL; the page's policy allows only the drones' own origins.
  var video = document.getElementById("video");
  var videoNote = document.getElementById("video-note");
  var hls = null;
  var peer = null;
  var session = null;
  function stop() {
    if (hls) { hls.destroy(); hls = null; }
    if (peer) { peer.close(); peer = null; }
    // WHEP: the session's resource is deleted so the server stops sending.
    if (session) { fetch(session, { method: "DELETE" }).catch(function () {}); session = null; }
    video.removeAttribute("src");
    video.srcObject = null;
  }
  // The offer is sent once its candidates are gathered (at most 2 s), for servers that take no
  // trickled candidates.
  function gathered(pc) {
    return new Promise(function (resolve) {
      if (pc.iceGatheringState === "complete") return resolve();
      var timer = setTimeout(resolve, 2000);
      pc.addEventListener("icegatheringstatechange", function () {
        if (pc.iceGatheringState === "complete") { clearTimeout(timer); resolve(); }
      });
    });
  }
  function whep(url) {
    peer = new RTCPeerConnection();
    peer.addTransceiver("video", { direction: "recvonly" });
    peer.addTransceiver("audio", { direction: "recvonly" });
    peer.ontrack = function (e) { if (e.track.kind === "video") video.srcObject = e.streams[0] || new MediaStream([e.track]); };
    var pc = peer;
    return pc.createOffer().then(function (offer) {
      return pc.setLocalDescription(offer);
    }).then(function () {
      return gathered(pc);
    }).then(function () {
      return fetch(url, { method: "POST", headers: { "content-type": "application/sdp" }, body: pc.localDescription.sdp });
    }).then(function (r) {
      if (!r.ok) throw new Error("WHEP " + r.status);
      var where = r.headers.get("location");
      if (where) session = new URL(where, url).href;
      return r.text();
    }).then(function (sdp) {
      return pc.setRemoteDescription({ type: "answer", sdp: sdp });
    });
  }
  document.addEventListener("click", function (e) {
    var b = e.target.closest ? e.target.closest("button.play") : null;
    if (!b) return;
    stop();
    video.hidden = false;
    videoNote.textContent = "";
    var url = b.getAttribute("data-url");
    var kind = b.getAttribute("data-kind");
    var started;
    var player;
    if (kind === "whep") {
      player = "whep";
      started = whep(url);
    } else if (window.Hls && window.Hls.isSupported()) {
      // hls.js first, as its own guide does: the same player wherever Media Source runs, where
      // native HLS differs between browsers; native only where there is no Media Source.
      // No worker: it would come from a blob: URL, which the page's policy does not run.
      player = "hls.js";
      hls = new window.Hls({ enableWorker: false, lowLatencyMode: true });
      hls.loadSource(url);
      hls.attachMedia(video);
      hls.on(window.Hls.Events.ERROR, function (_event, data) {
        if (data.fatal) videoNote.textContent = root.getAttribute("data-failed") + " (" + data.details + ")";
      });
      started = Promise.resolve();
    } else if (video.canPlayType("application/vnd.apple.mpegurl")) {
      player = "native";
      video.src = url;
      started = Promise.resolve();
    } else {
      started = Promise.reject(new Error("HLS"));
    }
    video.setAttribute("data-player", player || "");
    started.then(function () { return video.play(); }).catch(function (err) {
      videoNote.textContent = root.getAttribute("data-failed") + " (" + err.message + ")";
    });
  });

  // The aerial finding: at the drone's position, or at a point picked on the map.
  var form = document.getElementById("finding");
  if (!form) return;
  var picked = null;
  var pickedMarker = null;
  map.on("click", function (e) {
    if (!form.elements.at_point.checked) return;
    var wgs = kit.fromMap(e.latlng);
    picked = { lat: wgs[0], lon: wgs[1] };
    if (pickedMarker) map.removeLayer(pickedMarker);
    pickedMarker = L.circleMarker(e.latlng, { radius: 7, className: "picked-point" }).addTo(map);
    document.getElementById("finding-point").textContent =
      root.getAttribute("data-picked") + ": " + picked.lat.toFixed(6) + ", " + picked.lon.toFixed(6);
  });
  form.addEventListener("submit", function (e) {
    e.preventDefault();
    var note = document.getElementById("finding-note");
    var body = {
      drone_id: Number(form.elements.drone_id.value),
      category: form.elements.category.value,
      description: form.elements.description.value
    };
    if (form.elements.at_point.checked && picked) {
      body.lon = picked.lon;
      body.lat = picked.lat;
    }
    note.textContent = "";
    api("POST", "/api/v1/drones/findings", body).then(function (f) {
      note.textContent = root.getAttribute("data-filed") + " ";
      var a = document.createElement("a");
      a.href = "/cases/" + f.case_id;
      a.textContent = "#" + f.case_id;
      note.appendChild(a);
      note.setAttribute("data-case", String(f.case_id));
      form.elements.description.value = "";
    }).catch(function (err) {
      note.textContent = explain(form, err);
    });
  });
})();
