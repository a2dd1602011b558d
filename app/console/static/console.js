// The console's own script: metric charts (uPlot) that update while a job runs, the compare overlay,
// log follow, uploads, and a tuning job's objective per trial. Everything else is server-rendered HTML
// with htmx attributes.
(function () {
  "use strict";
  var PALETTE = ["#1f5fbf", "#b3261e", "#1b7f3b", "#8a4baf", "#b35c00", "#00717a", "#5c5c5c", "#a0307a"];
  var POLL_MS = 2000;
  var X_LABELS = { time: "seconds since the first value", elapsed: "seconds since the first value",
                   step: "step (n-th value logged)" };
  // What the browser tests and the benchmark read: points drawn per chart, and render times.
  window.consoleCharts = { points: {}, extremes: {}, renderMs: [] };

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text) node.textContent = text;
    return node;
  }

  function width(figure) {
    return Math.max(260, Math.min(figure.clientWidth, 1100));
  }

  function sinceFirst(times) {
    var t0 = times.length ? times[0] : 0;
    return times.map(function (t) { return t - t0; });
  }

  function axisOf() {
    var select = document.querySelector("[data-charts-axis]");
    return select ? select.value : "step";
  }

  function draw(container, key, title, xs, seriesList, xLabel, note) {
    var started = performance.now();
    var figure = container.querySelector('figure[data-metric="' + CSS.escape(key) + '"]');
    if (!figure) {
      figure = el("figure", { "data-metric": key, "class": "chart" });
      figure.appendChild(el("figcaption"));
      figure.appendChild(el("div", { "class": "plot" }));
      container.appendChild(figure);
    }
    figure.querySelector("figcaption").textContent = title + (note ? " — " + note : "");
    var plotBox = figure.querySelector(".plot");
    plotBox.innerHTML = "";
    var series = [{}].concat(seriesList.map(function (s, i) {
      return { label: s.label, stroke: PALETTE[i % PALETTE.length], width: 1.5, spanGaps: true, points: { show: false } };
    }));
    var data = [xs].concat(seriesList.map(function (s) { return s.values; }));
    var options = { width: width(figure), height: 260, scales: { x: { time: false } }, series: series,
                    axes: [{ label: xLabel }, {}] };
    new uPlot(options, data, plotBox);
    figure.setAttribute("data-points", String(xs.length));
    window.consoleCharts.points[key] = xs.length;
    var first = seriesList[0].values.filter(function (v) { return v !== null; });
    window.consoleCharts.extremes[key] = [Math.min.apply(null, first), Math.max.apply(null, first)];
    window.consoleCharts.renderMs.push(performance.now() - started);
  }

  // -- one job's charts ---------------------------------------------------------------------------------
  function jobCharts(container) {
    var url = container.getAttribute("data-metrics-url");
    var latest = null;
    function render() {
      if (!latest) return;
      if (!latest.metrics.length) { container.innerHTML = '<p class="muted">No metric values yet.</p>'; return; }
      var p = container.querySelector("p.muted"); if (p) p.remove();
      var axis = axisOf();
      latest.metrics.forEach(function (m) {
        var note = m.count > m.value.length
          ? m.count + " values, downsampled to " + m.value.length + " (min/max kept)"
          : m.count + " values";
        var xs = axis === "step" ? m.step : sinceFirst(m.time);
        draw(container, m.name, m.name, xs, [{ label: m.name, values: m.value }], X_LABELS[axis], note);
      });
    }
    function load() {
      var started = performance.now();
      fetch(url, { credentials: "same-origin", cache: "no-store" }).then(function (r) {
        if (!r.ok) throw new Error("metrics: HTTP " + r.status);
        return r.json();
      }).then(function (body) {
        latest = body; render();
        window.consoleCharts.loadMs = performance.now() - started;  // fetch, parse and draw every chart
        if (body.live) setTimeout(load, POLL_MS);
      }).catch(function (error) { container.textContent = String(error); });
    }
    var select = document.querySelector("[data-charts-axis]");
    if (select) select.addEventListener("change", render);
    load();
  }

  // -- compare ------------------------------------------------------------------------------------------
  function compare(container) {
    var jobs = JSON.parse(container.getAttribute("data-compare") || "[]");
    if (!jobs.length) return;
    var bodies = [];
    function render() {
      var axis = axisOf(), byMetric = {};
      bodies.forEach(function (body) {
        body.metrics.forEach(function (m) {
          var xs = axis === "step" ? m.step : sinceFirst(m.time);
          (byMetric[m.name] = byMetric[m.name] || []).push({ label: body.job, xs: xs, values: m.value });
        });
      });
      container.innerHTML = "";
      Object.keys(byMetric).sort().forEach(function (name) {
        var lines = byMetric[name];
        var joined = uPlot.join(lines.map(function (l) { return [l.xs, l.values]; }));
        var list = lines.map(function (l, i) { return { label: l.label, values: joined[i + 1] }; });
        draw(container, name, name, joined[0], list, X_LABELS[axis], lines.length + " jobs");
      });
      if (!Object.keys(byMetric).length) container.innerHTML = '<p class="muted">These jobs have no metric values.</p>';
    }
    Promise.all(jobs.map(function (job) {
      return fetch("/console/job/" + encodeURIComponent(job) + "/metrics.json", { credentials: "same-origin" })
        .then(function (r) { if (!r.ok) throw new Error(job + ": HTTP " + r.status); return r.json(); });
    })).then(function (all) { bodies = all; render(); })
      .catch(function (error) { container.textContent = String(error); });
    var select = document.querySelector("[data-charts-axis]");
    if (select) select.addEventListener("change", render);
  }

  // -- uploads ------------------------------------------------------------------------------------------
  function upload(form) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var file = form.querySelector("input[type=file]").files[0];
      var status = document.getElementById("upload-status");
      if (!file) return;
      var key = (form.getAttribute("data-prefix") || "") + file.name;
      var url = "/console/buckets/" + encodeURIComponent(form.getAttribute("data-bucket")) + "/object?key=" + encodeURIComponent(key);
      status.textContent = "Uploading " + file.name + "…";
      fetch(url, { method: "PUT", body: file, credentials: "same-origin",
                   headers: { "X-CSRF-Token": document.body.getAttribute("data-csrf") } })
        .then(function (r) {
          if (!r.ok) throw new Error("upload refused: HTTP " + r.status);
          status.textContent = "Uploaded " + key; setTimeout(function () { location.reload(); }, 300);
        }).catch(function (error) { status.textContent = String(error); });
    });
  }

  // -- logs: followed as server-sent events (`log_follow`) while "Follow" is ticked -----------------------
  var LOG_KEEP_CHARS = 256 * 1024;  // what a log box holds; older text drops off the top
  function followLogs(box, follow) {
    var source = null;
    function pre(host) {
      var found = box.querySelector('pre[data-log-host="' + CSS.escape(host) + '"]');
      if (found) return found;
      var empty = box.querySelector("p.muted"); if (empty) empty.remove();
      var details = el("details", { "class": "log", open: "" });
      details.appendChild(el("summary", {}, host));
      found = el("pre", { tabindex: "0", "data-log-host": host });
      details.appendChild(found);
      box.appendChild(details);
      return found;
    }
    function stop() { if (source) { source.close(); source = null; } }
    function start() {
      if (source) return;
      source = new EventSource(box.getAttribute("data-events-url"));
      source.addEventListener("log", function (event) {
        var chunk = JSON.parse(event.data), target = pre(chunk.host);
        var text = (chunk.reset ? "" : target.textContent) + chunk.text;
        target.textContent = text.length > LOG_KEEP_CHARS ? text.slice(-LOG_KEEP_CHARS) : text;
        target.scrollTop = target.scrollHeight;
      });
      source.addEventListener("end", function () { stop(); box.setAttribute("data-ended", "true"); });
    }
    follow.addEventListener("change", function () { if (follow.checked) start(); else stop(); });
    if (follow.checked) start();
  }

  // -- a tuning job: objective per trial (points) and the best so far (a step line) --------------------
  function tuningChart() {
    var container = document.getElementById("tuning-chart");
    if (!container) return;
    var raw = container.getAttribute("data-objectives");
    if (raw === container.getAttribute("data-drawn")) return;  // the live fragment re-renders every 2 s
    var chart = JSON.parse(raw);
    container.setAttribute("data-drawn", raw);
    if (!chart.trial.length) return;
    container.innerHTML = "";
    var figure = el("figure", { "class": "chart", "data-metric": chart.metric });
    figure.appendChild(el("figcaption", {}, chart.metric + " per trial, and the best so far"));
    var plotBox = el("div", { "class": "plot" });
    figure.appendChild(plotBox);
    container.appendChild(figure);
    var options = {
      width: width(figure), height: 260, scales: { x: { time: false } }, axes: [{ label: "trial" }, {}],
      series: [{}, { label: chart.metric, stroke: PALETTE[0], width: 0, points: { show: true, size: 8 } },
               { label: "best so far", stroke: PALETTE[2], width: 2, spanGaps: false,
                 paths: uPlot.paths.stepped({ align: 1 }), points: { show: false } }]
    };
    new uPlot(options, [chart.trial, chart.objective, chart.best], plotBox);
    var scored = chart.objective.filter(function (v) { return v !== null; }).length;
    figure.setAttribute("data-points", String(scored));
    window.consoleCharts.tuning = { trials: chart.trial.length, scored: scored,
                                    best: chart.best.length ? chart.best[chart.best.length - 1] : null };
  }
  document.addEventListener("htmx:afterSettle", tuningChart);

  document.addEventListener("DOMContentLoaded", function () {
    var charts = document.getElementById("charts"); if (charts) jobCharts(charts);
    var cmp = document.getElementById("compare"); if (cmp) compare(cmp);
    var form = document.getElementById("upload"); if (form) upload(form);
    tuningChart();
    var logs = document.getElementById("logs"), follow = document.getElementById("follow-logs");
    if (logs && follow) followLogs(logs, follow);
  });
})();
