// MaaS Studio, Costs page: draws the cost per day, stacked by meter or endpoint, with uPlot
// (vendor/uplot) from the JSON in #cost-chart's data-chart attribute:
//   {"currency": "USD", "by": "Meter", "days": [epoch seconds...], "series": [{"label", "values": [...]}]}
// The page's table holds the same numbers (exact); without JavaScript only the table shows.
(function () {
  "use strict";
  var SYMBOLS = { USD: "$", EUR: "\u20ac", GBP: "\u00a3", JPY: "\u00a5" };
  var DAY = 86400;
  var HALF_DAY = DAY / 2;
  var MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
  var COLOURS = ["#0b5cad", "#c4314b", "#1e6b2e", "#7a4d00", "#6b3fa0", "#00767a", "#a0522d", "#4f5a66", "#b8860b"];

  function money(currency, value) {
    if (value === null || value === undefined) { return "--"; }
    var text = Number(value.toPrecision(12)).toString();
    if (text.indexOf("e") !== -1) { text = value.toFixed(12).replace(/0+$/, ""); }
    var parts = text.split(".");
    var fraction = (parts[1] || "");
    while (fraction.length < 2) { fraction += "0"; }
    var symbol = SYMBOLS[currency];
    return (symbol ? symbol : currency + " ") + parts[0] + "." + fraction;
  }

  function dayLabel(seconds) {
    var day = new Date(seconds * 1000);
    return MONTHS[day.getUTCMonth()] + " " + day.getUTCDate();
  }

  function draw(holder) {
    var chart;
    try { chart = JSON.parse(holder.getAttribute("data-chart") || "{}"); } catch (e) { return; }
    if (!chart.series || !chart.series.length || typeof window.uPlot !== "function") { return; }
    var layers = chart.series;
    var sums = [];
    var running = chart.days.map(function () { return 0; });
    layers.forEach(function (layer) {
      running = running.map(function (total, i) { return total + (layer.values[i] || 0); });
      sums.push(running.slice());
    });
    // Stacked bars: the top of the stack is drawn first, each lower layer over it.
    var data = [chart.days];
    var series = [{}];
    for (var n = layers.length - 1; n >= 0; n--) {
      (function (index) {
        var colour = COLOURS[index % COLOURS.length];
        data.push(sums[index]);
        series.push({
          label: layers[index].label,
          stroke: colour,
          fill: colour,
          width: 1,
          paths: window.uPlot.paths.bars({ size: [0.7, 48] }),
          points: { show: false },
          value: function (u, v, seriesIndex, row) {
            return row === null || row === undefined ? "--" : money(chart.currency, layers[index].values[row] || 0);
          }
        });
      })(n);
    }
    function width() { return Math.max(280, holder.clientWidth || 600); }
    var plot = new window.uPlot({
      width: width(),
      height: 300,
      series: series,
      scales: {
        // Half a day either side, so the first and last days' bars are whole.
        x: { time: true, range: function (u, min, max) { return [min - HALF_DAY, max + HALF_DAY]; } },
        y: { range: function (u, min, max) { return [0, max > 0 ? max * 1.1 : 1]; } }
      },
      axes: [
        { space: 48, incrs: [DAY, 7 * DAY, 28 * DAY], values: function (u, ticks) { return ticks.map(dayLabel); } },
        { size: 110, values: function (u, ticks) { return ticks.map(function (t) { return money(chart.currency, t); }); } }
      ],
      legend: { live: true },
      tzDate: function (seconds) { return window.uPlot.tzDate(new Date(seconds * 1000), "Etc/UTC"); }
    }, data, holder);
    plot.root.setAttribute("aria-hidden", "true");
    holder.setAttribute("data-drawn", "true");
    window.addEventListener("resize", function () { plot.setSize({ width: width(), height: 300 }); });
  }

  function start() {
    var holder = document.getElementById("cost-chart");
    if (holder) { draw(holder); }
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
