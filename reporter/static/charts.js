/* flowsheet chart runtime.
 *
 * Needs vega-bundle.js (the global vegaEmbed) loaded first. Finds every <div class="fs-chart" data-spec-id="ID">,
 * reads its Vega-Lite spec from <script type="application/json" id="ID"> (or from window.FLOWSHEET_SPECS[ID],
 * for pages that load specs from a separate <script src> file), and embeds it with the svg renderer and no
 * action links. The spec's usermeta.fs says what else to do:
 *   kind "metric"  run page chart: x axis mode, smoothing (debiased EMA) and log y from the page controls;
 *   selection "url"  compare chart: the param `selected_runs` is set from the page URL (?runs=id1,id2);
 *   history          experiment overlay with every run's curve: while the runs table is grouped (groups.js,
 *                    window.FlowsheetGroups.current) it is drawn as the groups' means with a band.
 * Controls are drawn into every empty <div class="fs-chart-controls">. Dark mode follows prefers-color-scheme.
 * Charts are drawn when they come near the viewport (all of them before printing, or on drawAll()).
 * window.FlowsheetCharts exposes `ready` (a Promise: the charts visible at load are drawn) and setters.
 * `refresh()` (for `reporter serve`, after it has patched the page) picks up new, changed and removed
 * charts: new points go into the drawn view, the page controls and their state stay as they are.
 */
(function () {
  "use strict";

  var MAX_SMOOTHING = 0.999; // at 1 the EMA never moves and the debias divides by zero
  var state = { xMode: "step", smoothing: 0.6, logY: false };
  var charts = [];
  var observer = null;
  var darkQuery = window.matchMedia ? window.matchMedia("(prefers-color-scheme: dark)") : null;

  /* TensorBoard's smoothing: an EMA started at 0 and divided by (1 - w^n) so early points are not pulled to 0. */
  function ema(values, weight) {
    var w = Math.min(Math.max(Number(weight) || 0, 0), MAX_SMOOTHING);
    var out = new Array(values.length);
    var last = 0;
    var n = 0;
    var constant = values.every(function (v) { return v === values[0]; });
    for (var i = 0; i < values.length; i++) {
      var y = values[i];
      if (w === 0 || constant || !isFinite(y)) { out[i] = y; continue; }
      last = last * w + (1 - w) * y;
      n += 1;
      out[i] = last / (1 - Math.pow(w, n));
    }
    return out;
  }

  function smoothedRows(rows, weight) {
    var sm = ema(rows.map(function (r) { return r.v; }), weight);
    // fresh objects every time: Vega tags the tuples it ingests
    return rows.map(function (r, i) { return Object.assign({}, r, { sm: sm[i] }); });
  }

  function urlSelection() {
    // An exported report sets its selection itself: an attachment has no ?runs= in its address.
    var raw = window.FLOWSHEET_COMPARE_SELECTION || new URLSearchParams(window.location.search).get("runs") || "";
    return raw.split(",").map(function (s) { return s.trim(); }).filter(Boolean);
  }

  /* The spec as text (to tell a changed spec cheaply) and as an object. */
  function readSpec(id) {
    var el = document.getElementById(id);
    if (el && el.type === "application/json") return { text: el.textContent, spec: JSON.parse(el.textContent) };
    if (window.FLOWSHEET_SPECS && window.FLOWSHEET_SPECS[id]) {
      return { text: JSON.stringify(window.FLOWSHEET_SPECS[id]), spec: window.FLOWSHEET_SPECS[id] };
    }
    throw new Error("no chart spec with id " + JSON.stringify(id));
  }

  function meta(spec) { return (spec.usermeta && spec.usermeta.fs) || {}; }

  function eachLayer(spec, fn) {
    fn(spec);
    (spec.layer || []).forEach(function (sub) { eachLayer(sub, fn); });
  }

  function applyLogY(spec) {
    eachLayer(spec, function (s) {
      var y = s.encoding && s.encoding.y;
      if (y && y.type === "quantitative") y.scale = Object.assign({}, y.scale || {}, { type: "log" });
    });
    // a log scale has no place for zero or negative values (or bucket minima)
    spec.transform = (spec.transform || []).concat([{ filter: "datum.v > 0 && (!isValid(datum.lo) || datum.lo > 0)" }]);
  }

  function setParam(spec, name, value) {
    (spec.params || []).forEach(function (p) { if (p.name === name) p.value = value; });
  }

  /* The spec actually embedded: the built one plus the page state. */
  function grouping() {
    var groups = window.FlowsheetGroups;
    return groups && groups.current ? groups : null;
  }

  function isGroupable(chart) { return !!meta(chart.spec).history; }

  function prepare(chart) {
    var groups = grouping();
    if (groups && isGroupable(chart)) return groups.curveSpec(chart.spec, groups.current);
    var spec = JSON.parse(JSON.stringify(chart.spec));
    // Altair writes Vega-Lite 5 specs; the offline bundle may carry a newer (compatible) Vega-Lite, and
    // vega-embed only uses $schema to warn about that difference.
    delete spec.$schema;
    var m = meta(spec);
    if (m.kind === "metric") {
      if (m.x && m.x[state.xMode]) spec.encoding = Object.assign({}, spec.encoding, { x: m.x[state.xMode] });
      if (state.logY) applyLogY(spec);
      spec.datasets[m.data] = smoothedRows(chart.spec.datasets[m.data], state.smoothing);
    }
    if (m.selection === "url") setParam(spec, "selected_runs", chart.selection);
    return spec;
  }

  function embedOptions() {
    var opts = { actions: false, renderer: "svg" };
    if (darkQuery && darkQuery.matches) opts.theme = "dark";
    return opts;
  }

  function showError(chart, err) {
    console.error("flowsheet charts: chart " + chart.id + " failed:", err);
    chart.el.textContent = "This chart could not be drawn: " + (err && err.message ? err.message : err);
    chart.el.classList.add("fs-chart-error");
  }

  function embed(chart) {
    if (chart.view) { chart.view.finalize(); chart.view = null; }
    if (meta(chart.spec).selection === "url" && !chart.selection.length) {
      // an empty chart would only log "infinite extent" warnings
      chart.el.textContent = "No runs selected: tick runs in a runs table, then open the compare view.";
      chart.el.classList.add("fs-chart-empty");
      return Promise.resolve();
    }
    chart.el.classList.remove("fs-chart-empty");
    var spec;
    try { spec = prepare(chart); } catch (err) { showError(chart, err); return Promise.resolve(); }
    return window.vegaEmbed(chart.el, spec, embedOptions()).then(
      function (result) { chart.view = result.view; chart.el.classList.add("fs-chart-ready"); },
      function (err) { showError(chart, err); }
    );
  }

  /* Every draw, redraw and data push goes through one queue, so a chart is never embedded twice at once. */
  var queue = Promise.resolve();
  function enqueue(task) {
    // a failed task is reported and the queue goes on: one broken chart must not freeze the others
    queue = queue.then(task).catch(function (err) { console.error("flowsheet charts:", err); });
    return queue;
  }
  function noop() {}

  function schedule(chart) {
    chart.wanted = true;
    if (chart.observed) { chart.observed = false; observer.unobserve(chart.el); }
    return enqueue(function () { return embed(chart); });
  }

  /* Redraw the charts that are drawn (or about to be); the others pick up the state when they scroll in. */
  function redraw(filter) {
    return Promise.all(charts.filter(function (c) { return c.wanted && filter(c); }).map(schedule)).then(noop);
  }

  /* Draw every chart now, visible or not (tests, printing). */
  function drawAll() {
    return Promise.all(charts.filter(function (c) { return !c.wanted; }).map(schedule)).then(noop);
  }

  function isMetric(chart) { return meta(chart.spec).kind === "metric"; }

  function setXMode(mode) { state.xMode = mode; return redraw(isMetric); }
  function setLogY(on) { state.logY = !!on; return redraw(isMetric); }

  /* Smoothing does not re-embed: the new rows are pushed into the live view. */
  function setSmoothing(weight) {
    state.smoothing = Math.min(Math.max(Number(weight) || 0, 0), MAX_SMOOTHING);
    return enqueue(function () {
      return Promise.all(charts.filter(isMetric).map(function (chart) {
        if (!chart.view) return null; // not drawn yet: it reads the state when it is
        var name = meta(chart.spec).data;
        var rows = smoothedRows(chart.spec.datasets[name], state.smoothing);
        // view.data() replaces every tuple of the named dataset (the bundle does not expose vega.changeset)
        return chart.view.data(name, rows).runAsync();
      }));
    }).then(noop);
  }

  function isSelectable(chart) { return meta(chart.spec).selection === "url"; }

  /* For pages that change the selection without reloading (e.g. the runs table's checkboxes). */
  function setSelectedRuns(ids) {
    charts.filter(isSelectable).forEach(function (chart) { chart.selection = ids.slice(); });
    return redraw(isSelectable);
  }

  function buildControls(box) {
    if (box.fsBound) return;
    box.fsBound = true;
    if (!box.children.length) {
      box.innerHTML =
        '<label>x axis <select name="fs-x">' +
        '<option value="step">step</option><option value="rel">relative time</option>' +
        '<option value="wall">wall-clock time</option></select></label> ' +
        '<label>smoothing <input type="range" name="fs-smoothing" min="0" max="0.99" step="0.01"> ' +
        '<output name="fs-smoothing-value"></output></label> ' +
        '<label><input type="checkbox" name="fs-log-y"> log y</label>';
    }
    var x = box.querySelector('[name="fs-x"]');
    var smooth = box.querySelector('[name="fs-smoothing"]');
    var out = box.querySelector('[name="fs-smoothing-value"]');
    var log = box.querySelector('[name="fs-log-y"]');
    if (x) { x.value = state.xMode; x.addEventListener("change", function () { setXMode(x.value); }); }
    if (log) { log.checked = state.logY; log.addEventListener("change", function () { setLogY(log.checked); }); }
    if (smooth) {
      smooth.value = String(state.smoothing);
      if (out) out.textContent = Number(smooth.value).toFixed(2);
      var pending = false;
      smooth.addEventListener("input", function () {
        if (out) out.textContent = Number(smooth.value).toFixed(2);
        if (pending) return;
        pending = true; // at most one update per frame while dragging
        window.requestAnimationFrame(function () { pending = false; setSmoothing(smooth.value); });
      });
    }
  }

  function start() {
    if (typeof window.vegaEmbed !== "function") {
      console.error("flowsheet charts: vega-bundle.js must be loaded before charts.js");
      return Promise.resolve();
    }
    document.querySelectorAll(".fs-chart[data-spec-id]").forEach(addChart);
    if (charts.some(isMetric)) document.querySelectorAll(".fs-chart-controls").forEach(buildControls);
    if (darkQuery && darkQuery.addEventListener) {
      darkQuery.addEventListener("change", function () { redraw(function () { return true; }); });
    }
    window.addEventListener("beforeprint", drawAll);
    window.addEventListener("flowsheet-groups", function () { redraw(isGroupable); });
    if (!window.IntersectionObserver) return drawAll();
    // Charts are drawn as they come near the viewport: a run page with many metrics opens fast.
    return new Promise(function (resolve) {
      var first = true;
      observer = new IntersectionObserver(function (entries) {
        var visible = entries.filter(function (e) { return e.isIntersecting; }).map(function (e) { return e.target.fsChart; });
        var drawn = Promise.all(visible.map(schedule));
        if (first) { first = false; drawn.then(resolve, resolve); }
      }, { rootMargin: "200px 0px" });
      charts.forEach(observe);
      if (!charts.length) { first = false; resolve(); }
    });
  }

  function addChart(el) {
    var chart = { id: el.getAttribute("data-spec-id"), el: el, view: null, spec: null, text: null,
                  selection: urlSelection() };
    el.fsChart = chart;
    try {
      var read = readSpec(chart.id);
      chart.spec = read.spec;
      chart.text = read.text;
      charts.push(chart);
    } catch (err) {
      showError(chart, err);
    }
    return chart;
  }

  function observe(chart) {
    chart.observed = true;
    // hold the chart's place so the page does not jump as charts are drawn
    if (!chart.el.style.minHeight) chart.el.style.minHeight = ((chart.spec.height || 220) + 80) + "px";
    observer.observe(chart.el);
  }

  function withoutData(spec) {
    var rest = Object.assign({}, spec);
    delete rest.datasets;
    delete rest.usermeta; // point counts, which change with every new point
    return JSON.stringify(rest);
  }

  /* A drawn chart whose spec changed: when only its data did, the rows go into the live view (no flicker,
   * tooltips and hover stay); otherwise it is embedded again. Either way with the page's current state. */
  function update(chart, spec, text) {
    var before = chart.spec;
    chart.spec = spec;
    chart.text = text;
    if (!chart.wanted) return Promise.resolve(); // drawn later, from the new spec
    if (!chart.view || meta(spec).kind !== "metric" || withoutData(before) !== withoutData(spec)) {
      return schedule(chart);
    }
    return enqueue(function () {
      var name = meta(spec).data;
      if (!chart.view) return embed(chart);
      return chart.view.data(name, smoothedRows(spec.datasets[name] || [], state.smoothing)).runAsync()
        .catch(function () { return embed(chart); });
    });
  }

  /* The page was patched in place: draw new charts, update changed ones, forget the ones that left. */
  function refresh() {
    return ready.then(refreshNow);
  }

  function refreshNow() {
    if (typeof window.vegaEmbed !== "function") return Promise.resolve();
    var work = [];
    document.querySelectorAll(".fs-chart[data-spec-id]").forEach(function (el) {
      var chart = el.fsChart && charts.indexOf(el.fsChart) >= 0 ? el.fsChart : null;
      if (!chart) {
        chart = addChart(el);
        if (chart.spec === null) return;
        if (observer) observe(chart); else work.push(schedule(chart));
        return;
      }
      var read;
      try { read = readSpec(chart.id); } catch (err) { return; } // gone with the next patch
      if (read.text !== chart.text) work.push(update(chart, read.spec, read.text));
    });
    for (var i = charts.length - 1; i >= 0; i--) {
      var chart = charts[i];
      if (document.contains(chart.el)) continue;
      if (chart.view) chart.view.finalize();
      if (chart.observed && observer) observer.unobserve(chart.el);
      charts.splice(i, 1);
    }
    if (charts.some(isMetric)) document.querySelectorAll(".fs-chart-controls").forEach(buildControls);
    return Promise.all(work).then(noop);
  }

  var ready = new Promise(function (resolve) {
    var go = function () { start().then(resolve, resolve); };
    if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", go);
    else go();
  });

  window.FlowsheetCharts = {
    ready: ready,
    charts: charts,
    state: state,
    ema: ema,
    setXMode: setXMode,
    setSmoothing: setSmoothing,
    setLogY: setLogY,
    setSelectedRuns: setSelectedRuns,
    drawAll: drawAll,
    refresh: refresh
  };
})();
