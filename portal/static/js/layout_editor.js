// The post layout editor: the draft lives here, in the page, as the same document a layout
// file holds; "check", "preview" and "publish" send it whole to the server, which decides.
(function () {
  "use strict";
  const root = document.getElementById("layout-editor");
  if (!root || typeof GridStack === "undefined") return;
  const doc = JSON.parse(document.getElementById("layout-document").textContent);
  const catalogue = JSON.parse(document.getElementById("layout-catalogue").textContent);
  const byId = Object.fromEntries(catalogue.map((p) => [p.id, p]));
  const text = root.dataset;
  const $ = (id) => document.getElementById(id);
  let current = 0;

  function csrfToken() {
    try { return JSON.parse(document.body.getAttribute("hx-headers"))["X-CSRFToken"]; }
    catch (e) { return ""; }
  }

  const styles = getComputedStyle(document.documentElement);
  const row = parseInt(styles.getPropertyValue("--row"), 10) || 84;
  const gap = parseInt(styles.getPropertyValue("--gap"), 10) || 14;
  const grid = GridStack.init({ column: 12, cellHeight: Math.round((row + gap) * 0.7), margin: gap / 2,
    float: true, handle: ".window-head", draggable: { cancel: "a,button,input,label,select" } }, $("editor-grid"));

  function page() { return doc.pages[current]; }

  function el(tag, attrs, children) {
    const node = document.createElement(tag);
    Object.entries(attrs || {}).forEach(([k, v]) => { if (k === "text") node.textContent = v; else node.setAttribute(k, v); });
    (children || []).forEach((c) => node.appendChild(c));
    return node;
  }

  function lockBox(win, key, label) {
    const input = el("input", { type: "checkbox" });
    const lock = win.lock === true ? { move: true, remove: true, edit: true } : (win.lock || {});
    input.checked = !!lock[key];
    input.addEventListener("change", () => {
      const now = win.lock === true ? { move: true, remove: true, edit: true } : Object.assign({}, win.lock || {});
      if (input.checked) now[key] = true; else delete now[key];
      if (Object.keys(now).length) win.lock = now; else delete win.lock;
    });
    return el("label", { class: "check" }, [input, document.createTextNode(" " + label)]);
  }

  function content(win) {
    const portlet = byId[win.portlet] || { title: win.portlet };
    const remove = el("button", { type: "button", title: text.textDelete, "aria-label": text.textDelete, text: "✕" });
    remove.addEventListener("click", () => {
      page().windows = page().windows.filter((w) => w !== win);
      render();
    });
    return el("section", { class: "window grid-stack-item-content" }, [
      el("header", { class: "window-head" }, [
        el("h2", { text: portlet.title + " · " + win.id }),
        el("div", { class: "window-tools" }, [remove]),
      ]),
      el("div", { class: "window-body editor-locks" }, [
        lockBox(win, "move", text.textMove), lockBox(win, "remove", text.textRemove), lockBox(win, "edit", text.textEdit),
      ]),
    ]);
  }

  function render() {
    grid.removeAll(true);
    const p = page();
    p.windows.forEach((win) => {
      const portlet = byId[win.portlet];
      const item = grid.addWidget({ id: win.id, x: win.x, y: win.y, w: win.w, h: win.h,
        minW: portlet ? portlet.min[0] : 1, minH: portlet ? portlet.min[1] : 1,
        maxW: portlet ? portlet.max[0] : 12, maxH: portlet ? portlet.max[1] : 8 });
      item.querySelector(".grid-stack-item-content").replaceWith(content(win));
      item.firstElementChild.classList.add("grid-stack-item-content");
    });
    $("page-title").value = p.title || "";
    $("page-title-en").value = p.title_en || "";
    $("page-locked").checked = !!p.locked;
    const nav = $("editor-pages");
    nav.replaceChildren(...doc.pages.map((pg, i) => {
      const b = el("button", { type: "button", class: i === current ? "tab active" : "tab", text: pg.title || pg.id });
      b.addEventListener("click", () => { current = i; render(); });
      return b;
    }));
  }

  grid.on("change", (_ev, items) => {
    items.forEach((n) => {
      const win = page().windows.find((w) => w.id === n.id);
      if (win) Object.assign(win, { x: n.x, y: n.y, w: n.w, h: n.h });
    });
  });

  $("page-title").addEventListener("input", (e) => { page().title = e.target.value; });
  $("page-title-en").addEventListener("input", (e) => { page().title_en = e.target.value; });
  $("page-locked").addEventListener("change", (e) => { if (e.target.checked) page().locked = true; else delete page().locked; });

  const select = $("add-portlet");
  catalogue.forEach((p) => select.appendChild(el("option", { value: p.id, text: p.title + " (" + p.id + ")" })));
  $("add-window").addEventListener("click", () => {
    const portlet = byId[select.value];
    const taken = new Set(page().windows.map((w) => w.id));
    let id = portlet.id, n = 2;
    while (taken.has(id)) id = portlet.id.replace(/_/g, "-") + "-" + n++;
    const bottom = Math.max(0, ...page().windows.map((w) => w.y + w.h));
    page().windows.push({ id, portlet: portlet.id, x: 0, y: bottom, w: portlet.size[0], h: portlet.size[1] });
    render();
  });
  $("add-page").addEventListener("click", () => {
    let n = doc.pages.length + 1;
    while (doc.pages.some((p) => p.id === "page" + n)) n++;
    doc.pages.push({ id: "page" + n, title: "页面" + n, title_en: "Page " + n, windows: [] });
    current = doc.pages.length - 1;
    render();
  });
  $("delete-page").addEventListener("click", () => {
    if (doc.pages.length < 2 || !window.confirm(text.textConfirmPage)) return;
    doc.pages.splice(current, 1);
    current = 0;
    render();
  });

  function show(ok, message, problems) {
    const box = $("editor-result");
    box.className = ok ? "ok-text" : "form-error";
    box.replaceChildren(el("p", { text: message }));
    if (problems && problems.length) box.appendChild(el("ul", {}, problems.map((p) => el("li", { text: p }))));
  }

  async function send(url, extra) {
    const response = await fetch(url, { method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json", "X-CSRFToken": csrfToken() },
      body: JSON.stringify(Object.assign({ document: doc }, extra || {})) });
    return [response, await response.json().catch(() => ({}))];
  }

  $("check").addEventListener("click", async () => {
    const [, data] = await send(root.dataset.checkUrl);
    show(data.ok, data.ok ? text.textOk : data.error || "", data.problems);
  });
  $("publish").addEventListener("click", async () => {
    const [response, data] = await send(root.dataset.publishUrl, { note: $("note").value });
    if (response.ok) { show(true, text.textPublished); window.location.href = data.url; return; }
    show(false, data.error || ("HTTP " + response.status), data.problems);
  });
  $("preview-form").addEventListener("submit", () => {
    $("preview-document").value = JSON.stringify(doc);
    $("preview-page").value = page().id;
  });
  render();
})();
