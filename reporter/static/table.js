/* flowsheet runs table: rows are drawn here from window.FLOWSHEET_RUNS and the shards after it, loaded by
 * shards.js (<script> files, never fetched) as the view needs them: the first pages of the default view from
 * the first shards; any other sort, a search, a filter, a group or an open tree loads them all, while the
 * table shows the rows loaded so far and says how many are still to come. One page of rows is in the DOM.
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

  var D = window.FlowsheetTableDraw, fmtTime = D.fmtTime, fmtDuration = D.fmtDuration;

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

  function Table(root, store) {
    var self = this;
    this.root = root;
    this.store = store;
    this.siteRoot = root.getAttribute("data-root") || "";
    this.pageSize = parseInt(root.getAttribute("data-page-size"), 10) || PAGE_SIZE;
    this.load();
    var h = readHash(), ids = this.byId, all = store.complete();  // ids of runs not loaded yet stay selected
    this.state = {q: h.q, filter: h.filter, sort: h.sort || "start:desc", page: h.page,
                  sel: new Set(h.sel.filter(function (id) { return !all || ids[id]; })), open: new Set(h.open),
                  cols: h.cols ? new Set(h.cols) : null, group: G ? h.group : [], band: h.band, gopen: new Set()};
    this.el = function (role) { return root.querySelector("[data-role=" + role + "]"); };
    var controls = this.el("controls");
    if (controls) controls.hidden = false;  // hidden in the HTML: without JavaScript they would do nothing
    this.setup();
    this.update();
    store.listen(function () { self.setData(); });
  }

  /* Rows (those loaded so far), columns (of every run) and the tree from the store; the view's state stays. */
  Table.prototype.load = function () {
    var maxDefault = parseInt(this.root.getAttribute("data-max-default"), 10) || MAX_DEFAULT, data = this.store.index;
    this.experimentUrls = data.experiments || {};
    this.better = data.better || {};  // metric -> "min" or "max"
    this.rows = this.store.rows;  // metrics revived by the store: JSON has no NaN
    this.total = this.store.total;
    this.defaultSorted = null;
    var ids = {};
    this.rows.forEach(function (r) { ids[r.attributes.run_id] = r; });
    this.byId = ids;
    var experiments = {};
    this.rows.forEach(function (r) { experiments[r.attributes.experiment_id] = 1; });
    var several = typeof data.several === "boolean" ? data.several : Object.keys(experiments).length > 1;
    var c = data.columns;
    this.columns = baseColumns(several)  // metrics first: what runs are compared by
      .concat(entityColumns("metrics", c.metrics, function (k, i) { return i >= maxDefault; }))
      .concat(entityColumns("params", c.params, function (k, i) { return i >= maxDefault; }))
      .concat(entityColumns("tags", c.tags, function (k) { return k.indexOf("mlflow.") === 0; }));
    this.colById = {};
    var self = this;
    this.columns.forEach(function (col) { self.colById[col.id] = col; });
    this.children = {};
    this.tops = [];
    this.rows.forEach(function (r) {
      var p = r.attributes.parent_run_id;
      if (p && ids[p] && p !== r.attributes.run_id) (self.children[p] = self.children[p] || []).push(r);
      else self.tops.push(r);  // a run naming itself as parent is a top
    });
    this.rows.forEach(function (r) { if (r._text === undefined) r._text = self.searchText(r); });
  };

  /* New rows for a table on screen (more shards, or `reporter serve` after a rebuild): the search and filter
   * being typed, the sort, the chosen columns, the selection, the open tree nodes, the page and the focus stay. */
  Table.prototype.setData = function () {
    var self = this, before = this.columns.map(function (c) { return c.id; }).join("\n");
    this.load();
    var ids = this.byId;
    if (this.store.complete()) {
      this.state.sel = new Set(Array.from(this.state.sel).filter(function (id) { return ids[id]; }));
    }
    this.keepingFocus(function () {
      if (self.columns.map(function (c) { return c.id; }).join("\n") !== before) {
        self.drawChooser();
        if (G) G.drawChooser(self);
      }
      self.update();
    });
    if (this.downloadWhenLoaded && this.store.complete()) {
      this.downloadWhenLoaded = false;
      this.downloadShown();
    }
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
    return this.sortedRows().filter(function (r) {
      return (!q || r._text.indexOf(q) >= 0) && (!test || test.matches(r));
    });
  };

  /* Every loaded row in search_runs' default order (start_time DESC, then run_id), made once per load: each
   * row's view.rank is its place in that order (tables.py), so no sort is needed (the store's order is the
   * default order of the top-level runs, then that of the child runs). */
  Table.prototype.sortedRows = function () {
    if (this.defaultSorted) return this.defaultSorted;
    var placed = new Array(this.total), rows = this.rows;
    for (var i = 0; i < rows.length; i++) {
      var rank = rows[i].view && rows[i].view.rank;
      if (typeof rank !== "number" || !(rank >= 0 && rank < placed.length) || placed[rank]) {
        this.defaultSorted = F.sortRows(rows, []);  // no ranks, or not one per row: sorted here
        return this.defaultSorted;
      }
      placed[rank] = rows[i];
    }
    this.defaultSorted = placed.filter(Boolean);
    return this.defaultSorted;
  };

  /* The column's sort as search_runs' order_by would give it: one key, ties by start_time DESC, then run_id.
   * Every list it gets is in the default order already (a part of sortedRows or of the store's order), so
   * one stable sort by the column does it, and the default sort is no sort at all. */
  Table.prototype.sorter = function () {
    var parts = this.state.sort.split(":"), col = this.colById[parts[0]] || this.colById.start;
    var key = [{entity: col.order[0], key: col.order[1], ascending: parts[1] === "asc"}];
    if (this.state.sort === "start:desc") return function (rows) { return rows; };
    return function (rows) { return F.sortRows(rows, key, true); };
  };

  /* How many rows of the store's order the view needs: the first pages of the default view need only the
   * first shards (their top-level runs in the default order); anything else needs every run. */
  Table.prototype.needed = function () {
    var s = this.state, plain = !s.q.trim() && !s.filter.trim() && !this.grouped() && !s.open.size &&
      s.sort === "start:desc";
    var last = this.store.tops === null ? s.page : Math.ceil(this.store.tops / this.pageSize) - 1;  // #page=999
    return plain ? Math.min(s.page, Math.max(0, last)) * this.pageSize + this.pageSize : Infinity;
  };

  /* " · loading 1000 of 100000 runs…" while shards are still to come; "" when all are in. */
  Table.prototype.loadingText = function () {
    if (this.store.failed) return " · could not load " + this.store.failed;
    return this.store.complete() ? "" : " · loading " + this.rows.length + " of " + this.total + " runs…";
  };

  /* The rows in the order shown (every page), tree rows with their depth. */
  Table.prototype.shownList = function () {
    var self = this, sort = this.sorter(), matches = this.matching(), list = [];
    if (matches) {
      list = sort(matches).map(function (r) { return {row: r, depth: 0}; });
    } else {
      var open = this.state.open, seen = new Set();
      var walk = function (rows, depth) {
        sort(rows).forEach(function (r) {
          var id = r.attributes.run_id;
          list.push({row: r, depth: depth});
          if (!self.children[id] || !open.has(id) || seen.has(id)) return;
          seen.add(id);  // a cycle in parent ids must not hang the page
          walk(self.children[id], depth + 1);
        });
      };
      walk(this.tops, 0);
    }
    return {list: list, matches: matches};
  };

  Table.prototype.grouped = function () {
    var ids = this.colById;
    return G !== null && this.state.group.some(function (id) { return ids[id]; });
  };

  Table.prototype.update = function () {
    this.store.want(this.needed());
    if (G) G.showControls(this, this.grouped());
    if (this.grouped()) return this.updateGrouped();
    if (G) G.publish(this, null);
    var shown = this.shownList(), list = shown.list, matches = shown.matches, size = this.pageSize;
    // the default view, partly loaded: its pages are those of every top-level run (the index counts them)
    var partly = !matches && !this.store.complete() && this.store.tops !== null;
    var listed = partly ? Math.max(list.length, this.store.tops) : list.length;
    var pages = Math.max(1, Math.ceil(listed / size));
    this.state.page = Math.min(Math.max(0, this.state.page), pages - 1);
    var status = this.el("status");
    if (!status.classList.contains("error")) {
      status.textContent = (matches ? matches.length + " of " + this.rows.length + " runs match"
                                    : this.total + " runs") + this.loadingText();
    }
    this.draw(list.slice(this.state.page * size, (this.state.page + 1) * size), !matches);
    this.drawPager(pages, listed);
    this.finishUpdate();
  };

  /* One row per group of the matching runs (all of them when nothing filters): groups.js draws it. */
  Table.prototype.updateGrouped = function () {
    var matches = this.matching(), status = this.el("status");
    var text = G.update(this, matches || this.rows, matches !== null);
    if (!status.classList.contains("error")) status.textContent = text + this.loadingText();
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

  /* A table for every runs table of the page, all on the page's one store. window.FLOWSHEET_RUNS loaded
   * again (`reporter serve`): the store takes the new index and tells the tables (refresh). */
  function mount() {
    var store = window.FlowsheetShards.current();
    if (!store) return;
    document.querySelectorAll("[data-runs-table]").forEach(function (el) {
      if (!el._table) el._table = new Table(el, store);
    });
  }
  var refresh = mount;
  D.install(Table);
  window.FlowsheetTable = {mount: mount, refresh: refresh, Table: Table};
  // The pages load this after their tables: drawn now, before the chart library after it has loaded; any
  // table further down the page is mounted once the page is parsed.
  mount();
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", mount);
})();
