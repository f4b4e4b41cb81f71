// The case page: a "locate me" button fills a form's coordinates from the phone's position.
document.querySelectorAll("button.locate").forEach(function (b) {
  b.addEventListener("click", function () {
    if (!navigator.geolocation) return;
    navigator.geolocation.getCurrentPosition(function (pos) {
      b.form.elements.lon.value = pos.coords.longitude.toFixed(6);
      b.form.elements.lat.value = pos.coords.latitude.toFixed(6);
      b.textContent = "📍 " + b.form.elements.lat.value + ", " + b.form.elements.lon.value;
    });
  });
});
