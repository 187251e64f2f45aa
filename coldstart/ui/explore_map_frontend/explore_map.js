// The Explore map: a Streamlit v1 component without a build step (plain JS + Plotly).
//
// The pool is drawn once as one scattergl trace (ids in customdata); it is redrawn only when its
// key changes (another map, pool or colouring). The server sends the pool's data only while the
// pool key this frame reports differs from its own (`has_data`), and the colours only while the
// colour key does (`has_color`); a frame without the data it needs asks for it.
// Picks are an SVG overlay drawn by this script on top of the plot: every method's full nested
// order is sent once, so a budget change only shows a prefix (no Plotly call at all). After
// QUIET_MS without slider movement the budget goes back to Python with a sequence number; a
// render whose `ack` is older than the slider's last move is a stale echo and does not move the
// slider back. Lasso/box selections return image ids.
(function () {
  "use strict";
  const QUIET_MS = 150;
  const NS = "http://www.w3.org/2000/svg";
  const $ = (id) => document.getElementById(id);
  const gd = $("plot"), svg = $("overlay"), tip = $("tip"), input = $("budget");
  const S = {
    started: false, seq: 0, budget: 1, maxBudget: 1, timer: null,
    poolKey: null, colorKey: null, layersKey: null, hlKey: null, title: null,
    xs: null, ys: null, ids: [], index: new Map(), layers: [], highlight: [],
    selected: null, selSeq: 0, labelLimit: 60, height: 600,
    mountId: Math.random().toString(36).slice(2), renders: 0, poolDraws: 0, overlayDraws: 0,
    staleIgnored: 0, lastArgs: null, textColor: null, renderMs: 0, unlabelled: 0,
  };
  window.__exploreMap = S;  // for tests and benchmarks

  function send(type, data) {
    window.parent.postMessage(Object.assign({ isStreamlitMessage: true, type: type }, data), "*");
  }
  function sendValue() {
    if (S.timer) clearTimeout(S.timer);
    S.timer = null;
    send("streamlit:setComponentValue", {
      dataType: "json",
      value: { budget: S.budget, seq: S.seq, selected: S.selected, sel_seq: S.selSeq,
               pool_key: S.poolKey, color_key: S.colorKey },
    });
  }
  function setHeight() {
    send("streamlit:setFrameHeight", { height: Math.ceil(document.body.getBoundingClientRect().height) + 4 });
  }

  // ---------------------------------------------------------------- pool
  function floats(bytes) {  // Uint8Array (maybe unaligned view) -> Float32Array copy
    const copy = new Uint8Array(bytes.byteLength);
    copy.set(bytes);
    return new Float32Array(copy.buffer);
  }
  function poolTrace(a, c) {
    const n = S.xs.length;
    const lines = new Array(n);
    const info = S.info || {};
    const fields = Object.keys(info);
    for (let i = 0; i < n; i++) {
      let t = "<b>" + S.ids[i] + "</b>";
      for (const f of fields) t += "<br>" + f + ": " + info[f].cats[info[f].codes[i]];
      lines[i] = t;
    }
    const marker = { size: a.point_size, opacity: 0.8, line: { width: 0 } };
    if (c.kind === "continuous") {
      marker.color = c.values.map((v) => (v === null ? NaN : v));
      marker.colorscale = "Viridis";
      marker.showscale = true;
      marker.colorbar = { title: { text: c.title, side: "right" }, thickness: 14, len: 0.75 };
      for (let i = 0; i < n; i++) lines[i] += "<br>" + c.title + ": " + (c.values[i] === null ? "n/a" : (+c.values[i]).toPrecision(3));
    } else if (c.kind === "categorical") {
      marker.color = c.codes.map((k) => c.colors[k]);
      for (let i = 0; i < n; i++) lines[i] += "<br>" + c.title + ": " + c.cats[c.codes[i]];
    } else {
      marker.color = "#4c78a8";
    }
    return {
      type: "scattergl", mode: "markers", name: "pool", x: S.xs, y: S.ys, customdata: S.ids,
      text: lines, hovertemplate: "%{text}<extra></extra>", marker: marker, showlegend: false,
    };
  }
  function layout(a) {
    const ax = (k) => ({ title: { text: a.axis_name ? a.axis_name + " " + k : "" }, zeroline: false,
      showticklabels: false, showgrid: true, gridcolor: "#eee" });
    return {
      height: S.height, margin: { l: 30, r: 10, t: a.title ? 36 : 10, b: 30 }, dragmode: "lasso",
      hovermode: "closest", showlegend: false, xaxis: ax(1), yaxis: ax(2), uirevision: a.pool_key,
      title: { text: a.title || "", font: { size: 14 }, x: 0.01, xanchor: "left" },
      plot_bgcolor: "rgba(0,0,0,0)", paper_bgcolor: "rgba(0,0,0,0)",
      font: S.textColor ? { color: S.textColor } : {},
    };
  }
  const CONFIG = { displaylogo: false, scrollZoom: true, responsive: true, plotGlPixelRatio: 1,
    modeBarButtonsToRemove: ["toImage"] };

  function drawPool(a) {
    S.poolDraws += 1;
    const f = floats(a.xy);
    const n = f.length / 2;
    S.xs = new Float32Array(n);
    S.ys = new Float32Array(n);
    for (let i = 0; i < n; i++) { S.xs[i] = f[2 * i]; S.ys[i] = f[2 * i + 1]; }
    S.ids = a.ids ? a.ids.split("\n") : [];
    S.info = a.info || {};
    S.index = new Map(S.ids.map((id, i) => [id, i]));
    S.selected = null;
    const first = !gd.data;
    const p = first ? Plotly.newPlot(gd, [poolTrace(a, S.color)], layout(a), CONFIG)
                    : Plotly.react(gd, [poolTrace(a, S.color)], layout(a), CONFIG);
    return p.then(() => {
      if (first) {
        gd.on("plotly_afterplot", drawOverlay);
        gd.on("plotly_relayout", drawOverlay);
        gd.on("plotly_relayouting", drawOverlay);
        gd.on("plotly_selected", onSelected);
        gd.on("plotly_deselect", () => onSelected({ points: [] }));
      }
    });
  }
  function onSelected(ev) {
    if (!ev || !ev.points) return;
    S.selected = ev.points.filter((p) => p.curveNumber === 0).map((p) => S.ids[p.pointIndex]);
    S.selSeq += 1;
    sendValue();
  }
  function catLegend(c) {
    const el = $("catlegend");
    el.innerHTML = "";
    if (c.kind !== "categorical") return;
    const head = document.createElement("b");
    head.textContent = c.title + ":";
    el.appendChild(head);
    c.cats.forEach((name, k) => {
      const s = document.createElement("span");
      s.className = "key";
      s.innerHTML = '<span class="swatch circle"></span>';
      s.firstChild.style.background = c.colors[k];
      s.appendChild(document.createTextNode(name + " (" + c.counts[k] + ")"));
      el.appendChild(s);
    });
  }

  // ---------------------------------------------------------------- picks overlay
  function shownCount(L) {
    return L.nested ? Math.min(S.budget, L.positions.length) : L.positions.length;
  }
  // Pick numbers that stay legible where picks crowd: each label takes the first free spot of 8
  // around its marker, then of 8 further out (with a leader line); where none is free the number
  // is left off (hover the marker: the tooltip names the pick). Labels are placed in rank order,
  // A then B at each rank, avoiding every marker and every earlier label, so the first b labels
  // sit where they sat at any larger budget: moving the slider never moves a number.
  const LABEL_H = 11, DIGIT_W = 6.2, MARK_R = 8;
  function placeLabels(layerPts, box) {
    const out = layerPts.map((pts) => pts.map(() => null));
    const boxes = [];
    for (const pts of layerPts) for (let r = 0; r < Math.min(pts.length, S.labelLimit); r++) {
      const [x, y] = pts[r];
      boxes.push([x - MARK_R, y - MARK_R, x + MARK_R, y + MARK_R]);
    }
    const free = (b) => b[0] >= box.x0 && b[2] <= box.x1 && b[1] >= box.y0 && b[3] <= box.y1 &&
      !boxes.some((o) => b[0] < o[2] && b[2] > o[0] && b[1] < o[3] && b[3] > o[1]);
    const dirs = [[1, -1], [1, 0], [1, 1], [0, -1], [0, 1], [-1, -1], [-1, 0], [-1, 1]];
    const rmax = Math.max(0, ...layerPts.map((p) => Math.min(p.length, S.labelLimit)));
    for (let r = 0; r < rmax; r++) {
      for (let li = 0; li < layerPts.length; li++) {
        if (r >= layerPts[li].length) continue;
        const [x, y] = layerPts[li][r];
        if (!isFinite(x) || !isFinite(y)) continue;
        const w = DIGIT_W * String(r + 1).length + 3, h = LABEL_H;
        let placed = null;
        for (const far of [false, true]) {
          const gap = far ? 2.4 : 1;
          for (const [dx, dy] of dirs) {
            const cx = x + dx * (MARK_R * gap + w / 2 + 1), cy = y + dy * (MARK_R * gap + h / 2);
            const b = [cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2];
            if (free(b)) { placed = { cx: cx, cy: cy, far: far, b: b }; break; }
          }
          if (placed) break;
        }
        if (placed) { boxes.push(placed.b); out[li][r] = placed; }
      }
    }
    return out;
  }
  function drawOverlay() {
    const fl = gd._fullLayout;
    if (!fl || !fl.xaxis || !S.xs) return;
    S.overlayDraws += 1;
    const xa = fl.xaxis, ya = fl.yaxis, sz = fl._size;
    svg.setAttribute("width", fl.width);
    svg.setAttribute("height", fl.height);
    svg.innerHTML = "";
    const clipId = "plotclip";
    const defs = document.createElementNS(NS, "defs");
    defs.innerHTML = '<clipPath id="' + clipId + '"><rect x="' + sz.l + '" y="' + sz.t + '" width="' + sz.w +
      '" height="' + sz.h + '"></rect></clipPath>';
    svg.appendChild(defs);
    const px = (i) => sz.l + xa.l2p(S.xs[i]), py = (i) => sz.t + ya.l2p(S.ys[i]);
    const spots = placeLabels(S.layers.map((L) => L.positions.map((p) => [px(p), py(p)])),
                              { x0: sz.l, y0: sz.t, x1: sz.l + sz.w, y1: sz.t + sz.h });
    S.labelsHidden = spots.map((ls) => ls.map((q) => q === null));
    const labels = document.createElementNS(NS, "g");  // numbers above every marker
    labels.setAttribute("class", "labels");
    labels.setAttribute("clip-path", "url(#" + clipId + ")");
    // later layers (method B) first, so method A's markers stay on top
    for (let li = S.layers.length - 1; li >= 0; li--) {
      const L = S.layers[li];
      const g = document.createElementNS(NS, "g");
      g.setAttribute("class", "layer");
      g.setAttribute("data-name", L.name);
      g.setAttribute("clip-path", "url(#" + clipId + ")");
      L.labels = [];
      L.positions.forEach((p, r) => {
        const x = px(p), y = py(p);
        const m = document.createElementNS(NS, "g");
        m.setAttribute("class", "pick");
        m.setAttribute("data-rank", r + 1);
        const shape = document.createElementNS(NS, "path");
        const s = 7;
        shape.setAttribute("d", L.symbol === "diamond"
          ? "M" + x + "," + (y - s - 1) + "l" + (s + 1) + "," + (s + 1) + "l" + (-s - 1) + "," + (s + 1) + "l" + (-s - 1) + "," + (-s - 1) + "z"
          : "M" + (x - s) + "," + y + "a" + s + "," + s + " 0 1,0 " + 2 * s + ",0a" + s + "," + s + " 0 1,0 " + -2 * s + ",0");
        shape.setAttribute("fill", L.color);
        shape.setAttribute("stroke", "#fff");
        shape.setAttribute("stroke-width", "1.5");
        m.appendChild(shape);
        const q = spots[li][r];
        if (q) {  // a free spot beside the marker (a leader line when it is further out)
          const t = document.createElementNS(NS, "g");
          t.setAttribute("class", "label");
          t.setAttribute("data-rank", r + 1);
          if (q.far) {
            const ln = document.createElementNS(NS, "line");
            ln.setAttribute("x1", x); ln.setAttribute("y1", y);
            ln.setAttribute("x2", q.cx); ln.setAttribute("y2", q.cy);
            ln.setAttribute("stroke", L.color); ln.setAttribute("stroke-width", 1);
            t.appendChild(ln);
          }
          const tx = document.createElementNS(NS, "text");
          tx.setAttribute("x", q.cx);
          tx.setAttribute("y", q.cy + LABEL_H / 2 - 2);
          tx.setAttribute("text-anchor", "middle");
          tx.setAttribute("fill", L.color);
          tx.textContent = String(r + 1);
          t.appendChild(tx);
          labels.appendChild(t);
          L.labels[r] = t;
        }
        m.addEventListener("mouseenter", (ev) => showTip(ev, L, r));
        m.addEventListener("mouseleave", () => { tip.style.display = "none"; });
        g.appendChild(m);
      });
      svg.appendChild(g);
      L.group = g;
    }
    svg.appendChild(labels);
    const ring = document.createElementNS(NS, "g");
    ring.setAttribute("clip-path", "url(#" + clipId + ")");
    for (const i of S.highlight) {
      const c = document.createElementNS(NS, "circle");
      c.setAttribute("class", "highlight");
      c.setAttribute("cx", px(i));
      c.setAttribute("cy", py(i));
      c.setAttribute("r", 13);
      c.setAttribute("fill", "none");
      c.setAttribute("stroke", "#111");
      c.setAttribute("stroke-width", 2.5);
      ring.appendChild(c);
    }
    svg.appendChild(ring);
    applyBudget();
  }
  function showTip(ev, L, r) {
    const text = (L.hover[r] || "").replace(/<br\s*\/?>/gi, "\n").replace(/<[^>]+>/g, "");
    tip.textContent = (/pick #\d+/.test(text) ? "" : L.name + " · pick #" + (r + 1) + "\n") + text;
    tip.style.display = "block";
    const box = $("wrap").getBoundingClientRect();
    tip.style.left = Math.min(ev.clientX - box.left + 12, box.width - 250) + "px";
    tip.style.top = ev.clientY - box.top + 12 + "px";
  }
  // Show each nested layer's first `budget` picks: a display toggle per marker, no Plotly call.
  function applyBudget() {
    input.value = S.budget;
    $("bval").textContent = S.budget;
    const legend = $("legend");
    legend.innerHTML = "";
    const waiting = [];
    let unlabelled = 0;
    for (const L of S.layers) {
      const n = shownCount(L);
      if (L.group) {
        const kids = L.group.children;
        for (let r = 0; r < kids.length; r++) kids[r].style.display = r < n ? "" : "none";
        (L.labels || []).forEach((t, r) => { if (t) t.style.display = r < n ? "" : "none"; });
        for (let r = 0; r < Math.min(n, S.labelLimit); r++) if (!L.labels || !L.labels[r]) unlabelled += 1;
        L.group.setAttribute("data-shown", n);
        L.group.style.opacity = !L.nested && L.budget !== S.budget ? 0.35 : 1;
      }
      if (!L.nested && L.budget !== S.budget) waiting.push(L.name);
      const k = document.createElement("span");
      k.className = "key layer-key";
      k.setAttribute("data-name", L.name);
      k.innerHTML = '<span class="swatch ' + L.symbol + '"></span>';
      k.firstChild.style.background = L.color;
      k.appendChild(document.createTextNode(L.name + " (" + n + ")"));
      legend.appendChild(k);
    }
    S.unlabelled = unlabelled;
    $("status").textContent = waiting.length ? "updating " + waiting.join(", ") + "…"
      : unlabelled ? unlabelled + " crowded pick" + (unlabelled > 1 ? "s" : "") + " without a number: hover a marker" : "";
  }

  // ---------------------------------------------------------------- slider
  input.addEventListener("input", () => {
    S.budget = Math.max(1, Math.min(S.maxBudget, parseInt(input.value, 10)));
    S.seq += 1;
    applyBudget();
    if (S.timer) clearTimeout(S.timer);
    S.timer = setTimeout(sendValue, QUIET_MS);
  });

  // ---------------------------------------------------------------- render from Python
  function render(a) {
    const t0 = performance.now();
    S.renders += 1;
    S.lastArgs = a;
    if (!S.started) {  // a fresh mount continues the sequence the server has seen
      S.started = true;
      S.seq = a.ack || 0;
      S.selSeq = a.sel_ack || 0;
    }
    S.height = a.height || 600;
    S.labelLimit = a.label_limit || 60;
    S.maxBudget = Math.max(1, a.max_budget);
    input.max = S.maxBudget;
    $("blabel").textContent = a.budget_label || $("blabel").textContent;
    if ((a.ack || 0) >= S.seq) S.budget = a.budget;  // server-driven
    else if (a.budget !== S.budget) S.staleIgnored += 1;  // an echo older than the last slider move
    S.budget = Math.max(1, Math.min(S.maxBudget, S.budget));
    const layersKey = JSON.stringify(a.layers.map((L) => [L.name, L.nested, L.budget, L.key]));
    const newLayers = layersKey !== S.layersKey;
    if (newLayers) {
      S.layersKey = layersKey;
      S.layers = a.layers.map((L) => Object.assign({}, L));  // L.group is ours, not the args'
    }
    const hlKey = JSON.stringify(a.highlight || []);
    const hlChanged = hlKey !== S.hlKey;
    let p = Promise.resolve(false), redraw = false;
    const poolChanged = a.pool_key !== S.poolKey, colorChanged = a.color_key !== S.colorKey;
    if ((poolChanged && !a.has_data) || (colorChanged && !a.has_color)) {
      // the server thinks this map (or colouring) is drawn, e.g. the frame was remounted: ask for it
      if (poolChanged) S.poolKey = null;
      S.colorKey = null;
      sendValue();
    } else if (poolChanged || colorChanged) {
      S.poolKey = a.pool_key;
      S.colorKey = a.color_key;
      S.color = a.color || {};
      catLegend(S.color);
      if (!poolChanged) S.poolDraws += 1;
      p = poolChanged ? drawPool(a).then(() => true)
                      : Plotly.react(gd, [poolTrace(a, S.color)], layout(a), CONFIG).then(() => true);
      redraw = true;  // the layout (title included) is drawn with the pool
    }
    if (!redraw && gd.data && a.title !== S.title) Plotly.relayout(gd, { "title.text": a.title || "" });
    S.title = a.title;
    p.then((redrawn) => {
      if (hlChanged || redrawn) {
        S.hlKey = hlKey;
        S.highlight = (a.highlight || []).map((id) => S.index.get(String(id))).filter((i) => i !== undefined);
      }
      if (redrawn || newLayers || hlChanged) drawOverlay();
      else applyBudget();
      setHeight();
      S.renderMs += performance.now() - t0;  // time in this frame per render (benchmarks read it)
    });
  }
  function applyTheme(t) {  // follow Streamlit's light/dark theme
    if (!t || !t.textColor || t.textColor === S.textColor) return;
    S.textColor = t.textColor;
    document.body.style.color = t.textColor;
    if (t.font) document.body.style.fontFamily = t.font;
    if (gd.data) Plotly.relayout(gd, { "font.color": t.textColor });
  }
  window.addEventListener("message", (ev) => {
    const d = ev.data;
    if (d && d.type === "streamlit:render") {
      applyTheme(d.theme);
      render(d.args);
    }
  });
  window.addEventListener("resize", () => { if (gd.data) Plotly.Plots.resize(gd); });
  send("streamlit:componentReady", { apiVersion: 1 });
})();
