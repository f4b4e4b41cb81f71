// Long pickers search as you type. Every <select> of more than 20 options, and every one or
// <fieldset> of checkboxes marked `data-picker`, gets a text box that keeps only the choices whose
// text contains what is typed (any case). The select itself stays the form's field, so the page
// works the same without script, and a checked box is never hidden. Keys in the box: arrows move
// the choice among the matches, Enter keeps it (without sending the form), Escape shows all.
//
// A role select (<select data-role>, each option with data-kind) shows only the scope picker its
// role needs (the element with the matching data-scope-kind); the server reads only that one.
(function () {
  "use strict";
  var script = document.currentScript;
  var HINT = (script && script.dataset.hint) || "";
  var MATCHES = (script && script.dataset.matches) || "";
  var LONG = 20;
  var made = 0;

  function norm(s) { return (s || "").toLocaleLowerCase().replace(/\s+/g, " ").trim(); }

  function say(status, n, q) { status.textContent = q ? n + " " + MATCHES : ""; }

  function box(labelText) {
    var input = document.createElement("input");
    input.type = "search";
    input.className = "picker-filter";
    input.placeholder = HINT;
    input.autocomplete = "off";
    input.setAttribute("aria-label", labelText ? HINT + ": " + labelText : HINT);
    return input;
  }

  function counter() {
    var status = document.createElement("span");
    status.className = "picker-count muted";
    status.setAttribute("aria-live", "polite");
    return status;
  }

  function changed(el) {
    el.dispatchEvent(new Event("input", { bubbles: true }));
    el.dispatchEvent(new Event("change", { bubbles: true }));
  }

  function select(sel) {
    var label = sel.closest("label");
    // The box goes inside the label, so the label names the select explicitly.
    if (label) {
      if (!sel.id) sel.id = "picker-" + (++made);
      label.htmlFor = sel.id;
    }
    var all = Array.prototype.slice.call(sel.options);
    var blank = all.filter(function (o) { return o.value === ""; });
    var input = box(label ? norm(label.firstChild && label.firstChild.textContent) : "");
    var status = counter();
    sel.parentNode.insertBefore(input, sel);
    sel.parentNode.insertBefore(status, sel.nextSibling);

    function apply() {
      var q = norm(input.value);
      var before = sel.value;
      var hits = all.filter(function (o) { return o.value !== "" && norm(o.text).indexOf(q) >= 0; });
      var keep = !q ? all : hits.length ? hits : blank;
      sel.replaceChildren.apply(sel, keep);
      // The choice stays when it still matches; else the first match is taken.
      if (keep.some(function (o) { return o.value === before; })) sel.value = before;
      else if (keep.length) sel.value = keep[0].value;
      say(status, hits.length, q);
      if (sel.value !== before) changed(sel);
    }

    function move(step) {
      var i = sel.selectedIndex + step;
      if (i < 0 || i >= sel.options.length) return;
      sel.selectedIndex = i;
      changed(sel);
    }

    input.addEventListener("input", apply);
    input.addEventListener("keydown", function (e) {
      if (e.key === "ArrowDown") { e.preventDefault(); move(1); }
      else if (e.key === "ArrowUp") { e.preventDefault(); move(-1); }
      else if (e.key === "Enter") { e.preventDefault(); sel.focus(); }
      else if (e.key === "Escape" && input.value) { e.preventDefault(); input.value = ""; apply(); }
    });
  }

  function fieldset(set) {
    var items = Array.prototype.slice.call(set.querySelectorAll("label")).filter(function (l) {
      return l.querySelector("input[type=checkbox], input[type=radio]");
    });
    var legend = set.querySelector("legend");
    var input = box(legend ? norm(legend.textContent) : "");
    var status = counter();
    var at = legend ? legend.nextSibling : set.firstChild;
    set.insertBefore(input, at);
    set.insertBefore(status, at);

    function apply() {
      var q = norm(input.value);
      var n = 0;
      items.forEach(function (l) {
        var hit = norm(l.textContent).indexOf(q) >= 0;
        if (hit) n++;
        l.hidden = !hit && !l.querySelector("input").checked;
      });
      say(status, n, q);
    }
    input.addEventListener("input", apply);
    input.addEventListener("keydown", function (e) {
      if (e.key === "Enter") {
        // Enter ticks the one box left, and never sends the form.
        e.preventDefault();
        var shown = items.filter(function (l) { return !l.hidden; });
        if (shown.length === 1) shown[0].querySelector("input").click();
      } else if (e.key === "Escape" && input.value) { e.preventDefault(); input.value = ""; apply(); }
    });
  }

  document.querySelectorAll("select").forEach(function (sel) {
    if (sel.options.length > LONG || sel.hasAttribute("data-picker")) select(sel);
  });
  document.querySelectorAll("fieldset[data-picker]").forEach(fieldset);

  function roleScopes(role) {
    var parts = role.form ? role.form.querySelectorAll("[data-scope-kind]") : [];
    function show() {
      var option = role.options[role.selectedIndex];
      var kind = option ? option.getAttribute("data-kind") : null;
      Array.prototype.forEach.call(parts, function (p) {
        p.hidden = kind !== p.getAttribute("data-scope-kind");
      });
    }
    role.addEventListener("change", show);
    show();
  }
  document.querySelectorAll("select[data-role]").forEach(roleScopes);
})();
