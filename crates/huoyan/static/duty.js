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
