/* The compare page (a placeholder until the charts issue): lists the runs named in ?runs=id1,id2. */
(function () {
  "use strict";
  var data = window.FLOWSHEET_RUNS || {rows: []};
  var byId = {};
  data.rows.forEach(function (r) { byId[r.attributes.run_id] = r; });
  var ids = (new URLSearchParams(location.search).get("runs") || "").split(",").filter(Boolean);
  var list = document.getElementById("compare-runs"), status = document.getElementById("compare-status");
  var found = 0;
  ids.forEach(function (id) {
    var li = document.createElement("li"), r = byId[id];
    if (r) {
      var a = document.createElement("a");
      a.href = r.view.url;
      a.textContent = r.attributes.run_name || id;
      li.appendChild(a);
      li.appendChild(document.createTextNode(" · " + r.view.experiment + " · " + r.attributes.status));
      found += 1;
    } else {
      li.textContent = id + " (not in this site)";
    }
    list.appendChild(li);
  });
  if (ids.length) status.textContent = "Comparing " + found + " run" + (found === 1 ? "" : "s") + ".";
})();
