/* flowsheet runs table: rows are drawn here from window.FLOWSHEET_RUNS (a <script> file, never fetched).
 * Free-text search, filter expressions and sorting (FlowsheetFilter from filter.js: the grammar, order and
 * number format of search_runs), column chooser, nested runs as a tree, selection for the compare page.
 * Grouping by params/tags is groups.js (FlowsheetGroups, loaded before this file).
 * The view lives in the URL hash so a link reproduces it. The page's HTML holds the first page of rows for
 * readers without JavaScript (reporter/site/tables.py first_page); this draws over it.
 * Every value from the logs goes into the page with textContent, never as HTML. */
(function () {
  "use strict";
  var F = window.FlowsheetFilter;
  var G = window.FlowsheetGroups || null;  // absent: no "Group by"
  // Rows per page, and params and metrics shown by default (each; the rest via "Columns"): the page says
  // (data-page-size, data-max-default), as the rows in its HTML were cut by the same numbers.
  var PAGE_SIZE = 100, MAX_DEFAULT = 15;

  function fmtTime(ms) {
    if (ms === null || ms === undefined) return "";
    return new Date(ms).toISOString().slice(0, 19).replace("T", " ");
  }
  function fmtDuration(ms) {
    if (ms === null || ms === undefined) return "";
    var s = ms / 1000;
    if (s < 60) return s.toFixed(1) + " s";
    var m = Math.floor(s / 60);
    if (m < 60) return m + " min " + Math.floor(s % 60) + " s";
    return Math.floor(m / 60) + " h " + (m % 60) + " min";
  }
  function fmtValue(v) {
    if (v === null || v === undefined) return "";
    return typeof v === "number" ? F.formatNumber(v) : String(v);
  }

  function baseColumns(multiExperiment) {
    var cols = [
      {id: "name", label: "Name", order: ["attributes", "run_name"],
       get: function (r) { return r.attributes.run_name || r.attributes.run_id; }},
      attributeColumn("status", "Status", "status"),
      attributeColumn("start", "Start (UTC)", "start_time", {fmt: fmtTime}),
      viewColumn("duration", "Duration", {fmt: fmtDuration, num: true}),
      attributeColumn("user", "User", "user"),
      viewColumn("source", "Source"),
      attributeColumn("run_id", "Run ID", "run_id", {hidden: true}),
      viewColumn("experiment", "Experiment", {hidden: !multiExperiment, link: function (r, urls) {
        var id = r.attributes.experiment_id;  // an id like "__proto__" must not reach Object.prototype
        return Object.prototype.hasOwnProperty.call(urls, id) ? urls[id] : null; }})
    ];
    return cols;
  }
  // A column's `order` is the field it sorts by in filter.js's sortRows, as search_runs' order_by names it.
  function attributeColumn(id, label, key, extra) {
    return Object.assign({id: id, label: label, order: ["attributes", key],
                          get: function (r) { return r.attributes[key]; }}, extra);
  }
  function viewColumn(id, label, extra) {  // display-only fields: sortRows sorts them as it sorts params
    return Object.assign({id: id, label: label, order: ["view", id], get: function (r) { return r.view[id]; }}, extra);
  }

  function entityColumns(kind, keys, hideKey) {
    return keys.map(function (key, i) {
      return {id: kind + "." + key, label: key, group: kind, num: kind === "metrics", order: [kind, key],
              hidden: hideKey(key, i), get: function (r) { var v = r[kind][key]; return v === undefined ? null : v; }};
    });
  }

  function readHash() {
    var p = new URLSearchParams(location.hash.replace(/^#/, ""));
    var list = function (k) { var v = p.get(k); return v ? v.split(",").filter(Boolean) : null; };
    return {q: p.get("q") || "", filter: p.get("filter") || "", sort: p.get("sort") || "",
            cols: list("cols"), sel: list("sel") || [], open: list("open") || [], page: parseInt(p.get("page") || "0", 10) || 0,
            group: list("group") || [], band: p.get("band") === "minmax" ? "minmax" : "std"};
  }

  function Table(root, data) {
    this.root = root;
    this.siteRoot = root.getAttribute("data-root") || "";
    this.pageSize = parseInt(root.getAttribute("data-page-size"), 10) || PAGE_SIZE;
    this.load(data);
    var h = readHash(), ids = this.byId;
    this.state = {q: h.q, filter: h.filter, sort: h.sort || "start:desc", page: h.page,
                  sel: new Set(h.sel.filter(function (id) { return ids[id]; })), open: new Set(h.open),
                  cols: h.cols ? new Set(h.cols) : null, group: G ? h.group : [], band: h.band, gopen: new Set()};
    this.el = function (role) { return root.querySelector("[data-role=" + role + "]"); };
    var controls = this.el("controls");
    if (controls) controls.hidden = false;  // hidden in the HTML: without JavaScript they would do nothing
    this.setup();
    this.update();
  }

  /* Rows, columns and the tree from the data; the view's state is left alone. */
  Table.prototype.load = function (data) {
    var maxDefault = parseInt(this.root.getAttribute("data-max-default"), 10) || MAX_DEFAULT;
    this.experimentUrls = data.experiments || {};
    this.better = data.better || {};  // metric -> "min" or "max"
    this.rows = data.rows;
    this.rows.forEach(F.reviveRow);  // JSON has no NaN: metrics arrive as "NaN", "Infinity", "-Infinity"
    var ids = {};
    this.rows.forEach(function (r) { ids[r.attributes.run_id] = r; });
    this.byId = ids;
    var experiments = {};
    this.rows.forEach(function (r) { experiments[r.attributes.experiment_id] = 1; });
    var c = data.columns;
    this.columns = baseColumns(Object.keys(experiments).length > 1)  // metrics first: what runs are compared by
      .concat(entityColumns("metrics", c.metrics, function (k, i) { return i >= maxDefault; }))
      .concat(entityColumns("params", c.params, function (k, i) { return i >= maxDefault; }))
      .concat(entityColumns("tags", c.tags, function (k) { return k.indexOf("mlflow.") === 0; }));
    this.colById = {};
    var self = this;
    this.columns.forEach(function (col) { self.colById[col.id] = col; });
    this.children = {};
    this.rows.forEach(function (r) {
      var p = r.attributes.parent_run_id;
      if (p && ids[p] && p !== r.attributes.run_id) (self.children[p] = self.children[p] || []).push(r);
    });
    this.rows.forEach(function (r) { r._text = self.searchText(r); });
  };

  /* New data for a table on screen (`reporter serve` after a rebuild): the search and filter being typed,
   * the sort, the chosen columns, the selection, the open tree nodes, the page and the focus all stay. */
  Table.prototype.setData = function (data) {
    var self = this, before = this.columns.map(function (c) { return c.id; }).join("\n");
    this.load(data);
    var ids = this.byId;
    this.state.sel = new Set(Array.from(this.state.sel).filter(function (id) { return ids[id]; }));
    this.keepingFocus(function () {
      if (self.columns.map(function (c) { return c.id; }).join("\n") !== before) {
        self.drawChooser();
        if (G) G.drawChooser(self);
      }
      self.update();
    });
  };

  /* Run `redraw`, then give the focus back to the control that had it, if the redraw replaced it. */
  Table.prototype.keepingFocus = function (redraw) {
    var active = document.activeElement, root = this.root, selector = null;
    if (active && root.contains(active)) {
      var row = active.closest("tr[data-run-id]"), th = active.closest("th[data-col]"), group = active.closest("tr[data-group]");
      if (active.getAttribute("data-role")) selector = null; // search, filter: never redrawn
      else if (group) selector = 'tr[data-group="' + CSS.escape(group.getAttribute("data-group")) + '"] ' +
        ({INPUT: "input"}[active.tagName] || "button");
      else if (row) selector = 'tr[data-run-id="' + CSS.escape(row.getAttribute("data-run-id")) + '"] ' +
        ({INPUT: "input", BUTTON: "button"}[active.tagName] || "a");
      else if (th) selector = 'th[data-col="' + CSS.escape(th.getAttribute("data-col")) + '"] button';
      else if (active.type === "checkbox" && active.closest("[data-role=columns]")) {
        selector = '[data-role=columns] input[value="' + CSS.escape(active.value) + '"]';
      }
    }
    redraw();
    if (selector && !root.contains(document.activeElement)) {
      var again = root.querySelector(selector);
      if (again) again.focus({preventScroll: true});
    }
  };

  Table.prototype.searchText = function (r) {
    var parts = [r.attributes.run_name, r.attributes.run_id, r.attributes.status, r.attributes.user, r.view.experiment,
                 r.view.source];
    ["params", "tags"].forEach(function (kind) {
      Object.keys(r[kind]).forEach(function (k) { parts.push(k + "=" + r[kind][k]); });
    });
    return parts.join("\n").toLowerCase();
  };

  Table.prototype.visibleColumns = function () {
    var cols = this.state.cols;
    return this.columns.filter(function (c) { return cols ? cols.has(c.id) : !c.hidden; });
  };

  Table.prototype.setup = function () {
    var self = this;
    var search = this.el("search"), filter = this.el("filter");
    search.value = this.state.q;
    filter.value = this.state.filter;
    var timer = null;
    var later = function () { clearTimeout(timer); timer = setTimeout(function () { self.state.page = 0; self.update(); }, 150); };
    search.addEventListener("input", function () { self.state.q = search.value; later(); });
    filter.addEventListener("input", function () { self.state.filter = filter.value; later(); });
    var shownCsv = this.el("csv-shown");
    if (shownCsv) shownCsv.addEventListener("click", function () { self.downloadShown(); });
    var compare = this.el("compare");
    if (compare) compare.addEventListener("click", function () {
      var ids = Array.from(self.state.sel).map(encodeURIComponent).join(",");
      location.href = self.root.getAttribute("data-compare") + "?runs=" + ids;
    });
    this.drawChooser();
    if (G) G.setup(this);
  };

  Table.prototype.drawChooser = function () {
    var self = this, box = this.el("columns");
    box.textContent = "";
    var shown = new Set(this.visibleColumns().map(function (c) { return c.id; }));
    this.columns.forEach(function (col) {
      var label = document.createElement("label"), input = document.createElement("input");
      input.type = "checkbox";
      input.checked = shown.has(col.id);
      input.value = col.id;
      input.addEventListener("change", function () {
        var now = new Set(self.visibleColumns().map(function (c) { return c.id; }));
        if (input.checked) now.add(col.id); else now.delete(col.id);
        self.state.cols = now;
        self.update();
      });
      label.appendChild(input);
      label.appendChild(document.createTextNode(" " + (col.group ? col.group + "." : "") + col.label));
      box.appendChild(label);
    });
  };

  Table.prototype.matching = function () {
    var q = this.state.q.trim().toLowerCase(), text = this.state.filter.trim(), status = this.el("status");
    var filterInput = this.el("filter"), test = null;
    filterInput.classList.remove("invalid");
    status.classList.remove("error");
    if (text) {
      try { test = F.parse(text); } catch (e) {
        filterInput.classList.add("invalid");
        status.classList.add("error");
        status.textContent = "Filter: " + (e && e.message ? e.message : String(e));
        return null;
      }
    }
    if (!q && !test) return null; // no filter: show the tree
    return this.rows.filter(function (r) {
      return (!q || r._text.indexOf(q) >= 0) && (!test || test.matches(r));
    });
  };

  /* The column's sort as search_runs' order_by would give it: one key, ties by start_time DESC, then run_id. */
  Table.prototype.sorter = function () {
    var parts = this.state.sort.split(":"), col = this.colById[parts[0]] || this.colById.start;
    var key = [{entity: col.order[0], key: col.order[1], ascending: parts[1] === "asc"}];
    return function (rows) { return F.sortRows(rows, key); };
  };

  /* The rows in the order shown (every page), tree rows with their depth. */
  Table.prototype.shownList = function () {
    var self = this, sort = this.sorter(), matches = this.matching(), list = [];
    if (matches) {
      list = sort(matches).map(function (r) { return {row: r, depth: 0}; });
    } else {
      var tops = this.rows.filter(function (r) {
        var p = r.attributes.parent_run_id;
        return !(p && self.byId[p] && p !== r.attributes.run_id);  // a run naming itself as parent is a top
      });
      var walk = function (rows, depth, seen) {
        sort(rows).forEach(function (r) {
          var id = r.attributes.run_id;
          if (seen[id]) return; // a cycle in parent ids must not hang the page
          seen[id] = 1;
          list.push({row: r, depth: depth});
          if (self.children[id] && self.state.open.has(id)) walk(self.children[id], depth + 1, seen);
        });
      };
      walk(tops, 0, {});
    }
    return {list: list, matches: matches};
  };

  Table.prototype.grouped = function () {
    var ids = this.colById;
    return G !== null && this.state.group.some(function (id) { return ids[id]; });
  };

  Table.prototype.update = function () {
    if (G) G.showControls(this, this.grouped());
    if (this.grouped()) return this.updateGrouped();
    if (G) G.publish(this, null);
    var shown = this.shownList(), list = shown.list, matches = shown.matches, size = this.pageSize;
    var pages = Math.max(1, Math.ceil(list.length / size));
    this.state.page = Math.min(Math.max(0, this.state.page), pages - 1);
    var status = this.el("status");
    if (!status.classList.contains("error")) {
      status.textContent = matches ? matches.length + " of " + this.rows.length + " runs match"
                                   : this.rows.length + " runs";
    }
    this.draw(list.slice(this.state.page * size, (this.state.page + 1) * size), !matches);
    this.drawPager(pages, list.length);
    this.finishUpdate();
  };

  /* One row per group of the matching runs (all of them when nothing filters): groups.js draws it. */
  Table.prototype.updateGrouped = function () {
    var matches = this.matching(), status = this.el("status");
    var text = G.update(this, matches || this.rows, matches !== null);
    if (!status.classList.contains("error")) status.textContent = text;
    this.finishUpdate();
  };

  Table.prototype.finishUpdate = function () {
    var compare = this.el("compare");
    if (compare) {
      compare.disabled = this.state.sel.size === 0;
      compare.textContent = "Compare selected (" + this.state.sel.size + ")";
    }
    this.writeHash();
  };

  /* A column's header: a button that sorts by it (descending first for numbers and times). */
  Table.prototype.headerCell = function (col, sortParts) {
    var self = this, th = document.createElement("th"), b = document.createElement("button");
    th.scope = "col";
    if (col.num) th.className = "num";
    b.type = "button";
    b.className = "sort";
    b.textContent = col.group === "params" ? "param: " + col.label : col.group === "metrics" ? "metric: " + col.label
      : col.group === "tags" ? "tag: " + col.label : col.label;
    b.title = "Sort by " + b.textContent;
    th.setAttribute("aria-sort", sortParts[0] === col.id ? (sortParts[1] === "asc" ? "ascending" : "descending") : "none");
    th.setAttribute("data-col", col.id);
    b.addEventListener("click", function () {
      var dir = sortParts[0] === col.id && sortParts[1] === "desc" ? "asc" : "desc";
      if (sortParts[0] !== col.id && !col.num && col.id !== "start" && col.id !== "duration") dir = "asc";
      self.state.sort = col.id + ":" + dir;
      self.update();
    });
    th.appendChild(b);
    return th;
  };

  Table.prototype.draw = function (items, tree) {
    var self = this, cols = this.visibleColumns(), table = this.root.querySelector("table.runs");
    var thead = table.tHead, tbody = table.tBodies[0];
    var sortParts = this.state.sort.split(":");
    var hr = document.createElement("tr");
    var selTh = document.createElement("th");
    selTh.scope = "col";
    var label = document.createElement("span");
    label.className = "visually-hidden";  // the column is a checkbox wide; its name is for screen readers
    label.textContent = "Select";
    selTh.appendChild(label);
    selTh.className = "select";
    hr.appendChild(selTh);
    cols.forEach(function (col) { hr.appendChild(self.headerCell(col, sortParts)); });
    thead.textContent = "";
    thead.appendChild(hr);
    var frag = document.createDocumentFragment();
    items.forEach(function (item) {
      var r = item.row, id = r.attributes.run_id, tr = document.createElement("tr");
      tr.setAttribute("data-run-id", id);
      var td = document.createElement("td"), box = document.createElement("input");
      td.className = "select";
      box.type = "checkbox";
      box.checked = self.state.sel.has(id);
      box.setAttribute("aria-label", "Select run " + (r.attributes.run_name || id));
      box.addEventListener("change", function () {
        if (box.checked) self.state.sel.add(id); else self.state.sel.delete(id);
        self.update();
      });
      td.appendChild(box);
      tr.appendChild(td);
      cols.forEach(function (col) {
        var cell;
        if (col.id === "name") {
          cell = document.createElement("th");
          cell.scope = "row";
          var indent = document.createElement("span");
          indent.className = "indent";
          indent.style.width = (item.depth * 1.2) + "em";
          cell.appendChild(indent);
          if (tree && self.children[id]) {
            var t = document.createElement("button"), open = self.state.open.has(id);
            t.type = "button";
            t.className = "toggle";
            t.textContent = open ? "▾" : "▸";
            t.setAttribute("aria-expanded", open ? "true" : "false");
            t.setAttribute("aria-label", (open ? "Collapse" : "Expand") + " child runs");
            t.addEventListener("click", function () {
              if (self.state.open.has(id)) self.state.open.delete(id); else self.state.open.add(id);
              self.update();
            });
            cell.appendChild(t);
          }
          var a = document.createElement("a");
          a.href = self.siteRoot + r.view.url;
          a.textContent = col.get(r);
          cell.appendChild(a);
        } else {
          cell = document.createElement("td");
          var v = col.get(r), text = col.fmt ? col.fmt(v) : fmtValue(v), href = col.link && col.link(r, self.experimentUrls);
          if (href) {
            var link = document.createElement("a");
            link.href = self.siteRoot + href;
            link.textContent = text;
            cell.appendChild(link);
          } else {
            cell.textContent = text;
          }
          if (col.num) cell.className = "num";
          if (col.id === "status") cell.className = "status-cell status-" + String(v).toLowerCase();
          if (text) cell.title = v === null || v === undefined ? "" : String(v);
        }
        tr.appendChild(cell);
      });
      frag.appendChild(tr);
    });
    tbody.textContent = "";
    tbody.appendChild(frag);
  };

  Table.prototype.drawPager = function (pages, total) {
    var self = this, pager = this.el("pager");
    pager.textContent = "";
    if (pages <= 1) return;
    var button = function (label, page, disabled) {
      var b = document.createElement("button");
      b.type = "button";
      b.textContent = label;
      b.disabled = disabled;
      b.addEventListener("click", function () { self.state.page = page; self.update(); });
      pager.appendChild(b);
    };
    button("‹ Previous", this.state.page - 1, this.state.page === 0);
    var info = document.createElement("span");
    var first = this.state.page * this.pageSize + 1;
    info.textContent = "Rows " + first + "–" + Math.min(total, first + this.pageSize - 1) + " of " + total;
    pager.appendChild(info);
    button("Next ›", this.state.page + 1, this.state.page >= pages - 1);
  };

  /* What the table shows, as CSV: every matching row in its order (all pages), the visible columns; text a
   * spreadsheet would run as a formula gets a leading apostrophe, as in runs.csv (tables.py csv_cell). */
  Table.prototype.downloadShown = function () {
    var cols = this.visibleColumns();
    var header = ["run_id"].concat(cols.map(function (col) {
      return col.group ? col.group + "." + col.label : col.id === "duration" ? "Duration (s)" : col.label;
    }));
    var lines = [header.map(function (h) { return csvCell(h, false); }).join(",")];
    this.shownList().list.forEach(function (item) {
      var r = item.row, cells = [csvCell(r.attributes.run_id, false)];
      cols.forEach(function (col) {
        var v = col.get(r);
        if (col.id === "duration") cells.push(v === null || v === undefined ? "" : String(v / 1000));
        else cells.push(csvCell(col.fmt ? col.fmt(v) : fmtValue(v), col.num));
      });
      lines.push(cells.join(","));
    });
    var link = document.createElement("a");
    link.href = URL.createObjectURL(new Blob([lines.join("\n") + "\n"], {type: "text/csv;charset=utf-8"}));
    link.download = "runs-shown.csv";
    document.body.appendChild(link);
    link.click();
    link.remove();
    setTimeout(function () { URL.revokeObjectURL(link.href); }, 60000);
    var status = this.el("status");  // say what was saved: a download can go unnoticed
    if (!status.classList.contains("error")) {
      status.textContent = status.textContent.split(" · ")[0] + " · " + (lines.length - 1) + " rows saved as " + link.download;
    }
  };

  var FORMULA_START = /^[=+\-@\t\r]/, NUMBER_TEXT = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
  function csvCell(text, isNumber) {
    text = String(text);
    if (!isNumber && FORMULA_START.test(text) && !NUMBER_TEXT.test(text)) text = "'" + text;
    return /[",\r\n]/.test(text) ? '"' + text.replace(/"/g, '""') + '"' : text;
  }

  Table.prototype.writeHash = function () {
    var s = this.state, p = new URLSearchParams();
    if (s.q) p.set("q", s.q);
    if (s.filter) p.set("filter", s.filter);
    if (s.sort && s.sort !== "start:desc") p.set("sort", s.sort);
    if (s.cols) p.set("cols", Array.from(s.cols).join(","));
    if (s.sel.size) p.set("sel", Array.from(s.sel).join(","));
    if (s.open.size) p.set("open", Array.from(s.open).join(","));
    if (s.page) p.set("page", String(s.page));
    if (s.group.length) p.set("group", s.group.join(","));
    if (s.band !== "std") p.set("band", s.band);
    var hash = p.toString();
    if (hash === location.hash.replace(/^#/, "")) return;
    var url = location.href.split("#")[0] + (hash ? "#" + hash : "");
    try { history.replaceState(null, "", url); } catch (e) { location.replace(url); }
  };

  function mount() {
    var data = window.FLOWSHEET_RUNS;
    if (!data) return;
    document.querySelectorAll("[data-runs-table]").forEach(function (el) {
      if (!el._table) el._table = new Table(el, data);
    });
  }
  /* window.FLOWSHEET_RUNS was loaded again: every table on the page takes the new rows. */
  function refresh() {
    var data = window.FLOWSHEET_RUNS;
    if (!data) return;
    document.querySelectorAll("[data-runs-table]").forEach(function (el) {
      if (el._table) el._table.setData(data); else el._table = new Table(el, data);
    });
  }
  window.FlowsheetTable = {mount: mount, refresh: refresh, Table: Table};
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", mount); else mount();
})();
