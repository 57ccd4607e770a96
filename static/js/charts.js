// Draws every [data-chart] element with Apache ECharts (vendored: no CDN); the option
// comes from the server, which puts the same numbers in the table beside each chart.
(function () {
  if (typeof echarts === "undefined") {
    return;
  }
  const charts = [];
  document.querySelectorAll("[data-chart]").forEach((element) => {
    const chart = echarts.init(element, null, { renderer: "canvas" });
    chart.setOption(JSON.parse(element.dataset.chart));
    charts.push(chart);
  });
  let pending = null;
  window.addEventListener("resize", () => {
    clearTimeout(pending);
    pending = setTimeout(() => charts.forEach((chart) => chart.resize()), 150);
  });
  // Printing: the charts take the printed page's width, then the screen's again.
  window.addEventListener("beforeprint", () => charts.forEach((chart) => chart.resize()));
  window.addEventListener("afterprint", () => charts.forEach((chart) => chart.resize()));
})();
