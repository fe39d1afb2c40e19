"""Writing a label check: the ranked records (JSON Lines) and the summary (JSON, Markdown, matrix plot)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from labelwise.data.io import atomic_path, write_atomic
from labelwise.noise.pipeline import LabelCheck


def write_records(check: LabelCheck, path: str | os.PathLike[str]) -> int:
    """Write the records worst first as JSON Lines, atomically; returns the number written."""
    from labelwise.data import write_jsonl

    return write_jsonl(check.records, path)


def plot_joint(joint: np.ndarray, names: list[str], path: Path, *, title: str) -> None:
    """The confident joint as a heat map: rows = given label, columns = estimated true label, each row
    normalised to fractions; the diagonal is blanked so the confusions stand out."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    joint = np.asarray(joint, dtype=np.float64)
    rows = joint.sum(axis=1, keepdims=True)
    frac = np.divide(joint, rows, out=np.zeros_like(joint), where=rows > 0)
    shown = frac.copy()
    np.fill_diagonal(shown, np.nan)
    size = max(4.0, 0.45 * len(names) + 2.5)
    fig, ax = plt.subplots(figsize=(size + 1.2, size))
    vmax = max(float(np.nanmax(shown)) if shown.size > 1 else 0.0, 1e-6)
    im = ax.imshow(shown, cmap="Reds", vmin=0.0, vmax=vmax)
    ax.set_xticks(range(len(names)), names, rotation=60, ha="right", fontsize=8)
    ax.set_yticks(range(len(names)), names, fontsize=8)
    ax.set_xlabel("estimated true label")
    ax.set_ylabel("given label")
    ax.set_title(title, fontsize=10)
    if len(names) <= 15:
        for i in range(len(names)):
            for j in range(len(names)):
                if i != j and joint[i, j] >= 0.5:
                    dark = shown[i, j] > 0.6 * vmax  # white on the darkest reds, black elsewhere
                    ax.text(j, i, f"{int(round(joint[i, j]))}", ha="center", va="center", fontsize=7,
                            color="white" if dark else "black")
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04, label="share of the given label")
    fig.tight_layout()
    try:
        with atomic_path(path, suffix=".png") as tmp:
            fig.savefig(tmp, dpi=110)
    finally:
        plt.close(fig)


def _markdown(summary: dict[str, Any], plots: list[str]) -> str:
    lines = [f"# Label check ({summary['task']}, model {summary['model']})", "",
             f"{summary['n_issues']} of {summary['n']} records flagged as likely label errors.", ""]
    for c in summary.get("small_class_flags") or []:
        lines += [f"**Review with care:** {c['flagged']} of the {c['n']} records labeled {c['label']} are flagged "
                  f"({c['flagged_share']:.0%}, against {summary['n_issues'] / max(summary['n'], 1):.0%} overall). "
                  "A class this small is hard to learn from the other folds, so the models suggest other labels "
                  "for its texts more often than its labels deserve.", ""]
    for level, stats in summary.get("levels", {}).items():
        flagged_basis = stats.get("basis") == "flagged tokens"
        lines += [f"## Level: {level}", "",
                  f"Out-of-fold agreement with the given labels: {stats['oof_agreement']:.3f}", "",
                  ("| tag | flagged share | flagged tokens |" if flagged_basis
                   else "| label | estimated noise rate | estimated errors |"), "|---|---:|---:|"]
        for name in stats["label_set"]:
            lines.append(f"| {name} | {stats['noise_rate'][name]:.3f} | {stats['estimated_issues'][name]} |")
        lines += ["", "Most confused pairs (given → " + ("suggested, flagged tokens" if flagged_basis
                                                          else "estimated true") + "):", ""]
        lines += [f"- {p['given']} → {p['true']}: {p['estimated_count']}" for p in stats["confused_pairs"]] or ["- none"]
        lines.append("")
    if "per_label" in summary:
        lines += ["Per label: flagged records whose suggested label set adds the label (missing) or drops it "
                  "(spurious).", "",
                  "| label | given positive | predicted positive | disagreements | flagged missing | "
                  "flagged spurious | flagged share |", "|---|---:|---:|---:|---:|---:|---:|"]
        lines += [f"| {k} | {v['given_positive']} | {v['predicted_positive']} | {v['disagreements']} | "
                  f"{v['flagged_missing']} | {v['flagged_spurious']} | {v['flagged_rate']:.3f} |"
                  for k, v in summary["per_label"].items()]
        pairs = summary.get("swaps", {}).get("confused_pairs", [])
        lines += ["", "Labels most often given in place of another (flagged records: given, not suggested → "
                  "suggested, not given):", ""]
        lines += [f"- {p['given']} → {p['true']}: {p['estimated_count']}" for p in pairs] or ["- none"]
        lines.append("")
    for p in plots:
        lines += [f"![{p}]({p})", ""]
    return "\n".join(lines)


def write_summary(check: LabelCheck, out_dir: str | os.PathLike[str]) -> list[Path]:
    """Write ``summary.json``, ``summary.md`` and the matrix plots into ``out_dir``: multiclass ``confusion.png``
    (and ``confusion_top.png`` for hierarchical labels), multi-label ``confusion.png`` (labels given in place of
    another, when any), NER ``confusion_tag.png``; returns the paths written."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    plots = []
    for level, stats in check.summary.get("levels", {}).items():
        name = "confusion.png" if level == "label" else f"confusion_{level}.png"
        flagged_basis = stats.get("basis") == "flagged tokens"
        plot_joint(np.array(stats["matrix"] if flagged_basis else stats["confident_joint"]), stats["label_set"],
                   out / name, title=(f"Flagged {level}s: given vs suggested" if flagged_basis
                                      else f"Estimated label errors ({level} level): given vs true"))
        plots.append(name)
        written.append(out / name)
    swaps = check.summary.get("swaps")
    if swaps and any(c["estimated_count"] for c in swaps["confused_pairs"]):
        plot_joint(np.array(swaps["matrix"]), swaps["label_set"], out / "confusion.png",
                   title="Labels given in place of another (flagged records)")
        plots.append("confusion.png")
        written.append(out / "confusion.png")
    write_atomic(out / "summary.json", json.dumps(check.summary, indent=2, ensure_ascii=False) + "\n")
    write_atomic(out / "summary.md", _markdown(check.summary, plots))
    return [out / "summary.json", out / "summary.md", *written]
