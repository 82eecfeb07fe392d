/* flowsheet compare page: the runs named in ?runs=id1,id2 side by side.
 *
 * window.FLOWSHEET_COMPARE (the site's compare-data.js) says where each run's own data is; only the selected
 * runs' scripts (runs/<folder>/compare-data.js) are loaded, each with <script src> (never fetched, so the page
 * works from file:// and under any URL prefix), and each calls window.FLOWSHEET_COMPARE_RUN(id, data) with the
 * run's facts, params, tags, latest/min/max of each metric, its curves and its image artifacts (an exported
 * report has them all in window.FLOWSHEET_COMPARE_RUNS already). Once they are in, draws the side-by-side table
 * ("show differences only" on by default; cells that differ from the first run highlighted; ★ on the best
 * value of each metric row, metric cells coloured from worst to best; a row's header orders the run columns by
 * it), the images with the same name pattern (or, chosen, the same path) in one row, each log_image(key=, step=)
 * series in a row with a step slider, and has compare_charts.js make the charts of the selection (charts.js
 * draws them). An id the site does not have, or whose script fails to load, is named as such in the list.
 * Every value from the logs reaches the page through textContent or an attribute, never as HTML. */
(function () {
  "use strict";
  var MAX_IMAGE_ROWS = 100;
  var data = null;  // window.FLOWSHEET_COMPARE (the site's index), read again by refresh()
  var loaded = Object.assign({}, window.FLOWSHEET_COMPARE_RUNS || {});  // run id -> its data
  var failed = {};  // run id -> why its data is not here
  var requested = {};  // run id -> its script was inserted
  var known = null, knownFor = null;  // the index's ids as a look-up, made once per index
  var own = Object.prototype.hasOwnProperty;
  var counts = {diffs: 0, total: 0};
  var sortState = {field: null, descending: false};  // the row that orders the run columns
  var shownRuns = [];  // the selected runs, in the selection's order
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

  /* A row's values as a colour from worst (0) to best (1), when at least two runs have different finite numbers. */
  function scaleOf(values, direction) {
    var nums = values.filter(function (v) { return typeof v === "number" && isFinite(v); });
    if (nums.length < 2) return null;
    var lo = Math.min.apply(null, nums), hi = Math.max.apply(null, nums);
    if (lo === hi) return null;
    return function (v) {
      if (typeof v !== "number" || !isFinite(v)) return null;
      var t = (v - lo) / (hi - lo);
      return direction === "min" ? 1 - t : t;
    };
  }

  /* One table row: label (a button that orders the run columns by this row), then a cell per run.
   * `ref` is the index of the reference run; returns whether the runs differ on this row. */
  function addRow(tbody, row, values, ref) {
    var tr = el("tr"), th = el("th");
    tr.setAttribute("data-field", row.field); // e.g. "params:C", "metrics:rmse:latest" (for links and tests)
    th.scope = "row";
    var button = el("button", "sort-row", row.label);
    button.type = "button";
    button.title = "order the runs by " + row.label + (row.sub ? " (" + row.sub + ")" : "");
    if (sortState.field === row.field) {
      th.setAttribute("aria-sort", sortState.descending ? "descending" : "ascending");
      button.appendChild(el("span", "sort-mark", sortState.descending ? " ▼" : " ▲"));
    }
    th.appendChild(button);
    if (row.sub) th.appendChild(el("span", "sub", " " + row.sub));
    tr.appendChild(th);
    var differs = values.some(function (v) { return !same(v, values[0]); });
    tr.className = differs ? "diff" : "same";
    var best = row.direction ? bestOf(values, row.direction) : null;
    var scale = row.direction ? scaleOf(values, row.direction) : null;
    values.forEach(function (v, i) {
      var td = el("td", null, fmt(v));
      if (typeof v === "number") td.classList.add("num");
      if (v === null || v === undefined || v === "") td.classList.add("missing");
      if (i !== ref && !same(v, values[ref])) td.classList.add("differs");
      if (best !== null && typeof v === "number" && v === best) {
        td.classList.add("best");
        var star = el("span", "star", " ★");
        star.title = "best value in this row";
        td.appendChild(star);
      }
      var t = scale ? scale(v) : null;
      if (t !== null) {
        // red (worst) to green (best), translucent so the text stays readable on the light and the dark theme
        td.classList.add("scaled");
        td.style.backgroundColor = "hsla(" + Math.round(t * 120) + ", 75%, 50%, 0.28)";
        td.setAttribute("data-scale", t.toFixed(3));
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

  /* Every row the table can show, by group: {field, label, sub, direction, value(run)}. */
  function rowGroups(runs) {
    var groups = [];
    var info = [{field: "info:Run ID", label: "Run ID", value: function (r) { return r.id; }}];
    (runs[0].info || []).forEach(function (pair, index) {
      info.push({field: "info:" + pair[0], label: pair[0],
                 value: function (r) { return r.info[index] ? r.info[index][1] : null; }});
    });
    groups.push({title: "Run", rows: info});
    var textGroup = function (title, part) {
      var rows = keysOf(runs, part).map(function (k) {
        return {field: part + ":" + k, label: k, value: function (r) { return get(r[part], k); }};
      });
      if (rows.length) groups.push({title: title, rows: rows});
    };
    textGroup("Parameters", "params");
    var metricRows = [];
    keysOf(runs, "metrics").forEach(function (k) {
      var direction = runs.map(function (r) { return get(r.better, k); }).filter(Boolean)[0] || "max";
      var how = direction === "min" ? "lower is better" : "higher is better";
      // a metric every selected run logged once (latest = min = max) needs one row, not three
      var single = runs.every(function (r) {
        var m = get(r.metrics, k);
        return !m || (same(m[0], m[1]) && same(m[0], m[2]));
      });
      (single ? ["value"] : ["latest", "min", "max"]).forEach(function (stat, j) {
        metricRows.push({field: "metrics:" + k + ":" + stat, label: k, sub: stat + (j === 0 ? " · " + how : ""),
                         direction: direction,
                         value: function (r) { var m = get(r.metrics, k); return m ? m[j] : null; }});
      });
    });
    if (metricRows.length) groups.push({title: "Metrics", rows: metricRows});
    textGroup("Tags", "tags");
    return groups;
  }

  /* The runs in the order of the row chosen by its header: numbers before text, missing values last;
   * a metric row starts with its best value, any other row ascending; ties keep the selection's order. */
  function sortedRuns(runs, groups) {
    if (!sortState.field) return runs;
    var row = null;
    groups.forEach(function (g) { g.rows.forEach(function (r) { if (r.field === sortState.field) row = r; }); });
    if (!row) return runs;
    var sign = sortState.descending ? -1 : 1;
    var keyed = runs.map(function (r, i) { return {run: r, value: row.value(r), index: i}; });
    keyed.sort(function (a, b) {
      var am = a.value === null || a.value === undefined || a.value === "";
      var bm = b.value === null || b.value === undefined || b.value === "";
      if (am || bm) return am === bm ? a.index - b.index : (am ? 1 : -1);
      var an = typeof a.value === "number" && isFinite(a.value), bn = typeof b.value === "number" && isFinite(b.value);
      var order = an && bn ? a.value - b.value : an !== bn ? (an ? -1 : 1)
        : window.FlowsheetFilter.naturalCompare(String(a.value), String(b.value));
      return order ? sign * order : a.index - b.index;
    });
    return keyed.map(function (k) { return k.run; });
  }

  function chooseSort(row) {
    if (sortState.field === row.field) {
      sortState.descending = !sortState.descending;
    } else {
      sortState.field = row.field;
      sortState.descending = row.direction === "max";  // the best value first
    }
    buildTable(shownRuns);
  }

  function buildTable(selection) {
    shownRuns = selection;
    var groups = rowGroups(selection);
    var runs = sortedRuns(selection, groups);
    var ref = runs.indexOf(selection[0]);  // the first run of the selection stays the reference
    var table = document.getElementById("compare-table");
    while (table.tBodies.length) table.removeChild(table.tBodies[0]);
    var head = el("tr"), corner = el("th", null, "Field");
    corner.scope = "col";
    head.appendChild(corner);
    runs.forEach(function (r, i) {
      var th = el("th");
      th.scope = "col";
      th.setAttribute("data-run", r.id);
      var a = el("a", null, r.name);
      a.href = r.url;
      th.appendChild(a);
      if (i === ref) th.appendChild(el("span", "sub", " (reference)"));
      head.appendChild(th);
    });
    table.tHead.textContent = "";
    table.tHead.appendChild(head);
    var total = 0, diffs = 0;
    groups.forEach(function (g) {
      var body = group(table, g.title, runs.length), d = 0;
      g.rows.forEach(function (row) {
        var differs = addRow(body, row, runs.map(row.value), ref);
        body.lastChild.querySelector("button.sort-row").addEventListener("click", function () { chooseSort(row); });
        total += 1;
        if (differs) { diffs += 1; d += 1; }
      });
      if (!d) body.classList.add("all-same");
    });

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

  function figure(r, img, caption) {
    var fig = el("figure");
    fig.setAttribute("data-run", r.id);
    fig.appendChild(img);
    fig.appendChild(el("figcaption", null, caption || r.name));
    return fig;
  }

  function picture(href, alt) {
    var img = el("img", "preview");
    img.src = href; // a site-relative path made by the build ("runs/<id>/artifacts/..."), URL-quoted
    img.alt = alt;
    img.loading = "lazy";
    return img;
  }

  /* Image rows: one per path ("exact") or per name pattern ("pattern", the default: a randomly named
   * confusionmatrix-k2j4_x9.png of one run and confusionmatrix-ab12cd.png of another share a row). */
  function imageRows(runs, mode) {
    var rows = {};
    runs.forEach(function (r, i) {
      Object.keys(r.images || {}).sort(window.FlowsheetFilter.naturalCompare).forEach(function (path) {
        var key = mode === "pattern" ? (get(r.patterns, path) || path) : path;
        if (!own.call(rows, key)) rows[key] = runs.map(function () { return []; });
        rows[key][i].push(path);
      });
    });
    return rows;
  }

  function buildImageRow(box, runs, label, cells) {
    var row = el("div", "image-row");
    row.setAttribute("data-key", label);
    row.appendChild(el("h3", null, label));
    var grid = el("div", "image-grid");
    runs.forEach(function (r, i) {
      var paths = cells[i];
      if (!paths.length) {
        var fig = el("figure");
        fig.setAttribute("data-run", r.id);
        fig.appendChild(el("p", "empty", "not logged"));
        fig.appendChild(el("figcaption", null, r.name));
        grid.appendChild(fig);
        return;
      }
      paths.forEach(function (path) {
        // the file's own name under the picture when the row's label is a pattern
        var caption = path === label ? r.name : r.name + " · " + path.split("/").pop();
        grid.appendChild(figure(r, picture(get(r.images, path), path + " of " + r.name), caption));
      });
    });
    row.appendChild(grid);
    box.appendChild(row);
  }

  /* A `log_image(key=, step=)` series: one picture per run at the step the row's slider chooses. */
  function buildSeriesRow(box, runs, key) {
    var steps = {};
    runs.forEach(function (r) { (get(r.series, key) || []).forEach(function (s) { steps[s[0]] = true; }); });
    var ordered = Object.keys(steps).map(Number).sort(function (a, b) { return a - b; });
    var row = el("div", "image-row image-series");
    row.setAttribute("data-key", key);
    row.appendChild(el("h3", null, key));
    var control = el("label", "step-control");
    var slider = el("input");
    slider.type = "range";
    slider.min = "0";
    slider.max = String(ordered.length - 1);
    slider.value = String(ordered.length - 1);
    slider.setAttribute("aria-label", "step of " + key);
    var label = el("span", "step-label");
    control.appendChild(slider);
    control.appendChild(label);
    row.appendChild(control);
    var grid = el("div", "image-grid");
    row.appendChild(grid);
    var show = function () {
      var step = ordered[Number(slider.value)];
      label.textContent = "step " + step;
      grid.textContent = "";
      runs.forEach(function (r) {
        var hit = (get(r.series, key) || []).filter(function (s) { return s[0] === step; })[0];
        if (hit) {
          grid.appendChild(figure(r, picture(hit[1], key + " at step " + step + " of " + r.name)));
        } else {
          var fig = el("figure");
          fig.setAttribute("data-run", r.id);
          fig.appendChild(el("p", "empty", "not logged at step " + step));
          fig.appendChild(el("figcaption", null, r.name));
          grid.appendChild(fig);
        }
      });
    };
    slider.addEventListener("input", show);
    show();
    box.appendChild(row);
  }

  function buildImages(runs) {
    var match = document.getElementById("compare-image-match");
    var mode = match && match.value === "exact" ? "exact" : "pattern";
    var shown = JSON.stringify([mode, runs.map(function (r) { return [r.name, r.images, r.patterns, r.series]; })]);
    if (shown === shownImages) return; // the same images: no reload of every picture
    shownImages = shown;
    var box = document.getElementById("compare-image-rows");
    box.textContent = "";
    var rows = imageRows(runs, mode);
    var labels = Object.keys(rows).sort(window.FlowsheetFilter.naturalCompare);
    var seriesKeys = keysOf(runs, "series");
    var patterned = runs.some(function (r) { return r.patterns && Object.keys(r.patterns).length; });
    if (match) match.closest(".compare-controls").hidden = !patterned;
    document.getElementById("compare-images").hidden = !labels.length && !seriesKeys.length;
    seriesKeys.slice(0, MAX_IMAGE_ROWS).forEach(function (key) { buildSeriesRow(box, runs, key); });
    labels.slice(0, MAX_IMAGE_ROWS).forEach(function (label) { buildImageRow(box, runs, label, rows[label]); });
    var left = Math.max(0, labels.length - MAX_IMAGE_ROWS) + Math.max(0, seriesKeys.length - MAX_IMAGE_ROWS);
    if (left) box.appendChild(el("p", "note", left + " more image rows not shown"));
  }

  /* Where the data of run `id` is (relative to the site's root, where the compare page is), or null. */
  function scriptOf(id) {
    if (knownFor !== data) {
      knownFor = data;
      known = {};
      (data.runs || []).forEach(function (plain) { known[plain] = plain; });
    }
    var folder = get(data.moved, id) || get(known, id);
    return folder === null ? null : "runs/" + folder + "/" + (data.script || "compare-data.js");
  }

  /* The run's script, once; it stays in the page (`reporter serve` loads a changed one again). */
  function request(id, path) {
    requested[id] = true;
    var script = el("script");
    script.src = path;
    script.setAttribute("data-run", id);
    script.onload = function () {
      if (!own.call(loaded, id)) failed[id] = "its data script did not hand over its data";
      render();
    };
    script.onerror = function () {
      failed[id] = "its data could not be loaded from " + path;
      render();
    };
    document.head.appendChild(script);
  }

  window.FLOWSHEET_COMPARE_RUN = function (id, runData) { loaded[id] = runData; };

  /* Draws everything from window.FLOWSHEET_COMPARE; again after `reporter serve` loaded it anew (refresh). */
  function render() {
    data = window.FLOWSHEET_COMPARE || {runs: [], moved: {}};
    var ids = selectedIds();
    var list = document.getElementById("compare-runs"), status = document.getElementById("compare-status");
    var runs = [], waiting = 0;
    list.textContent = "";
    ids.forEach(function (id) {
      var li = el("li"), r = get(loaded, id), path = r || own.call(failed, id) ? null : scriptOf(id);
      if (r) {
        var a = el("a", null, r.name);
        a.href = r.url;
        li.appendChild(a);
        li.appendChild(document.createTextNode(" · " + (r.info[0] ? r.info[0][1] : "") + " · " + (r.info[1] ? r.info[1][1] : "")));
        runs.push(r);
      } else if (own.call(failed, id)) {
        li.textContent = id + " (" + failed[id] + ")";
        li.className = "missing";
      } else if (path === null) {
        li.textContent = id + " (not in this site)";
        li.className = "missing";
      } else {
        li.textContent = id + " (loading…)";
        li.className = "loading";
        waiting += 1;
        if (!own.call(requested, id)) request(id, path);
      }
      list.appendChild(li);
    });
    if (!ids.length) return;
    if (waiting) {
      status.textContent = "Loading the data of " + waiting + " run" + (waiting === 1 ? "" : "s") + "…";
      return;
    }
    status.textContent = "Comparing " + runs.length + " run" + (runs.length === 1 ? "" : "s") + ".";
    if (!runs.length) return;
    buildTable(runs);
    buildImages(runs);
    if (window.FlowsheetCompareCharts) window.FlowsheetCompareCharts.show(runs, data);
  }

  var toggle = document.getElementById("compare-diff-only");
  if (toggle) toggle.addEventListener("change", applyDiffOnly);
  var match = document.getElementById("compare-image-match");
  if (match) match.addEventListener("change", function () { buildImages(shownRuns); });
  render();
  window.FlowsheetCompare = {refresh: render, loaded: loaded};
})();
