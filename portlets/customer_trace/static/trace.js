// Purchase history chart of the customer trace page (Apache ECharts, vendored by the portal).
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll(".trace-chart").forEach(function (el) {
    if (!window.echarts) return;
    var d = el.dataset;
    var chart = window.echarts.init(el);
    chart.setOption({
      tooltip: {trigger: "axis"},
      legend: {data: [d.labelCartons, d.labelAmount]},
      grid: {left: 50, right: 60, bottom: 60},
      xAxis: {type: "category", data: JSON.parse(d.months)},
      yAxis: [{type: "value", name: d.labelCartons}, {type: "value", name: d.labelAmount}],
      dataZoom: [{type: "slider", start: 0, end: 100}],
      series: [
        {name: d.labelCartons, type: "bar", data: JSON.parse(d.cartons)},
        {name: d.labelAmount, type: "line", yAxisIndex: 1, smooth: true, data: JSON.parse(d.amount)}
      ]
    });
    window.addEventListener("resize", function () { chart.resize(); });
  });
});
