// The console home's charts: daily sales, the conversion funnel and the distribution
// network, each drawn with ECharts from its JSON endpoint (/console/dashboard/…).
(function () {
  "use strict";
  var yuan = function (fen) { return (fen / 100).toFixed(2); };

  function load(url, draw, el) {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.json().then(function (body) { return [r.ok, body]; }); })
      .then(function (res) {
        if (!res[0]) { el.textContent = res[1].message || "error"; return; }
        draw(res[1]);
      })
      .catch(function (err) { el.textContent = String(err); });
  }

  function salesChart(el) {
    var chart = echarts.init(el);
    load(el.dataset.url, function (data) {
      chart.setOption({
        tooltip: { trigger: "axis" },
        legend: { data: [el.dataset.gmv, el.dataset.orders] },
        xAxis: { type: "category", data: data.daily.map(function (d) { return d.day; }) },
        yAxis: [{ type: "value" }, { type: "value", minInterval: 1 }],
        series: [
          { name: el.dataset.gmv, type: "bar",
            data: data.daily.map(function (d) { return yuan(d.gmv_fen); }) },
          { name: el.dataset.orders, type: "line", yAxisIndex: 1,
            data: data.daily.map(function (d) { return d.orders; }) }
        ]
      });
      el.dataset.drawn = "1";
    }, el);
    return chart;
  }

  function funnelChart(el) {
    var chart = echarts.init(el);
    var labels = JSON.parse(el.dataset.labels);
    load(el.dataset.url, function (data) {
      var values = data.stages.map(function (s) { return data.totals[s]; });
      chart.setOption({
        tooltip: { trigger: "item" },
        series: [{
          // ECharts' funnel scales to [min, max] (default 0–100): scale to the real counts.
          type: "funnel", sort: "none", left: "10%", width: "80%", minSize: "5%",
          min: 0, max: Math.max.apply(null, values.concat([1])),
          label: { formatter: "{b}: {c}" },
          data: data.stages.map(function (s) { return { name: labels[s], value: data.totals[s] }; })
        }]
      });
      el.dataset.drawn = "1";
    }, el);
    return chart;
  }

  function networkChart(el) {
    var chart = echarts.init(el);
    var draw = function (root) {
      var url = el.dataset.url + (root ? "?root=" + encodeURIComponent(root) : "");
      load(url, function (data) {
        if (!data.nodes.length) { chart.clear(); chart.setOption({ title: { text: el.dataset.empty } }); return; }
        var top = Math.min.apply(null, data.nodes.map(function (n) { return n.depth; }));
        chart.setOption({
          title: { text: data.truncated ? "+ " + el.dataset.more : "", textStyle: { fontSize: 12 } },
          tooltip: { formatter: function (p) {
            if (p.dataType !== "node") { return ""; }
            var n = p.data.raw;
            return n.name + " (" + n.invite_code + ")<br>" + (n.level || "") +
              " ¥" + yuan(n.sales_fen) + " · " + n.recruits;
          } },
          series: [{
            type: "graph", layout: "force", roam: true, draggable: true,
            force: { repulsion: 120, edgeLength: 60 },
            label: { show: data.nodes.length <= 60, position: "right" },
            data: data.nodes.map(function (n) {
              return { id: String(n.id), name: n.name, raw: n,
                       symbolSize: Math.max(8, 24 - 6 * (n.depth - top)),
                       category: n.depth - top };
            }),
            categories: [{ name: "0" }, { name: "1" }, { name: "2" }],
            links: data.links.map(function (l) { return { source: String(l.source), target: String(l.target) }; })
          }]
        }, true);
        el.dataset.drawn = "1";
        el.dataset.root = root || "";
      }, el);
    };
    chart.on("click", function (p) {
      if (p.dataType === "node" && p.data.raw.recruits > 0) { draw(p.data.raw.id); }
    });
    var back = document.getElementById("network-top");
    if (back) { back.addEventListener("click", function (e) { e.preventDefault(); draw(null); }); }
    draw(null);
    return chart;
  }

  document.addEventListener("DOMContentLoaded", function () {
    var charts = [];
    [["sales-chart", salesChart], ["funnel-chart", funnelChart], ["network-chart", networkChart]]
      .forEach(function (pair) {
        var el = document.getElementById(pair[0]);
        if (el) { charts.push(pair[1](el)); }
      });
    window.addEventListener("resize", function () { charts.forEach(function (c) { c.resize(); }); });
  });
})();
