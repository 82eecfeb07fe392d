/* flowsheet zoom: the finer levels of a long series, loaded for the visible range when a run chart is zoomed.
 *
 * Loaded after charts.js on run pages. A long series' spec inlines level 0 of its levels (equal buckets of
 * usermeta.fs.zoom.sizes[0] points, min/max/last each) and names the chunk files of the finer levels
 * (reporter/charts/levels.py and chunks.py). When the x axis is zoomed or panned (the spec's `zoom` param),
 * the chart's visible range is mapped to point indices through level 0 (bucket k holds points
 * k*size .. (k+1)*size - 1 and is drawn at its last step), the coarsest level with at least one bucket per
 * pixel over that range is chosen, and its chunks covering the range are loaded with <script src> (fetch is
 * blocked over file://). Each chunk calls window.flowsheetZoomChunk(json). The chart then draws the finer
 * buckets (or the points themselves) over the visible range and half of it on each side, and level 0
 * elsewhere; zooming back out
 * until level 0 is enough draws level 0 alone again. A chunk that cannot be loaded leaves the chart as it is.
 * On a time axis the range is mapped through the buckets' last times, which assumes time grows with the
 * step (a run resumed with an earlier clock may then load neighbouring chunks instead).
 *
 * window.FlowsheetZoom.status[specId] says what a chart shows: {level, chunks: [file names], busy}, and after a
 * load `ms`, from the settled gesture to the finer rows drawn.
 */
(function () {
  "use strict";

  var KEEP_CHUNKS = 48; // chunks kept in memory for panning back and forth
  var loaded = {}; // "id|level|chunk" -> rows
  var order = [];
  var waiting = {};
  var status = {};

  window.flowsheetZoomChunk = function (data) {
    var entry = waiting[data.f + "|" + data.l + "|" + data.c];
    if (!entry) return;
    delete waiting[entry.key];
    // kept by the series' point count too: when `reporter serve` brings more points, chunks are cut anew
    if (!loaded[entry.cached]) order.push(entry.cached);
    loaded[entry.cached] = window.FlowsheetCharts.columnsToRows(data, true); // a single point is its own min and max
    while (order.length > KEEP_CHUNKS) delete loaded[order.shift()];
    entry.resolve(loaded[entry.cached]);
  };

  function fileId(zoom) { return zoom.file.split("/").pop(); }

  function load(zoom, level, chunk) {
    var key = fileId(zoom) + "|" + level + "|" + chunk, cached = key + "|" + zoom.n;
    if (loaded[cached]) return Promise.resolve(loaded[cached]);
    if (waiting[key] && waiting[key].cached === cached) return waiting[key].promise;
    var entry = { key: key, cached: cached };
    entry.promise = new Promise(function (resolve, reject) { entry.resolve = resolve; entry.reject = reject; });
    waiting[key] = entry;
    var script = document.createElement("script");
    // the point count in the query: a chunk of an earlier layout is never taken from the browser's cache
    script.src = zoom.file + "-" + level + "-" + chunk + ".js?n=" + zoom.n;
    function fail(why) {
      if (waiting[key] !== entry) return;
      delete waiting[key];
      entry.reject(new Error(why + ": " + script.src));
    }
    script.onload = function () { script.remove(); fail("chunk did not register"); };
    script.onerror = function () { script.remove(); fail("chunk could not be loaded"); };
    document.head.appendChild(script);
    return entry.promise;
  }

  function firstAtLeast(rows, key, x) {
    for (var i = 0; i < rows.length; i++) if (rows[i][key] >= x) return i;
    return rows.length - 1;
  }

  /* The points [from, to) that the visible x range covers, found through level 0 (a superset by < 1 bucket). */
  function pointRange(rows, zoom, domain, mode) {
    var a = +domain[0], b = +domain[1], key = mode === "step" ? "s" : "t";
    if (mode === "rel") { a *= zoom.divisor; b *= zoom.divisor; }
    if (mode === "wall") { a -= zoom.origin; b -= zoom.origin; }
    var size = zoom.sizes[0];
    return [firstAtLeast(rows, key, a) * size, Math.min(zoom.n, (firstAtLeast(rows, key, b) + 1) * size)];
  }

  /* The coarsest level with at least `width` buckets over `count` points (the points themselves at worst). */
  function pickLevel(zoom, count, width) {
    for (var k = 0; k < zoom.sizes.length; k++) if (count / zoom.sizes[k] >= width) return k;
    return zoom.sizes.length - 1;
  }

  /* Draw the rows (null: the inline level); the status says so once they are in the view. */
  function show(chart, rows, state) {
    return window.FlowsheetCharts.setRows(chart, rows).then(function () { status[chart.id] = state; });
  }

  function update(chart) {
    var charts = window.FlowsheetCharts, view = chart.view;
    var m = charts.meta(chart.spec), zoom = m.zoom, coarse = chart.spec.datasets[m.data];
    if (!view || !coarse.length) return Promise.resolve();
    var generation = chart.zoomGeneration = (chart.zoomGeneration || 0) + 1;
    var started = window.performance.now();
    var range = pointRange(coarse, zoom, view.scale("x").domain(), charts.state.xMode);
    var level = pickLevel(zoom, range[1] - range[0], Math.max(1, view.width()));
    if (level === 0) {
      if (!chart.zoomRows) { status[chart.id] = { level: 0, chunks: [], busy: false }; return Promise.resolve(); }
      return show(chart, null, { level: 0, chunks: [], busy: false });
    }
    var size = zoom.sizes[level], perChunk = size * zoom.chunk;
    var first = Math.floor(range[0] / perChunk), last = Math.floor((range[1] - 1) / perChunk);
    var wanted = [];
    for (var c = first; c <= last; c++) wanted.push(c);
    status[chart.id] = { level: level, chunks: [], busy: true };
    return Promise.all(wanted.map(function (c) { return load(zoom, level, c); })).then(function (parts) {
      if (chart.zoomGeneration !== generation || chart.view !== view) return null; // a newer gesture won
      // Finer rows for the visible range and half of it on each side (room to pan), level 0 elsewhere: every
      // row is drawn (the hover layer has a mark per row), so rows the chunks hold beyond that are left out.
      var fine = [].concat.apply([], parts), firstBucket = first * zoom.chunk, span = range[1] - range[0];
      var from = Math.max(0, Math.floor((range[0] - span / 2) / size) - firstBucket);
      var to = Math.min(fine.length, Math.ceil((range[1] + span / 2) / size) - firstBucket);
      var fromPoint = (firstBucket + from) * size, toPoint = Math.min(zoom.n, (firstBucket + to) * size);
      var top = zoom.sizes[0];
      var before = coarse.filter(function (r, k) { return (k + 1) * top <= fromPoint; });
      var after = coarse.filter(function (r, k) { return k * top >= toPoint; });
      var rows = before.concat(fine.slice(from, to), after);
      var names = wanted.map(function (c) { return fileId(zoom) + "-" + level + "-" + c + ".js"; });
      return show(chart, rows, { level: level, chunks: names, busy: false }).then(function () {
        status[chart.id].ms = window.performance.now() - started; // load, decode and redraw (bench_zoom)
      });
    }, function (err) {
      console.warn("flowsheet zoom: " + err.message + " (the chart keeps its coarser data)");
      status[chart.id] = { level: -1, chunks: [], busy: false, error: err.message };
    });
  }

  /* Called by charts.js after every embed of a chart. */
  function attach(chart) {
    var zoom = window.FlowsheetCharts.meta(chart.spec).zoom;
    if (!zoom || !chart.view) return;
    status[chart.id] = { level: 0, chunks: [], busy: false };
    var timer = null, view = chart.view;
    view.addSignalListener("zoom", function () {
      if (timer !== null) window.clearTimeout(timer);
      status[chart.id] = Object.assign({}, status[chart.id], { busy: true });
      timer = window.setTimeout(function () { timer = null; if (chart.view === view) update(chart); }, api.settleMs);
    });
  }

  // settleMs: one load when a wheel or drag gesture has settled, not one per event
  var api = { attach: attach, status: status, pickLevel: pickLevel, pointRange: pointRange, settleMs: 120 };
  window.FlowsheetZoom = api;
})();
