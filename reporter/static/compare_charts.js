/* flowsheet compare charts: the compare page's charts, made in the page from the selected runs' own data.
 *
 * compare.js hands over the selected runs (what each run's compare-data.js holds: params, latest metrics,
 * curves) and the site's index (window.FLOWSHEET_COMPARE: experiment names and primary-metric tags). Each spec
 * is a template of window.FLOWSHEET_COMPARE_TEMPLATES (reporter/site/compare.py chart_templates) with these
 * runs' rows, titles, axes and fields put in:
 *   an overlay per metric a selected run logged at more than one point (curves downsampled by the build),
 *   bars for a metric the selected runs logged once, then per experiment of the selection parallel
 *   coordinates and a scatter of its selected runs (their params and latest metrics), as reporter/charts/
 *   experiment.py draws them for an experiment.
 * The charts go into #compare-chart-sections; charts.js draws them (window.FLOWSHEET_SPECS, refresh()). */
(function () {
  "use strict";
  var own = Object.prototype.hasOwnProperty;
  var PREFIX = "fs-cmp-";
  var MAX_PARALLEL_PARAMS = 6, SCATTER_FIELDS = 60, LOG_DECADES = 2;  // as reporter/charts/common.py
  var shownLayout = null;  // the charts placed, so new data for the same charts does not place them again

  function natural(a, b) { return window.FlowsheetFilter.naturalCompare(a, b); }
  function get(obj, key) { return obj && own.call(obj, key) ? obj[key] : null; }

  /* A finite number from a number or numeric text (a param is text), else null: the build's `finite`. */
  function finite(v) {
    if (typeof v === "number") return isFinite(v) ? v : null;
    if (typeof v !== "string" || !v.trim()) return null;
    var x = Number(v);
    return isFinite(x) ? x : null;
  }

  /* All positive and spanning more than LOG_DECADES powers of ten: the chart offers a log scale. */
  function spansDecades(values) {
    var nums = values.map(finite).filter(function (v) { return v !== null; });
    if (nums.length < 2) return false;
    var lo = Math.min.apply(null, nums), hi = Math.max.apply(null, nums);
    return lo > 0 && Math.log10(hi / lo) > LOG_DECADES;
  }

  function latest(run, key) { var m = get(run.metrics, key); return m ? finite(m[0]) : null; }
  function param(run, name) { return run.params && own.call(run.params, name) ? run.params[name] : null; }

  function keysOf(runs, part) {
    var keys = {};
    runs.forEach(function (r) { Object.keys(r[part] || {}).forEach(function (k) { keys[k] = true; }); });
    return Object.keys(keys).sort(natural);
  }

  function betterOf(runs, key) {
    var found = runs.map(function (r) { return get(r.better, key); }).filter(Boolean)[0];
    return found || "max";
  }

  function runsRows(runs) { return runs.map(function (r, i) { return {i: i, id: r.id, name: r.name}; }); }

  /* Every object of a spec, depth first. */
  function walk(node, fn) {
    if (Array.isArray(node)) { node.forEach(function (n) { walk(n, fn); }); return; }
    if (node && typeof node === "object") {
      fn(node);
      Object.keys(node).forEach(function (k) { walk(node[k], fn); });
    }
  }

  function titled(text, subtitle) {
    var title = {text: text, anchor: "start"};
    if (subtitle) title.subtitle = subtitle;
    return title;
  }

  function direction(better) { return better === "min" ? "lower is better" : "higher is better"; }

  function fromTemplate(templates, name, fs) {
    var spec = JSON.parse(JSON.stringify(templates[name]));
    spec.usermeta = {fs: Object.assign({selection: "url"}, fs)};
    return spec;
  }

  /* The axis and tooltip of the value `v` are named after the metric. */
  function valueTitle(spec, key) {
    walk(spec, function (n) { if (n.field === "v" && own.call(n, "title")) n.title = key; });
  }

  function overlay(templates, key, runs) {
    var points = [], drawn = 0;
    runs.forEach(function (r, i) {
      var curve = get(r.curves, key);
      if (!curve) return;
      drawn += 1;
      var steps = curve[0], values = curve[1], step = 0;
      for (var j = 0; j < values.length; j++) {
        // steps as reporter/charts/levels.py int_column writes them: {first, step}, or differences
        step = Array.isArray(steps) ? step + steps[j] : steps.first + j * steps.step;
        points.push({i: i, s: step, v: values[j]});
      }
    });
    var spec = fromTemplate(templates, "overlay", {kind: "overlay", runs: drawn, data: "points"});
    spec.title = titled(key);
    valueTitle(spec, key);
    spec.datasets = {points: points, runs: runsRows(runs)};
    return spec;
  }

  function bars(templates, key, runs) {
    var points = [];
    runs.forEach(function (r, i) { var v = latest(r, key); if (v !== null) points.push({i: i, v: v}); });
    var spec = fromTemplate(templates, "bars", {kind: "bars", runs: points.length, data: "points"});
    if (!points.length) spec.usermeta.fs.empty = "No run has a value of " + key;
    spec.title = titled(key, direction(betterOf(runs, key)) + "; logged once per run");
    valueTitle(spec, key);
    spec.datasets = {points: points, runs: runsRows(runs)};
    return spec;
  }

  /* Params whose value (or its absence) is not the same in every one of `rows`, in natural order. */
  function differing(rows, runs) {
    return keysOf(runs, "params").filter(function (name) {
      var seen = {};
      rows.forEach(function (r) { var v = param(r, name); seen[v === null ? "" : "=" + v] = true; });
      return Object.keys(seen).length > 1;
    });
  }

  function numericParam(runs, name) {
    var present = runs.map(function (r) { return param(r, name); }).filter(function (v) { return v !== null; });
    return present.length > 0 && present.every(function (v) { return finite(v) !== null; });
  }

  /* One polyline per run across the params that differ (up to 6) and the primary metric; numeric axes are
   * normalised in the spec, categories evenly spaced; runs missing an axis are left out. */
  function parallel(templates, runs, primary) {
    var metric = runs.map(function (r) { return latest(r, primary); });
    var ranked = runs.filter(function (r, i) { return metric[i] !== null; });
    var params = differing(ranked.length ? ranked : runs, runs).slice(0, MAX_PARALLEL_PARAMS);
    var wide = runs.map(function (r, i) { return {i: i}; }), dims = [], cats = [];
    params.forEach(function (name, n) {
      var field = "d" + n, column = runs.map(function (r) { return param(r, name); });
      if (numericParam(runs, name)) {
        column.forEach(function (v, i) { wide[i][field] = finite(v); });
        dims.push({k: field, label: name, cat: 0, log: spansDecades(column) ? 1 : 0});
        return;
      }
      var at = {};
      column.forEach(function (v) { if (v !== null) at[String(v)] = 0; });
      var categories = Object.keys(at).sort();
      categories.forEach(function (c, j) { at[c] = categories.length > 1 ? j / (categories.length - 1) : 0.5; });
      column.forEach(function (v, i) { wide[i][field] = v === null ? null : at[String(v)]; });
      dims.push({k: field, label: name, cat: 1, log: 0});
      categories.forEach(function (c) { cats.push({label: name, y: at[c], text: c}); });
    });
    metric.forEach(function (v, i) { wide[i].m = v; });
    dims.push({k: "m", label: params.indexOf(primary) >= 0 ? primary + " (metric)" : primary, cat: 0,
               log: spansDecades(metric) ? 1 : 0});
    var rows = wide.filter(function (row) {
      return dims.every(function (d) { return row[d.k] !== null && row[d.k] !== undefined; });
    });
    var order = dims.map(function (d) { return d.label; });
    var better = betterOf(runs, primary);
    var spec = fromTemplate(templates, "parallel", {
      kind: "parallel", runs: rows.length, left_out: wide.length - rows.length,
      log: dims.filter(function (d) { return d.log; }).map(function (d) { return d.label; })});
    if (!rows.length) spec.usermeta.fs.empty = "No run has a value on every axis (" + order.join(", ") + ")";
    walk(spec, function (node) {
      if (Array.isArray(node.fold) && node.as && node.as[0] === "k") node.fold = dims.map(function (d) { return d.k; });
      if (node.field === "label" && Array.isArray(node.sort)) node.sort = order;
      if (node.field === "m" && node.scale && own.call(node.scale, "reverse")) {
        node.title = primary;
        node.scale.reverse = better === "min";  // the same colour means "good" whichever way the metric points
      }
    });
    spec.title = titled("parallel coordinates, coloured by " + primary, direction(better));
    spec.datasets = {wide: rows, dims: dims, cats: cats, runs: runsRows(runs)};
    return spec;
  }

  /* Any numeric param or metric against any other, chosen in two selects; the primary metric on y at first. */
  function scatter(templates, runs, primary) {
    var params = differing(runs, runs).filter(function (name) { return numericParam(runs, name); });
    var metrics = keysOf(runs, "metrics");
    if (metrics.indexOf(primary) >= 0) metrics = [primary].concat(metrics.filter(function (k) { return k !== primary; }));
    params = params.slice(0, SCATTER_FIELDS);
    metrics = metrics.slice(0, Math.max(1, SCATTER_FIELDS - params.length));
    var fields = params.map(function (name, n) {
      return {f: "p" + n, label: name, value: function (r) { return finite(param(r, name)); }};
    }).concat(metrics.map(function (key, n) {
      return {f: "m" + n, label: key, value: function (r) { return latest(r, key); }};
    }));
    var rows = runs.map(function (r, i) {
      var row = {i: i};
      fields.forEach(function (field) { var v = field.value(r); if (v !== null) row[field.f] = v; });
      return row;
    });
    var options = fields.map(function (field) { return field.f; });
    var y = metrics[0] === primary ? "m" + 0 : (options[0] || "m0");
    var x = options.filter(function (f) { return f !== y; })[0] || y;
    var named = {};
    fields.forEach(function (field) { named[field.f] = field.label; });
    var spec = fromTemplate(templates, "scatter", {kind: "scatter", fields: named, log: fields.filter(function (field) {
      return spansDecades(runs.map(field.value));
    }).map(function (field) { return field.f; })});
    (spec.params || []).forEach(function (p) {
      if (p.name !== "scatter_x" && p.name !== "scatter_y") return;
      p.value = p.name === "scatter_x" ? x : y;
      p.bind.options = options;
      p.bind.labels = fields.map(function (field) { return field.label; });
    });
    spec.datasets = {table: rows, runs: runsRows(runs)};
    return spec;
  }

  /* The experiment tag flowsheet.primary_metric if logged, else the first common one logged, else the first. */
  function primaryOf(keys, tag, common) {
    if (!keys.length) return null;
    if (tag !== null && tag !== undefined && keys.indexOf(tag) >= 0) return tag;
    var known = (common || []).filter(function (k) { return keys.indexOf(k) >= 0; });
    return known.length ? known[0] : keys.slice().sort(natural)[0];
  }

  /* [{name, charts: [{id, kind, title, spec}]}]: metrics across the selection, then each experiment's. */
  function chartSections(runs, index, templates) {
    var limits = index.limits || {};
    var curveKeys = keysOf(runs, "curves");
    var once = keysOf(runs, "metrics").filter(function (k) { return curveKeys.indexOf(k) < 0; });
    var metricCharts = curveKeys.slice(0, limits.curves || 40).map(function (key, n) {
      return {id: PREFIX + "overlay-" + n, kind: "overlay", title: key, spec: overlay(templates, key, runs)};
    }).concat(once.slice(0, limits.bars || 24).map(function (key, n) {
      return {id: PREFIX + "bars-" + n, kind: "bars", title: key, spec: bars(templates, key, runs)};
    }));
    var sections = metricCharts.length ? [{name: "metrics", charts: metricCharts}] : [];
    var members = {};
    runs.forEach(function (r) { (members[r.experiment] = members[r.experiment] || []).push(r); });
    var named = function (eid) { var e = get(index.experiments, eid); return e ? e[0] : eid; };
    Object.keys(members).sort(function (a, b) {
      var x = named(a).toLowerCase(), y = named(b).toLowerCase();
      return x < y ? -1 : x > y ? 1 : (a < b ? -1 : a > b ? 1 : 0);
    }).forEach(function (eid, n) {
      var group = members[eid], experiment = get(index.experiments, eid);
      var primary = primaryOf(keysOf(group, "metrics"), experiment ? experiment[1] : null, index.primary);
      if (primary === null) return;
      var prefix = PREFIX + "e" + n + "-";
      sections.push({name: named(eid), charts: [
        {id: prefix + "parallel", kind: "parallel", title: "parallel coordinates", spec: parallel(templates, group, primary)},
        {id: prefix + "scatter", kind: "scatter", title: "scatter", spec: scatter(templates, group, primary)}]});
    });
    return sections;
  }

  function sectionElement(section) {
    var part = document.createElement("div");
    part.className = "chart-section";
    part.setAttribute("data-section", section.name);
    var heading = document.createElement("h3");
    heading.textContent = section.name;
    part.appendChild(heading);
    var grid = document.createElement("div");
    grid.className = "chart-grid";
    section.charts.forEach(function (c) {
      var el = document.createElement("div");
      el.className = "fs-chart";
      el.setAttribute("data-spec-id", c.id);
      el.setAttribute("data-kind", c.kind);
      el.setAttribute("data-title", c.title);
      grid.appendChild(el);
    });
    part.appendChild(grid);
    return part;
  }

  /* Places the charts of `runs` (new data for the same charts only changes their specs) and has them drawn. */
  function show(runs, index) {
    var box = document.getElementById("compare-chart-sections");
    var templates = window.FLOWSHEET_COMPARE_TEMPLATES;
    if (!box || !templates) return;
    var sections = chartSections(runs, index || {}, templates);
    var specs = window.FLOWSHEET_SPECS = window.FLOWSHEET_SPECS || {};
    sections.forEach(function (s) { s.charts.forEach(function (c) { specs[c.id] = c.spec; }); });
    var layout = JSON.stringify(sections.map(function (s) {
      return [s.name, s.charts.map(function (c) { return [c.id, c.kind, c.title]; })];
    }));
    if (layout !== shownLayout) {
      shownLayout = layout;
      box.textContent = "";
      sections.forEach(function (s) { box.appendChild(sectionElement(s)); });
    }
    document.getElementById("charts").hidden = !sections.length;
    if (window.FlowsheetCharts && window.FlowsheetCharts.refresh) window.FlowsheetCharts.refresh();
  }

  window.FlowsheetCompareCharts = {show: show, sections: chartSections};
})();
