// Every page's map (templates/map.html): region outlines coloured by control level and cases as
// pins coloured by state, clustered when many, read from the JSON API and drawn on a plain
// background (or the tiles configured, static/map-tiles.js). A pin opens its case; an outline
// shows its region, or, on a page with a region picker, ticks or clears that region's box.
(function () {
  "use strict";
  var el = document.getElementById("map");
  if (!el || !window.L) return;
  var lang = document.documentElement.lang === "en" ? "en" : "zh";
  var note = document.getElementById("map-note");
  var pick = el.hasAttribute("data-pick");
  var selected = {};
  (el.getAttribute("data-selected") || "").split(",").forEach(function (id) {
    if (id) selected[id] = true;
  });

  // The clusters need a deepest zoom, which tiles would otherwise give.
  var map = L.map(el, { attributionControl: false, zoomSnap: 0.5, maxZoom: 18 }).setView([35, 105], 4);
  var tiles = window.huoyanTiles;
  if (tiles) {
    L.tileLayer(tiles.url, { maxZoom: 19 }).addTo(map);
    if (tiles.attribution) {
      L.control.attribution({ prefix: false }).addAttribution(text(tiles.attribution)).addTo(map);
    }
  }

  // Positions are stored in WGS-84; over GCJ-02 tiles (Chinese web maps) they are drawn shifted
  // to match the tiles (static/datum.js), and a point picked on the map is shifted back.
  var gcj = !!(tiles && tiles.datum === "gcj02" && window.huoyanDatum);
  function toMap(lat, lon) {
    return gcj ? L.latLng(window.huoyanDatum.wgsToGcj(lat, lon)) : L.latLng(lat, lon);
  }
  function fromMap(latlng) {
    return gcj ? window.huoyanDatum.gcjToWgs(latlng.lat, latlng.lng) : [latlng.lat, latlng.lng];
  }
  function coords(c) {
    return toMap(c[1], c[0]);
  }
  // For the pages that draw more on the same map (the drones' live map).
  window.huoyanMap = { map: map, toMap: toMap, fromMap: fromMap };

  // Escapes `s` for Leaflet, which takes HTML.
  function text(s) {
    var d = document.createElement("div");
    d.textContent = s;
    return d.innerHTML;
  }

  function json(path) {
    var url = path + (path.indexOf("?") < 0 ? "?" : "&") + "lang=" + lang;
    return fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) {
        if (!r.ok) throw new Error(url + ": " + r.status);
        return r.json();
      });
  }

  // The picker's box for region `id`, if the page has one.
  function box(id) {
    return pick ? document.querySelector('input[name="region_ids"][value="' + id + '"]') : null;
  }

  var areas = {};
  function paint(id) {
    var b = box(id);
    var on = b ? b.checked : !!selected[id];
    (areas[id] || []).forEach(function (layer) {
      var path = layer.getElement();
      if (path) path.classList.toggle("picked", on);
    });
  }

  function regionPopup(f) {
    var div = document.createElement("div");
    var a = document.createElement("a");
    a.href = "/regions/" + f.id;
    a.textContent = f.properties.name;
    div.appendChild(a);
    div.appendChild(document.createElement("br"));
    var c = f.properties.control;
    div.appendChild(document.createTextNode(c ? c.label : el.getAttribute("data-none")));
    return div;
  }

  var outlineBounds = L.latLngBounds([]);
  var outlines = 0;
  // Each query's outlines in a pane of their own, above the one before: compounds over districts.
  function drawOutlines(fc, i) {
    var pane = "areas" + i;
    map.createPane(pane).style.zIndex = 410 + i;
    var layer = L.geoJSON(fc, {
      pane: pane,
      coordsToLatLng: coords,
      style: function (f) {
        var c = f.properties.control;
        return { className: "area lvl-" + (c ? c.level : "none"), weight: 1.5, fillOpacity: 0.15 };
      },
      onEachFeature: function (f, l) {
        (areas[f.id] = areas[f.id] || []).push(l);
        outlines += 1;
        if (box(f.id)) {
          l.on("click", function () {
            box(f.id).click();
          });
        } else {
          l.bindPopup(function () {
            return regionPopup(f);
          });
        }
      }
    }).addTo(map);
    layer.eachLayer(function (l) {
      l.getElement().setAttribute("data-region", String(l.feature.id));
    });
    if (fc.features.length) outlineBounds.extend(layer.getBounds());
    Object.keys(areas).forEach(paint);
  }

  var pinBounds = L.latLngBounds([]);
  function drawPins(fc) {
    var cluster = L.markerClusterGroup({ showCoverageOnHover: false, maxClusterRadius: 40, animate: false });
    fc.features.forEach(function (f) {
      var p = f.properties;
      var at = coords(f.geometry.coordinates);
      var icon = L.divIcon({ className: "pin st-" + p.state + (p.overdue ? " overdue" : ""), iconSize: [14, 14] });
      var title = p.number + " " + p.state_label + " · " + p.title;
      var marker = L.marker(at, { icon: icon, title: title, alt: p.number, keyboard: true });
      marker.on("click", function () {
        window.location.assign("/cases/" + f.id);
      });
      cluster.addLayer(marker);
      pinBounds.extend(at);
    });
    map.addLayer(cluster);
    el.setAttribute("data-pins", String(fc.features.length));
    if (fc.total > fc.features.length) {
      note.textContent = el.getAttribute("data-shown")
        .replace("{shown}", fc.features.length)
        .replace("{total}", fc.total);
    }
  }

  // Key sites of the inspections' coverage, coloured by standing: never visited, stale, covered.
  function drawSites(rows) {
    rows.forEach(function (r) {
      if (r.lon === null || r.lat === null) return;
      var at = toMap(r.lat, r.lon);
      var icon = L.divIcon({ className: "pin site-" + r.standing, iconSize: [14, 14] });
      var title = r.site_name + " · " + r.team_name + " · " + el.getAttribute("data-" + r.standing);
      L.marker(at, { icon: icon, title: title, alt: r.site_name, keyboard: true }).addTo(map);
      pinBounds.extend(at);
    });
    el.setAttribute("data-pins", String(rows.length));
  }

  var jobs = (el.getAttribute("data-regions") || "").split("|").filter(Boolean).map(function (q, i) {
    return json("/api/v1/regions/geojson?" + q).then(function (fc) {
      drawOutlines(fc, i);
    });
  });
  var cases = el.getAttribute("data-cases");
  if (cases !== null) jobs.push(json("/api/v1/cases/geojson?" + cases).then(drawPins));
  var sites = el.getAttribute("data-sites");
  if (sites !== null) jobs.push(json("/api/v1/inspections/coverage?" + sites).then(drawSites));

  Promise.all(jobs)
    .then(function () {
      var bounds = pinBounds.isValid() ? pinBounds : outlineBounds;
      if (bounds.isValid()) {
        map.fitBounds(bounds.pad(0.05), { animate: false, maxZoom: 16 });
      } else {
        note.textContent = el.getAttribute("data-empty");
      }
    })
    .catch(function (e) {
      note.textContent = el.getAttribute("data-failed");
      // Kept on the element for whoever looks into it (and the browser tests' messages).
      el.setAttribute("data-error", String(e));
    })
    .then(function () {
      el.setAttribute("data-outlines", String(outlines));
      el.setAttribute("data-ready", "true");
      document.dispatchEvent(new Event("huoyan-map-ready"));
    });

  document.addEventListener("change", function (e) {
    if (e.target.name === "region_ids") paint(e.target.value);
  });
})();
