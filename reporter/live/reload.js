/* `reporter serve` adds this script to every page it serves (never to the files it writes).
 *
 * The server says over an event stream which site files each rebuild changed. A flowsheet page is then
 * updated in place, so that nothing the reader is doing is lost (text being typed and its caret, focus,
 * an open Columns menu, sort, selection, chart settings such as log y, scroll):
 *   - a data script it loads (runs-data.js, compare-data.js) is loaded again and the runs table, the compare
 *     view and the charts take the new data (FlowsheetTable / FlowsheetCompare / FlowsheetCharts .refresh);
 *   - its own HTML is fetched and the changed parts of <main>, the header and the footer are patched, leaving
 *     alone what the page's scripts draw (runs tables, charts, chart controls); chart specs update the charts.
 * Anything else it uses (a stylesheet or script of the site), or a page that is not a flowsheet page, means
 * a real reload: put off while the reader types, presses or has a menu open, keeping the scroll position.
 * A failed rebuild shows a banner until one succeeds.
 */
(function () {
  "use strict";
  var SCROLL_KEY = "flowsheet-serve-scroll";
  var IDLE_AFTER_MS = 1500;   // a reload waits this long after the last key press or pointer press
  var LIVE = "[data-runs-table], .fs-chart, .fs-chart-controls";  // drawn by the page's scripts: not patched

  var serve = {source: null, updates: 0, reloadPending: false};
  window.flowsheetServe = serve;  // for tests and curious users: source.readyState 1 = listening

  // ------------------------------------------------------------------ scroll kept across real reloads
  try {
    var saved = JSON.parse(sessionStorage.getItem(SCROLL_KEY) || "null");
    sessionStorage.removeItem(SCROLL_KEY);
    if (saved && saved.url === location.href) {
      var restore = function () { window.scrollTo(saved.x, saved.y); };
      restore();
      // Charts and tables render after load and change the height: restore again once they are in.
      window.addEventListener("load", function () { restore(); setTimeout(restore, 250); });
    }
  } catch (e) { /* storage disabled: reload without keeping the position */ }

  function pathOf(url) {
    var u = new URL(url, location.href);
    if (u.origin !== location.origin) return null;
    var p = decodeURIComponent(u.pathname);
    return p.endsWith("/") ? p + "index.html" : p;
  }

  /* What the page uses, by site path: its own HTML, data scripts, and other files (styles, code, images). */
  function uses() {
    var found = {page: pathOf(location.href), data: {}, images: {}, other: {}};
    document.querySelectorAll("script[src], link[rel~=stylesheet][href], img[src], iframe[src]").forEach(function (el) {
      if (el.hasAttribute("data-fs-reloaded")) return;
      var path = pathOf(el.getAttribute("src") || el.getAttribute("href"));
      if (!path) return;
      if (el.tagName === "SCRIPT" && /-data\.js$/.test(path)) (found.data[path] = found.data[path] || []).push(el);
      else if (el.tagName === "IMG") (found.images[path] = found.images[path] || []).push(el);
      else found.other[path] = true;
    });
    return found;
  }

  function isFlowsheetPage() {
    var generator = document.querySelector('meta[name="generator"]');
    return !!(generator && generator.content === "flowsheet" && document.querySelector("main"));
  }

  // ------------------------------------------------------------------ what to do with a rebuild's paths
  var pending = {};
  var running = false;

  function changed(paths) {
    paths.forEach(function (p) { pending["/" + p] = true; });
    if (!running) next();
  }

  /* One update at a time; paths that arrive meanwhile make the next one. */
  function next() {
    var paths = pending;
    pending = {};
    if (!Object.keys(paths).length) { running = false; return; }
    running = true;
    var mine = uses();
    var data = Object.keys(mine.data).filter(function (p) { return paths[p]; });
    var own = !!paths[mine.page];
    var other = Object.keys(mine.other).some(function (p) { return paths[p]; });
    Object.keys(mine.images).forEach(function (p) { if (paths[p]) mine.images[p].forEach(freshImage); });
    if (other || ((own || data.length) && !isFlowsheetPage())) {
      reloadWhenIdle();
      running = false;
      return;
    }
    if (!own && !data.length) { running = false; return; }
    update(own, data.map(function (p) { return mine.data[p][0]; })).then(function (result) {
      if (result === "reload") reloadWhenIdle();
      else if (result === "updated") { serve.updates += 1; document.dispatchEvent(new Event("flowsheet:updated")); }
    }, function (err) {
      console.error("flowsheet serve: could not update the page in place:", err);
    }).then(next);
  }

  /* Everything is fetched first; then the page is changed in one go (no half-updated frame). */
  function update(own, dataScripts) {
    var html = own ? fetch(location.href.split("#")[0], {cache: "no-store", credentials: "same-origin"})
      .then(function (r) { return r.ok ? r.text() : null; }) : Promise.resolve(null);
    return Promise.all([html].concat(dataScripts.map(loadAgain))).then(function (results) {
      var text = results[0];
      if (own && text === null) return "skipped";  // the page is gone (a full rebuild will say more)
      if (text !== null) {
        var doc = new DOMParser().parseFromString(text, "text/html");
        if (scriptsOf(doc) !== scriptsOf(document)) return "reload";  // e.g. a first run brings the table's code
        patchDocument(doc);
      }
      refreshWidgets(dataScripts.length > 0);
      return "updated";
    });
  }

  /* A data script loaded again: a new <script> sets the same global (FLOWSHEET_RUNS, ...) and goes away. */
  var loads = 0;
  function loadAgain(old) {
    return new Promise(function (resolve, reject) {
      var s = document.createElement("script");
      var url = new URL(old.getAttribute("src"), location.href);
      url.searchParams.set("fs-update", String(++loads));
      s.src = url.href;
      s.setAttribute("data-fs-reloaded", "");
      s.onload = function () { s.remove(); resolve(null); };
      s.onerror = function () { s.remove(); reject(new Error("could not load " + url.pathname)); };
      document.head.appendChild(s);
    });
  }

  function freshImage(img) {
    var url = new URL(img.getAttribute("src"), location.href);
    url.searchParams.set("fs-update", String(++loads));
    img.src = url.href;
  }

  function scriptsOf(doc) {
    return Array.from(doc.querySelectorAll("script[src]")).map(function (s) { return pathOf(s.getAttribute("src")); })
      .filter(function (p) { return p && p.indexOf("/__flowsheet__/") !== 0; }).sort().join("\n");
  }

  function refreshWidgets(newData) {
    if (newData && window.FlowsheetTable && window.FlowsheetTable.refresh) window.FlowsheetTable.refresh();
    if (newData && window.FlowsheetCompare) window.FlowsheetCompare.refresh();
    if (window.FlowsheetCharts && window.FlowsheetCharts.refresh) window.FlowsheetCharts.refresh();
  }

  // ------------------------------------------------------------------ patching the page from its new HTML
  function patchDocument(doc) {
    if (doc.title !== document.title) document.title = doc.title;
    // The compare view is drawn entirely by compare.js from its data: only the frame around it is patched.
    var parts = window.FlowsheetCompare ? [".site-header", ".site-footer"] : [".site-header", "main", ".site-footer"];
    parts.forEach(function (selector) {
      var old = document.querySelector(selector), neu = doc.querySelector(selector);
      if (old && neu && old.tagName === neu.tagName) morph(old, neu);
    });
  }

  /* Elements matched by key rather than by position: a live part never takes the place of another element. */
  function keyOf(node) {
    if (node.nodeType !== 1) return null;
    if (node.classList.contains("fs-chart")) return "chart:" + node.getAttribute("data-spec-id");
    if (node.classList.contains("fs-chart-controls")) return "chart-controls";
    if (node.hasAttribute("data-runs-table")) return "runs-table:" + node.id;
    return node.id ? "id:" + node.id : null;
  }

  function sameKind(a, b) {
    return a.nodeType === b.nodeType && a.nodeName === b.nodeName && keyOf(a) === keyOf(b);
  }

  /* Make `old` look like `neu`, changing only what differs, so elements (and their state) stay. */
  function morph(old, neu) {
    if (old.nodeType !== 1) {
      if (old.nodeValue !== neu.nodeValue) old.nodeValue = neu.nodeValue;
      return;
    }
    if (old.matches(LIVE)) {
      // Its content is the page scripts' own; its data attributes (e.g. a chart's title) follow the page.
      syncAttributes(old, neu, function (name) { return name.indexOf("data-") === 0; });
      return;
    }
    if (old.isEqualNode(neu)) return;
    // A <details> stays open or closed as the reader left it.
    syncAttributes(old, neu, function (name) { return !(name === "open" && old.tagName === "DETAILS"); });
    morphChildren(old, neu);
  }

  function syncAttributes(old, neu, allowed) {
    Array.from(old.attributes).forEach(function (a) {
      if (!neu.hasAttribute(a.name) && allowed(a.name)) old.removeAttribute(a.name);
    });
    Array.from(neu.attributes).forEach(function (a) {
      if (old.getAttribute(a.name) !== a.value && allowed(a.name)) old.setAttribute(a.name, a.value);
    });
  }

  function morphChildren(oldParent, newParent) {
    var keyed = {};
    Array.from(oldParent.childNodes).forEach(function (n) { var k = keyOf(n); if (k) keyed[k] = n; });
    var cursor = oldParent.firstChild;
    Array.from(newParent.childNodes).forEach(function (neu) {
      var key = keyOf(neu), match = null;
      if (key) match = keyed[key] && keyed[key].nodeName === neu.nodeName ? keyed[key] : null;
      else if (cursor && sameKind(cursor, neu)) match = cursor;
      if (!match) {
        // Parsed by DOMParser, a <script> never runs, here or once imported.
        oldParent.insertBefore(document.importNode(neu, true), cursor);
        return;
      }
      if (key) delete keyed[key];
      if (match === cursor) cursor = cursor.nextSibling; else oldParent.insertBefore(match, cursor);
      morph(match, neu);
    });
    while (cursor) {
      var after = cursor.nextSibling;
      oldParent.removeChild(cursor);
      cursor = after;
    }
  }

  // ------------------------------------------------------------------ a real reload, when the reader is idle
  var lastInput = 0, pointerDown = false, reloadTimer = null;
  document.addEventListener("keydown", function () { lastInput = Date.now(); }, true);
  document.addEventListener("pointerdown", function () { pointerDown = true; lastInput = Date.now(); }, true);
  document.addEventListener("pointerup", function () { pointerDown = false; lastInput = Date.now(); }, true);

  function busy() {
    var a = document.activeElement;
    var typing = a && (a.isContentEditable || a.tagName === "TEXTAREA" || a.tagName === "SELECT" ||
      (a.tagName === "INPUT" && !/^(checkbox|radio|button|submit|reset|range|color|file)$/.test(a.type)));
    var menuOpen = !!document.querySelector(".column-chooser[open]");
    return typing || menuOpen || pointerDown || Date.now() - lastInput < IDLE_AFTER_MS;
  }

  function reloadWhenIdle() {
    if (reloadTimer !== null) return;
    serve.reloadPending = true;
    var attempt = function () {
      if (busy()) { reloadTimer = setTimeout(attempt, 500); return; }
      try {
        sessionStorage.setItem(SCROLL_KEY, JSON.stringify({url: location.href, x: window.scrollX, y: window.scrollY}));
      } catch (e) {}
      location.reload();
    };
    reloadTimer = setTimeout(attempt, 0);
  }

  // ------------------------------------------------------------------ a failed rebuild
  var BANNER = "flowsheet-serve-error";
  function showError(message) {
    var box = document.getElementById(BANNER);
    if (!box) {
      box = document.createElement("div");
      box.id = BANNER;
      box.setAttribute("role", "alert");
      box.style.cssText = "position:fixed;left:0;right:0;bottom:0;z-index:2147483647;padding:.75em 1em;" +
        "background:#b00020;color:#fff;font:14px/1.4 system-ui,sans-serif;white-space:pre-wrap";
      document.body.appendChild(box);
    }
    box.textContent = "Rebuild failed, showing the last good version: " + message;
  }
  function clearError() {
    var box = document.getElementById(BANNER);
    if (box) box.remove();
  }

  var source = new EventSource("/__flowsheet__/events");
  serve.source = source;
  source.addEventListener("reload", function (e) { changed(JSON.parse(e.data).paths || []); });
  source.addEventListener("build-error", function (e) { showError(JSON.parse(e.data).message); });
  source.addEventListener("build-ok", clearError);
  window.addEventListener("pagehide", function () { source.close(); });
})();
