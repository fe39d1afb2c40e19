// labelwise "review labels" view: the answers a label check (cleanlab over out-of-fold probabilities) flags
// as likely wrong, worst first. Keep (k) or change: Enter takes the suggested label, a label key picks another.
// A change is a new answer by the reviewer; the original stays in the history. Loaded before app.js; uses
// its globals (state, $, el, api) only inside functions. User text only ever goes in via textContent.
"use strict";

const lwReview = (() => {
  const r = { status: null, entry: null, poll: null, busy: false };

  function fmt(value) {
    if (value === null || value === undefined) return "—";
    if (state.project.task === "ner") {
      const list = lwSpans.spansFromTags(value);
      return list.length ? list.map((sp) => sp[2]).join(", ") : "(no entities)";
    }
    return Array.isArray(value) ? value.join(", ") || "(none)" : String(value);
  }

  function percent(x) { return x === null || x === undefined || Number.isNaN(x) ? "—" : `${(x * 100).toFixed(0)}%`; }

  function say(text) { $("review-message").textContent = text || ""; }

  async function open() {
    $("review").hidden = false;
    await refresh();
  }

  async function refresh() {
    try {
      r.status = await api("GET", "/api/review");
    } catch (err) { say(err.message); return; }
    renderStatus();
    if (r.status.running) { schedule(); return; }
    await loadQueue();
  }

  function schedule() {
    clearTimeout(r.poll);
    r.poll = setTimeout(refresh, 800);
  }

  function renderStatus() {
    const st = r.status;
    const last = st.last_run;
    let text = `${st.n_labels} labeled texts. `;
    if (st.running) text += "Checking the labels…";
    else if (!last) text += "No label check has run yet.";
    else if (last.status === "error") text += `The last check failed: ${last.error}`;
    else if (last.status === "running") text += `A check started ${new Date(last.created_at).toLocaleString()} has not finished: another server process may be running it, or the server that ran it stopped. You can run it again.`;
    else text += `Last check (${last.model}, ${last.n_labels} labels): ${last.n_issues} likely error${last.n_issues === 1 ? "" : "s"}.`;
    text += ` Pending ${st.pending} · kept ${st.kept} · changed ${st.changed}.`;
    for (const c of (last && last.status === "done" && last.small_class_flags) || []) {
      text += ` Review with care: ${c.flagged} of the ${c.n} texts labeled “${c.label}” are flagged; a class this small is hard for the model to learn.`;
    }
    $("review-status").textContent = text;
    $("review-run").disabled = !st.can_run;
    if (st.message) say(st.message);
    const bar = $("review-bar");
    bar.hidden = !st.running;
    const pr = st.progress;
    if (st.running && pr) {
      if (pr.total) { bar.max = pr.total; bar.value = pr.done; } else { bar.removeAttribute("value"); }
      $("review-stage").textContent = `${pr.stage || "starting"}${pr.total ? ` ${pr.done}/${pr.total}` : ""}`;
    } else {
      $("review-stage").textContent = "";
    }
  }

  async function run() {
    if (r.busy) return;
    r.busy = true;
    say("");
    try {
      r.status = await api("POST", "/api/review/run");
      renderStatus();
      schedule();
    } catch (err) { say(err.message); } finally { r.busy = false; }
  }

  async function loadQueue() {
    const out = await api("GET", "/api/review/queue?limit=30");
    const list = $("review-list");
    list.replaceChildren();
    for (const e of out.entries.slice(1)) {
      list.appendChild(el("li", {}, [el("span", { cls: "snippet", text: e.text }),
        el("span", { cls: "chip", text: fmt(e.given) }), el("span", { cls: "muted", text: ` → ${fmt(e.suggested)} · q ${e.quality.toFixed(2)}` })]));
    }
    $("review-next-title").hidden = out.entries.length < 2;
    await loadRelabel();
    if (!out.entries.length) { r.entry = null; renderEntry(); return; }
    const detail = await api("GET", `/api/review/${out.entries[0].id}`);
    r.entry = detail.entry;
    renderEntry();
  }

  // ActiveLab's choice (projects with several annotators per text): texts to answer once more, best first,
  // without those this annotator answered. A click opens the text in the labeling view.
  async function loadRelabel() {
    const out = await api("GET", "/api/review/relabel?limit=10");
    const list = $("relabel-list");
    list.replaceChildren();
    for (const e of out.entries) {
      const row = el("li", { cls: "relabel", attrs: { "data-item-id": String(e.item_id) } }, [
        el("span", { cls: "snippet", text: e.text }),
        el("span", { cls: "muted", text: ` · ${e.n_answers} answer${e.n_answers === 1 ? "" : "s"}${e.consensus ? ` (consensus ${e.consensus})` : ""} · score ${e.score.toFixed(2)}` })]);
      row.addEventListener("click", () => { $("review").hidden = true; revisit(e.item_id); });
      list.appendChild(row);
    }
    $("relabel-title").hidden = !out.entries.length;
  }

  function spanLine(title, tokens, tags, text) {
    const row = el("div", { cls: "review-spans" }, [el("span", { cls: "muted", text: `${title}: ` })]);
    const offsets = lwSpans.offsetsOf(text, tokens);
    let pos = 0;
    for (const [a, b, label] of lwSpans.spansFromTags(tags)) {
      row.appendChild(document.createTextNode(text.slice(pos, offsets[a][0])));
      const mark = el("mark", { cls: `ent c${Math.max(0, state.project.labels.indexOf(label)) % 8}`, text: text.slice(offsets[a][0], offsets[b - 1][1]) });
      mark.appendChild(el("span", { cls: "ent-label", text: label }));
      row.appendChild(mark);
      pos = offsets[b - 1][1];
    }
    row.appendChild(document.createTextNode(text.slice(pos)));
    return row;
  }

  function renderEntry() {
    const card = $("review-card");
    card.replaceChildren();
    const e = r.entry;
    card.hidden = false;
    if (!e) {
      card.dataset.reviewId = "";
      card.appendChild(el("p", { cls: "muted", text: r.status && r.status.last_run
        ? "Nothing to review: every flagged label has been decided. Run the check again after more labels."
        : "Run a check to find the labels most likely wrong." }));
      return;
    }
    card.dataset.reviewId = String(e.id);
    card.appendChild(el("div", { cls: "muted", text: `id ${e.key} · rank ${e.rank + 1}` }));
    if (state.project.task === "ner" && e.tokens) {
      card.appendChild(spanLine("Given", e.tokens, e.given, e.text));
      card.appendChild(spanLine("Suggested", e.tokens, e.suggested, e.text));
    } else {
      card.appendChild(el("div", { cls: "review-text", text: e.text }));
    }
    const q = el("div", { cls: "review-facts" }, [
      el("span", { text: "Given: " }), el("strong", { cls: "given", text: fmt(e.given) }),
      el("span", { text: " · suggested: " }), el("strong", { cls: "suggested", text: fmt(e.suggested) }),
      el("span", { text: ` · label quality ${(e.quality * 100).toFixed(0)}%` }),
    ]);
    const bar = el("span", { cls: "qbar" });
    bar.style.width = `${Math.max(2, Math.round(e.quality * 100))}px`;
    q.appendChild(bar);
    card.appendChild(q);
    if (e.answers && e.answers.length) {
      card.appendChild(el("div", { cls: "muted", text: "Answers: " + e.answers.map((a) => `${a.annotator}: ${fmt(a.answer)}`).join(" · ") }));
    }
    const actions = el("div", { cls: "review-actions" });
    const keep = el("button", { text: "Keep ", attrs: { type: "button", id: "review-keep" } }, [el("kbd", { text: "k" })]);
    keep.addEventListener("click", () => decide("keep"));
    const take = el("button", { text: "Change to suggestion ", attrs: { type: "button", id: "review-accept" } }, [el("kbd", { text: "Enter" })]);
    take.addEventListener("click", () => decide("change"));
    actions.append(keep, take);
    if (state.project.task === "multiclass") {
      for (const [key, label] of state.keyList) {
        if (label === e.given) continue;
        const b = el("button", { cls: "small", text: `${label} `, attrs: { type: "button" } }, [el("kbd", { text: key })]);
        b.addEventListener("click", () => decide("change", label));
        actions.appendChild(b);
      }
    }
    card.appendChild(actions);
    if (e.history && e.history.length) {
      const hist = el("ol", { cls: "review-history" });
      for (const h of e.history) {
        const flags = [h.is_current ? "current" : h.superseded_by ? `superseded by #${h.superseded_by}` : "",
          h.retracted_at ? "undone" : "", h.source === "review" ? `review #${h.review_id}` : ""].filter(Boolean).join(", ");
        hist.appendChild(el("li", { text: `#${h.label_id} ${h.annotator}: ${fmt(h.answer)} · ${h.created_at.slice(0, 19).replace("T", " ")}${flags ? ` (${flags})` : ""}` }));
      }
      card.appendChild(el("div", { cls: "muted", text: "History of this text" }));
      card.appendChild(hist);
    }
  }

  async function decide(decision, value) {
    const e = r.entry;
    if (!e || r.busy) return;
    r.busy = true;
    say("");
    try {
      const body = value === undefined ? { decision } : { decision, value };
      const out = await api("POST", `/api/review/${e.id}`, body);
      const done = out.entry;
      say(decision === "keep" ? `Kept “${fmt(done.given)}” for id ${done.key}.`
        : `Changed id ${done.key} to “${fmt(out.entry.history.find((h) => h.label_id === done.new_label_id).answer)}” (review #${done.id}; the original stays in the history).`);
      r.status = await api("GET", "/api/review");
      renderStatus();
      await loadQueue();
      if (typeof refreshHistory === "function") refreshHistory();
    } catch (err) { say(err.message); } finally { r.busy = false; }
  }

  function onKey(ev) {
    const key = ev.key.length === 1 ? ev.key.toLowerCase() : ev.key;
    if (key === "c") { run(); return true; }
    if (key === "k") { decide("keep"); return true; }
    if (key === "Enter") { ev.preventDefault(); decide("change"); return true; }
    if (state.project.task === "multiclass" && state.keys[key] !== undefined && r.entry) {
      if (state.keys[key] !== r.entry.given) decide("change", state.keys[key]);
      return true;
    }
    return false;
  }

  async function renderProgress() {
    const box = $("review-progress");
    if (!box) return;
    try {
      const st = await api("GET", "/api/review");
      box.replaceChildren();
      const people = st.last_run && st.last_run.annotators;
      if (!people || !people.length) return;
      box.appendChild(el("h3", { text: "Annotator quality (last label check, CROWDLAB)" }));
      const table = el("table", { cls: "annotators" }, [el("tr", {}, ["annotator", "quality", "agrees with consensus", "labels"].map((h) => el("th", { text: h })))]);
      for (const a of people) {
        table.appendChild(el("tr", {}, [el("td", { text: a.annotator }), el("td", { text: percent(a.quality) }),
          el("td", { text: percent(a.agreement) }), el("td", { text: String(a.n) })]));
      }
      box.appendChild(table);
    } catch (_) { /* shown elsewhere */ }
  }

  document.addEventListener("DOMContentLoaded", () => {
    $("review-btn").addEventListener("click", open);
    $("review-run").addEventListener("click", run);
  });

  return { open, onKey, renderProgress, refresh };
})();
window.lwReview = lwReview;
