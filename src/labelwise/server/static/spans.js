// labelwise span annotation (NER projects). Loaded before app.js; uses app.js's globals (state, $, el,
// message, submit) only inside functions. Tokens are the units of selection (Chinese: one per character).
// Keyboard: ←/→ move the cursor, Shift+←/→ extend the selection, an entity key labels it, Backspace/Delete
// removes the span under the cursor, Enter submits (with the model's spans pre-filled: accepts them).
// Mouse: drag over tokens to select, × on a span removes it. User text only ever goes in via textContent.
"use strict";

const lwSpans = (() => {
  const s = { item: null, tokens: [], offsets: [], spans: [], cursor: 0, anchor: 0, dragging: false, selected: false };

  function offsetsOf(text, tokens) {
    const out = [];
    let pos = 0;
    for (const tok of tokens) {
      const at = text.indexOf(tok, pos);
      const start = at < 0 ? pos : at;
      out.push([start, start + tok.length]);
      pos = start + tok.length;
    }
    return out;
  }

  function colorIndex(label) { return Math.max(0, state.project.labels.indexOf(label)) % 8; }

  function spansFromTags(tags) {
    const out = [];
    let start = -1, type = "";
    (tags || []).forEach((tag, i) => {
      const [p, t] = tag === "O" ? ["O", ""] : [tag[0], tag.slice(2)];
      if (p === "I" && t === type && start >= 0) return;
      if (start >= 0) out.push([start, i, type]);
      start = -1; type = "";
      if (p !== "O") { start = i; type = t; }
    });
    if (start >= 0) out.push([start, tags.length, type]);
    return out;
  }

  function range() { return [Math.min(s.cursor, s.anchor), Math.max(s.cursor, s.anchor)]; }

  function describe(sp) {
    const words = s.tokens.slice(sp[0], sp[1]).join(s.joiner);
    return `“${words}” (${sp[2]})`;
  }

  function render(item) {
    s.item = item;
    s.tokens = item.tokens || [];
    s.offsets = offsetsOf(item.text, s.tokens);
    s.joiner = s.tokens.every((t) => t.length === 1) && /[\u3000-\u9fff\uac00-\ud7af\uff00-\uffef]/.test(item.text) ? "" : " ";
    const sug = item.suggestion;
    const answered = item.answer !== null && item.answer !== undefined;
    s.prefilled = !answered && !!(sug && state.showSuggestion);
    s.spans = answered ? spansFromTags(item.answer) : s.prefilled ? sug.spans.map((x) => [x[0], x[1], x[2], x[3]]) : [];
    s.cursor = 0; s.anchor = 0; s.selected = false;
    const line = $("answer-line");
    line.hidden = !answered;
    line.textContent = answered ? `Your answer: ${spansFromTags(item.answer).map(describe).join(", ") || "(no entities)"}` : "";
    const box = $("suggestion");
    box.replaceChildren();
    if (sug && state.showSuggestion) {
      box.appendChild(document.createTextNode(
        `Model: ${sug.spans.length} entit${sug.spans.length === 1 ? "y" : "ies"} pre-filled · lowest token confidence ` +
        `${(sug.confidence * 100).toFixed(0)}% · Enter accepts`));
      box.hidden = false;
    } else {
      box.hidden = true;
    }
    $("answer-line").after($("suggestion"));
    let hint = $("span-hint");
    if (!hint) { hint = el("div", { cls: "muted", attrs: { id: "span-hint" } }); $("card").appendChild(hint); }
    hint.textContent = "Drag over tokens or use ←/→ (Shift extends) · entity key labels · Backspace removes · Enter submits";
    draw();
  }

  function spanAt(i) { return s.spans.findIndex((sp) => sp[0] <= i && i < sp[1]); }

  function draw() {
    const box = $("text");
    box.replaceChildren();
    box.classList.add("ner");
    box.setAttribute("lang", s.joiner === "" ? "zh" : "");
    const text = s.item.text;
    const [a, b] = range();
    let pos = 0, i = 0;
    const tokenNode = (k) => {
      const node = el("span", { cls: "tok", text: s.tokens[k], attrs: { "data-i": String(k) } });
      if (s.selected && k >= a && k <= b) node.classList.add("sel");
      if (k === s.cursor) node.classList.add("cur");
      return node;
    };
    while (i < s.tokens.length) {
      const [start] = s.offsets[i];
      if (start > pos) box.appendChild(document.createTextNode(text.slice(pos, start)));
      const k = spanAt(i);
      if (k >= 0 && s.spans[k][0] === i) {
        const sp = s.spans[k];
        const mark = el("mark", { cls: `ent c${colorIndex(sp[2])}`, attrs: { "data-label": sp[2], "data-start": String(sp[0]), "data-end": String(sp[1]) } });
        for (let j = sp[0]; j < sp[1]; j++) {
          if (j > sp[0]) mark.appendChild(document.createTextNode(text.slice(s.offsets[j - 1][1], s.offsets[j][0])));
          mark.appendChild(tokenNode(j));
        }
        const tag = el("span", { cls: "ent-label", text: sp[2] });
        if (sp[3] !== undefined && s.prefilled) tag.title = `model confidence ${(sp[3] * 100).toFixed(0)}%`;
        mark.appendChild(tag);
        const x = el("button", { cls: "ent-x", text: "×", attrs: { type: "button", title: "remove this span (Backspace)", "aria-label": `remove ${sp[2]}` } });
        x.addEventListener("mousedown", (ev) => ev.stopPropagation());
        x.addEventListener("click", (ev) => { ev.stopPropagation(); remove(s.spans.indexOf(sp)); });
        mark.appendChild(x);
        box.appendChild(mark);
        pos = s.offsets[sp[1] - 1][1];
        i = sp[1];
      } else {
        box.appendChild(tokenNode(i));
        pos = s.offsets[i][1];
        i += 1;
      }
    }
    if (pos < text.length) box.appendChild(document.createTextNode(text.slice(pos)));
    $("card").dataset.spans = JSON.stringify(s.spans.map((sp) => [sp[0], sp[1], sp[2]]));
  }

  function labelSelection(label) {
    if (!s.tokens.length) return;
    const [a, b] = s.selected ? range() : [s.cursor, s.cursor];
    const end = b + 1;
    const hit = s.spans.filter((sp) => sp[0] < end && a < sp[1]);
    if (hit.length === 1 && hit[0][0] === a && hit[0][1] === end) { hit[0][2] = label; hit[0].length = 3; done(); return; }
    if (hit.length) {
      message(`Not added: ${describe([a, end, label])} overlaps ${hit.map(describe).join(" and ")}. ` +
        "Entities may not overlap: remove that span first (Backspace or ×).");
      return;
    }
    s.spans.push([a, end, label]);
    s.spans.sort((x, y) => x[0] - y[0]);
    done();
  }

  function done() { s.selected = false; s.anchor = s.cursor; message(""); draw(); }

  function remove(k) {
    if (k < 0) return;
    s.spans.splice(k, 1);
    done();
  }

  function removeAtCursor() {
    const [a, b] = s.selected ? range() : [s.cursor, s.cursor];
    const k = s.spans.findIndex((sp) => sp[0] <= b && a < sp[1]);
    if (k < 0) { message("No entity under the cursor to remove."); return; }
    remove(k);
  }

  function onKey(ev) {
    if (!s.item || !s.tokens.length) return false;
    const n = s.tokens.length;
    if (ev.key === "ArrowRight" || ev.key === "ArrowLeft") {
      const step = ev.key === "ArrowRight" ? 1 : -1;
      if (!ev.shiftKey) {
        if (s.selected) { s.selected = false; } else { s.cursor = Math.min(n - 1, Math.max(0, s.cursor + step)); }
        s.anchor = s.cursor;
      } else {
        if (!s.selected) { s.selected = true; s.anchor = s.cursor; }
        s.cursor = Math.min(n - 1, Math.max(0, s.cursor + step));
      }
      ev.preventDefault();
      draw();
      return true;
    }
    if (ev.key === "Home" || ev.key === "End") {
      s.cursor = ev.key === "Home" ? 0 : n - 1;
      if (!ev.shiftKey) { s.anchor = s.cursor; s.selected = false; } else { s.selected = true; }
      ev.preventDefault();
      draw();
      return true;
    }
    if (ev.key === "Backspace" || ev.key === "Delete") { ev.preventDefault(); removeAtCursor(); return true; }
    return false;
  }

  function tokenIndex(target) {
    const node = target && target.closest ? target.closest(".tok") : null;
    return node ? Number(node.dataset.i) : -1;
  }

  function install() {
    const box = $("text");
    box.addEventListener("mousedown", (ev) => {
      if (state.project.task !== "ner" || ev.button !== 0) return;
      const i = tokenIndex(ev.target);
      if (i < 0) return;
      ev.preventDefault(); // no native text selection: tokens are the units
      s.dragging = true; s.anchor = i; s.cursor = i; s.selected = true;
      draw();
    });
    box.addEventListener("mouseover", (ev) => {
      if (!s.dragging) return;
      const i = tokenIndex(ev.target);
      if (i >= 0 && i !== s.cursor) { s.cursor = i; draw(); }
    });
    document.addEventListener("mouseup", () => { s.dragging = false; });
  }

  return {
    render, onKey, install, label: labelSelection,
    value: () => ({ spans: s.spans.map((sp) => [sp[0], sp[1], sp[2]]) }),
    chips: (tags) => { const list = spansFromTags(tags).map((sp) => sp[2]); return list.length ? list : ["no entities"]; },
    spansFromTags, offsetsOf,
    helpRows: () => [["← / →", "move the cursor over the tokens"], ["Shift + ← / →", "extend the selection"],
      ["entity key", "label the selection (or the token under the cursor)"], ["Backspace / Delete", "remove the span under the cursor"],
      ["mouse", "drag over tokens to select; × removes a span"]],
  };
})();
window.lwSpans = lwSpans;
document.addEventListener("DOMContentLoaded", () => lwSpans.install());
