// Extraction form: live checks of the user's own values, and the field the digitiser writes into.
(function () {
  "use strict";
  var form = document.getElementById("x-form");
  if (!form) { return; }
  var csrf = document.body.dataset.csrf;
  var study = form.dataset.study;
  var timer = null;
  window.hsExtraction = { lastField: null };

  form.addEventListener("focusin", function (ev) {
    var t = ev.target;
    if (t && t.classList && t.classList.contains("xf")) {
      if (window.hsExtraction.lastField) { window.hsExtraction.lastField.classList.remove("target"); }
      window.hsExtraction.lastField = t;
      t.classList.add("target");
    }
  });

  function values() {
    var out = {};
    var inputs = form.querySelectorAll("input.xf, input[type=hidden][name^='p|']");
    for (var i = 0; i < inputs.length; i++) { out[inputs[i].name] = inputs[i].value; }
    return out;
  }

  function show(flags) {
    var list = document.getElementById("flag-list");
    var count = document.getElementById("flag-count");
    var box = document.getElementById("flag-summary");
    list.textContent = "";
    var blocks = form.querySelectorAll("section.block");
    for (var b = 0; b < blocks.length; b++) { blocks[b].querySelector("ul.block-flags").textContent = ""; }
    flags.forEach(function (f) {
      var li = document.createElement("li");
      li.className = "flag";
      var c = document.createElement("span");
      c.className = "check";
      c.textContent = f.check;
      li.appendChild(c);
      li.appendChild(document.createTextNode(" " + f.outcome + " " + f.timepoint + (f.arm ? " arm " + f.arm : "") + ": " + f.message));
      list.appendChild(li);
      for (var k = 0; k < blocks.length; k++) {
        if (blocks[k].dataset.block === f.outcome + "|" + f.timepoint) {
          blocks[k].querySelector("ul.block-flags").appendChild(li.cloneNode(true));
        }
      }
    });
    count.textContent = String(flags.length);
    box.classList.toggle("quiet", flags.length === 0);
  }

  function check() {
    fetch("/extraction/api/check", {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: JSON.stringify({ study: study, values: values() })
    }).then(function (r) { return r.json(); }).then(function (res) {
      if (res && res.flags) { show(res.flags); }
    }).catch(function () { /* the server-side flags stay shown */ });
  }

  form.addEventListener("input", function (ev) {
    if (ev.target && ev.target.classList && ev.target.classList.contains("xf")) {
      // a typed value replaces a digitised one: its provenance no longer applies
      var p = form.querySelector("input[type=hidden][name='p" + ev.target.name.slice(1) + "']");
      if (p && !ev.target.dataset.fromDigitiser) { p.value = ""; ev.target.classList.remove("has-prov"); }
      ev.target.dataset.fromDigitiser = "";
      if (timer) { clearTimeout(timer); }
      timer = setTimeout(check, 350);
    }
  });

  window.hsExtraction.put = function (value, provenance) {
    var t = window.hsExtraction.lastField;
    if (!t) { return false; }
    t.dataset.fromDigitiser = "1";
    t.value = value;
    var p = form.querySelector("input[type=hidden][name='p" + t.name.slice(1) + "']");
    if (p) { p.value = JSON.stringify(provenance); }
    t.classList.add("has-prov");
    t.title = "digitised: " + (provenance.filename || "figure") + " at pixel (" + Math.round(provenance.px) + ", " + Math.round(provenance.py) + ")";
    t.dispatchEvent(new Event("input", { bubbles: true }));
    return true;
  };
})();
