/* flowsheet runs table data, loaded in shards as the view needs them (reporter/site/tables.py runs_data_files).
 *
 * The page loads runs-data.js with <script src>: it sets window.FLOWSHEET_RUNS to the first shard's rows and
 * the index (columns, `total` runs, `tops` top-level runs, and `shards`: [{src, rows, v}]). The rows come in
 * the order of the table's first view, so the first pages need only the first shards. Any other shard is
 * loaded here with a <script> element too (file:// forbids fetch): it calls
 * window.FLOWSHEET_RUNS_SHARD(number, v, rows), and rows whose `v` is not the index's (a file from an older
 * build) are ignored. `reporter serve` loads runs-data.js again after a rebuild; `reset` then keeps the
 * shards whose `v` is unchanged and loads the rest again, showing the old rows until the new ones are in.
 * One store per page: every runs table on it reads the same runs. */
(function () {
  "use strict";
  var F = window.FlowsheetFilter;
  var NOTIFY_EVERY_MS = 100;  // while many shards arrive, tables redraw at most this often

  function Store(data) {
    this.listeners = [];
    this.wanted = 0;  // rows asked for so far (Infinity: all)
    this.loads = 0;   // shard scripts added to the page, for tests and the benchmark
    this.failed = null;
    this.timer = null;
    this.parts = [];
    this.reset(data);
  }

  /* A new index (the first load, or runs-data.js loaded again): shards with the same src and v are kept. */
  Store.prototype.reset = function (data) {
    var kept = {}, self = this;
    (this.shards || []).forEach(function (s, k) { if (self.parts[k + 1]) kept[s.src + "\n" + s.v] = self.parts[k + 1]; });
    this.index = data;
    this.shards = data.shards || [];
    this.total = typeof data.total === "number" ? data.total : data.rows.length;
    this.tops = typeof data.tops === "number" ? data.tops : null;
    this.parts = [data.rows.map(F.reviveRow)].concat(this.shards.map(function (s) {
      return kept[s.src + "\n" + s.v] || null;
    }));
    this.pending = {};
    this.failed = null;
    var before = this.rows ? this.rows.length : 0;
    this.ready = this.prefixRows();
    if (!this.rows || this.ready.length >= Math.min(before, this.total)) this.rows = this.ready;
    this.want(Math.max(this.wanted, before));
  };

  /* The rows of the loaded shards that follow each other from the first. */
  Store.prototype.prefixRows = function () {
    var rows = [];
    for (var k = 0; k < this.parts.length && this.parts[k]; k++) {
      var part = this.parts[k];
      for (var i = 0; i < part.length; i++) rows.push(part[i]);
    }
    return rows;
  };

  Store.prototype.complete = function () { return this.rows.length === this.total && this.ready === this.rows; };

  /* Load the shards that hold the first `count` rows (Infinity: every row). */
  Store.prototype.want = function (count) {
    if (count > this.wanted) this.wanted = count;
    var before = this.parts[0].length;
    for (var k = 1; k < this.parts.length && before < this.wanted; k++) {
      if (!this.parts[k] && !this.pending[k]) this.load(k);
      before += this.shards[k - 1].rows;
    }
  };

  Store.prototype.load = function (number) {
    var self = this, shard = this.shards[number - 1], script = document.createElement("script");
    this.pending[number] = true;
    this.loads += 1;
    script.src = shard.src + "?v=" + encodeURIComponent(shard.v);  // a new version is never taken from a cache
    // not one for `reporter serve`'s reload.js to load again (or to reload the page for): the index is
    script.setAttribute("data-fs-reloaded", "");
    function failed() {
      if (self.shards[number - 1] !== shard) return;  // an index came since: this load no longer matters
      // not asked for again until a new index comes (`reset`): the redraw this causes would ask at once
      self.pending[number] = "failed";
      self.failed = shard.src;
      self.notify(true);
    }
    script.onload = function () {
      script.remove();
      // It ran but handed over no rows of this version (a site published again while this page was open):
      // say so rather than wait for them forever.
      if (!self.parts[number]) failed();
    };
    script.onerror = function () { script.remove(); failed(); };
    document.head.appendChild(script);
  };

  /* A shard's script ran: its rows, if they are the version the index names. */
  Store.prototype.receive = function (number, version, rows) {
    var shard = this.shards[number - 1];
    if (!shard || shard.v !== version || this.parts[number] || !Array.isArray(rows)) return;
    delete this.pending[number];
    this.parts[number] = rows.map(F.reviveRow);
    var ready = this.prefixRows();
    if (ready.length === this.ready.length) return;
    this.ready = ready;
    if (ready.length >= Math.min(this.rows.length, this.total) || ready.length >= this.wanted) this.rows = ready;
    this.notify(ready.length === this.total);
  };

  /* Tell the tables, at once when everything is in, else at most every NOTIFY_EVERY_MS. */
  Store.prototype.notify = function (now) {
    var self = this;
    var run = function () { self.timer = null; self.listeners.forEach(function (listener) { listener(); }); };
    if (now) { clearTimeout(this.timer); run(); return; }
    if (this.timer === null) this.timer = setTimeout(run, NOTIFY_EVERY_MS);
  };

  Store.prototype.listen = function (listener) { this.listeners.push(listener); };

  var store = null;
  /* The page's store: made from window.FLOWSHEET_RUNS, and told again when that was loaded anew. */
  function current() {
    var data = window.FLOWSHEET_RUNS;
    if (!data || !Array.isArray(data.rows)) return null;
    if (!store) store = new Store(data);
    else if (store.index !== data) { store.reset(data); store.notify(true); }
    return store;
  }

  window.FLOWSHEET_RUNS_SHARD = function (number, version, rows) { if (store) store.receive(number, version, rows); };
  window.FlowsheetShards = {current: current, Store: Store};
})();
