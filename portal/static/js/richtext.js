/* Formatted text for any <textarea data-richtext="{labels}">: a small toolbar over an editable
 * box, whose HTML is copied back into the textarea, so the form posts exactly what it posted
 * without JavaScript. The server sanitizes whatever arrives (tags allow-list, no scripts, no
 * styles); this only makes the formatting reachable. Keyboard: Tab reaches the toolbar, each
 * button is a real <button>, Ctrl+B / Ctrl+I / Ctrl+U work in the box. */
(function () {
  "use strict";

  // [command, argument, label key, glyph]
  const TOOLS = [
    ["bold", null, "bold", "B"],
    ["italic", null, "italic", "I"],
    ["underline", null, "underline", "U"],
    ["formatBlock", "h4", "heading", "H"],
    ["insertUnorderedList", null, "bullets", "•"],
    ["insertOrderedList", null, "numbers", "1."],
    ["formatBlock", "blockquote", "quote", "❝"],
    ["createLink", null, "link", "↗"],
    ["removeFormat", null, "clear", "⌫"],
  ];
  const SAFE_LINK = /^(https?:\/\/|mailto:)/i;

  function enhance(area) {
    let labels = {};
    try { labels = JSON.parse(area.dataset.richtext || "{}"); } catch (e) { labels = {}; }
    const box = document.createElement("div");
    box.className = "richtext";
    const bar = document.createElement("div");
    bar.className = "richtext-bar";
    bar.setAttribute("role", "toolbar");
    bar.setAttribute("aria-label", labels.toolbar || "Formatting");
    const edit = document.createElement("div");
    edit.className = "richtext-edit";
    edit.contentEditable = "true";
    edit.setAttribute("role", "textbox");
    edit.setAttribute("aria-multiline", "true");
    edit.id = area.id + "-editor";
    const label = area.labels && area.labels[0];
    if (label) {
      label.htmlFor = edit.id;
      edit.setAttribute("aria-label", label.textContent.trim());
    }
    edit.innerHTML = area.value;  // sanitized by the server when it was saved
    const sync = function () { area.value = edit.innerHTML; };

    TOOLS.forEach(function (tool) {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "richtext-tool richtext-" + tool[2];
      button.textContent = tool[3];
      button.title = labels[tool[2]] || tool[2];
      button.setAttribute("aria-label", button.title);
      button.addEventListener("mousedown", function (e) { e.preventDefault(); });  // keep the selection
      button.addEventListener("click", function () {
        edit.focus();
        if (tool[0] === "createLink") {
          const url = window.prompt(labels.link_prompt || "URL (https://...)", "https://");
          if (!url || !SAFE_LINK.test(url.trim())) return;
          document.execCommand("createLink", false, url.trim());
        } else {
          document.execCommand(tool[0], false, tool[1]);
        }
        sync();
      });
      bar.appendChild(button);
    });

    edit.addEventListener("input", sync);
    edit.addEventListener("blur", sync);
    if (area.form) area.form.addEventListener("submit", sync);
    box.appendChild(bar);
    box.appendChild(edit);
    area.parentNode.insertBefore(box, area);
    area.hidden = true;
  }

  document.execCommand("defaultParagraphSeparator", false, "p");
  document.querySelectorAll("textarea[data-richtext]").forEach(enhance);
})();
