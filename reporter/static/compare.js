/* flowsheet compare page: the runs named in ?runs=id1,id2 side by side.
 *
 * Reads window.FLOWSHEET_COMPARE (compare-data.js, loaded with <script src>: never fetched, so the page works
 * from file:// and under any URL prefix): per run its facts, params, tags, latest/min/max of each metric and
 * its image artifacts. Draws the side-by-side table ("show differences only" on by default; cells that differ
 * from the first run highlighted; ★ on the best value of each metric row), the images with the same artifact
 * path in one row, and keeps only the compare charts that concern the selection (charts.js, loaded after this
 * script, draws them filtered on the same ?runs=).
 * Every value from the logs reaches the page through textContent or an attribute, never as HTML. */
(function () {
  "use strict";
  var MAX_IMAGE_ROWS = 100;
  var data = null;  // window.FLOWSHEET_COMPARE, read again by refresh()
  var own = Object.prototype.hasOwnProperty;
  var counts = {diffs: 0, total: 0};
  var shownImages = null;  // what the image rows show, so a refresh that does not change them keeps them

  function selectedIds() {
    // An exported report sets its selection itself: an attachment has no ?runs= in its address.
    var raw = window.FLOWSHEET_COMPARE_SELECTION || new URLSearchParams(window.location.search).get("runs") || "";
    var seen = {};
    return raw.split(",").map(function (s) { return s.trim(); }).filter(function (id) {
      if (!id || seen[id]) return false;
      seen[id] = true;
      return true;
    });
  }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  function fmt(v) {
    if (v === null || v === undefined || v === "") return "—";
    return typeof v === "number" ? window.FlowsheetFilter.formatNumber(v) : String(v);  // as every table writes it
  }

  function same(a, b) {
    var an = a === null || a === undefined, bn = b === null || b === undefined;
    return an || bn ? an === bn : String(a) === String(b);
  }

  function get(obj, key) { return obj && own.call(obj, key) ? obj[key] : null; }

  function keysOf(runs, part) {
    var keys = {};
    runs.forEach(function (r) { Object.keys(r[part] || {}).forEach(function (k) { keys[k] = true; }); });
    return Object.keys(keys).sort(window.FlowsheetFilter.naturalCompare);
  }

  /* One table row: label, then a cell per run. Returns whether the runs differ on it. */
  function addRow(tbody, field, label, sub, values, best) {
    var tr = el("tr"), th = el("th", null, label);
    tr.setAttribute("data-field", field); // e.g. "params:C", "metrics:rmse:latest" (for links and tests)
    th.scope = "row";
    if (sub) th.appendChild(el("span", "sub", " " + sub));
    tr.appendChild(th);
    var differs = values.some(function (v) { return !same(v, values[0]); });
    tr.className = differs ? "diff" : "same";
    values.forEach(function (v, i) {
      var td = el("td", null, fmt(v));
      if (typeof v === "number") td.classList.add("num");
      if (v === null || v === undefined || v === "") td.classList.add("missing");
      if (i > 0 && !same(v, values[0])) td.classList.add("differs");
      if (best !== null && typeof v === "number" && v === best) {
        td.classList.add("best");
        var star = el("span", "star", " ★");
        star.title = "best value in this row";
        td.appendChild(star);
      }
      td.title = v === null || v === undefined ? "" : String(v);
      tr.appendChild(td);
    });
    tbody.appendChild(tr);
    return differs;
  }

  /* The best of the finite numbers of a row, when at least two runs have one and they are not all equal. */
  function bestOf(values, direction) {
    var nums = values.filter(function (v) { return typeof v === "number" && isFinite(v); });
    if (nums.length < 2) return null;
    var best = direction === "min" ? Math.min.apply(null, nums) : Math.max.apply(null, nums);
    return nums.every(function (v) { return v === best; }) ? null : best;
  }

  function group(table, title, columns) {
    var tbody = el("tbody");
    var tr = el("tr", "group"), th = el("th", null, title);
    th.scope = "colgroup";
    th.colSpan = columns + 1;
    tr.appendChild(th);
    tbody.appendChild(tr);
    table.appendChild(tbody);
    return tbody;
  }

  function finishGroup(tbody, diffs) {
    if (!diffs) tbody.classList.add("all-same");
    return diffs;
  }

  function buildTable(runs) {
    var table = document.getElementById("compare-table");
    while (table.tBodies.length) table.removeChild(table.tBodies[0]);
    var head = el("tr"), corner = el("th", null, "Field");
    corner.scope = "col";
    head.appendChild(corner);
    runs.forEach(function (r, i) {
      var th = el("th");
      th.scope = "col";
      var a = el("a", null, r.name);
      a.href = r.url;
      th.appendChild(a);
      if (i === 0) th.appendChild(el("span", "sub", " (reference)"));
      head.appendChild(th);
    });
    table.tHead.textContent = "";
    table.tHead.appendChild(head);
    var n = runs.length, total = 0, diffs = 0;
    var count = function (differs) { total += 1; if (differs) diffs += 1; return differs ? 1 : 0; };

    var info = group(table, "Run", n), d = 0;
    d += count(addRow(info, "info:Run ID", "Run ID", null, runs.map(function (r) { return r.id; }), null));
    (runs[0].info || []).forEach(function (pair, index) {
      d += count(addRow(info, "info:" + pair[0], pair[0], null, runs.map(function (r) { return r.info[index] ? r.info[index][1] : null; }), null));
    });
    finishGroup(info, d);

    var textGroup = function (title, part) {
      var keys = keysOf(runs, part);
      if (!keys.length) return;
      var body = group(table, title, n), dd = 0;
      keys.forEach(function (k) { dd += count(addRow(body, part + ":" + k, k, null, runs.map(function (r) { return get(r[part], k); }), null)); });
      finishGroup(body, dd);
    };
    var metricsGroup = function () {
      var keys = keysOf(runs, "metrics");
      if (!keys.length) return;
      var body = group(table, "Metrics", n), dd = 0;
      keys.forEach(function (k) {
        var direction = get(data.better, k) || "max";
        var how = direction === "min" ? "lower is better" : "higher is better";
        // a metric every selected run logged once (latest = min = max) needs one row, not three
        var single = runs.every(function (r) {
          var m = get(r.metrics, k);
          return !m || (same(m[0], m[1]) && same(m[0], m[2]));
        });
        (single ? ["value"] : ["latest", "min", "max"]).forEach(function (stat, j) {
          var values = runs.map(function (r) { var m = get(r.metrics, k); return m ? m[j] : null; });
          var sub = stat + (j === 0 ? " · " + how : "");
          dd += count(addRow(body, "metrics:" + k + ":" + stat, k, sub, values, bestOf(values, direction)));
        });
      });
      finishGroup(body, dd);
    };
    textGroup("Parameters", "params");
    metricsGroup();
    textGroup("Tags", "tags");

    counts = {diffs: diffs, total: total};
    applyDiffOnly();
    document.getElementById("compare-side-by-side").hidden = false;
  }

  function applyDiffOnly() {
    var toggle = document.getElementById("compare-diff-only"), note = document.getElementById("compare-diff-count");
    document.getElementById("compare-table").classList.toggle("diff-only", toggle.checked);
    note.textContent = counts.diffs + " of " + counts.total + " rows differ" +
      (toggle.checked && counts.diffs < counts.total ? "; the others are hidden" : "");
  }

  function buildImages(runs) {
    var paths = keysOf(runs, "images");
    var shown = JSON.stringify(runs.map(function (r) { return [r.name, r.images]; }));
    if (shown === shownImages) return; // the same images: no reload of every picture
    shownImages = shown;
    var box = document.getElementById("compare-image-rows");
    box.textContent = "";
    document.getElementById("compare-images").hidden = !paths.length;
    if (!paths.length) return;
    paths.slice(0, MAX_IMAGE_ROWS).forEach(function (path) {
      var row = el("div", "image-row");
      row.appendChild(el("h3", null, path));
      var grid = el("div", "image-grid");
      runs.forEach(function (r) {
        var fig = el("figure");
        var href = get(r.images, path);
        if (href) {
          var img = el("img", "preview");
          img.src = href; // a site-relative path made by the build ("runs/<id>/artifacts/..."), URL-quoted
          img.alt = path + " of " + r.name;
          img.loading = "lazy";
          fig.appendChild(img);
        } else {
          fig.appendChild(el("p", "empty", "not logged"));
        }
        fig.appendChild(el("figcaption", null, r.name));
        grid.appendChild(fig);
      });
      row.appendChild(grid);
      box.appendChild(row);
    });
    if (paths.length > MAX_IMAGE_ROWS) box.appendChild(el("p", "note", (paths.length - MAX_IMAGE_ROWS) + " more image paths not shown"));
    document.getElementById("compare-images").hidden = false;
  }

  /* Keep the charts that show a selected run (an overlay or bars: a selected run logged its metric; a per-experiment
   * chart: a selected run is in its experiment). charts.js, which runs after this script, draws what is left. */
  function prepareCharts(runs) {
    var section = document.getElementById("charts");
    if (!section) return;
    var specs = window.FLOWSHEET_SPECS || {};
    var chosen = {};
    runs.forEach(function (r) { chosen[r.id] = true; });
    document.querySelectorAll("#charts .fs-chart").forEach(function (chart) {
      var keep;
      var kind = chart.getAttribute("data-kind");
      if (kind === "overlay" || kind === "bars") {
        var key = chart.getAttribute("data-title");
        keep = runs.some(function (r) { return get(r.metrics, key) !== null; });
      } else {
        var spec = get(specs, chart.getAttribute("data-spec-id"));
        var members = (spec && spec.datasets && spec.datasets.runs) || [];
        keep = members.some(function (row) { return own.call(chosen, row.id); });
      }
      if (!keep) chart.remove();
    });
    document.querySelectorAll("#charts .chart-section").forEach(function (part) {
      if (!part.querySelector(".fs-chart")) part.remove();
    });
    section.hidden = false;
  }

  /* Draws everything from window.FLOWSHEET_COMPARE; again after `reporter serve` loaded it anew (refresh). */
  function render() {
    data = window.FLOWSHEET_COMPARE || {runs: {}, better: {}};
    var ids = selectedIds();
    var list = document.getElementById("compare-runs"), status = document.getElementById("compare-status");
    var runs = [];
    list.textContent = "";
    ids.forEach(function (id) {
      var li = el("li"), r = get(data.runs, id);
      if (r) {
        var a = el("a", null, r.name);
        a.href = r.url;
        li.appendChild(a);
        li.appendChild(document.createTextNode(" · " + (r.info[0] ? r.info[0][1] : "") + " · " + (r.info[1] ? r.info[1][1] : "")));
        runs.push(r);
      } else {
        li.textContent = id + " (not in this site)";
        li.className = "missing";
      }
      list.appendChild(li);
    });
    if (!ids.length) return;
    status.textContent = "Comparing " + runs.length + " run" + (runs.length === 1 ? "" : "s") + ".";
    if (!runs.length) return;
    buildTable(runs);
    buildImages(runs);
    prepareCharts(runs);
  }

  var toggle = document.getElementById("compare-diff-only");
  if (toggle) toggle.addEventListener("change", applyDiffOnly);
  render();
  window.FlowsheetCompare = {refresh: render};
})();
