// "Use from another app": create, copy, list and revoke participant API keys for the
// OpenAI-compatible gateway (POST/GET /api/keys, DELETE /api/keys/{prefix}). Dependency-free,
// loaded as a file (the page's CSP forbids inline script); text is written with textContent.
"use strict";

(() => {
  const $ = (id) => document.getElementById(id);
  const el = {
    panel: $("keys-panel"), base: $("keys-base"), create: $("keys-create"), box: $("keys-new"),
    value: $("keys-value"), copy: $("keys-copy"), status: $("keys-status"), list: $("keys-list"),
    open: $("me-open"),
  };
  if (!el.panel) return;
  el.base.textContent = `${window.location.origin}/v1`;

  async function api(method, path) {
    const resp = await fetch(path, { method, credentials: "same-origin", headers: { Accept: "application/json" } });
    if (!resp.ok) {
      let body = null;
      try { body = await resp.json(); } catch (_) { /* not JSON */ }
      throw new Error((body && body.message) || `Request failed (HTTP ${resp.status})`);
    }
    return resp.status === 204 ? null : resp.json();
  }

  function say(text) { el.status.textContent = text; }

  async function refresh() {
    try {
      const data = await api("GET", "/api/keys");
      el.list.replaceChildren();
      for (const key of data.keys) {
        const li = document.createElement("li");
        const label = document.createElement("span");
        const when = key.created_at ? key.created_at.slice(0, 10) : "";
        label.textContent = `${key.prefix}… created ${when}${key.revoked_at ? " (revoked)" : ""}`;
        li.append(label);
        if (!key.revoked_at) {
          const revoke = document.createElement("button");
          revoke.type = "button";
          revoke.className = "secondary";
          revoke.textContent = "Revoke";
          revoke.addEventListener("click", async () => {
            try { await api("DELETE", `/api/keys/${encodeURIComponent(key.prefix)}`); say("Key revoked."); }
            catch (err) { say(err.message); }
            refresh();
          });
          li.append(" ", revoke);
        }
        el.list.append(li);
      }
    } catch (err) { say(err.message); }
  }

  el.create.addEventListener("click", async () => {
    try {
      const made = await api("POST", "/api/keys");
      el.value.value = made.key;
      el.box.hidden = false;
      say("Key created. It is not shown again: copy it into your app now.");
      refresh();
    } catch (err) { say(err.message); }
  });

  el.copy.addEventListener("click", async () => {
    try { await navigator.clipboard.writeText(el.value.value); say("Copied."); }
    catch (_) { el.value.select(); say("Select the key and copy it (Ctrl+C)."); }
  });

  if (el.open) el.open.addEventListener("click", () => { el.box.hidden = true; el.value.value = ""; refresh(); });
})();
