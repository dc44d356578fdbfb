// The embedding map: coordinates first (one request), drawn into an ImageData
// buffer; search hits bright, the rest dimmed; text fetched on hover only.
import { $, api, convHref, el } from "./explore_dom.js";

const PALETTE = ["#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#ff9da7",
  "#9c755f", "#17becf", "#bcbd22"];
const OTHER = "#9a9aa5";
const S = { map: null, points: new Map(), hits: null, layout: null, hover: -1 };

function mapCategories(m, by) {
  const codes = by === "language" ? m.language : m.dataset;
  const names = by === "language" ? m.languages : m.datasets;
  const counts = new Array(names.length).fill(0);
  for (const c of codes) if (c >= 0 && c < counts.length) counts[c]++;
  const order = names.map((n, i) => i).filter((i) => counts[i] > 0).sort((a, b) => counts[b] - counts[a]);
  const colour = new Array(names.length).fill(OTHER);
  order.slice(0, PALETTE.length).forEach((i, rank) => { colour[i] = PALETTE[rank]; });
  const legend = order.slice(0, PALETTE.length).map((i) => [names[i] || "unknown", colour[i], counts[i]]);
  const rest = order.slice(PALETTE.length).reduce((s, i) => s + counts[i], 0);
  if (rest) legend.push(["other", OTHER, rest]);
  return { codes, colour, legend };
}
function rgba(hex, alpha) {
  const n = parseInt(hex.slice(1), 16);
  return ((alpha << 24) | ((n & 0xff) << 16) | (n & 0xff00) | (n >> 16)) >>> 0; // little-endian ABGR
}
export function drawMap() {
  const m = S.map, canvas = $("map-canvas");
  if (!m || $("view-map").hidden) return;
  const dpr = window.devicePixelRatio || 1;
  const w = Math.max(200, canvas.clientWidth), h = Math.max(200, canvas.clientHeight);
  canvas.width = Math.round(w * dpr); canvas.height = Math.round(h * dpr);
  const ctx = canvas.getContext("2d");
  const W = canvas.width, H = canvas.height;
  const img = ctx.createImageData(W, H), px = new Uint32Array(img.data.buffer);
  const b = m.bounds || [0, 0, 1, 1], pad = 12 * dpr;
  const scale = Math.min((W - 2 * pad) / Math.max(b[2] - b[0], 1e-9), (H - 2 * pad) / Math.max(b[3] - b[1], 1e-9));
  const ox = (W - scale * (b[2] - b[0])) / 2, oy = (H - scale * (b[3] - b[1])) / 2;
  const cats = mapCategories(m, $("map-color").value);
  const full = cats.colour.map((c) => rgba(c, 230)), dim = cats.colour.map((c) => rgba(c, 60));
  const n = m.count, sx = new Float32Array(n), sy = new Float32Array(n);
  let size = Math.round((n < 2000 ? 6 : n < 30000 ? 3 : 2) * dpr);
  const put = (i, colour) => {
    const x0 = (sx[i] - size / 2) | 0, y0 = (sy[i] - size / 2) | 0;
    for (let dy = 0; dy < size; dy++) for (let dx = 0; dx < size; dx++) {
      const x = x0 + dx, y = y0 + dy;
      if (x >= 0 && y >= 0 && x < W && y < H) px[y * W + x] = colour;
    }
  };
  const hits = S.hits;
  for (let i = 0; i < n; i++) {
    sx[i] = ox + (m.x[i] - b[0]) * scale; sy[i] = H - (oy + (m.y[i] - b[1]) * scale);
    if (!hits || !hits.has(m.ids[i])) put(i, (hits ? dim : full)[cats.codes[i]] || full[0]);
  }
  size += Math.round(dpr);
  if (hits) for (let i = 0; i < n; i++) if (hits.has(m.ids[i])) put(i, full[cats.codes[i]] || full[0]);
  ctx.putImageData(img, 0, 0);
  // spatial grid (CSS pixels) for hover lookups
  const cell = 12, cols = Math.ceil(w / cell) + 1, grid = new Map();
  for (let i = 0; i < n; i++) {
    const key = Math.floor(sy[i] / dpr / cell) * cols + Math.floor(sx[i] / dpr / cell);
    let list = grid.get(key);
    if (!list) grid.set(key, (list = []));
    list.push(i);
  }
  S.layout = { sx, sy, dpr, cell, cols, grid };
  $("map-legend").replaceChildren(...cats.legend.map(([name, colour, count]) => {
    const li = el("li"), sw = el("span", "swatch");
    sw.style.background = colour;
    li.append(sw, document.createTextNode(name + " (" + count.toLocaleString("en") + ")"));
    return li;
  }));
}
function nearestPoint(ev) {
  const L = S.layout;
  if (!L) return -1;
  const r = $("map-canvas").getBoundingClientRect(), x = ev.clientX - r.left, y = ev.clientY - r.top;
  const cx = Math.floor(x / L.cell), cy = Math.floor(y / L.cell);
  let best = -1, bestD = 64;
  for (let gy = cy - 1; gy <= cy + 1; gy++) for (let gx = cx - 1; gx <= cx + 1; gx++) {
    for (const i of L.grid.get(gy * L.cols + gx) || []) {
      const d = (L.sx[i] / L.dpr - x) ** 2 + (L.sy[i] / L.dpr - y) ** 2;
      if (d < bestD) { bestD = d; best = i; }
    }
  }
  return best;
}
function mapPoint(id) {
  if (!S.points.has(id)) S.points.set(id, api("/api/map/point/" + id));
  return S.points.get(id);
}
async function hoverMap(ev) {
  const i = nearestPoint(ev), tip = $("map-tooltip");
  if (i < 0) { tip.hidden = true; S.hover = -1; return; }
  const r = $("map-canvas").getBoundingClientRect();
  tip.style.left = Math.min(ev.clientX - r.left + 14, r.width - 300) + "px";
  tip.style.top = (ev.clientY - r.top + 14) + "px";
  if (S.hover === i) return;
  S.hover = i;
  tip.hidden = false;
  tip.textContent = "…";
  try {
    const p = await mapPoint(S.map.ids[i]);
    if (S.hover !== i) return;
    const text = String(p.prompt || "");
    tip.textContent = (text.length > 400 ? text.slice(0, 400) + "…" : text) + "\n— " + p.dataset + " · " + p.conversation_id;
  } catch (err) { tip.textContent = err.message; }
}
// Show the map for a route; `search` holds the search parameters whose hits light up,
// `isCurrent()` says whether this route is still the one on screen.
export async function showMap(params, search, isCurrent) {
  $("map-color").value = params.get("color") === "language" ? "language" : "dataset";
  if (!S.map) {
    $("map-status").textContent = "Loading coordinates…";
    S.map = await api("/api/map");
  }
  if (!isCurrent()) return;
  search.delete("sort");
  S.hits = null;
  drawMap();
  const n = S.map.count.toLocaleString("en");
  if (!S.map.count) { $("map-status").textContent = "This index has no map points (built with --no-map, or without the embed extra)."; return; }
  if ([...search.keys()].length) {
    $("map-status").textContent = n + " points; finding hits…";
    const hits = await api("/api/map/hits?" + search.toString());
    if (!isCurrent()) return;
    S.hits = new Set(hits.ids);
    drawMap();
    $("map-status").textContent = hits.count.toLocaleString("en") + " of " + n + " points match the search";
  } else {
    $("map-status").textContent = n + " points (first user turns" + (S.map.model ? ", " + S.map.model : "") + ")";
  }
}


export function hideTooltip() { $("map-tooltip").hidden = true; S.hover = -1; }

// Canvas events: hover shows the first user turn, click opens the conversation.
export function bindMap(navigate, showError) {
  const canvas = $("map-canvas");
  canvas.addEventListener("mousemove", (ev) => { hoverMap(ev); });
  canvas.addEventListener("mouseleave", hideTooltip);
  canvas.addEventListener("click", async (ev) => {
    const i = nearestPoint(ev);
    if (i < 0) return;
    try { navigate(convHref((await mapPoint(S.map.ids[i])).conversation_id)); } catch (e) { showError(e.message); }
  });
  let resizeTimer = 0;
  window.addEventListener("resize", () => { clearTimeout(resizeTimer); resizeTimer = setTimeout(drawMap, 150); });
}
