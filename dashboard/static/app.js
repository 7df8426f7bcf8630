// flinktune dashboard: the job list and each job's time series, markers and decisions, read
// from the read-only JSON API (/api/v1/jobs, /api/v1/job). No cookies, no storage: the view
// and the window live in the URL's fragment.
"use strict";

(function () {
  var REFRESH_MS = 3000;
  var main = document.getElementById("main");
  var winSel = document.getElementById("window");
  var filter = document.getElementById("filter");
  var live = document.getElementById("live");
  var state = { route: null, charts: [], vertexKey: "", timer: null, inflight: false };
  // What the page shows, for tests and scripts: charts' drawn values, markers, timings.
  var dash = window.__dash = { view: "", charts: {}, markers: 0, renders: 0, firstRenderMs: null,
    redraw: function () { state.charts.forEach(function (u) { u.redraw(false, false); }); } };

  function params() {
    var h = location.hash.replace(/^#/, "");
    var out = {};
    h.split("&").forEach(function (kv) {
      if (!kv) return;
      var i = kv.indexOf("=");
      var k = i < 0 ? kv : kv.slice(0, i);
      out[decodeURIComponent(k)] = i < 0 ? "" : decodeURIComponent(kv.slice(i + 1));
    });
    return out;
  }

  function jobHref(cluster, id) {
    var p = params();
    var w = p.w ? "&w=" + encodeURIComponent(p.w) : "";
    return "#job=" + encodeURIComponent(id) + "&cluster=" + encodeURIComponent(cluster) + w;
  }

  function getJSON(url) {
    return fetch(url, { credentials: "omit", cache: "no-store" }).then(function (r) {
      if (!r.ok) return r.text().then(function (t) { throw new Error(r.status + ": " + t.trim()); });
      return r.json();
    });
  }

  function setLive(ok, msg) {
    live.className = ok ? "ok" : "bad";
    live.textContent = ok ? "live" : "offline";
    live.title = msg || "the page refreshes every " + REFRESH_MS / 1000 + " s";
  }

  function badge(s) {
    return '<span class="state" data-state="' + FT.esc(s) + '">' + FT.esc(s) + "</span>";
  }

  // ---- job list ----

  function matches(j, q) {
    if (!q) return true;
    return [j.name, j.jobId, j.cluster, j.state, j.reason, j.policy].some(function (f) {
      return String(f || "").toLowerCase().indexOf(q) >= 0;
    });
  }

  function renderList(list) {
    state.list = list;
    var q = filter.value.trim().toLowerCase();
    var shown = list.jobs.filter(function (j) { return matches(j, q); });
    var counts = {};
    list.jobs.forEach(function (j) { counts[j.state] = (counts[j.state] || 0) + 1; });
    var h = '<section class="summary">';
    h += "<div><b>" + list.jobs.length + "</b> jobs on <b>" + list.clusters.length + "</b> cluster" + (list.clusters.length === 1 ? "" : "s") + "</div>";
    Object.keys(counts).sort().forEach(function (s) { h += "<div>" + badge(s) + " " + counts[s] + "</div>"; });
    h += '<div class="muted">history kept: ' + list.points + " samples per job</div>";
    if (q) h += "<div><b>" + shown.length + "</b> match “" + FT.esc(q) + "”</div>";
    h += "</section>";
    if (list.clusters.length > 1) {
      h += '<section class="summary clusters">';
      list.clusters.forEach(function (c) {
        var js = list.jobs.filter(function (j) { return j.cluster === c; });
        var failing = js.filter(function (j) { return j.state === "failing"; }).length;
        h += '<div class="cluster">' + FT.esc(c) + ": <b>" + js.length + "</b> jobs" + (failing ? ", " + badge("failing") + " " + failing : "") + "</div>";
      });
      h += "</section>";
    }
    h += '<table class="jobs"><thead><tr><th>cluster</th><th>job</th><th>policy</th><th>state</th><th>why</th>' +
      '<th class="num">parallelism</th><th class="num">TMs</th><th class="num">markers</th></tr></thead><tbody>';
    shown.forEach(function (j) {
      h += '<tr class="job"><td class="muted">' + FT.esc(j.cluster) + '</td><td><a href="' + jobHref(j.cluster, j.jobId) + '">' +
        FT.esc(j.name || j.jobId) + '</a><div class="muted small">' + FT.esc(j.jobId) + "</div></td><td>" + FT.esc(j.policy) +
        "</td><td>" + badge(j.state) + '</td><td class="reason">' + FT.esc(j.reason) + '</td><td class="num">' +
        (j.parallelism || "–") + '</td><td class="num">' + (j.taskManagers || "–") + '</td><td class="num">' + j.markers + "</td></tr>";
    });
    h += "</tbody></table>";
    if (!list.jobs.length) h += '<p class="muted">No job yet: flinktune lists the jobs of its clusters on its first cycle.</p>';
    if (list.storeError) h = '<p class="error">stored jobs unavailable: ' + FT.esc(list.storeError) + "</p>" + h;
    main.innerHTML = h;
    document.getElementById("crumb").textContent = "";
    dash.view = "list";
    dash.jobs = list.jobs.length;
    rendered();
  }

  // ---- job page ----

  function col(detail, f) {
    return detail.series.t.map(function (_, i) { return f(i); });
  }

  function optionNum(detail, key) {
    var v = detail.options && detail.options[key];
    return v == null ? null : parseFloat(v);
  }

  // chartSpecs lists the job page's charts, each with its series and data.
  function chartSpecs(d) {
    var vs = d.vertices, S = d.series, t = S.t;
    var markers = function () { return state.markers; };
    var specs = [];
    var par = [], busy = [], rate = [];
    vs.forEach(function (v, i) {
      var c = S.vertices[v.id] || {};
      var name = shortName(v);
      par.push({ s: { label: name, color: FT.color(i), stepped: true, fmt: function (x) { return x == null ? "–" : String(x); } }, d: c.parallelism });
      busy.push({ s: { label: name, color: FT.color(i) }, d: c.busy });
      rate.push({ s: { label: name + " true rate", color: FT.color(i) }, d: c.trueProcessingRate });
      rate.push({ s: { label: name + " target", color: FT.color(i), dash: [6, 4] }, d: c.targetRate });
    });
    specs.push({ name: "parallelism", title: "Parallelism per vertex", items: par });
    var target = optionNum(d, "job.autoscaler.utilization.target");
    if (target != null) busy.push({ s: { label: "utilization target", color: "#999", dash: [2, 4] }, d: col(d, function () { return target; }) });
    specs.push({ name: "busy", title: "Busy ratio (load) per vertex", items: busy });
    specs.push({ name: "rates", title: "True processing rate vs target rate (records/s)", items: rate });
    var lag = [{ s: { label: "lag (s)", color: "#d62728" }, d: S.lagSeconds }];
    if (d.lagMaxSeconds) lag.push({ s: { label: "SLO (flinktune.lag.max)", color: "#000", dash: [8, 4] }, d: col(d, function () { return d.lagMaxSeconds; }) });
    lag.push({ s: { label: "backlog (records)", color: "#ff7f0e", scale: "y2" }, d: S.backlog });
    specs.push({ name: "lag", title: "Source lag vs SLO, and backlog", items: lag, scales: { y2: {} } });
    specs.push({ name: "taskmanagers", title: "TaskManagers and slots", items: [
      { s: { label: "TaskManagers", color: "#2ca02c", stepped: true }, d: S.taskManagers },
      { s: { label: "slots", color: "#7f7f7f", stepped: true, dash: [4, 3] }, d: S.slots }] });
    specs.push({ name: "memory", title: "TaskManager memory (largest TM): used vs configured", yfmt: FT.fmtBytes, items: [
      { s: { label: "heap used", color: "#1f77b4" }, d: S.heapUsed },
      { s: { label: "heap max", color: "#1f77b4", dash: [6, 4] }, d: S.heapMax },
      { s: { label: "managed used", color: "#9467bd" }, d: S.managedUsed },
      { s: { label: "managed total", color: "#9467bd", dash: [6, 4] }, d: S.managedTotal },
      { s: { label: "metaspace used", color: "#8c564b" }, d: S.metaspaceUsed }] });
    specs.forEach(function (sp) {
      sp.data = [t].concat(sp.items.map(function (it) { return it.d || t.map(function () { return null; }); }));
      sp.series = sp.items.map(function (it) { return it.s; });
      sp.markers = markers;
      sp.sync = "job";
    });
    return specs;
  }

  function shortName(v) {
    var n = v.name || v.id;
    return n.length > 28 ? n.slice(0, 27) + "…" : n;
  }

  function describeMarker(m) {
    var parts = [];
    if (m.from && m.to) {
      Object.keys(m.to).sort().forEach(function (id) {
        if (m.from[id] !== m.to[id]) parts.push(FT.esc(id.slice(0, 8)) + " " + m.from[id] + " → " + m.to[id]);
      });
    }
    if (m.config) Object.keys(m.config).sort().forEach(function (k) { parts.push(FT.esc(k) + " = " + FT.esc(m.config[k])); });
    var nums = m.numbers ? Object.keys(m.numbers).sort().map(function (k) { return FT.esc(k) + " " + FT.fmtNum(m.numbers[k]); }) : [];
    return { change: parts.join(", "), numbers: nums.join(" · ") };
  }

  function renderJobStatic(d) {
    var h = '<section class="jobhead"><h1>' + FT.esc(d.name || d.jobId) + "</h1>" +
      '<div class="muted">' + FT.esc(d.cluster) + " · " + FT.esc(d.jobId) + " · policy " + FT.esc(d.policy) +
      ' · status <span id="status"></span></div>' +
      '<div class="why"><span id="jobstate"></span> <span id="jobreason" class="reason"></span></div>' +
      '<div id="lasteval" class="card"></div></section>';
    h += '<section id="charts" class="charts"></section>';
    h += '<section class="card"><h2>Markers: rescales, memory changes, rollbacks, restarts</h2><ol id="markers" class="markers"></ol></section>';
    h += '<section class="card"><h2>Decisions (stored history)</h2><table class="small"><thead><tr><th>time</th><th>action</th><th>change</th><th>reason</th></tr></thead><tbody id="history"></tbody></table></section>';
    h += '<section class="card"><h2>Events</h2><table class="small"><thead><tr><th>time</th><th>type</th><th>reason</th><th>message</th></tr></thead><tbody id="events"></tbody></table></section>';
    h += '<section class="cols"><div class="card"><h2>Options in force</h2><table class="small kv" id="options"></table></div>' +
      '<div class="card"><h2>Memory configuration</h2><table class="small kv" id="memcfg"></table></div></section>';
    main.innerHTML = h;
    document.getElementById("crumb").innerHTML = '› <a href="#">jobs</a> › ' + FT.esc(d.name || d.jobId);
  }

  function kvRows(obj) {
    var keys = Object.keys(obj || {}).sort();
    if (!keys.length) return '<tr><td class="muted">none set: defaults apply</td></tr>';
    return keys.map(function (k) { return "<tr><td>" + FT.esc(k) + "</td><td>" + FT.esc(obj[k]) + "</td></tr>"; }).join("");
  }

  function renderJob(d) {
    var vkey = d.cluster + "|" + d.jobId + "|" + d.vertices.map(function (v) { return v.id; }).join(",") + "|" + !!d.lagMaxSeconds;
    if (vkey !== state.vertexKey || !document.getElementById("charts")) {
      destroyCharts();
      renderJobStatic(d);
      state.vertexKey = vkey;
    }
    state.markers = d.markers;
    document.getElementById("status").textContent = d.status || "unknown";
    document.getElementById("jobstate").innerHTML = badge(d.state);
    document.getElementById("jobreason").textContent = d.reason || "";
    var le = d.lastEvaluation || {};
    var leh = "<h2>Last evaluation " + (le.t ? "at " + FT.fmtTime(le.t) : "") + "</h2>";
    leh += "<p>" + (le.scaled ? "<b>scaled</b>: " : le.ready ? "<b>no change</b> (why not): " : "<b>not ready</b>: ") + FT.esc(le.reason || "–") + "</p>";
    if (le.evaluated && le.ready) { // before it is ready, a policy's numbers are placeholders
      leh += '<table class="small"><thead><tr><th>vertex</th><th>load</th><th>true rate</th><th>target rate</th><th>lag</th><th>recommended</th></tr></thead><tbody>';
      d.vertices.forEach(function (v) {
        var e = le.evaluated[v.id] || {};
        leh += "<tr><td>" + FT.esc(shortName(v)) + "</td><td>" + FT.fmtNum(e.LOAD) + "</td><td>" + FT.fmtNum(e.TRUE_PROCESSING_RATE) +
          "</td><td>" + FT.fmtNum(e.TARGET_DATA_RATE) + "</td><td>" + FT.fmtNum(e.LAG) + "</td><td>" + FT.fmtNum(e.RECOMMENDED_PARALLELISM) + "</td></tr>";
      });
      leh += "</tbody></table>";
    }
    if (d.storeError) leh += '<p class="error">decisions and events unavailable: ' + FT.esc(d.storeError) + "</p>";
    if (d.lastError) leh += '<p class="error">last cycle failed: ' + FT.esc(d.lastError) + "</p>";
    document.getElementById("lasteval").innerHTML = leh;

    var specs = chartSpecs(d);
    var holder = document.getElementById("charts");
    if (!state.charts.length) {
      specs.forEach(function (sp) {
        var div = document.createElement("div");
        div.className = "chart";
        div.dataset.chart = sp.name;
        holder.appendChild(div);
        state.charts.push(FT.chart(div, sp, sp.data));
      });
    } else {
      specs.forEach(function (sp, i) { state.charts[i].setData(sp.data); });
    }
    dash.charts = {};
    specs.forEach(function (sp, i) { dash.charts[sp.name] = FT.drawn(state.charts[i]); });

    var mh = "";
    d.markers.slice().reverse().forEach(function (m) {
      var desc = describeMarker(m);
      mh += '<li class="marker" data-kind="' + FT.esc(m.kind) + '" data-t="' + m.t + '"><span class="kind" style="border-color:' +
        (FT.markerColors[m.kind] || "#444") + '">' + FT.esc(m.kind) + "</span> <time>" + FT.fmtTime(m.t) + "</time> " +
        '<span class="change">' + desc.change + '</span><div class="reason">' + FT.esc(m.reason) + "</div>" +
        (desc.numbers ? '<div class="muted small">' + desc.numbers + "</div>" : "") + "</li>";
    });
    document.getElementById("markers").innerHTML = mh || '<li class="muted">none in this window</li>';
    dash.markers = d.markers.length;

    document.getElementById("history").innerHTML = d.history.slice().reverse().map(function (e) {
      var ch = describeMarker({ from: e.from, to: e.to }).change;
      return "<tr><td>" + FT.fmtTime(e.t) + "</td><td>" + FT.esc(e.action || (e.dryRun ? "recommended" : "decided")) + "</td><td>" + ch +
        '</td><td class="reason">' + FT.esc(e.reason) + "</td></tr>";
    }).join("") || '<tr><td colspan="4" class="muted">none in this window</td></tr>';
    document.getElementById("events").innerHTML = d.events.slice().reverse().map(function (e) {
      return "<tr><td>" + FT.fmtTime(e.t) + "</td><td>" + FT.esc(e.type) + "</td><td>" + FT.esc(e.reason) + '</td><td class="reason">' +
        FT.esc(e.message) + "</td></tr>";
    }).join("") || '<tr><td colspan="4" class="muted">none in this window</td></tr>';
    document.getElementById("options").innerHTML = kvRows(d.options);
    document.getElementById("memcfg").innerHTML = kvRows(d.memoryConfig);
    dash.view = "job";
    rendered();
  }

  function destroyCharts() {
    state.charts.forEach(function (u) { u.destroy(); });
    state.charts = [];
    state.vertexKey = "";
  }

  function rendered() {
    dash.renders++;
    if (dash.firstRenderMs == null) dash.firstRenderMs = performance.now();
  }

  // ---- loop ----

  function refresh() {
    if (state.inflight) return;
    var p = params();
    var w = p.w || "1h";
    winSel.value = w;
    filter.hidden = !!p.job;
    var req, hash = location.hash;
    // A view left while its data was on the way is not drawn over the new one.
    var current = function (f) { return function (d) { if (location.hash === hash) f(d); }; };
    if (p.job) {
      req = getJSON("api/v1/job?job=" + encodeURIComponent(p.job) + "&cluster=" + encodeURIComponent(p.cluster || "") +
        "&window=" + encodeURIComponent(w)).then(current(renderJob));
    } else {
      if (state.charts.length) destroyCharts();
      req = getJSON("api/v1/jobs").then(current(renderList));
    }
    state.inflight = true;
    var started = performance.now();
    req.then(function () { setLive(true); dash.lastRefreshMs = performance.now() - started; }, function (err) {
      setLive(false, String(err.message || err));
      if (!main.querySelector("section")) main.innerHTML = '<p class="error">' + FT.esc(err.message || err) + "</p>";
    }).then(function () {
      state.inflight = false;
      if (location.hash !== hash) refresh();
    });
  }

  filter.addEventListener("input", function () { if (state.list && dash.view === "list") renderList(state.list); });

  winSel.addEventListener("change", function () {
    var p = params();
    p.w = winSel.value;
    location.hash = Object.keys(p).map(function (k) { return encodeURIComponent(k) + "=" + encodeURIComponent(p[k]); }).join("&");
  });
  window.addEventListener("hashchange", function () { destroyCharts(); refresh(); });
  window.addEventListener("resize", function () { FT.resizeAll(state.charts); });
  var q = new URLSearchParams(location.search);
  if (q.get("refresh")) REFRESH_MS = Math.max(250, parseInt(q.get("refresh"), 10) || REFRESH_MS);
  refresh();
  state.timer = setInterval(function () { if (!document.hidden) refresh(); }, REFRESH_MS);
})();
