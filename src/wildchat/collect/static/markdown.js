// wildchat collection page: model replies shown as Markdown, safely.
// The server renders a reply (POST /api/render: markdown-it-py with raw HTML off, then the nh3
// allow-list sanitiser). This file only ever inserts that sanitised HTML, and only after parsing it
// into an inert <template> (nothing loads or runs there) and decorating it: code blocks get a
// language label and a copy button, tables a scroll wrapper, links open in a new tab without an
// opener or referrer. The page's CSP (no inline script) is the last line of defence.
// Dependency-free, no build step; used by app.js as window.wildchatMarkdown.view(content, render).
"use strict";

(() => {
  const RENDER_INTERVAL_MS = 200; // while streaming, at most ~5 renders a second per reply

  function sleep(ms) { return new Promise((resolve) => setTimeout(resolve, ms)); }

  function copyCode(code, button) {
    const text = code.textContent;
    const done = (label) => {
      button.textContent = label;
      setTimeout(() => { button.textContent = "Copy"; }, 1500);
    };
    if (navigator.clipboard && navigator.clipboard.writeText) {
      navigator.clipboard.writeText(text).then(() => done("Copied"), () => done("Copy failed"));
    } else {
      done("Copy failed");
    }
  }

  // Code blocks get a header (language label + copy button); tables a scroll wrapper;
  // links open in a new tab without an opener or referrer. Runs on the inert template.
  function decorate(root) {
    for (const code of root.querySelectorAll("pre > code")) {
      const pre = code.parentElement;
      const match = /(?:^|\s)language-([\w+#.-]+)/.exec(code.className);
      const block = document.createElement("div");
      block.className = "code-block";
      const head = document.createElement("div");
      head.className = "code-head";
      const label = document.createElement("span");
      label.className = "code-lang";
      label.textContent = match ? match[1] : "text";
      const copy = document.createElement("button");
      copy.type = "button";
      copy.className = "code-copy secondary";
      copy.textContent = "Copy";
      copy.setAttribute("aria-label", `Copy ${label.textContent} code`);
      copy.addEventListener("click", () => copyCode(code, copy));
      head.append(label, copy);
      pre.replaceWith(block);
      block.append(head, pre);
    }
    for (const table of root.querySelectorAll("table")) {
      const wrap = document.createElement("div");
      wrap.className = "table-wrap";
      table.replaceWith(wrap);
      wrap.append(table);
    }
    for (const a of root.querySelectorAll("a[href]")) {
      a.target = "_blank";
      a.rel = "noopener noreferrer nofollow";
    }
  }

  function showHtml(content, html) {
    const tpl = document.createElement("template"); // parsed inert: nothing loads or runs here
    tpl.innerHTML = html.trim();
    decorate(tpl.content);
    content.classList.add("md");
    content.replaceChildren(tpl.content);
  }

  function showPlain(content, text) {
    content.classList.remove("md");
    content.textContent = text;
  }

  // One reply bubble's renderer. render(text) -> Promise<{html}> (the page's POST /api/render).
  // set(text) as often as deltas arrive; renders are sequential, at most one in flight, and the
  // latest text always ends up rendered. settled() resolves once what is shown is the latest text.
  // After a failed render the reply stays plain text (textContent).
  function view(content, render) {
    let raw = "";
    let shown = null;
    let plain = false;
    let running = null;
    async function loop() {
      let last = 0;
      while (!plain && shown !== raw) {
        const wait = last + RENDER_INTERVAL_MS - Date.now();
        if (shown !== null && wait > 0) await sleep(wait);
        const text = raw;
        last = Date.now();
        try {
          const data = await render(text);
          if (plain) break;
          showHtml(content, String(data.html));
          shown = text;
        } catch (_) {
          plain = true;
          showPlain(content, raw);
        }
      }
      running = null;
    }
    return {
      set(text) {
        raw = text;
        if (plain || shown === null) showPlain(content, text); // visible at once, until rendered
        if (!plain && !running) running = loop();
      },
      settled() { return running || Promise.resolve(); },
    };
  }

  window.wildchatMarkdown = { view };
})();
