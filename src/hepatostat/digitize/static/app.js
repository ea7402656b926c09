// hepatostat graph digitiser: the page's logic. The numbers come from the
// Python server (/api/extract, /api/convert, /api/csv); this file only keeps
// the clicks. Pixels are image pixels measured from the left and top edges.
"use strict";

(function () {
  const $ = (id) => document.getElementById(id);
  const canvas = $("canvas");
  const ctx = canvas.getContext("2d");
  const base = document.createElement("canvas"); // the image alone, for colour picking
  const bctx = base.getContext("2d", { willReadFrequently: true });
  const CAL_KEYS = ["x1", "x2", "y1", "y2"];
  const HIT = 8; // pixels: how near a click must be to a point to pick it

  const state = {
    img: null,
    dataUrl: null,
    cal: { x1: null, x2: null, y1: null, y2: null },
    points: [], // {px, py, x, y}
    tool: "move",
    drag: null,
    pending: 0,
  };
  window.hepatostatDigitizer = state; // for debugging in the console

  // ---------------------------------------------------------------- helpers
  function setStatus(text, isError) {
    const el = $("status");
    el.textContent = text;
    el.classList.toggle("error", !!isError);
  }

  function busy(delta) {
    state.pending += delta;
    document.body.dataset.busy = state.pending > 0 ? "1" : "0";
  }

  async function post(path, body) {
    busy(+1);
    try {
      const res = await fetch(path, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(body),
      });
      if (!res.ok) {
        let msg = res.status + " " + res.statusText;
        try { msg = (await res.json()).error || msg; } catch (e) { /* not JSON */ }
        throw new Error(msg);
      }
      return res;
    } finally {
      busy(-1);
    }
  }

  function fmt(v) {
    if (v === null || v === undefined || !isFinite(v)) return "–";
    return Number(v).toPrecision(6).replace(/\.?0+(e|$)/, "$1");
  }

  function numberFrom(id, label) {
    const raw = $(id).value.trim();
    const v = Number(raw);
    if (raw === "" || !isFinite(v)) throw new Error("enter the value of " + label);
    return v;
  }

  function mode() { return $("mode").value; }

  // The calibration object the server expects, or an Error saying what is missing.
  function calibration() {
    const c = state.cal;
    const needX = mode() !== "bars" || c.x1 || c.x2;
    for (const k of needX ? CAL_KEYS : ["y1", "y2"]) {
      if (!c[k]) throw new Error("click the calibration point " + k.toUpperCase() + " on the image");
    }
    const x_axis = needX ? [[c.x1.px, numberFrom("x1-value", "X1")], [c.x2.px, numberFrom("x2-value", "X2")]] : null;
    const y_axis = [[c.y1.py, numberFrom("y1-value", "Y1")], [c.y2.py, numberFrom("y2-value", "Y2")]];
    return { kind: "axes", x_axis, y_axis, x_log: $("x-log").checked, y_log: $("y-log").checked };
  }

  function eventPixel(e) {
    const r = canvas.getBoundingClientRect();
    return {
      px: (e.clientX - r.left) * (canvas.width / r.width),
      py: (e.clientY - r.top) * (canvas.height / r.height),
    };
  }

  function nearest(p) {
    let best = -1, bestD = HIT;
    state.points.forEach((q, i) => {
      const d = Math.hypot(q.px - p.px, q.py - p.py);
      if (d <= bestD) { best = i; bestD = d; }
    });
    return best;
  }

  function setTool(tool) {
    state.tool = tool;
    document.querySelectorAll("[data-tool]").forEach((b) => b.classList.toggle("active", b.dataset.tool === tool));
    const prompts = {
      x1: "Click the first x-axis point (X1) on the image.",
      x2: "Click the second x-axis point (X2) on the image.",
      y1: "Click the first y-axis point (Y1) on the image.",
      y2: "Click the second y-axis point (Y2) on the image.",
      color: "Click the series colour on the image.",
      add: "Click to add a point.",
      delete: "Click a point to delete it.",
    };
    if (prompts[tool]) setStatus(prompts[tool]);
  }

  // ---------------------------------------------------------------- drawing
  function draw() {
    if (!state.img) return;
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    ctx.drawImage(state.img, 0, 0);
    ctx.lineWidth = 1.5;
    for (const k of CAL_KEYS) {
      const c = state.cal[k];
      if (!c) continue;
      ctx.strokeStyle = k[0] === "x" ? "#0a7" : "#a0a";
      ctx.beginPath();
      ctx.moveTo(c.px - 9, c.py); ctx.lineTo(c.px + 9, c.py);
      ctx.moveTo(c.px, c.py - 9); ctx.lineTo(c.px, c.py + 9);
      ctx.stroke();
      ctx.fillStyle = ctx.strokeStyle;
      ctx.font = "bold 12px sans-serif";
      ctx.fillText(k.toUpperCase(), c.px + 5, c.py - 5);
    }
    for (const p of state.points) {
      ctx.beginPath();
      ctx.arc(p.px, p.py, 5, 0, 2 * Math.PI);
      ctx.strokeStyle = "#fff"; ctx.lineWidth = 3; ctx.stroke();
      ctx.strokeStyle = "#e6007e"; ctx.lineWidth = 1.5; ctx.stroke();
    }
  }

  function renderTable() {
    const bars = mode() === "bars";
    $("col-x").textContent = bars ? "x_px" : "x";
    $("col-y").textContent = bars ? "value" : "y";
    const order = state.points.map((p, i) => i).sort((a, b) => state.points[a].px - state.points[b].px);
    const tbody = $("points-table").querySelector("tbody");
    tbody.textContent = "";
    order.forEach((i, k) => {
      const p = state.points[i];
      const tr = document.createElement("tr");
      const xv = bars ? p.px : p.x;
      tr.dataset.x = xv === null || xv === undefined ? "" : String(xv);
      tr.dataset.y = p.y === null || p.y === undefined ? "" : String(p.y);
      for (const text of [String(k + 1), fmt(xv), fmt(p.y)]) {
        const td = document.createElement("td");
        td.textContent = text;
        tr.appendChild(td);
      }
      tbody.appendChild(tr);
    });
  }

  function refresh() { draw(); renderTable(); }

  // ---------------------------------------------------------------- server calls
  async function convert(quiet) {
    if (!state.points.length) { refresh(); return; }
    let cal;
    try { cal = calibration(); } catch (e) {
      state.points.forEach((p) => { p.x = null; p.y = null; });
      refresh();
      if (!quiet) setStatus(e.message, true);
      return;
    }
    try {
      const res = await post("/api/convert", { calibration: cal, pixels: state.points.map((p) => [p.px, p.py]) });
      const out = await res.json();
      out.points.forEach((q, i) => { if (state.points[i]) { state.points[i].x = q.x; state.points[i].y = q.y; } });
      refresh();
      if (!quiet) setStatus("Updated " + state.points.length + " point(s).");
    } catch (e) {
      setStatus(e.message, true);
    }
  }

  async function extract() {
    if (!state.dataUrl) { setStatus("Load an image first.", true); return; }
    let cal;
    try { cal = calibration(); } catch (e) { setStatus(e.message, true); return; }
    const color = $("color").value.trim();
    if (!color) { setStatus("Pick the series colour first.", true); return; }
    const body = {
      image: state.dataUrl, calibration: cal, mode: mode(), color,
      tolerance: $("tolerance").value,
    };
    if (mode() === "curve" && $("step").value.trim()) body.step = $("step").value.trim();
    setStatus("Extracting…");
    try {
      const res = await post("/api/extract", body);
      const out = await res.json();
      state.points = out.points.map((q) => ({ px: q.x_px, py: q.y_px, x: q.x, y: q.y }));
      refresh();
      const noun = mode() === "bars" ? "bar(s)" : "point(s)";
      setStatus("Extracted " + state.points.length + " " + noun + "." +
        (out.notes.length ? " " + out.notes.join("; ") : ""));
    } catch (e) {
      setStatus(e.message, true);
    }
  }

  async function download() {
    if (!state.points.length) { setStatus("No points to download.", true); return; }
    let cal;
    try { cal = calibration(); } catch (e) { setStatus(e.message, true); return; }
    try {
      const res = await post("/api/csv", {
        calibration: cal, mode: mode(), pixels: state.points.map((p) => [p.px, p.py]),
      });
      const blob = await res.blob();
      const url = URL.createObjectURL(blob);
      const a = document.createElement("a");
      a.href = url;
      a.download = "digitized.csv";
      document.body.appendChild(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10000);
      setStatus("Downloaded digitized.csv (" + state.points.length + " rows).");
    } catch (e) {
      setStatus(e.message, true);
    }
  }

  // ---------------------------------------------------------------- events
  $("file").addEventListener("change", () => {
    const f = $("file").files[0];
    if (!f) return;
    const reader = new FileReader();
    reader.onload = () => {
      const img = new Image();
      img.onload = () => {
        state.img = img;
        state.dataUrl = reader.result;
        state.points = [];
        state.cal = { x1: null, x2: null, y1: null, y2: null };
        for (const k of CAL_KEYS) $(k + "-px").textContent = "–";
        canvas.width = base.width = img.naturalWidth;
        canvas.height = base.height = img.naturalHeight;
        canvas.style.width = img.naturalWidth + "px";
        canvas.style.height = img.naturalHeight + "px";
        bctx.drawImage(img, 0, 0);
        refresh();
        setStatus("Loaded " + f.name + " (" + img.naturalWidth + " × " + img.naturalHeight +
          " pixels). Calibrate: click X1.");
        document.body.dataset.image = "loaded";
      };
      img.onerror = () => setStatus("This file is not an image the browser can show.", true);
      img.src = reader.result;
    };
    reader.readAsDataURL(f);
  });

  document.querySelectorAll("[data-tool]").forEach((b) => b.addEventListener("click", () => {
    if (!state.img) { setStatus("Load an image first.", true); return; }
    setTool(b.dataset.tool);
  }));

  canvas.addEventListener("mousedown", (e) => {
    if (!state.img) return;
    e.preventDefault();
    const p = eventPixel(e);
    const tool = state.tool;
    if (CAL_KEYS.includes(tool)) {
      state.cal[tool] = p;
      $(tool + "-px").textContent = (tool[0] === "x" ? p.px : p.py).toFixed(1);
      $(tool + "-px").dataset.px = String(p.px);
      $(tool + "-px").dataset.py = String(p.py);
      setTool("move");
      setStatus("Set " + tool.toUpperCase() + " at pixel (" + p.px.toFixed(1) + ", " + p.py.toFixed(1) +
        "); type its value.");
      $(tool + "-value").focus();
      draw();
      convert(true);
    } else if (tool === "color") {
      const d = bctx.getImageData(Math.floor(p.px), Math.floor(p.py), 1, 1).data;
      const hex = "#" + [d[0], d[1], d[2]].map((v) => v.toString(16).padStart(2, "0")).join("");
      $("color").value = hex;
      $("swatch").style.background = hex;
      setTool("move");
      setStatus("Series colour " + hex + ".");
    } else if (tool === "add") {
      state.points.push({ px: p.px, py: p.py, x: null, y: null });
      draw();
      convert();
    } else if (tool === "delete") {
      const i = nearest(p);
      if (i >= 0) { state.points.splice(i, 1); convert(); refresh(); }
    } else {
      const i = nearest(p);
      if (i >= 0) state.drag = i;
    }
  });

  canvas.addEventListener("mousemove", (e) => {
    if (state.drag === null) return;
    const p = eventPixel(e);
    Object.assign(state.points[state.drag], { px: p.px, py: p.py });
    draw();
  });

  window.addEventListener("mouseup", () => {
    if (state.drag === null) return;
    state.drag = null;
    convert();
  });

  $("color").addEventListener("input", () => { $("swatch").style.background = $("color").value; });
  for (const id of ["x1-value", "x2-value", "y1-value", "y2-value", "x-log", "y-log"]) {
    $(id).addEventListener("change", () => convert(true));
  }
  $("mode").addEventListener("change", () => {
    $("step-label").style.display = mode() === "curve" ? "" : "none";
    convert(true);
  });
  $("step-label").style.display = "none";
  $("extract").addEventListener("click", extract);
  $("download").addEventListener("click", download);
  $("clear").addEventListener("click", () => { state.points = []; refresh(); setStatus("Cleared the points."); });
  document.body.dataset.busy = "0";
})();
