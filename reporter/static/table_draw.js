/* flowsheet runs table, drawn: the header with its sort buttons, one page of rows, the pager, and the CSV of
 * the shown rows. Loaded before table.js, which installs these on its Table (FlowsheetTableDraw.install).
 * Every value from the logs goes into the page with textContent, never as HTML. */
(function () {
  "use strict";
  var F = window.FlowsheetFilter;

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

  function install(Table) {
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
            if (tree && (self.children[id] || r.view.children)) {  // children in a shard not loaded yet: still a toggle
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

    /* Previous and next buttons around "Rows 1–100 of N" (or what `noun` names: "Groups"). */
    Table.prototype.drawPager = function (pages, total, noun) {
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
      info.textContent = (noun || "Rows") + " " + first + "–" + Math.min(total, first + this.pageSize - 1) + " of " + total;
      pager.appendChild(info);
      button("Next ›", this.state.page + 1, this.state.page >= pages - 1);
    };

    /* What the table shows, as CSV: every matching row in its order (all pages, all shards), the visible columns; text a
     * spreadsheet would run as a formula gets a leading apostrophe, as in runs.csv (tables.py csv_cell). */
    Table.prototype.downloadShown = function () {
      if (!this.store.complete()) {  // every shown row is in the file: saved once every shard is in (setData)
        this.downloadWhenLoaded = true;
        this.store.want(Infinity);
        this.update();
        return;
      }
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
  }

  window.FlowsheetTableDraw = {install: install, fmtTime: fmtTime, fmtDuration: fmtDuration, fmtValue: fmtValue};
})();
