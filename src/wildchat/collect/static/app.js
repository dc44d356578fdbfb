// wildchat collection page: consent (two explicit steps), then a streaming chat.
// Dependency-free, no build step. User text is written with textContent, never as markup.
// Model replies are Markdown, shown through markdown.js (server-rendered, sanitised HTML only).
"use strict";

(() => {
  const $ = (id) => document.getElementById(id);
  const el = {
    loading: $("loading"), consentView: $("consent-view"), consentText: $("consent-text"),
    consentVersion: $("consent-version"), agree: $("consent-agree"), dialog: $("confirm-dialog"),
    confirmForm: $("confirm-form"), confirmCheck: $("confirm-check"), confirmSubmit: $("confirm-submit"),
    confirmCancel: $("confirm-cancel"), confirmVersion: $("confirm-version"), chatView: $("chat-view"),
    controls: $("chat-controls"), model: $("model-select"), newChat: $("new-chat"), messages: $("messages"),
    empty: $("empty-hint"), composer: $("composer"), input: $("message-input"), send: $("send"),
    stop: $("stop"), regenerate: $("regenerate"), temperature: $("temperature"), topP: $("top-p"),
    banner: $("error-banner"), bannerText: $("error-text"), bannerDismiss: $("error-dismiss"),
  };

  // conversationId: server id of the open conversation (null = a new chat).
  // exchanges: [{text, parentId, assistantTurnId, nodes}] of the shown branch, in order;
  // parentId is what the user message was sent after, nodes its two <li> elements.
  const state = { consent: null, conversationId: null, exchanges: [], busy: false, controller: null };

  class HttpError extends Error {
    constructor(status, message) { super(message); this.status = status; }
  }

  // ---- errors -------------------------------------------------------------

  function showError(message) {
    el.bannerText.textContent = message;
    el.banner.hidden = false;
  }
  function clearError() { el.banner.hidden = true; el.bannerText.textContent = ""; }

  // One line from an error body: the server sends {"error": code, "message": text};
  // plain FastAPI/Starlette errors send {"detail": ...}.
  function describe(body, status) {
    const raw = body && (body.message ?? body.detail ?? body.error);
    if (typeof raw === "string") return raw;
    if (Array.isArray(raw)) return raw.map((d) => (d && d.msg) || JSON.stringify(d)).join("; ");
    if (raw && typeof raw === "object") return raw.message || JSON.stringify(raw);
    return `Request failed (HTTP ${status})`;
  }

  async function failure(resp) {
    let body = null;
    try { body = await resp.json(); } catch (_) { /* not JSON */ }
    return new HttpError(resp.status, describe(body, resp.status));
  }

  async function api(method, path, payload) {
    const init = { method, credentials: "same-origin", headers: { Accept: "application/json" } };
    if (payload !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(payload);
    }
    const resp = await fetch(path, init);
    if (!resp.ok) throw await failure(resp);
    return resp.status === 204 ? null : resp.json();
  }

  // A 403 means consent is missing or out of date: go back to the consent screen.
  function handle(err) {
    if (err instanceof HttpError && err.status === 403) {
      showConsent(`${err.message} — please review and accept the consent text.`);
      return;
    }
    showError(err instanceof HttpError ? err.message : `Network error: ${err.message || err}`);
  }

  // ---- views ----------------------------------------------------------------

  function show(view) {
    el.loading.hidden = true;
    el.consentView.hidden = view !== "consent";
    el.chatView.hidden = view !== "chat";
    el.controls.hidden = view !== "chat";
  }

  // The consent text as paragraphs (blank-line separated). Inside a paragraph a single
  // line break is a soft wrap, except before a list item ("- ", "* ", "• ", "1. ").
  function renderConsent(text) {
    el.consentText.replaceChildren();
    for (const para of text.split(/\n\s*\n/)) {
      if (!para.trim()) continue;
      const p = document.createElement("p");
      p.textContent = para.trim().replace(/\n(?!\s*(?:[-*•]|\d+[.)])\s)\s*/g, " ");
      el.consentText.append(p);
    }
  }

  // Show the consent screen; "I agree" stays disabled until the document (`doc`, or a fresh
  // GET /api/consent) is on screen, so nobody can agree to a version they were not shown.
  async function showConsent(message, doc) {
    el.agree.disabled = true;
    show("consent");
    if (message) showError(message);
    try {
      state.consent = doc || (await api("GET", "/api/consent"));
      el.consentVersion.textContent = String(state.consent.version);
      renderConsent(String(state.consent.text));
      el.agree.disabled = false;
    } catch (err) {
      el.agree.disabled = true;
      showError(err instanceof HttpError ? err.message : "Could not load the consent text.");
    }
  }

  function openConfirm() {
    if (!state.consent) return;
    el.confirmCheck.checked = false;
    el.confirmSubmit.disabled = true;
    el.confirmVersion.textContent = String(state.consent.version);
    el.dialog.showModal();
    el.confirmCheck.focus();
  }

  async function submitConsent(event) {
    event.preventDefault();
    if (!el.confirmCheck.checked || !state.consent) return;
    el.confirmSubmit.disabled = true;
    try {
      await api("POST", "/api/consent", { agree: true, confirm: true, version: state.consent.version,
                                          language: state.consent.language });
      el.dialog.close();
      clearError();
      // A new consent owns new conversations: the server will not continue one made under another.
      resetChat();
      await showChat();
    } catch (err) {
      el.dialog.close();
      showError(err instanceof HttpError ? err.message : "Could not record your consent.");
    }
  }

  // Fill the model picker from GET /api/models ({"models": [{"name", "default"}]}) and show the chat.
  async function showChat() {
    const data = await api("GET", "/api/models");
    const models = Array.isArray(data) ? data : data.models || [];
    const previous = el.model.value;
    el.model.replaceChildren();
    for (const m of models) {
      const name = typeof m === "string" ? m : m.name || m.id;
      const option = document.createElement("option");
      option.value = name;
      option.textContent = name;
      option.selected = m.default === true;
      el.model.append(option);
    }
    if (previous && models.some((m) => (m.name || m.id || m) === previous)) el.model.value = previous;
    show("chat");
    if (!models.length) showError("No model is configured on this server.");
    el.input.focus();
  }

  // ---- messages ---------------------------------------------------------------

  function addMessage(role, text) {
    const item = document.createElement("li");
    item.className = `msg ${role}`;
    const who = document.createElement("span");
    who.className = "role";
    who.textContent = role === "user" ? "You" : "Assistant";
    const content = document.createElement("div");
    content.className = "content";
    content.textContent = text;
    item.append(who, content);
    el.messages.append(item);
    el.empty.hidden = true;
    item.scrollIntoView({ block: "end" });
    const msg = { item, content, view: null };
    if (role === "assistant") {
      // markdown.js: renders through POST /api/render, inserts only the sanitised HTML
      msg.view = window.wildchatMarkdown.view(content, (md) => api("POST", "/api/render", { text: md }));
      if (text) msg.view.set(text);
    }
    return msg;
  }

  function note(msg, text) {
    const span = document.createElement("span");
    span.className = "note";
    span.textContent = text;
    msg.item.append(span);
  }

  function setBusy(busy) {
    state.busy = busy;
    el.send.disabled = busy;
    el.stop.hidden = !busy;
    el.newChat.disabled = busy;
    el.regenerate.disabled = busy || state.exchanges.length === 0;
  }

  function sampling() {
    const out = {};
    const t = parseFloat(el.temperature.value);
    const p = parseFloat(el.topP.value);
    if (Number.isFinite(t)) out.temperature = t;
    if (Number.isFinite(p)) out.top_p = p;
    return out;
  }

  // ---- streaming ----------------------------------------------------------------

  // Parse one SSE block ("data: ..." lines) into its data string, or null.
  function eventData(block) {
    const lines = block.split(/\r?\n/).filter((l) => l.startsWith("data:"));
    if (!lines.length) return null;
    return lines.map((l) => l.slice(5).replace(/^ /, "")).join("\n");
  }

  async function* events(resp) {
    const reader = resp.body.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      buffer += decoder.decode(value || new Uint8Array(), { stream: !done });
      const blocks = buffer.split(/\r?\n\r?\n/);
      buffer = done ? "" : blocks.pop();
      for (const block of blocks) {
        const data = eventData(block);
        if (data === null) continue;
        if (data === "[DONE]") return;
        yield JSON.parse(data);
      }
      if (done) return;
    }
  }

  // Send `text` as a reply to `parentId` (an assistant turn id; null = a new root)
  // and stream the answer. Returns nothing; failures end up in the banner.
  // Inside a conversation a new root is parent_id 0 (no parent_id would continue the latest branch).
  async function sendTurn(text, parentId) {
    clearError();
    const model = el.model.value;
    const parent = parentId === null && state.conversationId ? 0 : parentId;
    const payload = { conversation_id: state.conversationId, message: text, model, parent_id: parent,
                      ...sampling() };
    const userMsg = addMessage("user", text);
    const reply = addMessage("assistant", "");
    reply.item.classList.add("streaming");
    reply.item.setAttribute("aria-busy", "true"); // screen readers read the reply once, when complete
    // assistantTurnId stays null when the reply was cut off before the server said its id.
    const exchange = { text, parentId, assistantTurnId: null, nodes: [userMsg.item, reply.item] };
    state.controller = new AbortController();
    setBusy(true);
    let resp = null;
    try {
      resp = await fetch("/api/chat", {
        method: "POST", credentials: "same-origin", signal: state.controller.signal,
        headers: { "Content-Type": "application/json", Accept: "text/event-stream" },
        body: JSON.stringify(payload),
      });
      if (!resp.ok) throw await failure(resp);
      state.exchanges.push(exchange); // the server stored the user turn
      let serverError = null;
      let replyText = "";
      for await (const ev of events(resp)) {
        if (typeof ev.delta === "string") {
          replyText += ev.delta;
          reply.view.set(replyText);
        }
        if (ev.conversation_id) state.conversationId = ev.conversation_id;
        if (ev.assistant_turn_id !== undefined && ev.assistant_turn_id !== null) {
          exchange.assistantTurnId = ev.assistant_turn_id;
        }
        if (ev.error) serverError = describe(ev, 0);
        if (ev.finish_reason === "length") note(reply, "Reply cut at the length limit.");
      }
      if (serverError) throw new HttpError(0, serverError);
      if (exchange.assistantTurnId === null) throw new HttpError(0, "The reply ended before it was complete.");
    } catch (err) {
      reply.item.classList.add("failed");
      if (resp === null || !resp.ok) {
        // Nothing was stored: take the bubbles away and give the text back for a retry.
        if (err.name !== "AbortError") handle(err);
        exchange.nodes.forEach((n) => n.remove());
        if (!el.input.value) el.input.value = text;
        el.empty.hidden = el.messages.childElementCount > 0;
      } else if (err.name === "AbortError") {
        note(reply, "Stopped.");
      } else {
        note(reply, "No complete reply — try Regenerate.");
        handle(err);
      }
    } finally {
      await reply.view.settled(); // the final text is rendered before the reply counts as done
      reply.item.classList.remove("streaming");
      reply.item.removeAttribute("aria-busy");
      state.controller = null;
      setBusy(false);
    }
  }

  async function onSend(event) {
    event.preventDefault();
    const text = el.input.value;
    if (state.busy || !text.trim()) return;
    if (!el.model.value) { showError("Choose a model first."); return; }
    el.input.value = "";
    const last = state.exchanges[state.exchanges.length - 1];
    if (last && last.assistantTurnId === null) {
      // The last reply was stopped before its id arrived: it cannot be continued,
      // so the new message follows the same parent (a sibling branch).
      state.exchanges.pop();
      last.nodes.forEach((n) => n.classList.add("abandoned"));
      await sendTurn(text, last.parentId);
      return;
    }
    await sendTurn(text, last ? last.assistantTurnId : null);
  }

  // Regenerate: re-send the last user message from the same parent (the assistant
  // turn it followed, or null for the first message). The server stores a sibling
  // branch; nothing is overwritten. The old exchange leaves the view.
  async function onRegenerate() {
    if (state.busy || !state.exchanges.length) return;
    const last = state.exchanges.pop();
    last.nodes.forEach((n) => n.remove());
    await sendTurn(last.text, last.parentId);
  }

  function resetChat() {
    state.conversationId = null;
    state.exchanges = [];
    el.messages.replaceChildren();
    el.empty.hidden = false;
  }

  function onNewChat() {
    if (state.busy) return;
    resetChat();
    clearError();
    setBusy(false);
    el.input.focus();
  }

  // ---- hooks for the "My conversations" view (me.js) -------------------------

  // open(): show a stored branch as the current chat, so the next message continues it.
  // exchanges: [{user, assistant, parentId, assistantTurnId}] root first.
  window.wildchatChat = {
    open(conversationId, exchanges) {
      if (state.busy) return false;
      resetChat();
      clearError();
      state.conversationId = conversationId;
      for (const ex of exchanges) {
        const userMsg = addMessage("user", ex.user);
        const reply = addMessage("assistant", ex.assistant);
        state.exchanges.push({ text: ex.user, parentId: ex.parentId, assistantTurnId: ex.assistantTurnId,
                               nodes: [userMsg.item, reply.item] });
      }
      setBusy(false);
      return true;
    },
    current() { return state.conversationId; },
    busy() { return state.busy; },
    reset() { if (!state.busy) resetChat(); },
    showChat() { return showChat(); },
    showConsent(message) { resetChat(); return showConsent(message); },
  };

  // ---- wiring ---------------------------------------------------------------

  el.agree.addEventListener("click", openConfirm);
  el.confirmCheck.addEventListener("change", () => { el.confirmSubmit.disabled = !el.confirmCheck.checked; });
  el.confirmForm.addEventListener("submit", submitConsent);
  el.confirmCancel.addEventListener("click", () => el.dialog.close());
  el.composer.addEventListener("submit", onSend);
  el.input.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) { e.preventDefault(); el.composer.requestSubmit(); }
  });
  el.stop.addEventListener("click", () => state.controller && state.controller.abort());
  el.regenerate.addEventListener("click", onRegenerate);
  el.newChat.addEventListener("click", onNewChat);
  el.bannerDismiss.addEventListener("click", clearError);

  // Start: the consent endpoint says whether this browser already agreed to the current version.
  (async () => {
    try {
      const consent = await api("GET", "/api/consent");
      if (consent.consented === true) {
        state.consent = consent;
        await showChat();
      } else {
        await showConsent(null, consent);
      }
    } catch (err) {
      if (err instanceof HttpError && err.status === 403) showConsent();
      else { el.loading.hidden = true; handle(err); }
    }
  })();
})();
