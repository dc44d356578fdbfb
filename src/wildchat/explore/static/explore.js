// wildchat explore: vanilla JS modules, no build step.  Every piece of data is put in
// the DOM with textContent / createElement (never innerHTML): conversations
// carry hostile markup.  Views are hash-routed so every view is a permalink:
//   #/search?q=…&language=…   #/c/<conversation_id>   #/u/<hashed_ip>   #/map?q=…&color=language
import {
  $, api, badge, convHref, dl, el, flagBadges, fmtTime, link, redactedText, renderHit, showError, userHref,
} from "./explore_dom.js";
import { bindMap, hideTooltip, showMap } from "./explore_map.js";

(() => {
  const FILTER_KEYS = ["dataset", "model", "language", "country", "state", "toxic", "redacted", "jailbreak",
    "hashed_ip", "conversation_id", "min_turns", "max_turns", "since", "until"];
  const SEARCH_KEYS = ["q", "phrase", "sort", ...FILTER_KEYS];
  const S = { datasets: [], gen: 0, cursor: null, searchQs: "", user: null, boot: Math.random().toString(36).slice(2) };

  // ---------------------------------------------------------------- helpers
  // ---------------------------------------------------------------- form <-> params
  function formParams() {
    const p = new URLSearchParams();
    const q = $("q").value.trim();
    if (q) p.set("q", q);
    if ($("phrase").checked) p.set("phrase", "1");
    if ($("sort").value !== "relevance") p.set("sort", $("sort").value);
    for (const k of FILTER_KEYS) {
      const input = $("f-" + k);
      if (input && !input.disabled && input.value.trim() !== "") p.set(k, input.value.trim());
    }
    return p;
  }
  function fillForm(params) {
    $("q").value = params.get("q") || "";
    $("phrase").checked = ["1", "true", "yes"].includes(params.get("phrase") || "");
    $("sort").value = params.get("sort") === "time" ? "time" : "relevance";
    for (const k of FILTER_KEYS) {
      const input = $("f-" + k);
      const v = params.get(k) || "";
      if (input.tagName === "SELECT" && v && ![...input.options].some((o) => o.value === v)) input.append(new Option(v, v));
      input.value = v;
    }
    updateDisabled();
  }
  function searchOnly(params) {
    const p = new URLSearchParams();
    for (const k of SEARCH_KEYS) if (params.get(k)) p.set(k, params.get(k));
    return p;
  }
  function navigate(hash) { if (location.hash === hash) route(); else location.hash = hash; }

  // Filters a dataset cannot answer (DatasetInfo.filters) are greyed out.
  function updateDisabled() {
    const chosen = $("f-dataset").value;
    const sets = S.datasets.filter((d) => !chosen || d.name === chosen);
    const ok = new Set(sets.flatMap((d) => d.filters || []));
    for (const label of document.querySelectorAll(".filter-grid label[data-filter]")) {
      const name = label.dataset.filter;
      const always = name === "dataset" || name === "conversation_id" || S.datasets.length === 0;
      const on = always || ok.has(name);
      label.classList.toggle("disabled", !on);
      label.title = on ? "" : "not available in the loaded data";
      for (const input of label.querySelectorAll("input, select")) input.disabled = !on;
    }
  }
  function fillSelect(id, values) {
    const s = $(id);
    for (const v of values || []) s.append(new Option(v, v));
  }

  // ---------------------------------------------------------------- views
  async function runSearch(params, gen) {
    const p = searchOnly(params);
    p.set("limit", "20");
    S.searchQs = p.toString();
    $("results").replaceChildren();
    $("more").hidden = true;
    $("search-status").textContent = "Searching…";
    const page = await api("/api/search?" + S.searchQs);
    if (gen !== S.gen) return;
    const n = page.total;
    $("search-status").textContent = n.toLocaleString("en") + (n === 1 ? " conversation matches" : " conversations match");
    $("results").append(...page.results.map(renderHit));
    S.cursor = page.next_cursor;
    $("more").hidden = !S.cursor;
  }
  async function moreResults() {
    if (!S.cursor) return;
    const page = await api("/api/search?" + S.searchQs + "&cursor=" + encodeURIComponent(S.cursor));
    $("results").append(...page.results.map(renderHit));
    S.cursor = page.next_cursor;
    $("more").hidden = !S.cursor;
  }

  function topModeration(mod) {
    if (!mod || !mod.category_scores) return [];
    const best = new Map();
    for (const [k, v] of Object.entries(mod.category_scores)) {
      if (typeof v !== "number") continue;
      const name = k.replace(/[/_-]/g, " ");
      if (!best.has(name) || best.get(name).score < v) best.set(name, { score: v, flagged: !!(mod.categories || {})[k] });
    }
    return [...best.entries()].filter(([, o]) => o.score >= 0.01).sort((a, b) => b[1].score - a[1].score).slice(0, 3);
  }
  async function showConversation(id, gen) {
    const c = await api("/api/conversation/" + encodeURIComponent(id));
    if (gen !== S.gen) return;
    const meta = $("conversation-meta");
    const ip = c.hashed_ip ? link(userHref(c.hashed_ip), c.hashed_ip, "user-link") : null;
    const flags = el("span");
    flagBadges(flags, c);
    meta.replaceChildren(el("h2", null, "Conversation " + (c.conversation_id || id)), dl([
      ["Dataset", c.dataset], ["Model", c.model], ["Time", fmtTime(c.timestamp)], ["Turns", c.turn],
      ["Language", c.language], ["Country", c.country], ["State", c.state], ["Hashed IP", ip],
      ["Flags", flags.childNodes.length ? flags : null], ["Conversation hash", c.conversation_hash],
      ["User agent", c.header && c.header["user-agent"]],
    ]));
    const turns = (c.conversation || []).map((t, i) => {
      const art = el("article", "turn " + (t.role === "user" ? "user" : "assistant") + (t.toxic ? " toxic" : ""));
      const head = el("div", "turn-head");
      head.append(el("span", "role", t.role || "?"));
      for (const v of [t.language, fmtTime(t.timestamp), [t.country, t.state].filter(Boolean).join(" / ")]) {
        if (v) head.append(el("span", null, v));
      }
      flagBadges(head, t);
      if (t.jailbreak_match) head.append(badge("jailbreak: " + t.jailbreak_match, "jailbreak"));
      for (const [name, o] of topModeration((c.openai_moderation || [])[i])) {
        head.append(badge(name + " " + o.score.toFixed(2), "mod" + (o.flagged ? " toxic" : "")));
      }
      const det = (c.detoxify_moderation || [])[i];
      if (det && typeof det.toxicity === "number") head.append(badge("detoxify " + det.toxicity.toFixed(2), "mod"));
      art.append(head, redactedText(t.content, "turn-body"));
      return art;
    });
    $("turns").replaceChildren(...turns);
  }

  function timeline(convs) {
    const NS = "http://www.w3.org/2000/svg";
    const svg = document.createElementNS(NS, "svg");
    svg.setAttribute("viewBox", "0 0 1000 70");
    const times = convs.map((c) => Date.parse(c.timestamp)).filter((t) => !isNaN(t));
    const box = $("timeline");
    if (!times.length) { box.replaceChildren(el("p", "muted", "No timestamps.")); return; }
    const lo = Math.min(...times), hi = Math.max(...times), span = Math.max(hi - lo, 1);
    const axis = document.createElementNS(NS, "line");
    for (const [k, v] of [["x1", 10], ["x2", 990], ["y1", 46], ["y2", 46]]) axis.setAttribute(k, v);
    axis.setAttribute("class", "axis");
    svg.append(axis);
    for (const c of convs) {
      const t = Date.parse(c.timestamp);
      if (isNaN(t)) continue;
      const r = document.createElementNS(NS, "rect");
      const x = 10 + 977 * (times.length > 1 ? (t - lo) / span : 0.5);
      for (const [k, v] of [["x", x.toFixed(1)], ["y", 12], ["width", 3], ["height", 34]]) r.setAttribute(k, v);
      r.setAttribute("class", "tick" + (c.toxic ? " toxic" : ""));
      const title = document.createElementNS(NS, "title");
      title.textContent = fmtTime(c.timestamp) + " · " + c.conversation_id;
      r.append(title);
      r.addEventListener("click", () => navigate(convHref(c.conversation_id)));
      svg.append(r);
    }
    for (const [x, anchor, t] of [[10, "start", lo], [990, "end", hi]]) {
      const label = document.createElementNS(NS, "text");
      label.setAttribute("x", x); label.setAttribute("y", 62); label.setAttribute("text-anchor", anchor);
      label.textContent = fmtTime(new Date(t).toISOString());
      svg.append(label);
    }
    box.replaceChildren(svg);
  }
  async function showUser(ip, gen, more) {
    const u = S.user;
    const qs = "?limit=100" + (more && u.cursor ? "&cursor=" + encodeURIComponent(u.cursor) : "");
    const page = await api("/api/user/" + encodeURIComponent(ip) + qs);
    if (gen !== S.gen) return;
    if (!more) { S.user = { ip, convs: [], cursor: null }; $("user-results").replaceChildren(); }
    S.user.convs.push(...page.conversations);
    S.user.cursor = page.next_cursor;
    const convs = S.user.convs;
    const countries = [...new Set(convs.map((c) => c.country).filter(Boolean))].join(", ");
    const models = [...new Set(convs.map((c) => c.model).filter(Boolean))].join(", ");
    $("user-meta").replaceChildren(el("h2", null, "User " + ip), dl([
      ["Conversations", page.total.toLocaleString("en")], ["First seen", fmtTime((convs[0] || {}).timestamp)],
      ["Last seen (loaded)", fmtTime((convs[convs.length - 1] || {}).timestamp)], ["Countries", countries],
      ["Models", models], ["Toxic conversations (loaded)", convs.filter((c) => c.toxic).length],
    ]));
    timeline(convs);
    $("user-results").append(...page.conversations.map(renderHit));
    $("user-more").hidden = !page.next_cursor;
  }

  // ---------------------------------------------------------------- router
  function parseHash() {
    const h = location.hash.replace(/^#/, "") || "/search";
    const q = h.indexOf("?");
    const path = q < 0 ? h : h.slice(0, q);
    const params = new URLSearchParams(q < 0 ? "" : h.slice(q + 1));
    const id = (prefix) => { try { return decodeURIComponent(path.slice(prefix.length)); } catch (_) { return path.slice(prefix.length); } };
    if (path.startsWith("/c/")) return { view: "conversation", id: id("/c/"), params };
    if (path.startsWith("/u/")) return { view: "user", id: id("/u/"), params };
    if (path === "/map") return { view: "map", params };
    return { view: "search", params };
  }
  async function route() {
    const gen = ++S.gen, r = parseHash();
    document.body.removeAttribute("data-ready");
    showError("");
    for (const v of ["search", "conversation", "user", "map"]) $("view-" + v).hidden = v !== r.view;
    $("nav-search").classList.toggle("active", r.view !== "map");
    $("nav-map").classList.toggle("active", r.view === "map");
    hideTooltip();
    $("filters").hidden = r.view === "conversation" || r.view === "user";
    try {
      if (r.view === "search") { fillForm(r.params); await runSearch(r.params, gen); }
      else if (r.view === "map") { fillForm(r.params); await showMap(r.params, searchOnly(r.params), () => gen === S.gen); }
      else if (r.view === "conversation") await showConversation(r.id, gen);
      else await showUser(r.id, gen, false);
      document.title = (r.view === "search" ? "search" : r.view) + " · wildchat explore";
    } catch (err) {
      if (gen === S.gen) showError(err.message);
    }
    if (gen === S.gen) { document.body.dataset.gen = S.boot + "-" + gen; document.body.setAttribute("data-ready", r.view); }
  }

  async function init() {
    $("search-form").addEventListener("submit", (ev) => {
      ev.preventDefault();
      const p = formParams(), r = parseHash();
      if (r.view === "map" && r.params.get("color")) p.set("color", r.params.get("color"));
      const view = r.view === "map" ? "/map" : "/search", qs = p.toString();
      navigate("#" + view + (qs ? "?" + qs : ""));
    });
    $("reset-button").addEventListener("click", () => { fillForm(new URLSearchParams()); navigate("#/search"); });
    $("f-dataset").addEventListener("change", updateDisabled);
    $("more").addEventListener("click", () => moreResults().catch((e) => showError(e.message)));
    $("user-more").addEventListener("click", () => showUser(S.user.ip, S.gen, true).catch((e) => showError(e.message)));
    $("map-color").addEventListener("change", () => {
      const p = searchOnly(parseHash().params);
      if ($("map-color").value !== "dataset") p.set("color", $("map-color").value);
      const qs = p.toString();
      navigate("#/map" + (qs ? "?" + qs : ""));
    });
    bindMap(navigate, showError);
    window.addEventListener("hashchange", route);
    try {
      const [ds, facets] = await Promise.all([api("/api/datasets"), api("/api/facets")]);
      S.datasets = ds.datasets || [];
      fillSelect("f-dataset", S.datasets.map((d) => d.name));
      for (const k of ["model", "language", "country"]) fillSelect("f-" + k, facets[k]);
      const states = $("state-list");
      for (const v of facets.state || []) states.append(new Option(v, v));
      const total = S.datasets.reduce((s, d) => s + d.conversations, 0);
      $("datasets-summary").textContent = S.datasets.length + (S.datasets.length === 1 ? " dataset · " : " datasets · ") +
        total.toLocaleString("en") + " conversations";
    } catch (err) { showError("Cannot load datasets: " + err.message); }
    await route();
  }
  init();
})();
