// flinktune bench --report: each scenario's policies on shared time axes. The data is inlined
// in the page (#report-data), so the file works from disk, offline.
"use strict";

(function () {
  var scenarios = JSON.parse(document.getElementById("report-data").textContent);
  var charts = [];
  var report = window.__report = { charts: {}, markers: 0,
    redraw: function () { charts.forEach(function (u) { u.redraw(false, false); }); } };
  var policyColors = ["#d62728", "#1f77b4", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b"];

  function sumParallelism(p) {
    var ids = Object.keys(p.series.vertices);
    return p.series.t.map(function (_, i) {
      var s = null;
      ids.forEach(function (id) {
        var v = p.series.vertices[id].parallelism[i];
        if (v != null) s = (s || 0) + v;
      });
      return s;
    });
  }

  // joined aligns each policy's [t, y] on one time axis.
  function joined(tables) {
    return uPlot.join(tables);
  }

  function addChart(holder, key, spec, data) {
    var div = document.createElement("div");
    div.className = "chart";
    div.dataset.chart = key;
    holder.appendChild(div);
    spec.series.forEach(function (s) { s.spanGaps = true; });
    var u = FT.chart(div, spec, data);
    charts.push(u);
    report.charts[key] = FT.drawn(u);
  }

  function renderJob(holder, sc, si, job, ji) {
    var sec = document.createElement("div");
    sec.className = "job";
    sec.innerHTML = "<h2>Job " + FT.esc(job.name || job.id) + "</h2>";
    holder.appendChild(sec);
    var grid = document.createElement("div");
    grid.className = "charts";
    sec.appendChild(grid);
    var markers = [];
    job.policies.forEach(function (p, pi) {
      p.markers.forEach(function (m) {
        markers.push(Object.assign({ policy: p.policy, color: policyColors[pi % policyColors.length] }, m));
      });
    });
    markers.sort(function (a, b) { return a.t - b.t; });
    report.markers += markers.length;
    var getMarkers = function () { return markers; };
    var key = "s" + si + "j" + ji + "-";
    var sync = "r" + si + "-" + ji;
    var ps = job.policies;
    var series = function (suffix) {
      return ps.map(function (p, pi) { return { label: p.policy + (suffix || ""), color: policyColors[pi % policyColors.length] }; });
    };

    var par = series();
    par.forEach(function (s) { s.stepped = true; });
    addChart(grid, key + "parallelism", { title: "Parallelism (sum over vertices)", series: par, markers: getMarkers, sync: sync },
      joined(ps.map(function (p) { return [p.series.t, sumParallelism(p)]; })));

    var lag = series();
    var lagData = joined(ps.map(function (p) { return [p.truth.t, p.truth.lagSeconds]; }));
    if (sc.sloLagSeconds) {
      lag.push({ label: "SLO max lag", color: "#000", dash: [8, 4] });
      lagData.push(lagData[0].map(function () { return sc.sloLagSeconds; }));
    }
    addChart(grid, key + "lag", { title: "Lag (s, the simulator's, worst per bucket) vs SLO", series: lag, markers: getMarkers, sync: sync }, lagData);

    var slots = series();
    slots.forEach(function (s) { s.stepped = true; });
    addChart(grid, key + "slots", { title: "Slots held (resources)", series: slots, markers: getMarkers, sync: sync },
      joined(ps.map(function (p) { return [p.truth.t, p.truth.slots]; })));

    var tms = series();
    tms.forEach(function (s) { s.stepped = true; });
    addChart(grid, key + "taskmanagers", { title: "TaskManagers", series: tms, markers: getMarkers, sync: sync },
      joined(ps.map(function (p) { return [p.series.t, p.series.taskManagers]; })));

    ps.forEach(function (p, pi) {
      var vs = p.vertices.map(function (v, i) { return { label: v.name || v.id, color: FT.color(i), stepped: true }; });
      var data = [p.series.t].concat(p.vertices.map(function (v) { return (p.series.vertices[v.id] || {}).parallelism || []; }));
      var own = markers.filter(function (m) { return m.policy === p.policy; });
      addChart(grid, key + "vertices-" + p.policy, { title: "Parallelism per vertex: " + p.policy, series: vs,
        markers: function () { return own; }, sync: sync }, data);
    });

    var rows = markers.map(function (m) {
      var change = [];
      if (m.from && m.to) Object.keys(m.to).sort().forEach(function (id) {
        if (m.from[id] !== m.to[id]) change.push(FT.esc(id.slice(0, 8)) + " " + m.from[id] + " → " + m.to[id]);
      });
      if (m.config) Object.keys(m.config).sort().forEach(function (k) { change.push(FT.esc(k) + " = " + FT.esc(m.config[k])); });
      return '<tr class="marker" data-kind="' + FT.esc(m.kind) + '"><td>' + FT.fmtTime(m.t) + '</td><td><span class="kind" style="border-left:4px solid ' +
        m.color + ';padding-left:6px">' + FT.esc(m.policy) + "</span></td><td>" + FT.esc(m.kind) + "</td><td>" + change.join(", ") +
        '</td><td class="reason">' + FT.esc(m.reason) + "</td></tr>";
    }).join("");
    var t = document.createElement("div");
    t.className = "card";
    t.innerHTML = "<h2>Decisions and restarts</h2>" + (rows ?
      '<table class="small"><thead><tr><th>time</th><th>policy</th><th>kind</th><th>change</th><th>reason</th></tr></thead><tbody>' + rows + "</tbody></table>" :
      '<p class="muted">none</p>');
    sec.appendChild(t);
  }

  scenarios.forEach(function (sc, si) {
    var holder = document.querySelector('[data-scenario="' + si + '"] .jobs');
    sc.jobs.forEach(function (job, ji) { renderJob(holder, sc, si, job, ji); });
  });
  window.addEventListener("resize", function () { FT.resizeAll(charts); });
  report.done = true;
})();
