// Small progressive enhancements; every page works without this file.
document.addEventListener("htmx:responseError", (ev) => {
  // Show the portal's own error box instead of silently doing nothing.
  const target = ev.detail.target;
  if (target && ev.detail.xhr && ev.detail.xhr.responseText) {
    target.innerHTML = ev.detail.xhr.responseText;
  }
});
