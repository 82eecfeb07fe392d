/* flowsheet chart runtime.
 *
 * Needs vega-bundle.js (the global vegaEmbed) loaded first. Finds every <div class="fs-chart" data-spec-id="ID">,
 * reads its Vega-Lite spec from <script type="application/json" id="ID"> (or from window.FLOWSHEET_SPECS[ID],
 * for specs made in the page: the compare page's compare_charts.js), and embeds it with the svg renderer and no
 * action links. The spec's usermeta.fs says what else to do:
 *   kind "metric"  run page chart: x axis mode, smoothing (debiased EMA) and log y from the page controls;
 *   selection "url"  compare chart: the param `selected_runs` is set from the page URL (?runs=id1,id2).
 *   history          experiment overlay with every run's curve: while the runs table is grouped (groups.js,
 *                    window.FlowsheetGroups.current) it is drawn as the groups' means with a band.
 *   empty "reason"  nothing to draw: the reason is shown in the chart's place (no empty plot, no NaN legend);
 *   log [...]      parallel/scatter axes whose positive values span decades: a "log scale" switch (page-wide, kept);
 *   kind "metric"/"overlay"  curves: a dashed rule follows the pointer on every curve chart of the page (the layer
 *                  `fs_cursor` is added here), drag/wheel zoom the x axis (the spec's `zoom` param), double-click resets.
 * Every drawn chart gets PNG, SVG and CSV download buttons (view.toImageURL and the inline data: nothing online).
 * Controls are drawn into every empty <div class="fs-chart-controls">. Colours come from the page's CSS variables
 * (--bg, --fg, --muted, --line), so dark mode (prefers-color-scheme) keeps labels and rules readable.
 * Charts are drawn when they come near the viewport (all of them before printing, or on drawAll()).
 * window.FlowsheetCharts exposes `ready` (a Promise: the charts visible at load are drawn) and setters.
 * `refresh()` (for `reporter serve`, after it has patched the page) picks up new, changed and removed
 * charts: new points go into the drawn view, the page controls and their state stay as they are.
 */
(function () {
  "use strict";

  var MAX_SMOOTHING = 0.999; // at 1 the EMA never moves and the debias divides by zero
  var LOG_KEY = "flowsheet.charts.logScale";
  var state = { xMode: "step", smoothing: 0.6, logY: false, logScale: readLogScale() };
  var charts = [];
  var observer = null;
  var darkQuery = window.matchMedia ? window.matchMedia("(prefers-color-scheme: dark)") : null;

  function readLogScale() {
    try { return window.localStorage.getItem(LOG_KEY) !== "0"; } catch (err) { return true; } // storage may be off
  }

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
    if (el && el.type === "application/json") {
      var spec = JSON.parse(el.textContent);
      return { text: el.textContent, spec: spec.template ? expandSpec(spec) : spec };
    }
    if (window.FLOWSHEET_SPECS && window.FLOWSHEET_SPECS[id]) {
      return { text: JSON.stringify(window.FLOWSHEET_SPECS[id]), spec: window.FLOWSHEET_SPECS[id] };
    }
    throw new Error("no chart spec with id " + JSON.stringify(id));
  }

  /* A run page's compact chart (reporter/charts/run.py page_chart): the page's template named by `template`,
   * its "$fs:name" holes filled from `fill` (a hole the fill lacks is left out), and the rows from `columns`. */
  var HOLE = "$fs:";
  function fillTemplate(node, fill) {
    if (typeof node === "string" && node.indexOf(HOLE) === 0) {
      var name = node.slice(HOLE.length);
      return Object.prototype.hasOwnProperty.call(fill, name) && fill[name] !== null ? fill[name] : undefined;
    }
    if (Array.isArray(node)) return node.map(function (item) { return fillTemplate(item, fill); });
    if (node && typeof node === "object") {
      var out = {};
      Object.keys(node).forEach(function (key) {
        var value = fillTemplate(node[key], fill);
        if (value !== undefined) out[key] = value;
      });
      return out;
    }
    return node;
  }

  /* Steps or times as levels.int_column writes them: {first, step} when evenly spaced, else differences;
   * on a run page, {like: id} when they are those of an earlier chart (run.py share_columns). */
  function integers(column, n, name) {
    if (column.like) column = JSON.parse(document.getElementById(column.like).textContent).columns[name];
    var out = new Array(n), sum = 0;
    for (var i = 0; i < n; i++) {
      if (Array.isArray(column)) { sum += column[i]; out[i] = sum; } else out[i] = column.first + i * column.step;
    }
    return out;
  }

  /* Rows from columns; `lo`/`hi` only for buckets (`band`: single points get lo = hi = v). */
  function columnsToRows(columns, band) {
    var v = columns.v, rows = new Array(v.length), s = integers(columns.s, v.length, "s");
    var t = integers(columns.t, v.length, "t");
    var lo = columns.lo || (band ? v : null), hi = columns.hi || (band ? v : null);
    for (var i = 0; i < v.length; i++) {
      rows[i] = lo ? { s: s[i], t: t[i], v: v[i], lo: lo[i], hi: hi[i] } : { s: s[i], t: t[i], v: v[i] };
    }
    return rows;
  }

  /* The templates are in static/chart-templates.js (window.FLOWSHEET_TEMPLATES), shared by every run page. */
  function expandSpec(compact) {
    var templates = window.FLOWSHEET_TEMPLATES || {};
    if (!Object.prototype.hasOwnProperty.call(templates, compact.template)) {
      throw new Error("no chart template " + JSON.stringify(compact.template) + " (is chart-templates.js loaded?)");
    }
    var fill = compact.fill;
    // the entries an earlier chart of the page has alike (run.py share_with_earlier); null: a hole left out
    if (fill.like) fill = Object.assign({}, JSON.parse(document.getElementById(fill.like).textContent).fill, fill);
    var spec = fillTemplate(templates[compact.template], fill);
    spec.datasets = {};
    spec.datasets[meta(spec).data] = columnsToRows(compact.columns, false);
    return spec;
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
    if (m.kind === "parallel") setParam(spec, "log_scale", state.logScale);
    if (m.kind === "scatter") applyScatterLog(chart, spec);
    if (hasCursor(chart)) spec = withCursor(spec);
    return spec;
  }

  /* The scatter's chosen fields (kept across redraws) and a log scale on an axis whose field spans decades. */
  function applyScatterLog(chart, spec) {
    Object.keys(chart.picked).forEach(function (name) { setParam(spec, name, chart.picked[name]); });
    var logged = meta(spec).log || [];
    var points = (spec.layer || [spec])[0];
    [["x", "scatter_x"], ["y", "scatter_y"]].forEach(function (pair) {
      var field = pickedField(chart, pair[1]);
      var channel = points.encoding && points.encoding[pair[0]];
      if (channel && state.logScale && logged.indexOf(field) >= 0) {
        channel.scale = Object.assign({}, channel.scale || {}, { type: "log" });
        delete channel.scale.zero; // a log scale has no zero
      }
    });
  }

  function pickedField(chart, name) {
    if (Object.prototype.hasOwnProperty.call(chart.picked, name)) return chart.picked[name];
    var found = (chart.spec.params || []).filter(function (p) { return p.name === name; })[0];
    return found ? found.value : null;
  }

  function scatterLogKey(chart) {
    var logged = meta(chart.spec).log || [];
    return ["scatter_x", "scatter_y"].map(function (n) { return logged.indexOf(pickedField(chart, n)) >= 0; }).join();
  }

  function hasCursor(chart) { var k = meta(chart.spec).kind; return k === "metric" || k === "overlay"; }

  /* The shared hover cursor: a rule at pixel `fs_cursor_px` (set by showCursor; -1: none). A pixel rather than a
   * data value, so the rule never takes part in the x scale's domain. */
  function withCursor(spec) {
    var rule = { data: { values: [{}] }, name: "fs_cursor", transform: [{ filter: "fs_cursor_px >= 0" }],
                 mark: { type: "rule", strokeDash: [4, 3], strokeWidth: 1.2, color: colours().fg },
                 encoding: { x: { value: { expr: "fs_cursor_px" } } } };
    spec.params = (spec.params || []).concat([{ name: "fs_cursor_px", value: -1 }]);
    if (spec.layer) { spec.layer.push(rule); return spec; }
    // a single-view chart becomes a layer of itself and the rule; variable params stay at the top
    var outer = { layer: [], datasets: spec.datasets, usermeta: spec.usermeta };
    ["title", "width", "height", "config", "autosize", "padding", "background"].forEach(function (k) {
      if (k in spec) { outer[k] = spec[k]; delete spec[k]; }
    });
    var params = spec.params || [];
    outer.params = params.filter(function (p) { return !p.select; });
    spec.params = params.filter(function (p) { return p.select; });
    if (!spec.params.length) delete spec.params;
    if (!outer.params.length) delete outer.params;
    delete spec.datasets;
    delete spec.usermeta;
    outer.layer = [spec, rule];
    return outer;
  }

  function isDark() { return !!(darkQuery && darkQuery.matches); }

  /* The page's colours (site.css variables); without them (a bare page) light defaults, or dark ones in dark mode. */
  function colours() {
    var css = window.getComputedStyle(document.documentElement);
    var dark = isDark();
    function pick(name, light, darkValue) { return css.getPropertyValue(name).trim() || (dark ? darkValue : light); }
    return { bg: pick("--bg", "#ffffff", "#111418"), fg: pick("--fg", "#1b1f24", "#e3e7ec"),
             muted: pick("--muted", "#5b6470", "#9aa4b0"), line: pick("--line", "#d8dde3", "#2e353d") };
  }

  /* A Vega-Lite config in the page's colours: axes, titles, legends, text and rule marks (box-plot whiskers). */
  function pageConfig() {
    var c = colours();
    var guide = { labelColor: c.fg, titleColor: c.fg };
    return {
      background: c.bg,
      title: { color: c.fg, subtitleColor: c.muted },
      axis: Object.assign({ domainColor: c.muted, tickColor: c.muted, gridColor: c.line }, guide),
      legend: guide,
      header: guide,
      view: { stroke: c.line },
      text: { color: c.fg },
      rule: { color: c.muted },
      boxplot: { rule: { color: c.fg } },
      style: { "guide-label": { fill: c.fg }, "guide-title": { fill: c.fg } }
    };
  }

  /* The cursor rule must not catch the pointer: the hover points and their tooltips lie under it. */
  function inertCursor(vgSpec) {
    (function walk(marks) {
      (marks || []).forEach(function (mark) {
        if (mark.name === "fs_cursor_marks") mark.interactive = false;
        walk(mark.marks);
      });
    })(vgSpec.marks);
    return vgSpec;
  }

  function embedOptions() {
    return { actions: false, renderer: "svg", config: pageConfig(), patch: inertCursor };
  }

  function showError(chart, err) {
    console.error("flowsheet charts: chart " + chart.id + " failed:", err);
    chart.plot = null;
    chart.el.textContent = "This chart could not be drawn: " + (err && err.message ? err.message : err);
    chart.el.classList.add("fs-chart-error");
  }

  /* A line of text in the chart's place (nothing selected, nothing to draw). */
  function showNote(chart, text) {
    chart.plot = null;
    chart.el.textContent = text;
    chart.el.classList.add("fs-chart-empty");
    chart.el.style.minHeight = "";
  }

  /* The chart's parts: the plot vega-embed draws into, and a bar of tools (switches and downloads) below it. */
  function parts(chart) {
    if (chart.plot && chart.el.contains(chart.plot)) return chart.plot;
    chart.el.textContent = "";
    chart.plot = document.createElement("div");
    chart.plot.className = "fs-chart-plot";
    chart.plot.style.width = "100%"; // vega-embed makes its element inline-block; "container" width needs the full row
    chart.el.appendChild(chart.plot);
    chart.el.appendChild(toolbar(chart));
    return chart.plot;
  }

  function embed(chart) {
    if (chart.view) { chart.view.finalize(); chart.view = null; }
    if (meta(chart.spec).selection === "url" && !chart.selection.length) {
      // an empty chart would only log "infinite extent" warnings
      showNote(chart, "No runs selected: tick runs in a runs table, then open the compare view.");
      return Promise.resolve();
    }
    if (meta(chart.spec).empty) { showNote(chart, meta(chart.spec).empty); return Promise.resolve(); }
    chart.el.classList.remove("fs-chart-empty");
    chart.zoomRows = null; // a new view starts unzoomed, on the inline data
    var spec;
    try { spec = prepare(chart); } catch (err) { showError(chart, err); return Promise.resolve(); }
    return window.vegaEmbed(parts(chart), spec, embedOptions()).then(
      function (result) {
        chart.view = result.view;
        chart.el.classList.add("fs-chart-ready");
        watch(chart);
        if (window.FlowsheetZoom) window.FlowsheetZoom.attach(chart); // zoom.js: finer levels of long series
      },
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

  /* After a draw: a scatter redraws when a newly chosen field changes which axes are logarithmic. */
  function watch(chart) {
    if (meta(chart.spec).kind !== "scatter") return;
    var before = scatterLogKey(chart);
    ["scatter_x", "scatter_y"].forEach(function (name) {
      chart.view.addSignalListener(name, function (_, value) {
        chart.picked[name] = value;
        if (scatterLogKey(chart) !== before) schedule(chart);
      });
    });
  }

  function hasLog(chart) { return (meta(chart.spec).log || []).length > 0; }

  /* The page-wide log scale switch of parallel coordinates and scatter plots (kept for the next visit). */
  function setLogScale(on) {
    state.logScale = !!on;
    try { window.localStorage.setItem(LOG_KEY, state.logScale ? "1" : "0"); } catch (err) { /* storage off */ }
    document.querySelectorAll('input[name="fs-log-scale"]').forEach(function (box) { box.checked = state.logScale; });
    return redraw(hasLog);
  }

  function setXMode(mode) { state.xMode = mode; return redraw(isMetric); }
  function setLogY(on) { state.logY = !!on; return redraw(isMetric); }

  /* Smoothing does not re-embed: the new rows are pushed into the live view. */
  function setSmoothing(weight) {
    state.smoothing = Math.min(Math.max(Number(weight) || 0, 0), MAX_SMOOTHING);
    return enqueue(function () {
      return Promise.all(charts.filter(isMetric).map(function (chart) {
        if (!chart.view) return null; // not drawn yet: it reads the state when it is
        var name = meta(chart.spec).data;
        var rows = smoothedRows(rowsOf(chart), state.smoothing);
        // view.data() replaces every tuple of the named dataset (the bundle does not expose vega.changeset)
        return chart.view.data(name, rows).runAsync();
      }));
    }).then(noop);
  }

  /* The rows a metric chart shows: its inline data, or what zoom.js loaded for the visible range. */
  function rowsOf(chart) { return chart.zoomRows || chart.spec.datasets[meta(chart.spec).data]; }

  /* zoom.js hands over finer rows (null: back to the inline data); pushed into the live view like smoothing. */
  function setRows(chart, rows) {
    chart.zoomRows = rows;
    return enqueue(function () {
      if (!chart.view) return null;
      return chart.view.data(meta(chart.spec).data, smoothedRows(rowsOf(chart), state.smoothing)).runAsync();
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

  /* ---- the tools under a chart: log switch, downloads -------------------------------------------------- */

  function toolbar(chart) {
    var bar = document.createElement("div");
    bar.className = "fs-chart-tools";
    if (hasLog(chart)) {
      var label = document.createElement("label");
      var box = document.createElement("input");
      box.type = "checkbox";
      box.name = "fs-log-scale";
      box.checked = state.logScale;
      box.addEventListener("change", function () { setLogScale(box.checked); });
      label.appendChild(box);
      label.appendChild(document.createTextNode(" log scale (" + meta(chart.spec).log.map(function (f) {
        return (meta(chart.spec).fields || {})[f] || f;
      }).join(", ") + ")"));
      bar.appendChild(label);
    }
    [["png", "PNG"], ["svg", "SVG"], ["csv", "CSV"]].forEach(function (pair) {
      var button = document.createElement("button");
      button.type = "button";
      button.className = "fs-download";
      button.setAttribute("data-format", pair[0]);
      button.textContent = pair[1];
      button.title = "Download this chart as " + pair[1];
      button.addEventListener("click", function () {
        // the button says what happened: saving, then saved (or failed)
        button.setAttribute("data-state", "saving");
        download(chart, pair[0]).then(function () { button.setAttribute("data-state", "saved"); },
                                      function (err) {
                                        button.setAttribute("data-state", "failed");
                                        console.error("flowsheet charts: download failed:", err);
                                      });
      });
      bar.appendChild(button);
    });
    return bar;
  }

  function fileName(chart, ext) {
    var title = chart.el.getAttribute("data-title") || chart.id;
    return (title.replace(/[^A-Za-z0-9._-]+/g, "_").replace(/^[._]+/, "") || "chart") + "." + ext;
  }

  /* Saves through an <a download>: a data: URL (PNG), blob: URLs (SVG, CSV); nothing leaves the page. */
  function save(url, name) {
    var link = document.createElement("a");
    link.href = url;
    link.download = name;
    link.hidden = true;
    document.body.appendChild(link);
    link.click();
    link.remove();
    if (url.indexOf("blob:") === 0) window.setTimeout(function () { URL.revokeObjectURL(url); }, 60000);
  }

  function download(chart, format) {
    if (format === "csv") {
      save(URL.createObjectURL(new Blob([csvText(chart)], { type: "text/csv" })), fileName(chart, "csv"));
      return Promise.resolve();
    }
    if (!chart.view) return Promise.resolve();
    return chart.view.toImageURL(format, format === "png" ? 2 : 1).then(function (url) {
      save(url, fileName(chart, format));
    });
  }

  /* The plotted rows of the chart's inline data: names of runs and axes spelled out, only the selected runs. */
  function csvRows(chart) {
    var spec = chart.spec, m = meta(spec), sets = spec.datasets || {};
    var name = m.data || ["points", "table", "wide"].filter(function (n) { return sets[n]; })[0];
    var rows = sets[name] || [];
    var labels = Object.assign({ s: "step", v: "value", t: "ms since start", lo: "min", hi: "max" }, m.fields || {});
    (sets.dims || []).forEach(function (d) { labels[d.k] = d.label; });
    var runs = {};
    (sets.runs || []).forEach(function (r) { runs[r.i] = r; });
    if (m.selection === "url") {
      rows = rows.filter(function (r) { return runs[r.i] && chart.selection.indexOf(runs[r.i].id) >= 0; });
    }
    var keys = [];
    rows.forEach(function (r) { Object.keys(r).forEach(function (k) { if (keys.indexOf(k) < 0) keys.push(k); }); });
    var named = keys.indexOf("i") >= 0 && sets.runs;
    keys = keys.filter(function (k) { return k !== "i" && k !== "sm"; });
    var header = (named ? ["run", "run id"] : []).concat(keys.map(function (k) { return labels[k] || k; }));
    var body = rows.map(function (r) {
      var run = runs[r.i] || {};
      return (named ? [run.name, run.id] : []).concat(keys.map(function (k) { return r[k]; }));
    });
    return [header].concat(body);
  }

  function csvCell(value) {
    if (value === undefined || value === null) return "";
    var text = String(value);
    // a spreadsheet would run a cell that starts like a formula (as the site's own CSV files do)
    if (typeof value === "string" && /^[=+\-@\t\r]/.test(text)) text = "'" + text;
    return /[",\r\n]/.test(text) ? '"' + text.replace(/"/g, '""') + '"' : text;
  }

  function csvText(chart) {
    return csvRows(chart).map(function (row) { return row.map(csvCell).join(","); }).join("\r\n") + "\r\n";
  }

  /* ---- the shared hover cursor ------------------------------------------------------------------------- */

  var cursorFrame = null;

  /* The x under the pointer (in data units), or null outside the plot. */
  function pointerX(chart, event) {
    var svg = chart.plot && chart.plot.querySelector("svg");
    if (!chart.view || !svg) return null;
    var box = svg.getBoundingClientRect();
    var px = event.clientX - box.left - chart.view.origin()[0];
    if (px < 0 || px > chart.view.width()) return null;
    var x = chart.view.scale("x").invert(px);
    return x instanceof Date ? x.getTime() : x;
  }

  function showCursor(x) {
    charts.filter(function (c) { return c.view && hasCursor(c); }).forEach(function (c) {
      var px = x === null ? -1 : c.view.scale("x")(x);
      if (!(px >= 0 && px <= c.view.width())) px = -1; // outside this chart's x range: no rule
      c.view.signal("fs_cursor_px", px).runAsync();
    });
  }

  function trackPointer(chart) {
    chart.el.addEventListener("pointermove", function (event) {
      if (!hasCursor(chart)) return;
      var x = pointerX(chart, event);
      if (cursorFrame !== null) window.cancelAnimationFrame(cursorFrame);
      cursorFrame = window.requestAnimationFrame(function () { cursorFrame = null; showCursor(x); });
    });
    chart.el.addEventListener("pointerleave", function () {
      if (!hasCursor(chart)) return;
      if (cursorFrame !== null) window.cancelAnimationFrame(cursorFrame);
      cursorFrame = null;
      showCursor(null);
    });
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
                  selection: urlSelection(), picked: {}, plot: null };
    el.fsChart = chart;
    trackPointer(chart);
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
      chart.zoomRows = null; // new points: back to the inline level (the next zoom gesture loads finer ones)
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
    setLogScale: setLogScale,
    hasLog: hasLog,
    hasCursor: hasCursor,
    meta: meta,
    csvText: csvText,
    setSelectedRuns: setSelectedRuns,
    setRows: setRows,
    columnsToRows: columnsToRows,
    drawAll: drawAll,
    refresh: refresh
  };
})();
