// Small progressive enhancements; every page works without this file.
document.addEventListener("htmx:responseError", (ev) => {
  // Show the portal's own error box instead of silently doing nothing.
  const target = ev.detail.target;
  if (target && ev.detail.xhr && ev.detail.xhr.responseText) {
    target.innerHTML = ev.detail.xhr.responseText;
  }
});

// Load the vendored ECharts once per page and call back when it is there (portlets and pages
// with charts share it; a window loaded by htmx may call it after the page has loaded).
window.portalECharts = function (src, callback) {
  if (window.echarts) { callback(window.echarts); return; }
  var tag = document.querySelector("script[data-vendor=echarts]");
  if (!tag) {
    tag = document.createElement("script");
    tag.src = src;
    tag.dataset.vendor = "echarts";
    document.head.appendChild(tag);
  }
  tag.addEventListener("load", function () { callback(window.echarts); });
};
