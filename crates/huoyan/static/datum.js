// WGS-84 <-> GCJ-02, as huoyan_core::drones::gcj02 computes it (the same published transform, the
// same constants): positions are stored in WGS-84, and a map over GCJ-02 tiles (Chinese web maps)
// shows them shifted to match its tiles; a point picked on such a map is shifted back.
(function () {
  "use strict";
  var A = 6378245.0;
  var EE = 0.006693421622965943;
  function inChina(lat, lon) {
    return lon >= 72.004 && lon <= 137.8347 && lat >= 0.8293 && lat <= 55.8271;
  }
  function transform(x, y) {
    var d = 20 * Math.sin(6 * x * Math.PI) + 20 * Math.sin(2 * x * Math.PI);
    var lat = (d + 20 * Math.sin(y * Math.PI) + 40 * Math.sin(y / 3 * Math.PI) +
      160 * Math.sin(y / 12 * Math.PI) + 320 * Math.sin(y * Math.PI / 30)) * 2 / 3 -
      100 + 2 * x + 3 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * Math.sqrt(Math.abs(x));
    var lon = (d + 20 * Math.sin(x * Math.PI) + 40 * Math.sin(x / 3 * Math.PI) +
      150 * Math.sin(x / 12 * Math.PI) + 300 * Math.sin(x / 30 * Math.PI)) * 2 / 3 +
      300 + x + 2 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * Math.sqrt(Math.abs(x));
    return [lat, lon];
  }
  function wgsToGcj(lat, lon) {
    if (!inChina(lat, lon)) return [lat, lon];
    var t = transform(lon - 105, lat - 35);
    var r = lat * Math.PI / 180;
    var m = 1 - EE * Math.sin(r) * Math.sin(r);
    var s = Math.sqrt(m);
    return [lat + t[0] * 180 / ((A * (1 - EE)) / (m * s) * Math.PI),
      lon + t[1] * 180 / (A / s * Math.cos(r) * Math.PI)];
  }
  function gcjToWgs(lat, lon) {
    if (!inChina(lat, lon)) return [lat, lon];
    var w = [lat, lon];
    for (var i = 0; i < 30; i++) {
      var g = wgsToGcj(w[0], w[1]);
      var e = [g[0] - lat, g[1] - lon];
      w = [w[0] - e[0], w[1] - e[1]];
      if (Math.abs(e[0]) < 1e-9 && Math.abs(e[1]) < 1e-9) break;
    }
    return w;
  }
  window.huoyanDatum = { wgsToGcj: wgsToGcj, gcjToWgs: gcjToWgs };
})();
