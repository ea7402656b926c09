// Keyboard shortcuts of the screening page: I include, M maybe, E exclude, N not retrieved,
// R focus the reason, T focus the note. Ignored while typing in a field.
(function () {
  var form = document.getElementById('decide-form');
  if (!form) return;
  var keys = { i: 'btn-include', m: 'btn-maybe', e: 'btn-exclude', n: 'btn-nr' };
  document.addEventListener('keydown', function (ev) {
    if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
    var t = ev.target;
    if (t && (t.tagName === 'INPUT' || t.tagName === 'TEXTAREA' || t.tagName === 'SELECT')) {
      if (ev.key === 'Escape') t.blur();
      return;
    }
    var k = ev.key.toLowerCase();
    if (k === 'r') { var r = document.getElementById('reason'); if (r) { r.focus(); ev.preventDefault(); } return; }
    if (k === 't') { var n = document.getElementById('note'); if (n) { n.focus(); ev.preventDefault(); } return; }
    var id = keys[k];
    if (!id) return;
    var b = document.getElementById(id);
    if (b && !b.disabled) { ev.preventDefault(); b.click(); }
  });
})();
