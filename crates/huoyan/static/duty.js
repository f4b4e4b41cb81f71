// A sign-in's place: the phone's position, asked once the page shows and put in every sign-in
// form; the sign-in goes through without it when the phone gives none (it is flagged, not refused).
(function () {
  "use strict";
  var forms = document.querySelectorAll("form.sign-in");
  if (!forms.length || !navigator.geolocation) return;
  navigator.geolocation.getCurrentPosition(
    function (pos) {
      forms.forEach(function (f) {
        f.elements.lon.value = pos.coords.longitude.toFixed(6);
        f.elements.lat.value = pos.coords.latitude.toFixed(6);
      });
    },
    function () {},
    { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 }
  );
})();

// Signing in by the post's code from this page: the camera reads it (static/scan.js) and the
// form sends it with the position. The code may come as the printed link (`…/duty/sign-in?code=`)
// or bare; the server tells a forged or stale one apart, in words.
(function () {
  "use strict";
  var form = document.getElementById("camera-sign-in");
  if (!form) return;
  var button = document.getElementById("scan-button");
  var video = document.getElementById("scan-video");
  var status = document.getElementById("scan-status");
  var stop = null;
  function codeOf(text) {
    try {
      var url = new URL(text);
      if (url.pathname === "/duty/sign-in" && url.searchParams.get("code")) {
        return url.searchParams.get("code");
      }
    } catch (e) { /* not a link: the code itself */ }
    return text.trim();
  }
  function idle() {
    stop = null;
    video.hidden = true;
    button.textContent = form.dataset.scan;
  }
  button.disabled = false; // off in the page until this script can answer the tap
  button.addEventListener("click", function () {
    if (stop) {
      stop();
      status.textContent = "";
      return idle();
    }
    if (!navigator.mediaDevices || !window.HuoyanScan) {
      status.textContent = form.dataset.noCamera;
      return;
    }
    video.hidden = false;
    status.textContent = form.dataset.reading;
    button.disabled = true; // until the camera is on, so one tap starts one camera
    window.HuoyanScan.start(video, function (text) {
      idle();
      form.elements.code.value = codeOf(text);
      form.submit();
    }).then(function (s) {
      stop = s;
      button.disabled = false;
      button.textContent = form.dataset.stop;
    }, function () {
      button.disabled = false;
      idle();
      status.textContent = form.dataset.noCamera;
    });
  });
})();
