// wildchat review page: no build step, no inline script (CSP), every text via textContent.
"use strict";

const state = { annotator: "", task: "", item: null, history: [], undoing: false, busy: false };
const $ = (id) => document.getElementById(id);

function el(tag, text, cls) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  if (cls) node.className = cls;
  return node;
}

function setStatus(msg, isError) {
  $("status").textContent = msg || "";
  $("status").className = isError ? "error" : "";
}

async function api(path, options) {
  const resp = await fetch(path, options);
  if (resp.status === 204) return null;
  const body = await resp.json().catch(() => ({}));
  if (!resp.ok) throw new Error(body.detail || ("HTTP " + resp.status));
  return body;
}

function q(params) {
  return new URLSearchParams(params).toString();
}

async function loadTasks() {
  const data = await api("/api/review/tasks");
  const select = $("task");
  select.replaceChildren();
  for (const t of data.tasks) select.append(new Option(t.task + " (" + t.items + " items)", t.task));
  const saved = localStorage.getItem("review.task");
  if (saved && data.tasks.some((t) => t.task === saved)) select.value = saved;
  $("annotator").value = localStorage.getItem("review.annotator") || "";
}

function renderDetectors(detectors) {
  const dl = $("detectors");
  dl.replaceChildren();
  for (const [name, value] of Object.entries(detectors || {})) {
    dl.append(el("dt", name), el("dd", typeof value === "object" ? JSON.stringify(value) : value));
  }
}

function render(item) {
  state.item = item;
  $("card").hidden = false;
  $("question").textContent = item.question;
  $("meta").textContent = "item " + item.item_id + " · conversation " + item.conversation_id +
    " · turn " + item.turn + " (" + item.role + ")";
  $("text").textContent = item.text;
  $("undo-note").hidden = !state.undoing;
  renderDetectors(item.detectors);
  $("context").hidden = true;
  $("context").replaceChildren();
}

async function loadNext() {
  const item = await api("/api/review/next?" + q({ annotator: state.annotator, task: state.task }));
  state.undoing = false;
  if (item === null) {
    state.item = null;
    $("card").hidden = true;
    setStatus("done: you have labelled every item of " + state.task);
  } else {
    render(item);
    setStatus("");
  }
}

let progressSeq = 0;

async function refreshProgress() {
  const seq = ++progressSeq;
  const data = await api("/api/review/progress");
  if (seq !== progressSeq) return; // a newer refresh is under way: never show an older count
  const task = data.tasks[state.task] || { items: 0, strata: {} };
  const mine = (data.annotators[state.annotator] || {})[state.task] ||
    { labelled: 0, skipped: 0, strata: {} };
  $("progress").textContent = state.annotator + ": labelled " + mine.labelled + " / " + task.items +
    " (skipped " + mine.skipped + ")";
  const body = $("strata").tBodies[0];
  body.replaceChildren();
  for (const [name, n] of Object.entries(task.strata)) {
    const row = el("tr");
    row.append(el("td", name), el("td", n), el("td", mine.strata[name] || 0));
    body.append(row);
  }
}

async function label(value) {
  if (!state.item || state.busy) return;
  state.busy = true;
  try {
    const id = state.item.item_id;
    await api("/api/review/label", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ item_id: id, annotator: state.annotator, task: state.task, label: value }),
    });
    state.history.push(id);
    await loadNext();
  } catch (err) {
    setStatus(err.message, true);
  } finally {
    state.busy = false; // ready for the next key as soon as the next item shows
  }
  refreshProgress().catch((err) => setStatus(err.message, true));
}

async function undo() {
  // Re-show the most recently labelled item; the next label replaces the old one server-side.
  if (state.busy) return;
  const target = state.history.pop();
  if (target === undefined) {
    setStatus("nothing to undo");
    return;
  }
  state.busy = true;
  try {
    state.undoing = true;
    render(await api("/api/review/item/" + encodeURIComponent(target)));
    setStatus("undo: label item " + target + " again");
  } catch (err) {
    setStatus(err.message, true);
  } finally {
    state.busy = false;
  }
}

async function toggleContext() {
  const box = $("context");
  if (!state.item) return;
  if (!box.hidden) {
    box.hidden = true;
    return;
  }
  try {
    const data = await api("/api/review/context/" + encodeURIComponent(state.item.item_id));
    box.replaceChildren();
    if (!data.turns.length) box.append(el("li", "(no other turns in this conversation)"));
    for (const t of data.turns) {
      const li = el("li");
      li.append(el("span", "turn " + t.index + " · " + t.role, "role"), el("div", t.text, "turn"));
      box.append(li);
    }
    box.hidden = false;
  } catch (err) {
    setStatus(err.message, true);
  }
}

async function start(event) {
  event.preventDefault();
  state.annotator = $("annotator").value.trim();
  state.task = $("task").value;
  if (!state.annotator || !state.task) {
    setStatus("enter your annotator name and pick a task", true);
    return;
  }
  localStorage.setItem("review.annotator", state.annotator);
  localStorage.setItem("review.task", state.task);
  state.history = [];
  document.activeElement.blur();
  try {
    await loadNext();
    await refreshProgress();
  } catch (err) {
    setStatus(err.message, true);
  }
}

function onKey(event) {
  const tag = (event.target && event.target.tagName) || "";
  if (["INPUT", "SELECT", "TEXTAREA"].includes(tag) || event.ctrlKey || event.metaKey || event.altKey) return;
  const actions = { y: () => label(true), n: () => label(false), s: () => label("skip"), u: undo, c: toggleContext };
  const action = actions[event.key.toLowerCase()];
  if (action) {
    event.preventDefault();
    action();
  }
}

document.addEventListener("DOMContentLoaded", () => {
  $("setup").addEventListener("submit", start);
  $("yes").addEventListener("click", () => label(true));
  $("no").addEventListener("click", () => label(false));
  $("skip").addEventListener("click", () => label("skip"));
  $("undo").addEventListener("click", undo);
  $("show-context").addEventListener("click", toggleContext);
  document.addEventListener("keydown", onKey);
  loadTasks().catch((err) => setStatus(err.message, true));
});
