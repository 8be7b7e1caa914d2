// Arranging the homepage: drag and drop with GridStack, and the same with the keyboard.
// The page is complete without this script (the grid is CSS, every action a form); this only
// lets a wide screen move and resize windows in place and saves each change at once.
(function () {
  "use strict";
  const WIDE = window.matchMedia("(min-width: 768px)");

  function csrfToken() {
    try { return JSON.parse(document.body.getAttribute("hx-headers"))["X-CSRFToken"]; }
    catch (e) { return ""; }
  }

  function say(text, isError) {
    const live = document.getElementById("arrange-status");
    if (live) live.textContent = text;
    let toast = document.getElementById("arrange-toast");
    if (!toast) {
      toast = document.createElement("p");
      toast.id = "arrange-toast";
      toast.setAttribute("role", "status");
      document.body.appendChild(toast);
    }
    toast.textContent = text;
    toast.className = isError ? "toast toast-error" : "toast";
    clearTimeout(say.timer);
    say.timer = setTimeout(() => { toast.className = "toast toast-hidden"; }, isError ? 6000 : 1800);
  }

  function setVersion(container, version) {
    container.dataset.version = String(version);
    document.querySelectorAll('input[name="version"]').forEach((input) => { input.value = String(version); });
  }

  // Forms that change a lot ask first (reset, delete a page).
  document.addEventListener("submit", (ev) => {
    const message = ev.target.getAttribute && ev.target.getAttribute("data-confirm");
    if (message && !window.confirm(message)) ev.preventDefault();
  });

  const container = document.querySelector(".grid[data-move-url]");
  if (!container || typeof GridStack === "undefined") return;
  if (!WIDE.matches) {
    // One column in layout order (CSS); come back to the grid if the window widens.
    WIDE.addEventListener("change", () => window.location.reload(), { once: true });
    return;
  }
  WIDE.addEventListener("change", () => window.location.reload(), { once: true });

  const styles = getComputedStyle(document.documentElement);
  const row = parseInt(styles.getPropertyValue("--row"), 10) || 84;
  const gap = parseInt(styles.getPropertyValue("--gap"), 10) || 14;
  container.classList.remove("grid");
  container.classList.add("grid-stack");
  const grid = GridStack.init({
    column: 12, cellHeight: row + gap, margin: gap / 2, float: true, animate: true,
    handle: ".window-head", draggable: { cancel: "a,button,input,select,textarea" },
    resizable: { handles: "se" }, disableOneColumnMode: true,
  }, container);

  let applying = false;   // true while the page applies a layout from the server
  let pending = new Map();
  let timer = null;

  grid.on("change", (_ev, items) => {
    if (applying) return;
    items.forEach((n) => pending.set(n.id, { id: n.id, x: n.x, y: n.y, w: n.w, h: n.h }));
    clearTimeout(timer);
    timer = setTimeout(save, 250);
  });

  async function save() {
    const windows = Array.from(pending.values());
    pending = new Map();
    if (!windows.length) return;
    let response;
    try {
      response = await fetch(container.dataset.moveUrl, {
        method: "POST", credentials: "same-origin",
        headers: { "Content-Type": "application/json", "Accept": "application/json",
                   "X-CSRFToken": csrfToken() },
        body: JSON.stringify({ version: Number(container.dataset.version), windows }),
      });
    } catch (e) {
      say(container.dataset.textOffline, true);
      return reload();
    }
    const data = await response.json().catch(() => ({}));
    if (response.ok) {
      setVersion(container, data.version);
      say(data.message || container.dataset.textSaved);
      return;
    }
    say(data.error || ("HTTP " + response.status), true);
    if (data.layout) apply(data.layout); else reload();
  }

  async function reload() {
    const response = await fetch(container.dataset.layoutUrl, {
      credentials: "same-origin", headers: { "Accept": "application/json" } });
    if (response.ok) apply(await response.json());
  }

  function apply(layout) {
    applying = true;
    grid.batchUpdate();
    try {
      const known = new Set();
      layout.windows.forEach((w) => {
        known.add(w.id);
        const el = container.querySelector('.grid-stack-item[gs-id="' + CSS.escape(w.id) + '"]');
        if (el) grid.update(el, { x: w.x, y: w.y, w: w.w, h: el.querySelector(".minimized") ? 1 : w.h });
      });
      // Windows added or removed elsewhere: the page must be shown again to have them.
      const shown = container.querySelectorAll(".grid-stack-item").length;
      if (shown !== known.size) { window.location.reload(); return; }
    } finally {
      grid.batchUpdate(false);
      applying = false;
    }
    setVersion(container, layout.version);
  }

  // Keyboard: focus a window (Tab), arrows move it, Shift+arrows resize it.
  const STEP = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] };
  container.addEventListener("keydown", (ev) => {
    const section = ev.target;
    if (!section.classList || !section.classList.contains("window") || !(ev.key in STEP)) return;
    const item = section.closest(".grid-stack-item");
    const node = item && item.gridstackNode;
    if (!node) return;
    ev.preventDefault();
    const title = section.querySelector("h2").textContent.trim();
    if (node.noMove || node.locked) {
      say(title + " · " + container.dataset.textLocked, true);
      return;
    }
    const [dx, dy] = STEP[ev.key];
    if (ev.shiftKey) {
      grid.update(item, { w: Math.max(1, node.w + dx), h: Math.max(1, node.h + dy) });
    } else {
      grid.update(item, { x: Math.max(0, node.x + dx), y: Math.max(0, node.y + dy) });
    }
    section.focus();
    const n = item.gridstackNode;
    say(container.dataset.textPosition.replace("{title}", title).replace("{x}", n.x + 1)
      .replace("{y}", n.y + 1).replace("{w}", n.w).replace("{h}", n.h));
  });
})();
