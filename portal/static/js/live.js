// Live updates of an open page: an EventSource on /live/stream, polling /live/poll when streams
// fail or are blocked. Each message may name portlets to refresh (their windows on this page and
// the header badges that count for them) and carry a title shown as a toast. A message key is
// handled once per page, whatever reconnects replay. The page works without this file.
(() => {
  "use strict";
  const script = document.currentScript;
  if (!script) return;
  const cfg = {
    stream: script.dataset.stream,
    poll: script.dataset.poll,
    interval: Math.max(1, parseFloat(script.dataset.interval) || 5) * 1000,
    label: script.dataset.label || "",
  };
  const seen = new Set();
  let cursor = null; // id of the last message this page has handled
  let source = null;
  let pollTimer = null;
  let streamFailures = 0;
  let retryTimer = null;

  const json = (url) => fetch(url, {
    credentials: "same-origin", cache: "no-store", headers: { Accept: "application/json" },
  });

  function setMode(mode) {
    document.documentElement.dataset.live = mode;
  }

  function refreshBadges(portlets) {
    document.querySelectorAll("[data-live-badge]").forEach((badge) => {
      if (portlets && !portlets.includes(badge.dataset.refreshOn)) return;
      json(badge.dataset.countUrl)
        .then((r) => (r.ok ? r.json() : null))
        .then((data) => {
          if (!data || typeof data.count !== "number") return;
          const count = badge.querySelector(".live-count");
          badge.dataset.count = String(data.count);
          count.textContent = data.count > 99 ? "99+" : String(data.count);
          count.hidden = data.count === 0;
        })
        .catch(() => {});
    });
  }

  function refreshWindows(portlets) {
    document.querySelectorAll("section.window[data-portlet][data-src]").forEach((win) => {
      if (!portlets.includes(win.dataset.portlet)) return;
      const body = win.querySelector(".window-body");
      if (!body) return; // minimized
      fetch(win.dataset.src, { credentials: "same-origin", headers: { "HX-Request": "true" } })
        .then((r) => (r.ok ? r.text() : null))
        .then((html) => {
          if (html === null) return;
          body.innerHTML = html;
          if (window.htmx) window.htmx.process(body);
        })
        .catch(() => {});
    });
  }

  function toastRegion() {
    let region = document.getElementById("live-toasts");
    if (!region) {
      region = document.createElement("div");
      region.id = "live-toasts";
      region.className = "live-toasts";
      region.setAttribute("role", "status");
      region.setAttribute("aria-live", "polite");
      document.body.appendChild(region);
    }
    return region;
  }

  function toast(msg) {
    if (!msg.title) return;
    const item = document.createElement("div");
    item.className = "live-toast";
    item.dataset.key = msg.key || "";
    const head = document.createElement("strong");
    head.textContent = cfg.label;
    const link = document.createElement(msg.link ? "a" : "span");
    if (msg.link && msg.link.startsWith("/") && !msg.link.startsWith("//")) link.href = msg.link;
    link.textContent = msg.title;
    item.append(head, link);
    toastRegion().appendChild(item);
    setTimeout(() => item.remove(), 10000);
  }

  function advance(id) {
    if (id && (!cursor || newer(id, cursor))) cursor = id;
  }

  function newer(a, b) {
    const [am, as] = a.split("-").map(Number);
    const [bm, bs] = b.split("-").map(Number);
    return am > bm || (am === bm && as > bs);
  }

  function handle(msg) {
    advance(msg.id);
    if (msg.key) {
      if (seen.has(msg.key)) return;
      seen.add(msg.key);
    }
    const portlets = Array.isArray(msg.refresh) ? msg.refresh : [];
    toast(msg);
    if (portlets.length) {
      refreshWindows(portlets);
      refreshBadges(portlets);
    }
    document.dispatchEvent(new CustomEvent("portal:live", { detail: msg }));
  }

  // Some messages may have been missed: reload what they would have changed.
  function resync() {
    const portlets = [...document.querySelectorAll("[data-live-badge]")]
      .map((b) => b.dataset.refreshOn);
    refreshBadges(null);
    refreshWindows(portlets);
  }

  function pollOnce() {
    const url = cursor ? `${cfg.poll}?after=${encodeURIComponent(cursor)}` : cfg.poll;
    json(url)
      .then((r) => {
        if (r.status === 401 || r.status === 404) stopPolling(); // signed out / turned off
        return r.ok ? r.json() : null;
      })
      .then((data) => {
        if (!data) return;
        if (cursor && !data.complete) resync();
        data.messages.forEach(handle);
        advance(data.last_id);
        if (!cursor) cursor = data.last_id;
      })
      .catch(() => {});
  }

  function startPolling() {
    if (pollTimer) return;
    setMode("poll");
    pollOnce();
    pollTimer = setInterval(pollOnce, cfg.interval);
  }

  function stopPolling() {
    clearInterval(pollTimer);
    pollTimer = null;
  }

  function connect() {
    retryTimer = null;
    if (typeof window.EventSource !== "function") {
      startPolling();
      return;
    }
    const url = cursor ? `${cfg.stream}?last_id=${encodeURIComponent(cursor)}` : cfg.stream;
    source = new EventSource(url);
    source.addEventListener("hello", (ev) => {
      streamFailures = 0;
      stopPolling(); // the stream replayed what came since the last poll (?last_id=)
      if (!cursor) cursor = JSON.parse(ev.data).last_id;
      setMode("stream");
    });
    source.addEventListener("resync", resync);
    source.onmessage = (ev) => handle(JSON.parse(ev.data));
    source.onerror = () => {
      streamFailures += 1;
      // CLOSED: refused (limits, signed out) or not a stream at all (a proxy). CONNECTING:
      // EventSource retries by itself; after a few failures in a row, poll instead.
      if (source.readyState === EventSource.CLOSED || streamFailures >= 3) {
        source.close();
        source = null;
        startPolling();
        if (!retryTimer) retryTimer = setTimeout(connect, Math.min(300, 15 * streamFailures) * 1000);
      }
    };
  }

  window.addEventListener("pagehide", () => {
    if (source) source.close();
    stopPolling();
  });
  refreshBadges(null);
  connect();
})();
