// "My conversations": a participant sees, reopens and deletes their conversations, or withdraws
// consent (GET/DELETE /api/me/conversations, POST /api/me/withdraw). Dependency-free; every piece
// of conversation text is written with textContent. The chat itself is driven through the hooks
// app.js exposes as window.wildchatChat.
"use strict";

(() => {
  const $ = (id) => document.getElementById(id);
  const el = {
    open: $("me-open"), view: $("me-view"), back: $("me-back"), list: $("me-list"), empty: $("me-empty"),
    status: $("me-status"), newer: $("me-newer"), older: $("me-older"), withdraw: $("me-withdraw"),
    dialog: $("withdraw-dialog"), form: $("withdraw-form"), check: $("withdraw-check"),
    submit: $("withdraw-submit"), cancel: $("withdraw-cancel"),
    chatView: $("chat-view"), consentView: $("consent-view"), controls: $("chat-controls"),
  };
  if (!el.view || !el.open) return;
  const PAGE = 20;
  let offset = 0;

  class HttpError extends Error {
    constructor(status, message) { super(message); this.status = status; }
  }

  async function api(method, path, payload) {
    const init = { method, credentials: "same-origin", headers: { Accept: "application/json" } };
    if (payload !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(payload);
    }
    const resp = await fetch(path, init);
    if (!resp.ok) {
      let body = null;
      try { body = await resp.json(); } catch (_) { /* not JSON */ }
      throw new HttpError(resp.status, (body && body.message) || `Request failed (HTTP ${resp.status})`);
    }
    return resp.status === 204 ? null : resp.json();
  }

  const chat = () => window.wildchatChat;

  function say(text) { el.status.textContent = text; }

  function hideView() { el.view.hidden = true; }

  // A 403 means the consent is gone (withdrawn elsewhere, expired): back to the consent screen.
  function fail(err) {
    if (err instanceof HttpError && err.status === 403) {
      hideView();
      chat().showConsent(err.message);
      return;
    }
    say(err instanceof HttpError ? err.message : `Network error: ${err.message || err}`);
  }

  function when(iso) {
    const d = new Date(iso);
    return Number.isNaN(d.getTime()) ? "" : d.toLocaleString();
  }

  function row(conv) {
    const item = document.createElement("li");
    item.className = "me-item";
    item.dataset.id = conv.conversation_id;
    const title = document.createElement("span");
    title.className = "me-title";
    title.textContent = conv.title || "(no message)";
    const meta = document.createElement("span");
    meta.className = "me-meta";
    meta.textContent = `${conv.turns} turn${conv.turns === 1 ? "" : "s"} · ${when(conv.updated_at)}`;
    const open = document.createElement("button");
    open.type = "button";
    open.className = "secondary me-reopen";
    open.textContent = "Open";
    open.addEventListener("click", () => reopen(conv.conversation_id));
    const del = document.createElement("button");
    del.type = "button";
    del.className = "danger me-delete";
    del.textContent = "Delete";
    del.addEventListener("click", () => remove(conv.conversation_id, del));
    item.append(title, meta, open, del);
    return item;
  }

  async function load(at) {
    say("Loading…");
    try {
      const data = await api("GET", `/api/me/conversations?limit=${PAGE}&offset=${at}`);
      offset = at;
      el.list.replaceChildren(...data.conversations.map(row));
      el.empty.hidden = data.conversations.length > 0;
      el.newer.hidden = offset === 0;
      el.older.hidden = data.next_offset === null || data.next_offset === undefined;
      say(data.total ? `${data.total} conversation${data.total === 1 ? "" : "s"} stored.` : "");
    } catch (err) {
      fail(err);
    }
  }

  function showView() {
    if (chat().busy()) return;
    el.chatView.hidden = true;
    el.consentView.hidden = true;
    el.controls.hidden = true;
    el.view.hidden = false;
    load(0);
  }

  async function backToChat() {
    hideView();
    await chat().showChat();
  }

  // The most recent branch (the last one: branches are ordered by their newest message)
  // as exchanges the chat can continue.
  function exchanges(conv) {
    const byId = new Map(conv.messages.map((m) => [m.id, m]));
    const branch = conv.branches.length ? conv.branches[conv.branches.length - 1] : [];
    const out = [];
    let previousAssistant = null;
    for (const id of branch) {
      const m = byId.get(id);
      if (!m) continue;
      if (m.role === "user") {
        out.push({ user: m.content, assistant: "", parentId: previousAssistant, assistantTurnId: null });
      } else if (m.role === "assistant" && out.length) {
        const last = out[out.length - 1];
        last.assistant = m.content;
        last.assistantTurnId = m.id;
        previousAssistant = m.id;
      }
    }
    return out;
  }

  async function reopen(id) {
    try {
      const conv = await api("GET", `/api/me/conversations/${encodeURIComponent(id)}`);
      await backToChat();
      chat().open(conv.conversation_id, exchanges(conv));
    } catch (err) {
      fail(err);
    }
  }

  // Delete asks twice: the first click arms the button, the second deletes.
  async function remove(id, button) {
    if (button.dataset.armed !== "1") {
      button.dataset.armed = "1";
      button.textContent = "Really delete?";
      return;
    }
    button.disabled = true;
    try {
      await api("DELETE", `/api/me/conversations/${encodeURIComponent(id)}`);
      if (chat().current() === id) chat().reset();
      await load(offset);
      say("Conversation deleted.");
    } catch (err) {
      button.disabled = false;
      fail(err);
    }
  }

  function openWithdraw() {
    el.check.checked = false;
    el.submit.disabled = true;
    el.dialog.showModal();
    el.check.focus();
  }

  async function submitWithdraw(event) {
    event.preventDefault();
    if (!el.check.checked) return;
    el.submit.disabled = true;
    try {
      const result = await api("POST", "/api/me/withdraw", { confirm: true });
      el.dialog.close();
      hideView();
      const n = result.conversations_deleted;
      await chat().showConsent(
        `You withdrew your consent; ${n} conversation${n === 1 ? " was" : "s were"} deleted.`);
    } catch (err) {
      el.dialog.close();
      fail(err);
    }
  }

  el.open.addEventListener("click", showView);
  el.back.addEventListener("click", backToChat);
  el.newer.addEventListener("click", () => load(Math.max(0, offset - PAGE)));
  el.older.addEventListener("click", () => load(offset + PAGE));
  el.withdraw.addEventListener("click", openWithdraw);
  el.check.addEventListener("change", () => { el.submit.disabled = !el.check.checked; });
  el.form.addEventListener("submit", submitWithdraw);
  el.cancel.addEventListener("click", () => el.dialog.close());
})();
