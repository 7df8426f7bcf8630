// Chart helpers shared by the dashboard and the bench/plan reports: uPlot time-series charts
// on one time axis, with decision markers drawn as vertical lines.
"use strict";

var FT = (function () {
  var palette = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#7f7f7f", "#bcbd22"];
  var markerColors = { rescale: "#1f77b4", memory: "#9467bd", rollback: "#d62728", restart: "#ff7f0e", decision: "#1f77b4" };

  function color(i) { return palette[i % palette.length]; }

  function fmtNum(v) {
    if (v == null || isNaN(v)) return "–";
    var a = Math.abs(v);
    if (a >= 1e9) return (v / 1e9).toFixed(2) + "G";
    if (a >= 1e6) return (v / 1e6).toFixed(2) + "M";
    if (a >= 1e4) return (v / 1e3).toFixed(1) + "k";
    if (a >= 100) return v.toFixed(0);
    if (a >= 1) return v.toFixed(2);
    return v.toPrecision(2);
  }

  function fmtBytes(v) {
    if (v == null || isNaN(v)) return "–";
    var u = ["B", "KiB", "MiB", "GiB", "TiB"], i = 0;
    while (Math.abs(v) >= 1024 && i < u.length - 1) { v /= 1024; i++; }
    return v.toFixed(i ? 1 : 0) + " " + u[i];
  }

  function fmtTime(t) {
    if (t == null || isNaN(t)) return "–";
    return new Date(t * 1000).toISOString().replace("T", " ").slice(0, 19);
  }

  function esc(s) {
    return String(s == null ? "" : s).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }

  // markersPlugin draws each marker ({t, kind}) as a vertical line over the plot area.
  function markersPlugin(getMarkers) {
    return {
      hooks: {
        draw: [function (u) {
          if (window.__hideMarkers) return; // tests count the data's pixels alone
          var ms = getMarkers() || [];
          var ctx = u.ctx, top = u.bbox.top, h = u.bbox.height;
          ctx.save();
          ctx.lineWidth = 1.5 * (window.devicePixelRatio || 1);
          for (var i = 0; i < ms.length; i++) {
            var m = ms[i];
            var x = Math.round(u.valToPos(m.t, "x", true));
            if (x < u.bbox.left || x > u.bbox.left + u.bbox.width) continue;
            ctx.strokeStyle = m.color || markerColors[m.kind] || "#444";
            ctx.setLineDash(m.kind === "restart" ? [4, 4] : []);
            ctx.beginPath();
            ctx.moveTo(x, top);
            ctx.lineTo(x, top + h);
            ctx.stroke();
          }
          ctx.restore();
        }]
      }
    };
  }

  // chart makes a uPlot chart in el. spec: {title, series: [{label, color, scale, dash,
  // stepped, fmt}], scales, height, yfmt, markers: function () -> [...], sync}.
  function chart(el, spec, data) {
    var series = [{ label: "time", value: function (u, v) { return fmtTime(v); } }];
    spec.series.forEach(function (s, i) {
      var o = {
        label: s.label, stroke: s.color || color(i), width: s.width || 1.5, scale: s.scale || "y",
        // A gap (a cycle without the value) is bridged: an isolated value would not show.
        spanGaps: true, points: { show: false },
        value: function (u, v) { return (s.fmt || spec.yfmt || fmtNum)(v); }
      };
      if (s.dash) o.dash = s.dash;
      if (s.stepped) o.paths = uPlot.paths.stepped({ align: 1 });
      series.push(o);
    });
    // Byte labels ("953.7 MiB") are wider than numbers ("600.0k"): a narrow axis clips them.
    function axisSize(fmt) { return fmt === fmtBytes ? 84 : 60; }
    var axes = [{ space: 80 }, { scale: "y", size: axisSize(spec.yfmt), values: function (u, vals) { return vals.map(spec.yfmt || fmtNum); } }];
    if (spec.scales && spec.scales.y2) {
      axes.push({ scale: "y2", side: 1, size: axisSize(spec.y2fmt), grid: { show: false },
        values: function (u, vals) { return vals.map(spec.y2fmt || fmtNum); } });
    }
    var opts = {
      title: spec.title, width: Math.max(300, el.clientWidth || 600), height: spec.height || 180,
      series: series, axes: axes,
      scales: Object.assign({ x: { time: true } }, spec.scales || {}),
      cursor: { sync: { key: spec.sync || "ft" } },
      legend: { live: true },
      plugins: spec.markers ? [markersPlugin(spec.markers)] : []
    };
    var u = new uPlot(opts, data, el);
    u.ftSpec = spec;
    return u;
  }

  // drawn counts the non-null values a chart holds, per series (tests and the status line).
  function drawn(u) {
    var n = 0;
    for (var i = 1; i < u.data.length; i++) {
      var col = u.data[i] || [];
      for (var j = 0; j < col.length; j++) if (col[j] != null) n++;
    }
    return n;
  }

  function resizeAll(charts) {
    charts.forEach(function (u) {
      var w = u.root.parentNode.clientWidth;
      if (w && Math.abs(w - u.width) > 4) u.setSize({ width: w, height: u.height });
    });
  }

  return { chart: chart, color: color, fmtNum: fmtNum, fmtBytes: fmtBytes, fmtTime: fmtTime, esc: esc,
    drawn: drawn, resizeAll: resizeAll, markerColors: markerColors };
})();
