/* flowsheet runs table, grouped: "Group by" one or more params/tags (seeds of one setting, say).
 *
 * Loaded before table.js, which calls in here when its state.group names columns (kept in the URL hash as
 * #group=params.lr,tags.model, the band as #band=minmax). A grouped table shows one row per group: the
 * group's values, n (its runs), and for each shown metric column mean ± sample std over the runs that have
 * a finite value (one such run: its value alone); a group row opens to its runs. The best mean of each metric
 * column (min for losses and errors, else max: the site's rule, runs-data.js `better`) is marked, and the
 * grouped table exports as Markdown and LaTeX with that value in bold.
 *
 * The experiment page's curves follow: window.FlowsheetGroups.current says which group each run is in
 * (null when not grouped), a "flowsheet-groups" event on window says it changed, and curveSpec() turns an
 * overlay spec carrying every run's curve (reporter/charts/groups.py) into the groups' mean lines with a band
 * (± one sample std, or min–max), the runs' points aligned by step.
 * Every value from the logs goes into the page with textContent, never as HTML. */
(function () {
  "use strict";
  var F = window.FlowsheetFilter;
  var own = Object.prototype.hasOwnProperty;
  var SIG = 4;  // significant digits of a mean and a std: enough to rank, short enough to read
  var MISSING = "—";
  var BANDS = {std: "± 1 sample std", minmax: "min–max"};

  function groupable(table) {
    return table.columns.filter(function (c) { return c.group === "params" || c.group === "tags"; });
  }
  function keyText(v) { return v === null || v === undefined ? MISSING : F.paramText(v); }
  function sig(x) { return F.formatNumber(Number(x.toPrecision(SIG))); }

  /* Count, mean, sample std, min and max of the finite numbers in `values`; null when there are none. */
  function stats(values) {
    var xs = values.filter(function (v) { return typeof v === "number" && isFinite(v); });
    var n = xs.length;
    if (!n) return null;
    var sum = 0, min = xs[0], max = xs[0];
    xs.forEach(function (x) { sum += x; if (x < min) min = x; if (x > max) max = x; });
    var mean = sum / n, squares = 0;
    xs.forEach(function (x) { squares += (x - mean) * (x - mean); });
    return {n: n, mean: mean, std: n > 1 ? Math.sqrt(squares / (n - 1)) : 0, min: min, max: max};
  }
  function statText(s) {
    if (!s) return "";
    return s.n === 1 ? sig(s.mean) : sig(s.mean) + " ± " + sig(s.std);
  }

  /* The shown rows in groups: {keys, metrics, groups: [{key, label, values, runs, stats, best}]}, in the
   * table's sort (a metric column sorts by mean, a group column by value; otherwise by the group values). */
  function build(table, rows) {
    var keys = table.state.group.map(function (id) { return table.colById[id]; }).filter(Boolean);
    var metrics = table.visibleColumns().filter(function (c) { return c.group === "metrics"; });
    var byKey = new Map(), groups = [];
    rows.forEach(function (r) {
      var values = keys.map(function (c) { return keyText(c.get(r)); });
      var key = JSON.stringify(values), g = byKey.get(key);
      if (!g) { g = {key: key, values: values, raw: keys.map(function (c) { return c.get(r); }), runs: []}; byKey.set(key, g); groups.push(g); }
      g.runs.push(r);
    });
    groups.forEach(function (g) {
      g.label = keys.map(function (c, i) { return c.label + "=" + g.values[i]; }).join(", ");
      g.stats = {};
      g.best = {};
      metrics.forEach(function (c) { g.stats[c.id] = stats(g.runs.map(c.get)); });
    });
    markBest(table, groups, metrics);
    return {keys: keys, metrics: metrics, groups: sortGroups(table, groups, keys)};
  }

  /* The best mean of each metric column, when two groups or more have one and they are not all equal. */
  function markBest(table, groups, metrics) {
    var better = table.better || {};
    metrics.forEach(function (c) {
      var means = groups.map(function (g) { return g.stats[c.id] ? g.stats[c.id].mean : null; })
        .filter(function (m) { return m !== null; });
      if (means.length < 2) return;
      var min = own.call(better, c.label) && better[c.label] === "min";
      var best = means.reduce(function (a, b) { return min ? Math.min(a, b) : Math.max(a, b); });
      if (means.every(function (m) { return m === best; })) return;
      groups.forEach(function (g) { g.best[c.id] = g.stats[c.id] !== null && g.stats[c.id].mean === best; });
    });
  }

  function sortGroups(table, groups, keys) {
    var fake = groups.map(function (g) {
      var row = {attributes: {run_id: g.key, run_name: g.label, start_time: 0}, params: {}, tags: {}, metrics: {},
                 view: {}, group: g};
      keys.forEach(function (c, i) { if (g.raw[i] !== null && g.raw[i] !== undefined) row[c.group][c.label] = g.raw[i]; });
      Object.keys(g.stats).forEach(function (id) { if (g.stats[id]) row.metrics[table.colById[id].label] = g.stats[id].mean; });
      return row;
    });
    var parts = table.state.sort.split(":"), col = table.colById[parts[0]];
    var order = keys.map(function (c) { return {entity: c.group, key: c.label, ascending: true}; });
    if (col && (col.group === "metrics" || keys.indexOf(col) >= 0)) {
      order.unshift({entity: col.group, key: col.label, ascending: parts[1] === "asc"});
    }
    return F.sortRows(fake, order).map(function (row) { return row.group; });
  }

  // ------------------------------------------------------------ the table

  function cell(tag, text, className) {
    var c = document.createElement(tag);
    if (text !== undefined && text !== null) c.textContent = text;
    if (className) c.className = className;
    return c;
  }

  function selectCell(table, ids, label) {
    var td = cell("td", null, "select"), box = document.createElement("input");
    box.type = "checkbox";
    box.checked = ids.length > 0 && ids.every(function (id) { return table.state.sel.has(id); });
    box.setAttribute("aria-label", label);
    box.addEventListener("change", function () {
      ids.forEach(function (id) { if (box.checked) table.state.sel.add(id); else table.state.sel.delete(id); });
      table.update();
    });
    td.appendChild(box);
    return td;
  }

  function draw(table, view) {
    var el = table.root.querySelector("table.runs"), thead = el.tHead, tbody = el.tBodies[0];
    var sortParts = table.state.sort.split(":"), hr = document.createElement("tr");
    hr.appendChild(cell("th", null, "select"));
    hr.appendChild(cell("th", "Group"));
    hr.appendChild(cell("th", "n", "num"));
    view.keys.concat(view.metrics).forEach(function (col) { hr.appendChild(table.headerCell(col, sortParts)); });
    Array.prototype.forEach.call(hr.children, function (th) { th.scope = "col"; });
    thead.textContent = "";
    thead.appendChild(hr);
    // a page of groups at a time, and the first page of an open group's runs: the DOM stays small
    var size = table.pageSize, pages = Math.max(1, Math.ceil(view.groups.length / size)), frag = document.createDocumentFragment();
    table.state.page = Math.min(Math.max(0, table.state.page), pages - 1);
    view.groups.slice(table.state.page * size, (table.state.page + 1) * size).forEach(function (g) {
      var open = table.state.gopen.has(g.key), tr = document.createElement("tr");
      tr.className = "group-row";
      tr.setAttribute("data-group", g.label);
      tr.appendChild(selectCell(table, g.runs.map(function (r) { return r.attributes.run_id; }), "Select the runs of " + g.label));
      var th = cell("th");
      th.scope = "row";
      var t = cell("button", open ? "▾" : "▸", "toggle");
      t.type = "button";
      t.setAttribute("aria-expanded", open ? "true" : "false");
      t.setAttribute("aria-label", (open ? "Collapse" : "Expand") + " the runs of " + g.label);
      t.addEventListener("click", function () {
        if (table.state.gopen.has(g.key)) table.state.gopen.delete(g.key); else table.state.gopen.add(g.key);
        table.update();
      });
      th.appendChild(t);
      th.appendChild(document.createTextNode(g.label));
      tr.appendChild(th);
      tr.appendChild(cell("td", String(g.runs.length), "num n"));
      g.values.forEach(function (v) { tr.appendChild(cell("td", v)); });
      view.metrics.forEach(function (col) {
        var s = g.stats[col.id], td = cell("td", statText(s), "num" + (g.best[col.id] ? " best" : ""));
        td.setAttribute("data-col", col.id);
        if (s) td.title = "mean ± sample std of " + s.n + " run" + (s.n === 1 ? "" : "s") + "; min " + sig(s.min) + ", max " + sig(s.max);
        tr.appendChild(td);
      });
      frag.appendChild(tr);
      if (open) g.runs.slice(0, size).forEach(function (r) { frag.appendChild(memberRow(table, view, r)); });
      if (open && g.runs.length > size) frag.appendChild(moreRow(g.runs.length - size, 3 + view.keys.length + view.metrics.length));
    });
    tbody.textContent = "";
    tbody.appendChild(frag);
    table.drawPager(pages, view.groups.length, "Groups");
  }

  function moreRow(more, width) {
    var tr = cell("tr", null, "group-member"), td = cell("td", "… and " + more + " more runs: filter to list them");
    td.colSpan = width;
    tr.appendChild(td);
    return tr;
  }

  function memberRow(table, view, r) {
    var id = r.attributes.run_id, tr = document.createElement("tr");
    tr.className = "group-member";
    tr.setAttribute("data-run-id", id);
    tr.appendChild(selectCell(table, [id], "Select run " + (r.attributes.run_name || id)));
    var th = cell("th"), a = cell("a", r.attributes.run_name || id);
    th.scope = "row";
    th.appendChild(cell("span", null, "indent")).style.width = "1.2em";
    a.href = table.siteRoot + r.view.url;
    th.appendChild(a);
    tr.appendChild(th);
    tr.appendChild(cell("td", "", "num"));
    view.keys.forEach(function (c) { tr.appendChild(cell("td", keyText(c.get(r)))); });
    view.metrics.forEach(function (c) {
      var v = c.get(r);
      tr.appendChild(cell("td", v === null ? "" : F.formatNumber(v), "num"));
    });
    return tr;
  }

  /* Draw the grouped table; returns the status line. */
  function update(table, rows, matched) {
    var view = build(table, rows);
    table.groupView = view;
    draw(table, view);
    publish(table, view);
    var n = view.groups.length;
    return (matched ? rows.length + " of " + table.rows.length + " runs match" : rows.length + " runs") +
      " in " + n + " group" + (n === 1 ? "" : "s");
  }

  // ------------------------------------------------------------ the controls

  function setup(table) {
    var box = table.el("group-by");
    if (!box) return;
    drawChooser(table);
    var band = table.el("group-band");
    if (band) {
      band.value = table.state.band;
      band.addEventListener("change", function () { table.state.band = band.value; table.update(); });
    }
    var out = table.el("group-export");
    if (!out) return;
    ["markdown", "latex"].forEach(function (format) {
      var b = out.querySelector("[data-export=" + format + "]");
      if (b) b.addEventListener("click", function () { showExport(table, format); });
    });
  }

  function drawChooser(table) {
    var box = table.el("group-by");
    if (!box) return;
    box.textContent = "";
    var chosen = new Set(table.state.group);
    groupable(table).forEach(function (col) {
      var label = document.createElement("label"), input = document.createElement("input");
      input.type = "checkbox";
      input.value = col.id;
      input.checked = chosen.has(col.id);
      input.addEventListener("change", function () {
        var now = table.state.group.filter(function (id) { return id !== col.id; });
        if (input.checked) now.push(col.id);
        table.state.group = now;
        table.state.page = 0;
        table.update();
      });
      label.appendChild(input);
      label.appendChild(document.createTextNode(" " + col.group + "." + col.label));
      box.appendChild(label);
    });
    if (!box.children.length) box.appendChild(cell("p", "No params or tags to group by."));
  }

  /* Shown only while grouped: the band switch and the export buttons. */
  function showControls(table, grouped) {
    ["group-export", "group-band-label"].forEach(function (role) {
      var el = table.el(role);
      if (el) el.hidden = !grouped;
    });
    var text = table.root.querySelector("[data-role=group-export] textarea");
    if (!grouped && text) { text.value = ""; text.hidden = true; }
  }

  // ------------------------------------------------------------ Markdown and LaTeX

  function exportCells(view) {
    var head = view.keys.map(function (c) { return c.label; }).concat(["n"], view.metrics.map(function (c) { return c.label; }));
    var body = view.groups.map(function (g) {
      return {cells: g.values.concat([String(g.runs.length)]),
              stats: view.metrics.map(function (c) { return {s: g.stats[c.id], best: !!g.best[c.id]}; })};
    });
    return {head: head, body: body, keys: view.keys.length};
  }

  function markdown(view) {
    var t = exportCells(view), esc = function (s) { return String(s).replace(/\\/g, "\\\\").replace(/\|/g, "\\|").replace(/[\r\n]+/g, " "); };
    var line = function (cells) { return "| " + cells.join(" | ") + " |"; };
    var lines = [line(t.head.map(esc)), line(t.head.map(function (h, i) { return i < t.keys ? "---" : "---:"; }))];
    t.body.forEach(function (row) {
      lines.push(line(row.cells.map(esc).concat(row.stats.map(function (m) {
        if (!m.s) return "";
        var mean = m.best ? "**" + sig(m.s.mean) + "**" : sig(m.s.mean);
        return m.s.n === 1 ? mean : mean + " ± " + sig(m.s.std);
      }))));
    });
    return lines.join("\n") + "\n";
  }

  var LATEX_SPECIAL = {"\\": "\\textbackslash{}", "&": "\\&", "%": "\\%", "$": "\\$", "#": "\\#", "_": "\\_",
                       "{": "\\{", "}": "\\}", "~": "\\textasciitilde{}", "^": "\\textasciicircum{}"};
  function latexText(s) { return String(s).replace(/[\\&%$#_{}~^]/g, function (ch) { return LATEX_SPECIAL[ch]; }).replace(/[\r\n]+/g, " "); }

  function latex(view) {
    var t = exportCells(view);
    var align = t.head.map(function (h, i) { return i < t.keys ? "l" : "r"; }).join("");
    var lines = ["\\begin{tabular}{" + align + "}", "\\hline", t.head.map(latexText).join(" & ") + " \\\\", "\\hline"];
    t.body.forEach(function (row) {
      lines.push(row.cells.map(latexText).concat(row.stats.map(function (m) {
        if (!m.s) return "";
        var mean = m.best ? "\\textbf{" + sig(m.s.mean) + "}" : sig(m.s.mean);
        return m.s.n === 1 ? mean : mean + " $\\pm$ " + sig(m.s.std);
      })).join(" & ") + " \\\\");
    });
    lines.push("\\hline", "\\end{tabular}");
    return lines.join("\n") + "\n";
  }

  function showExport(table, format) {
    if (!table.groupView) return;
    var out = table.el("group-export"), text = out.querySelector("textarea"), link = out.querySelector("a");
    var body = format === "latex" ? latex(table.groupView) : markdown(table.groupView);
    text.value = body;
    text.hidden = false;
    text.setAttribute("data-format", format);
    if (link) {
      if (link.href) URL.revokeObjectURL(link.href);
      link.href = URL.createObjectURL(new Blob([body], {type: "text/plain;charset=utf-8"}));
      link.download = format === "latex" ? "runs-grouped.tex" : "runs-grouped.md";
      link.textContent = "Download " + link.download;
      link.hidden = false;
    }
    text.focus();
    text.select();
  }

  // ------------------------------------------------------------ the charts

  var publishedText = "null";
  /* Say which group each shown run is in (null: not grouped); charts.js redraws on a change. */
  function publish(table, view) {
    var current = null;
    if (view) {
      current = {title: view.keys.map(function (c) { return c.label; }).join(", "), band: table.state.band,
                 order: view.groups.map(function (g) { return g.label; }), of: {}};
      view.groups.forEach(function (g) { g.runs.forEach(function (r) { current.of[r.attributes.run_id] = g.label; }); });
    }
    var text = JSON.stringify(current);
    if (text === publishedText) return;
    publishedText = text;
    api.current = current;
    window.dispatchEvent(new CustomEvent("flowsheet-groups"));
  }

  /* An overlay spec with every run's curve (usermeta.fs.history) as the groups' mean lines and bands. */
  function curveSpec(spec, current) {
    var m = spec.usermeta.fs, curves = spec.datasets[m.history] || [];  // [{id, s: [steps], v: [values]}]
    var cells = new Map();  // group label -> step -> values
    curves.forEach(function (curve) {
      if (!own.call(current.of, curve.id)) return;
      var label = current.of[curve.id], steps = cells.get(label);
      if (!steps) cells.set(label, steps = new Map());
      curve.s.forEach(function (s, k) {
        if (!steps.has(s)) steps.set(s, []);
        steps.get(s).push(curve.v[k]);
      });
    });
    var minmax = current.band === "minmax", rows = [];
    current.order.forEach(function (label) {
      var steps = cells.get(label);
      if (!steps) return;
      Array.from(steps.keys()).sort(function (a, b) { return a - b; }).forEach(function (s) {
        var st = stats(steps.get(s));
        if (!st) return;
        rows.push({g: label, s: s, mean: st.mean, n: st.n, lo: minmax ? st.min : st.mean - st.std,
                   hi: minmax ? st.max : st.mean + st.std});
      });
    });
    var key = spec.title && spec.title.text ? spec.title.text : "value";
    var x = {field: "s", type: "quantitative", title: "step"}, y = {field: "mean", type: "quantitative", title: key};
    var notes = ["mean of " + cells.size + " group" + (cells.size === 1 ? "" : "s"), "band: " + BANDS[minmax ? "minmax" : "std"]];
    if (m.history_left_out) notes.push(m.history_left_out + " older runs left out");
    return {
      width: "container", height: spec.height || 220,
      title: {text: key, subtitle: notes.join("; "), anchor: "start"},
      data: {values: rows},
      encoding: {x: x, color: {field: "g", type: "nominal", title: current.title, sort: current.order,
                               legend: {orient: "bottom", columns: 2, labelLimit: 240}}},
      layer: [
        {mark: {type: "area", opacity: 0.2}, encoding: {y: {field: "lo", type: "quantitative", title: key}, y2: {field: "hi"}}},
        {mark: {type: "line", strokeWidth: 1.5}, encoding: {y: y, tooltip: [
          {field: "g", type: "nominal", title: current.title}, {field: "s", type: "quantitative", title: "step"},
          {field: "mean", type: "quantitative", title: "mean", format: ".7~g"},
          {field: "lo", type: "quantitative", title: minmax ? "min" : "mean − std", format: ".7~g"},
          {field: "hi", type: "quantitative", title: minmax ? "max" : "mean + std", format: ".7~g"},
          {field: "n", type: "quantitative", title: "runs"}]}}
      ],
      usermeta: {fs: {kind: "groups", groups: cells.size}}
    };
  }

  var api = {
    current: null, BANDS: BANDS, stats: stats, statText: statText, groupable: groupable,
    setup: setup, drawChooser: drawChooser, showControls: showControls, update: update, publish: publish,
    markdown: markdown, latex: latex, curveSpec: curveSpec
  };
  window.FlowsheetGroups = api;
})();
