// A visit's place: the phone's position, asked once the form shows; typed by hand where the
// browser has none or is refused.
(function () {
  "use strict";
  var forms = document.querySelectorAll("form.visit");
  if (!forms.length || !navigator.geolocation) return;
  navigator.geolocation.getCurrentPosition(
    function (pos) {
      forms.forEach(function (f) {
        if (!f.elements.lon.value) f.elements.lon.value = pos.coords.longitude.toFixed(6);
        if (!f.elements.lat.value) f.elements.lat.value = pos.coords.latitude.toFixed(6);
      });
    },
    function () {},
    { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 }
  );
})();
