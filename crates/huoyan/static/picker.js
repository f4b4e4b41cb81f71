// Pickers that search as you type. A <select data-picker="placeholder"> with more than 20
// choices gets a search box above it; typing narrows the choices to those whose label contains
// what is typed (every word of it, in any order), so nobody scrolls a list of hundreds or types
// an id. Without script the select works as it is.
//
// A role select (<select data-role>, each option with data-kind) shows only the scope picker its
// role needs (the element with the matching data-scope-kind); the server reads only that one.
(function () {
  'use strict';
  var MIN = 20;

  function words(s) {
    return s.toLowerCase().split(/\s+/).filter(Boolean);
  }

  function picker(select) {
    var all = Array.prototype.slice.call(select.options);
    if (all.length <= MIN) return;
    var box = document.createElement('input');
    box.type = 'search';
    box.className = 'picker-search';
    box.placeholder = select.getAttribute('data-picker') || '';
    box.setAttribute('aria-label', box.placeholder);
    box.autocomplete = 'off';
    select.parentNode.insertBefore(box, select);
    box.addEventListener('input', function () {
      var want = words(box.value);
      var chosen = select.value;
      var shown = all.filter(function (o) {
        if (o.value === '') return true;
        var text = o.text.toLowerCase();
        return want.every(function (w) { return text.indexOf(w) >= 0; });
      });
      while (select.options.length) select.remove(0);
      shown.forEach(function (o) { select.add(o); });
      var kept = shown.some(function (o) { return o.value === chosen && chosen !== ''; });
      // What is seen is what is sent: the choice kept if it still matches, else the first match.
      if (kept) {
        select.value = chosen;
      } else if (want.length && shown.length > 1) {
        select.value = shown[1].value;
      } else if (!want.length) {
        select.value = chosen;
      } else {
        select.value = '';
      }
      select.size = want.length ? Math.min(Math.max(shown.length, 2), 8) : 0;
      select.dispatchEvent(new Event('change', { bubbles: true }));
    });
  }

  function roleScopes(role) {
    var form = role.form;
    if (!form) return;
    var parts = form.querySelectorAll('[data-scope-kind]');
    function show() {
      var option = role.options[role.selectedIndex];
      var kind = option ? option.getAttribute('data-kind') : null;
      Array.prototype.forEach.call(parts, function (p) {
        p.hidden = kind !== p.getAttribute('data-scope-kind');
      });
    }
    role.addEventListener('change', show);
    show();
  }

  function start() {
    Array.prototype.forEach.call(document.querySelectorAll('select[data-picker]'), picker);
    Array.prototype.forEach.call(document.querySelectorAll('select[data-role]'), roleScopes);
  }

  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', start);
  } else {
    start();
  }
})();
