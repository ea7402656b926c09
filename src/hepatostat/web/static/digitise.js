// The digitiser beside the extraction form: calibrate, click or auto-detect, send values to the form.
(function () {
  "use strict";
  var panel = document.getElementById("digitiser");
  var canvas = document.getElementById("dz-canvas");
  var select = document.getElementById("figure-select");
  if (!panel || !canvas || !select) { return; }
  var csrf = document.body.dataset.csrf;
  var ctx = canvas.getContext("2d");
  var img = new Image();
  var state = { mode: null, refs: {}, points: [], results: [], color: null, figure: null, filename: "" };
  var status = document.getElementById("dz-status");

  function say(text) { status.textContent = text; }

  function load() {
    var opt = select.options[select.selectedIndex];
    state.figure = parseInt(select.value, 10);
    state.filename = opt.textContent.replace(/ \(\d+×\d+\)$/, "");
    state.refs = {}; state.points = []; state.results = [];
    img.onload = function () { canvas.width = img.naturalWidth; canvas.height = img.naturalHeight; draw(); renderResults(); };
    img.src = "/digitise/figure/" + state.figure;
  }

  function draw() {
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    ctx.drawImage(img, 0, 0);
    var r = Math.max(4, canvas.width / 150);
    ctx.lineWidth = Math.max(1.5, r / 3);
    Object.keys(state.refs).forEach(function (k) {
      var p = state.refs[k];
      ctx.strokeStyle = "#d62728";
      ctx.beginPath(); ctx.moveTo(p[0] - 2 * r, p[1]); ctx.lineTo(p[0] + 2 * r, p[1]);
      ctx.moveTo(p[0], p[1] - 2 * r); ctx.lineTo(p[0], p[1] + 2 * r); ctx.stroke();
      ctx.fillStyle = "#d62728"; ctx.font = (3 * r) + "px sans-serif"; ctx.fillText(k, p[0] + r, p[1] - r);
    });
    state.points.forEach(function (p, i) {
      ctx.strokeStyle = "#1f5fa8";
      ctx.beginPath(); ctx.arc(p[0], p[1], r, 0, 2 * Math.PI); ctx.stroke();
      ctx.fillStyle = "#1f5fa8"; ctx.font = (3 * r) + "px sans-serif"; ctx.fillText(String(i + 1), p[0] + r, p[1] + 3 * r);
      var res = state.results[i];
      if (res && res.upper_py != null) { ctx.beginPath(); ctx.moveTo(p[0] - r, res.upper_py); ctx.lineTo(p[0] + r, res.upper_py); ctx.stroke(); }
      if (res && res.lower_py != null) { ctx.beginPath(); ctx.moveTo(p[0] - r, res.lower_py); ctx.lineTo(p[0] + r, res.lower_py); ctx.stroke(); }
    });
  }

  function pixelOf(ev) {
    var b = canvas.getBoundingClientRect();
    return [(ev.clientX - b.left) * canvas.width / b.width, (ev.clientY - b.top) * canvas.height / b.height];
  }

  function num(id) {
    var el = document.getElementById(id);
    var v = el ? parseFloat(el.value) : NaN;
    return isFinite(v) ? v : null;
  }

  function calibration() {
    var kind = document.getElementById("cal-kind").value;
    var xlog = document.getElementById("x-log").checked, ylog = document.getElementById("y-log").checked;
    if (kind === "affine") {
      var refs = [];
      ["p1", "p2", "p3"].forEach(function (k) {
        var p = state.refs[k], x = num("cal-" + k + "-x"), y = num("cal-" + k + "-y");
        if (p && x !== null && y !== null) { refs.push([p[0], p[1], x, y]); }
      });
      return refs.length === 3 ? { kind: "affine", references: refs, x_log: xlog, y_log: ylog } : null;
    }
    var y1 = state.refs.y1, y2 = state.refs.y2, vy1 = num("cal-y1"), vy2 = num("cal-y2");
    if (!y1 || !y2 || vy1 === null || vy2 === null) { return null; }
    var cal = { kind: "axes", y_axis: [[y1[1], vy1], [y2[1], vy2]], x_axis: null, x_log: xlog, y_log: ylog };
    var x1 = state.refs.x1, x2 = state.refs.x2, vx1 = num("cal-x1"), vx2 = num("cal-x2");
    if (x1 && x2 && vx1 !== null && vx2 !== null) { cal.x_axis = [[x1[0], vx1], [x2[0], vx2]]; }
    return cal;
  }

  function api(body) {
    body.figure_id = state.figure;
    return fetch("/digitise/api/extract", {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: JSON.stringify(body)
    }).then(function (r) { return r.json().then(function (j) { if (!r.ok) { throw new Error(j.error || r.statusText); } return j; }); });
  }

  function convert() {
    var cal = calibration();
    if (!cal) { say("Calibrate first (values typed for every reference)."); renderResults(); return; }
    api({ mode: "convert", calibration: cal, pixels: state.points }).then(function (res) {
      state.results = res.points; state.calibrationUsed = res.calibration; renderResults(); draw();
      say(state.points.length + " point(s).");
    }).catch(function (e) { say("Error: " + e.message); });
  }

  function fmt(v) { return v === null || v === undefined ? "" : (Math.abs(v) >= 1000 ? v.toFixed(0) : v.toPrecision(4)); }

  function renderResults() {
    var tbody = document.querySelector("#dz-results tbody");
    tbody.textContent = "";
    state.points.forEach(function (p, i) {
      var res = state.results[i] || {};
      var tr = document.createElement("tr");
      [String(i + 1), p[0].toFixed(1), p[1].toFixed(1), fmt(res.x), fmt(res.y)].forEach(function (t) {
        var td = document.createElement("td"); td.textContent = t; tr.appendChild(td);
      });
      var td = document.createElement("td");
      var values = [["y", res.y]];
      if (res.upper != null && res.y != null) { values.push(["bar", res.upper - res.y]); }
      values.forEach(function (pair) {
        if (pair[1] === null || pair[1] === undefined) { return; }
        var b = document.createElement("button");
        b.type = "button"; b.className = "small to-field"; b.textContent = "→ field" + (pair[0] === "bar" ? " (bar " + fmt(pair[1]) + ")" : "");
        b.addEventListener("click", function () {
          var prov = { figure_id: state.figure, filename: state.filename, px: p[0], py: p[1], mode: state.lastMode || "click",
                       calibration: state.calibrationUsed || calibration(), quantity: pair[0] === "bar" ? "error bar length" : "y" };
          var v = Number(pair[1].toPrecision(4));
          if (!window.hsExtraction || !window.hsExtraction.put(String(v), prov)) { say("Click a field of the form first."); }
          else { say("Value " + v + " placed in the form (save to keep it)."); }
        });
        td.appendChild(b);
      });
      tr.appendChild(td);
      tbody.appendChild(tr);
    });
  }

  canvas.addEventListener("click", function (ev) {
    var p = pixelOf(ev);
    if (state.mode && state.mode.indexOf("ref:") === 0) {
      var k = state.mode.slice(4);
      state.refs[k] = p;
      document.getElementById("px-" + k).textContent = "(" + p[0].toFixed(0) + ", " + p[1].toFixed(0) + ")";
      state.mode = null; draw(); say("Reference " + k + " set; type its value.");
      return;
    }
    if (state.mode === "color") {
      var d = ctx.getImageData(Math.round(p[0]), Math.round(p[1]), 1, 1).data;
      state.color = "#" + [d[0], d[1], d[2]].map(function (v) { return ("0" + v.toString(16)).slice(-2); }).join("");
      document.getElementById("color-hex").textContent = state.color;
      document.getElementById("color-swatch").style.backgroundColor = state.color;
      state.mode = null; draw(); say("Colour " + state.color + " picked.");
      return;
    }
    if (state.mode === "click") {
      state.points.push(p); state.lastMode = "click"; draw(); convert();
    }
  });

  Array.prototype.forEach.call(document.querySelectorAll(".cal-pick"), function (b) {
    b.addEventListener("click", function () { state.mode = "ref:" + b.dataset.ref; say("Click the figure at " + b.dataset.ref + "."); });
  });
  document.getElementById("cal-kind").addEventListener("change", function (ev) {
    var affine = ev.target.value === "affine";
    document.getElementById("cal-axes").classList.toggle("hidden", affine);
    document.getElementById("cal-affine").classList.toggle("hidden", !affine);
  });
  Array.prototype.forEach.call(document.querySelectorAll(".calv, #x-log, #y-log"), function (el) {
    el.addEventListener("change", function () { if (state.points.length) { convert(); } });
  });
  document.getElementById("mode-click").addEventListener("click", function () { state.mode = "click"; say("Click the points (means) on the figure."); });
  document.getElementById("mode-color").addEventListener("click", function () { state.mode = "color"; say("Click a pixel of the series' colour."); });
  document.getElementById("clear-points").addEventListener("click", function () { state.points = []; state.results = []; draw(); renderResults(); });
  document.getElementById("auto-detect").addEventListener("click", function () {
    var cal = calibration();
    var kind = document.getElementById("auto-kind").value;
    if (!cal) { say("Calibrate first."); return; }
    if (!state.color) { say("Pick the series' colour first."); return; }
    var body = { mode: kind, calibration: cal, color: state.color };
    if (kind === "error_bars") { body.at = state.points; }
    api(body).then(function (res) {
      state.results = res.points; state.calibrationUsed = res.calibration; state.lastMode = kind;
      state.points = res.points.map(function (q) { return [q.px, q.py]; });
      draw(); renderResults();
      say(res.points.length + " found" + (res.notes.length ? " (" + res.notes.join("; ") + ")" : "") + ".");
    }).catch(function (e) { say("Error: " + e.message); });
  });
  var enlarge = document.getElementById("dz-enlarge");
  if (enlarge) {
    enlarge.addEventListener("click", function () {
      var big = panel.classList.toggle("big");
      enlarge.textContent = big ? "Shrink" : "Enlarge";
      enlarge.setAttribute("aria-pressed", big ? "true" : "false");
    });
  }
  select.addEventListener("change", load);
  load();
})();
