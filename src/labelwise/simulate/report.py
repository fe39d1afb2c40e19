"""Writing a simulation's results: results.json (the contract), curves.png and report.md."""

from __future__ import annotations

import json
import os
from pathlib import Path

from labelwise.data.io import atomic_path


def plot_curves(results: dict, path: Path) -> None:
    """Learning curves, mean ± std band per strategy, with the full-data score and random's target."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 5), dpi=120)
    for name, curve in results["curves"].items():
        mean, std = curve["mean"], curve["std"]
        lower = [m - s for m, s in zip(mean, std, strict=True)]
        upper = [m + s for m, s in zip(mean, std, strict=True)]
        style = {"color": "0.35", "linestyle": "--"} if name == "random" else {}
        (line,) = ax.plot(curve["labels"], mean, label=name, linewidth=1.8, **style)
        ax.fill_between(curve["labels"], lower, upper, alpha=0.15, color=line.get_color())
    base = results.get("baseline")
    if base:
        curve = base["curve"]
        ax.plot(curve["labels"], curve["mean"], color="0.55", linestyle=(0, (1, 1)), linewidth=1.6,
                label=f"random with {base['model']} (baseline)")
        ax.axhline(curve["mean"][-1], color="0.75", linewidth=0.8, linestyle="-.",
                   label=f"baseline @ budget ({curve['mean'][-1]:.3f})")
    ax.axhline(results["full_data_score"], color="black", linewidth=1, linestyle=":",
               label=f"full data ({results['full_data_score']:.3f})")
    savings = results.get("savings") or {}
    if savings:
        target = next(iter(savings.values()))["target_score"]
        ax.axhline(target, color="0.6", linewidth=0.8, linestyle="-.", label=f"random @ budget ({target:.3f})")
    ax.set_xlabel("labeled texts")
    ax.set_ylabel(results["metric"].replace("_", " "))
    settings = results.get("settings", {})
    ax.set_title(f"{results['task']} · {results['model']} · {settings.get('seeds', '?')} seeds (mean ± std)")
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    try:
        with atomic_path(path, suffix=".png") as tmp:
            fig.savefig(tmp)
    finally:
        plt.close(fig)


def _fmt(value, digits: int = 3) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def _interval(span: list | None) -> str:
    """``0.45 – 0.60`` for a savings interval; "never" for an end that never reaches the target."""
    if span is None:
        return "–"
    return " – ".join("never" if v is None else f"{v:.2f}" for v in span)


def _prefix_lines(prefix: dict | None) -> list[str]:
    """The e5 prefix a run used: fixed, or chosen per run ("auto"), as a sentence and a blank line."""
    if not prefix:
        return []
    if prefix["setting"] != "auto":
        return [f"e5 prefix: `{prefix['setting']}`.", ""]
    counts = "; ".join(f"{name} {sum(c == 'query' for c in chosen)} of {len(chosen)}"
                       for name, chosen in prefix["chosen"].items())
    return [f"e5 prefix: auto (`passage` until {prefix['chosen_at']} labels, then the prefix with the lower "
            f"cross-validated log-loss on the labels so far). Runs that switched to `query`: {counts}. The full-data "
            f"score used `{prefix['full_data']}`.", ""]


def _pseudo_label_lines(pseudo: dict | None) -> list[str]:
    """Which strategies' models also trained on their own confident predictions, as sentences."""
    lines = []
    for name, record in (pseudo or {}).items():
        recipe, added = record["recipe"], record["added_at_budget"]
        lines += [f"`{name}` also trains on the pool texts its model predicts with p ≥ {recipe['threshold']:g}, "
                  f"labeled by the model, from {recipe['min_answers']} answers on (pseudo-labels; "
                  f"{sum(added) / max(len(added), 1):.0f} of them at the budget, mean over seeds).", ""]
    return lines


def markdown_report(results: dict, *, max_rows: int = 12) -> str:
    """Tables: score per strategy at label counts, savings against random, area under curve, time split."""
    curves = results["curves"]
    names = list(curves)
    labels = next(iter(curves.values()))["labels"]
    step = max(1, -(-len(labels) // max_rows))
    rows = sorted(set(range(0, len(labels), step)) | {len(labels) - 1})
    s = results.get("settings", {})
    lines = [
        f"# Simulation: {results['task']} with {results['model']}",
        "",
        f"Pool {s.get('pool_size', '?')} texts, test {s.get('test_size', '?')}, initial {s.get('initial')}, "
        f"batch {s.get('batch')}, budget {s.get('budget')}, {s.get('seeds')} seeds (every strategy starts from "
        f"the same initial random sample per seed), refit: {s.get('refit')}"
        + (f", featurizer options {json.dumps(s['featurizer_options'])}." if s.get("featurizer_options") else "."),
        "",
        f"Metric: **{results['metric']}**. Full-data score (all {s.get('pool_size', '?')} pool labels): "
        f"**{results['full_data_score']:.3f}**.",
        "",
        *_prefix_lines(results.get("e5_prefix")),
        *_pseudo_label_lines(results.get("pseudo_labels")),
        "## Learning curves (mean ± std over seeds)",
        "",
        "![learning curves](curves.png)",
        "",
        "| labels | " + " | ".join(names) + " |",
        "|---:|" + "---:|" * len(names),
    ]
    for i in rows:
        cells = [f"{curves[n]['mean'][i]:.3f} ± {curves[n]['std'][i]:.3f}" for n in names]
        lines.append(f"| {labels[i]} | " + " | ".join(cells) + " |")
    savings = results.get("savings") or {}
    if savings:
        target = next(iter(savings.values()))["target_score"]
        lines += ["", "## Label savings against random", "",
                  f"Target: random's mean score at the full budget, {target:.3f}. Savings = 1 − labels needed "
                  "to reach it / budget. The interval is the central 90 % of the savings over seed bootstrap "
                  "resamples (seeds drawn with replacement, the same draws for random's target and the "
                  "strategy); \"never\" where a resample's mean curve does not reach the target.", "",
                  "| strategy | labels needed | savings | 90 % interval | area under curve |",
                  "|---|---:|---:|---:|---:|"]
        for n in names:
            sv = savings[n]
            span_text = _interval(sv.get("savings_interval"))
            lines.append(f"| {n} | {_fmt(sv['labels_needed'])} | {_fmt(sv['savings'], 2)} | {span_text} | "
                         f"{_fmt(curves[n].get('auc'))} |")
    base = results.get("baseline")
    if base:
        target = base["curve"]["mean"][-1]
        lines += ["", f"## Label savings against random with {base['model']}", "",
                  f"Random picking with `{base['model']}` (full data {base['full_data_score']:.3f}) on the same pool, "
                  f"seeds and initial labels reaches {target:.3f} ± {base['curve']['std'][-1]:.3f} at the budget. "
                  "How many labels each strategy, with this simulation's model, needs to reach that score:", "",
                  "| strategy | labels needed | savings | 90 % interval |", "|---|---:|---:|---:|"]
        for n in names:
            sv = base["savings"][n]
            span_text = _interval(sv.get("savings_interval"))
            lines.append(f"| {n} | {_fmt(sv['labels_needed'])} | {_fmt(sv['savings'], 2)} | {span_text} |")
    seconds = results.get("seconds") or {}
    if seconds:
        lines += ["", "## Time (seconds, summed over seeds; featurize is shared by all strategies)", "",
                  "| strategy | featurize | fit | score | select |", "|---|---:|---:|---:|---:|"]
        for n, t in seconds.items():
            lines.append(f"| {n} | {t['featurize']:.2f} | {t['fit']:.2f} | {t['score']:.2f} | {t['select']:.2f} |")
    return "\n".join(lines) + "\n"


def write_report(results: dict, out_dir: str | os.PathLike) -> Path:
    """Write results.json, curves.png and report.md into ``out_dir`` as a set: all three are rendered to
    temporary files first and replace the old ones only when every one of them is complete, so a failure or
    Ctrl-C while rendering leaves the previous set untouched (never a new results.json beside an old report)."""
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise FileExistsError(f"{out} exists and is not a directory")
    with (atomic_path(out / "results.json") as results_tmp, atomic_path(out / "curves.png", suffix=".png") as plot_tmp,
          atomic_path(out / "report.md") as report_tmp):
        results_tmp.write_text(json.dumps(results, indent=2, ensure_ascii=False), encoding="utf-8")
        plot_curves(results, plot_tmp)
        report_tmp.write_text(markdown_report(results), encoding="utf-8")
    return out
