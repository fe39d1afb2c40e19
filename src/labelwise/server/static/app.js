// labelwise annotation UI. Plain JS, no build step. User data is only ever put into the page with
// textContent (never innerHTML), so a text holding <script> or <img onerror> stays inert.
"use strict";

const $ = (id) => document.getElementById(id);
const RESERVED = new Set(["s", "u", "h", "p", "m", "l", "r", "?", "/"]);
const SHORTCUT_POOL = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "0",
  ..."abcdefgijknoqrtvwxyz".split("")];

const state = {
  csrf: null, project: null, item: null, revisit: null, selected: new Set(),
  busy: false, composing: false, keys: {}, showSuggestion: localStorage.getItem("lwShowSuggestion") !== "0",
};
const tab = sessionStorage.getItem("lwTab") || Math.random().toString(36).slice(2) + Date.now().toString(36);
sessionStorage.setItem("lwTab", tab);

function el(tag, opts = {}, children = []) {
  const node = document.createElement(tag);
  if (opts.text !== undefined) node.textContent = opts.text;
  if (opts.cls) node.className = opts.cls;
  for (const [k, v] of Object.entries(opts.attrs || {})) node.setAttribute(k, v);
  for (const child of children) node.appendChild(child);
  return node;
}

function readCookie(name) {
  const found = document.cookie.split("; ").find((c) => c.startsWith(name + "="));
  return found ? decodeURIComponent(found.slice(name.length + 1)) : null;
}

async function api(method, path, body) {
  const headers = { "X-Labelwise-Tab": tab };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (method !== "GET") headers["X-CSRF-Token"] = state.csrf || readCookie("lw_csrf") || "";
  const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body),
    credentials: "same-origin" });
  let data = null;
  try { data = await res.json(); } catch (_) { /* not JSON */ }
  if (!res.ok) {
    const err = new Error((data && data.detail) || `${res.status} ${res.statusText}`);
    err.status = res.status;
    throw err;
  }
  return data;
}

function message(text) { $("message").textContent = text || ""; }

// ------------------------------------------------------------------------------------------- login
async function start() {
  try {
    const me = await api("GET", "/api/me");
    state.csrf = me.csrf;
    await ready(me);
  } catch (err) {
    if (err.status === 401) return showLogin();
    message(err.message);
  }
}

async function showLogin() {
  const cfg = await api("GET", "/api/config");
  $("login").hidden = false;
  $("login-token-row").hidden = !cfg.require_token;
  $("login-name").value = localStorage.getItem("lwName") || "";
  $("login-name").focus();
}

$("login-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  try {
    const name = $("login-name").value.trim();
    const out = await api("POST", "/api/login", { name, token: $("login-token").value });
    localStorage.setItem("lwName", name);
    state.csrf = out.csrf;
    $("login").hidden = true;
    const me = await api("GET", "/api/me");
    await ready(me);
  } catch (err) { $("login-error").textContent = err.message; }
});

async function ready(me) {
  state.project = me.project;
  $("project-name").textContent = me.project.name;
  $("who").textContent = me.annotator;
  document.documentElement.lang = "";
  buildLabels();
  buildHelp();
  $("show-suggestion").checked = state.showSuggestion;
  await loadNext();
  refreshHistory();
  refreshStatus();
  setInterval(refreshStatus, 15000);
}

// ------------------------------------------------------------------------------------------ labels
function buildLabels() {
  const box = $("labels");
  box.replaceChildren();
  state.keys = {};
  state.keyList = []; // [key, label] in the project's label order (Object.entries would put "0" before "1")
  const descriptions = state.project.descriptions || {};
  const pool = SHORTCUT_POOL.filter((k) => !RESERVED.has(k));
  state.project.labels.forEach((label, i) => {
    const key = pool[i];
    if (key) { state.keys[key] = label; state.keyList.push([key, label]); }
    const name = el("span", { cls: "name" }, key ? [el("kbd", { text: key })] : []);
    name.appendChild(document.createTextNode(label));
    const btn = el("button", { cls: "label-btn", attrs: { type: "button", "data-label": label, "aria-pressed": "false" } },
      [name]);
    if (descriptions[label]) btn.appendChild(el("span", { cls: "desc", text: descriptions[label] }));
    btn.addEventListener("click", () => choose(label));
    box.appendChild(btn);
  });
  $("submit-btn").hidden = state.project.task !== "multilabel";
}

function current() { return state.revisit || state.item; }

function render() {
  const item = current();
  $("revisit-banner").hidden = !state.revisit;
  const card = $("card");
  if (!item) {
    $("item-key").textContent = "";
    $("text").textContent = "Nothing left to label in the queue. 🎉";
    $("suggestion").hidden = true;
    $("answer-line").hidden = true;
    card.dataset.itemId = "";
    return;
  }
  card.dataset.itemId = String(item.id);
  $("item-key").textContent = `id ${item.key}`;
  if (state.project.task === "ner") { lwSpans.render(item); return; } // span annotation: spans.js
  $("text").textContent = item.text;
  const answer = item.answer;
  $("answer-line").hidden = answer === null || answer === undefined;
  $("answer-line").textContent = answer == null ? "" : `Your answer: ${Array.isArray(answer) ? answer.join(", ") || "(none)" : answer}`;
  state.selected = new Set(Array.isArray(answer) ? answer : []);
  const sug = item.suggestion;
  const sugBox = $("suggestion");
  sugBox.replaceChildren();
  const suggested = new Set();
  if (sug && state.showSuggestion) {
    const names = sug.label !== undefined ? [sug.label] : sug.labels;
    names.forEach((n) => suggested.add(n));
    sugBox.appendChild(document.createTextNode(
      `Model suggests: ${names.join(", ") || "(none)"} · confidence ${(sug.confidence * 100).toFixed(0)}%`));
    const bar = el("span", { cls: "bar" });
    bar.style.width = `${Math.round(sug.confidence * 6)}em`;
    sugBox.appendChild(bar);
    sugBox.hidden = false;
  } else {
    sugBox.hidden = true;
  }
  for (const btn of document.querySelectorAll(".label-btn")) {
    const label = btn.dataset.label;
    const pressed = state.project.task === "multilabel" ? state.selected.has(label) : answer === label;
    btn.setAttribute("aria-pressed", pressed ? "true" : "false");
    btn.classList.toggle("suggested", suggested.has(label));
  }
}

async function act(fn) {
  if (state.busy) return;
  state.busy = true;
  message("");
  try { await fn(); } catch (err) { message(err.message); } finally { state.busy = false; }
}

async function loadNext() {
  const out = await api("GET", "/api/next");
  state.item = out.item;
  state.revisit = null;
  render();
}

function choose(label) {
  if (!current()) return;
  if (state.project.task === "ner") { lwSpans.label(label); return; }
  if (state.project.task === "multilabel") {
    if (state.selected.has(label)) state.selected.delete(label); else state.selected.add(label);
    for (const btn of document.querySelectorAll(".label-btn")) {
      btn.setAttribute("aria-pressed", state.selected.has(btn.dataset.label) ? "true" : "false");
    }
    return;
  }
  submit(label);
}

function submit(value) {
  return act(async () => {
    const item = current();
    if (!item) return;
    if (state.revisit) {
      await api("POST", `/api/items/${item.id}/label`, { value, next: false });
      state.revisit = null;
      if (state.item && state.item.id === item.id) state.item = null;
      if (!state.item) await loadNext(); else render();
    } else {
      const out = await api("POST", `/api/items/${item.id}/label`, { value, next: true });
      state.item = out.item;
      render();
    }
    refreshHistory();
    bumpCount();
  });
}

function submitSelected() {
  if (state.project.task === "ner") return submit(lwSpans.value());
  if (state.project.task === "multilabel") return submit(state.project.labels.filter((l) => state.selected.has(l)));
  const sug = current() && current().suggestion;
  if (sug && sug.label !== undefined) return submit(sug.label); // Enter accepts the suggestion
}

function skip() {
  return act(async () => {
    if (state.revisit) { closeRevisit(); return; }
    if (!state.item) return;
    const out = await api("POST", `/api/items/${state.item.id}/skip`, { next: true });
    state.item = out.item;
    render();
  });
}

function undo() {
  return act(async () => {
    const out = await api("POST", "/api/undo");
    if (!out.item) { message("Nothing to undo."); return; }
    state.revisit = null;
    state.item = out.item;
    render();
    refreshHistory();
    bumpCount();
  });
}

async function revisit(itemId) {
  await act(async () => {
    const out = await api("GET", `/api/items/${itemId}`);
    state.revisit = out.item;
    render();
  });
}

function closeRevisit() {
  if (!state.revisit) return;
  state.revisit = null;
  render();
}

// ----------------------------------------------------------------------------------------- history
async function refreshHistory() {
  const out = await api("GET", "/api/history?limit=40");
  const list = $("history");
  const focused = document.activeElement && document.activeElement.parentElement === list
    ? document.activeElement.dataset.itemId : null;
  list.replaceChildren();
  for (const h of out.history) {
    const answer = state.project.task === "ner" ? lwSpans.chips(h.answer) : Array.isArray(h.answer) ? h.answer : [h.answer];
    const li = el("li", { attrs: { tabindex: "0", "data-item-id": String(h.item_id) } }, [
      el("span", { cls: "snippet", text: h.text }),
      ...answer.map((a) => el("span", { cls: "chip" + (h.changed_by ? " overridden" : ""), text: a })),
    ]);
    if (h.changed_by) {
      const now = state.project.task === "ner" ? lwSpans.chips(h.changed_to).join(", ") : [].concat(h.changed_to).join(", ");
      li.appendChild(el("span", { cls: "muted changed", text: ` → ${now || "(none)"} (changed by ${h.changed_by} in review)` }));
    }
    li.addEventListener("click", () => revisit(h.item_id));
    li.addEventListener("keydown", (ev) => { if (ev.key === "Enter") { ev.stopPropagation(); revisit(h.item_id); } });
    list.appendChild(li);
    if (focused === String(h.item_id)) li.focus(); // a refresh must not steal the keyboard user's place
  }
}

// ------------------------------------------------------------------------------------------ search
let searchTimer = null;
$("search").addEventListener("input", () => {
  clearTimeout(searchTimer);
  searchTimer = setTimeout(runSearch, 200);
});
$("search").addEventListener("keydown", (ev) => {
  if (ev.key === "Escape") { $("search").value = ""; $("search-results").hidden = true; $("search").blur(); }
});

async function runSearch() {
  const q = $("search").value.trim();
  const box = $("search-results");
  if (!q) { box.hidden = true; return; }
  const out = await api("GET", `/api/search?q=${encodeURIComponent(q)}&limit=30`);
  box.replaceChildren();
  if (!out.results.length) box.appendChild(el("div", { cls: "muted", text: "No text contains that." }));
  for (const r of out.results) {
    const row = el("div", { attrs: { "data-item-id": String(r.id) } }, [el("span", { text: r.text })]);
    if (r.answer != null) {
      (state.project.task === "ner" ? lwSpans.chips(r.answer) : Array.isArray(r.answer) ? r.answer : [r.answer]).forEach((a) => row.appendChild(el("span", { cls: "chip", text: a })));
    }
    row.addEventListener("click", () => { box.hidden = true; $("search").blur(); revisit(r.id); });
    box.appendChild(row);
  }
  box.hidden = false;
}

// ---------------------------------------------------------------------------------------- progress
let labeledCount = null;
function bumpCount() { refreshStatus(); }

async function refreshStatus() {
  try {
    const panelOpen = !$("progress").hidden; // label counts only for the panel: they aggregate every answer
    const p = await api("GET", panelOpen ? "/api/progress" : "/api/progress?counts=false");
    labeledCount = p.n_labels;
    const acc = p.accuracy == null ? "" : ` · est. ${metricLabel(p.metric)} ${(p.accuracy * 100).toFixed(1)}%`;
    $("status").textContent = `${p.n_labels} / ${p.n_items} labeled${acc}${trainingText(p.model)}`;
    if (panelOpen && !$("progress").hidden) renderProgress(p);
  } catch (_) { /* shown on the next action */ }
}

// The stage the worker reports, with its count when it has one (total 0: a step without one, such as an
// encoder's one-time build): "embedding texts (e5) 1,200 / 50,000", or "" when there is no stage.
function stageText(st) {
  if (!st || !st.stage) return "";
  return st.total ? `${st.stage} ${st.done.toLocaleString()} / ${st.total.toLocaleString()}` : st.stage;
}

// " · training…", or with the stage the worker reports, e.g. " · training: embedding texts (e5) 1,200 / 50,000"
function trainingText(model) {
  if (!model.training) return "";
  const stage = stageText(model.stage);
  return stage ? ` · training: ${stage}` : " · training…";
}

function metricLabel(metric) {
  return { micro_f1: "micro-F1", entity_f1: "entity F1" }[metric] || "accuracy";
}

// How the last model was trained (TrainResult.notes): the e5 prefix and its pseudo-labels.
function modelNotesText(notes) {
  if (!notes) return "";
  let text = "";
  if (notes.e5_prefix) {
    text += ` The model reads texts behind e5's "${notes.e5_prefix}: " prefix` +
      (notes.prefix_chosen_at ? ` (chosen from the labels at ${notes.prefix_chosen_at} answers).` : ".");
  }
  if (notes.pseudo_labels) {
    text += ` It also trained on ${notes.pseudo_labels.toLocaleString()} unlabeled texts it predicts with confidence, labeled by itself.`;
  }
  return text;
}

function renderProgress(p) {
  const metricName = metricLabel(p.metric);
  $("progress-summary").textContent =
    `${p.n_labels} of ${p.n_items} texts labeled` +
    (p.answers_per_text > 1 ? ` (${p.n_complete} with all ${p.answers_per_text} answers). ` : ". ") +
    (p.agreement && p.agreement.texts ? `Annotators agree on ${p.agreement.agreeing} of the ${p.agreement.texts} texts answered more than once (${(100 * p.agreement.agreeing / p.agreement.texts).toFixed(0)}%)` +
      (p.agreement.alpha == null ? ". " : `; Krippendorff's α ${p.agreement.alpha.toFixed(2)} (1 = full agreement, 0 = chance). `) : "") +
    (p.accuracy == null ? "The model's accuracy is estimated once there are at least 10 labels, two labels with 2 or more."
      : `Estimated ${metricName}: ${(p.accuracy * 100).toFixed(1)}% (k-fold cross-validation on the labels so far).`) +
    (p.model.rounds ? ` Model retrained ${p.model.rounds === 1 ? "once" : `${p.model.rounds} times`}.` : " Not trained yet.") +
    (stageText(p.model.stage) ? ` Training now: ${stageText(p.model.stage)}` +
      (p.model.rounds ? "." : " (each text is embedded once; until the first model is ready, texts come in random order).") : "") +
    (p.model.last_error ? ` Last training error: ${p.model.last_error}` : "") +
    modelNotesText(p.model.notes);
  const counts = $("counts");
  counts.replaceChildren();
  const max = Math.max(1, ...Object.values(p.counts));
  for (const [label, n] of Object.entries(p.counts)) {
    const bar = el("div", { cls: "bar" });
    bar.style.width = `${(100 * n) / max}%`;
    counts.appendChild(el("div", { cls: "row" }, [el("span", { text: label }), el("div", {}, [bar]), el("span", { text: String(n) })]));
  }
  drawCurve(p);
  const f = p.forecast;
  $("forecast").textContent = f && !f.more.length
    ? "Every text is labeled: nothing left to forecast."
    : f
    ? `Forecast (${f.fit === "power-law" ? "inverse power law" : "logarithmic"} fit to ${f.points} points, ` +
      `${(f.now * 100).toFixed(1)}% at ${p.n_labels} labels): ` +
      f.more.map((m) => `+${m.labels} labels → ${(m.score * 100).toFixed(1)}%`).join(" · ") +
      ". A rough extrapolation, not a promise."
    : "A forecast appears after two estimates at different label counts.";
  lwReview.renderProgress(); // annotator quality from the last label check: review.js
}

function drawCurve(p) {
  const NS = "http://www.w3.org/2000/svg";
  const W = 600, H = 240, L = 44, B = 28, T = 10, R = 12;
  const svg = document.createElementNS(NS, "svg");
  svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
  const pts = p.curve;
  const extra = p.forecast ? p.forecast.more : [];
  const xs = pts.map((c) => c.n_labels).concat(extra.map((m) => m.total));
  const xmax = Math.max(10, ...xs);
  const x = (n) => L + ((W - L - R) * n) / xmax;
  const y = (s) => T + (H - T - B) * (1 - s);
  const line = (x1, y1, x2, y2, cls) => {
    const l = document.createElementNS(NS, "line");
    Object.entries({ x1, y1, x2, y2 }).forEach(([k, v]) => l.setAttribute(k, v));
    l.setAttribute("stroke", cls === "grid" ? "#e3e7ec" : "#9aa4ae");
    svg.appendChild(l);
  };
  const text = (tx, ty, s, anchor) => {
    const t = document.createElementNS(NS, "text");
    t.setAttribute("x", tx); t.setAttribute("y", ty); t.setAttribute("font-size", "11");
    t.setAttribute("fill", "#66707a"); t.setAttribute("text-anchor", anchor || "middle");
    t.textContent = s;
    svg.appendChild(t);
  };
  for (const s of [0, 0.25, 0.5, 0.75, 1]) { line(L, y(s), W - R, y(s), "grid"); text(L - 6, y(s) + 4, `${s * 100}%`, "end"); }
  line(L, H - B, W - R, H - B);
  text(W - R, H - B - 6, "labels →", "end");
  for (const n of [0, xmax / 2, xmax]) text(x(n), H - B + 14, String(Math.round(n)));
  const poly = (list, dashed, color) => {
    if (list.length < 2) return;
    const pl = document.createElementNS(NS, "polyline");
    pl.setAttribute("points", list.map(([a, b]) => `${x(a)},${y(b)}`).join(" "));
    pl.setAttribute("fill", "none"); pl.setAttribute("stroke", color); pl.setAttribute("stroke-width", "2");
    if (dashed) pl.setAttribute("stroke-dasharray", "5 4");
    svg.appendChild(pl);
  };
  poly(pts.map((c) => [c.n_labels, c.score]), false, "#2457c5");
  if (p.forecast && pts.length) {
    // the fitted curve from now on, not from the last (noisy) estimate: a rising fit never looks like a fall
    poly([[p.n_labels, p.forecast.now], ...extra.map((m) => [m.total, m.score])], true, "#8aa6e6");
  }
  for (const c of pts) {
    const dot = document.createElementNS(NS, "circle");
    dot.setAttribute("cx", x(c.n_labels)); dot.setAttribute("cy", y(c.score)); dot.setAttribute("r", "3.5");
    dot.setAttribute("fill", "#2457c5");
    svg.appendChild(dot);
  }
  if (!pts.length) text(W / 2, H / 2, "no estimate yet");
  $("curve").replaceChildren(svg);
}

function toggle(id) {
  const panel = $(id);
  panel.hidden = !panel.hidden;
  if (id === "progress" && !panel.hidden) refreshStatus(); // the panel is open now: one full fetch, drawn
}

// ---------------------------------------------------------------------------------------- keyboard
function buildHelp() {
  const rows = [
    ...state.keyList.map(([k, l]) => [k, state.project.task === "multilabel" ? `toggle “${l}”` : `label “${l}”`]),
    ["Enter", { multilabel: "submit the selected labels", ner: "submit the spans shown (the model's, until you change them)" }[
      state.project.task] || "accept the model's suggestion"],
    ...(state.project.task === "ner" ? lwSpans.helpRows() : []), ["r", "review labels (likely errors)"],
    ["s", "skip this text"], ["u / Ctrl+Z", "undo the last answer"], ["h", "go to the history list"],
    ["/", "search the pool"], ["p", "progress"], ["m", "show / hide the model's suggestion"],
    ["Esc", "close / back to the queue"], ["?", "this help"],
  ];
  const table = $("help-table");
  table.replaceChildren();
  for (const [k, what] of rows) table.appendChild(el("tr", {}, [el("td", {}, [el("kbd", { text: k })]), el("td", { text: what })]));
}

document.addEventListener("compositionstart", () => { state.composing = true; });
document.addEventListener("compositionend", () => { state.composing = false; });

document.addEventListener("keydown", (ev) => {
  if (ev.isComposing || state.composing || ev.keyCode === 229) return; // IME at work (Chinese input)
  const target = ev.target;
  const typing = target && (target.tagName === "INPUT" || target.tagName === "TEXTAREA" || target.isContentEditable);
  if (typing || !$("login").hidden) return;
  if ((ev.ctrlKey || ev.metaKey) && ev.key.toLowerCase() === "z") { ev.preventDefault(); undo(); return; }
  if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
  const key = ev.key;
  if (key === "Escape") {
    for (const id of ["help", "progress", "review"]) $(id).hidden = true;
    $("search-results").hidden = true;
    closeRevisit();
    return;
  }
  if (key === "?") { toggle("help"); return; }
  if (!$("help").hidden) return;
  if (!$("review").hidden) { lwReview.onKey(ev); return; } // the review view has its own keys: review.js
  if (state.project.task === "ner" && lwSpans.onKey(ev)) return;
  const lower = key.length === 1 ? key.toLowerCase() : key;
  if (state.keys[lower] !== undefined) { ev.preventDefault(); choose(state.keys[lower]); return; }
  switch (lower) {
    case "Enter": ev.preventDefault(); submitSelected(); break;
    case "s": skip(); break;
    case "u": undo(); break;
    case "p": toggle("progress"); break;
    case "r": lwReview.open(); break;
    case "m": $("show-suggestion").click(); break;
    case "/": ev.preventDefault(); $("search").focus(); break;
    case "h": { const first = $("history").querySelector("li"); if (first) first.focus(); break; }
    case "ArrowDown": case "ArrowUp":
      if (target && target.parentElement === $("history")) {
        ev.preventDefault();
        const sib = key === "ArrowDown" ? target.nextElementSibling : target.previousElementSibling;
        if (sib) sib.focus();
      }
      break;
    default: break;
  }
});

$("show-suggestion").addEventListener("change", () => {
  state.showSuggestion = $("show-suggestion").checked;
  localStorage.setItem("lwShowSuggestion", state.showSuggestion ? "1" : "0");
  render();
});
$("skip-btn").addEventListener("click", skip);
$("undo-btn").addEventListener("click", undo);
$("submit-btn").addEventListener("click", submitSelected);
$("revisit-close").addEventListener("click", closeRevisit);
$("progress-btn").addEventListener("click", () => toggle("progress"));
$("help-btn").addEventListener("click", () => toggle("help"));
for (const btn of document.querySelectorAll("[data-close]")) btn.addEventListener("click", () => { $(btn.dataset.close).hidden = true; });

start();
