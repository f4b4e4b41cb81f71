// The region picker (templates/org/region_picker.html): typing narrows the tree to the regions
// whose name or code holds what was typed, with the regions above them unfolded; the names of the
// ticked regions are listed above the tree (the map ticks them too, static/map.js).
(function () {
  "use strict";
  var picker = document.getElementById("region-picker");
  if (!picker) return;
  var search = document.getElementById("region-search");
  var none = document.getElementById("region-search-none");
  var picked = document.getElementById("picked");
  // Children before their parents, so a parent knows whether any of its own still shows.
  var items = Array.prototype.slice.call(picker.querySelectorAll("li[data-search]")).reverse();

  function narrow() {
    var q = search.value.trim().toLowerCase();
    var shown = 0;
    items.forEach(function (li) {
      var own = li.getAttribute("data-search").toLowerCase().indexOf(q) >= 0;
      var inner = li.querySelector(":scope > details > ul > li:not([hidden])") !== null;
      li.hidden = q !== "" && !own && !inner;
      var details = li.querySelector(":scope > details");
      if (details && q !== "") details.open = inner;
      if (!li.hidden) shown += 1;
    });
    none.hidden = shown > 0;
  }

  function list() {
    var names = [];
    picker.querySelectorAll('input[name="region_ids"]:checked').forEach(function (b) {
      names.push(b.closest("li").getAttribute("data-name"));
    });
    picked.textContent = names.length ? names.join("、") : picked.getAttribute("data-none");
  }

  search.addEventListener("input", narrow);
  // Enter in the search box looks, it does not issue the order.
  search.addEventListener("keydown", function (e) {
    if (e.key === "Enter") e.preventDefault();
  });
  picker.addEventListener("change", list);
})();
