// DOM and API helpers of the explorer page.  Data only ever enters the DOM as
// text (textContent / text nodes); highlights and redaction markers are
// separate elements around text, never parsed markup.

export const $ = (id) => document.getElementById(id);
export const REDACTION = /<?PRESIDIO_ANONYMIZED_[A-Z_]+>?|\[REDACTED[^\]\n]{0,60}\]|\bNAME_\d+\b/g;
export const convHref = (id) => "#/c/" + encodeURIComponent(id);
export const userHref = (ip) => "#/u/" + encodeURIComponent(ip);

export function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined && text !== null) e.textContent = String(text);
  return e;
}
export function link(href, text, cls) { const a = el("a", cls, text); a.href = href; return a; }
export function badge(text, cls) { return el("span", "badge " + (cls || ""), text); }
export function fmtTime(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  return isNaN(d) ? String(iso) : d.toISOString().slice(0, 16).replace("T", " ") + " UTC";
}
export function showError(msg) { const e = $("error"); e.textContent = msg || ""; e.hidden = !msg; }
export async function api(path) {
  const resp = await fetch(path, { headers: { accept: "application/json" } });
  let body = null;
  try { body = await resp.json(); } catch (_) { body = null; }
  if (!resp.ok) throw new Error((body && typeof body.detail === "string") ? body.detail : "HTTP " + resp.status);
  return body;
}

// Appends text to parent, with redaction markers as styled spans (text only).
export function appendRedacted(parent, text) {
  const s = String(text || "");
  let at = 0;
  for (const m of s.matchAll(REDACTION)) {
    if (m.index > at) parent.append(document.createTextNode(s.slice(at, m.index)));
    const span = el("span", "redaction", m[0]);
    span.title = "redacted by the privacy pipeline";
    parent.append(span);
    at = m.index + m[0].length;
  }
  if (at < s.length) parent.append(document.createTextNode(s.slice(at)));
  return parent;
}
// Text with highlight offsets (Python code-point offsets, so split by code points).
export function highlighted(text, highlights, cls) {
  const p = el("p", cls);
  const cps = Array.from(text || "");
  const spans = (highlights || []).map((h) => [Math.max(0, h[0] | 0), Math.min(cps.length, h[1] | 0)])
    .filter((h) => h[1] > h[0]).sort((a, b) => a[0] - b[0]);
  let at = 0;
  for (const [s, e] of spans) {
    if (s < at) continue;
    if (s > at) appendRedacted(p, cps.slice(at, s).join(""));
    p.append(el("mark", null, cps.slice(s, e).join("")));
    at = e;
  }
  if (at < cps.length) appendRedacted(p, cps.slice(at).join(""));
  return p;
}
export const redactedText = (text, cls) => appendRedacted(el("div", cls), text);
export function flagBadges(into, rec) {
  if (rec.toxic) into.append(badge("toxic", "toxic"));
  if (rec.redacted) into.append(badge("redacted", "redacted"));
  if (rec.jailbreak) into.append(badge("jailbreak", "jailbreak"));
}
export function dl(rows) {
  const d = el("dl");
  for (const [k, v] of rows) {
    if (v === null || v === undefined || v === "") continue;
    d.append(el("dt", null, k));
    const dd = el("dd");
    if (v instanceof Node) dd.append(v); else dd.textContent = String(v);
    d.append(dd);
  }
  return d;
}
export function renderHit(hit) {
  const li = el("li", "hit");
  const head = el("div", "hit-head");
  head.append(link(convHref(hit.conversation_id), hit.conversation_id, "open"), badge(hit.dataset, "dataset"));
  for (const v of [hit.model, hit.language, [hit.country, hit.state].filter(Boolean).join(" / "), fmtTime(hit.timestamp)]) {
    if (v) head.append(el("span", null, v));
  }
  head.append(el("span", null, hit.turn + (hit.turn === 1 ? " turn" : " turns")));
  flagBadges(head, hit);
  if (hit.hashed_ip) head.append(link(userHref(hit.hashed_ip), "user " + hit.hashed_ip.slice(0, 12), "user-link"));
  li.append(head, highlighted(hit.snippet, hit.highlights, "snippet"));
  return li;
}

