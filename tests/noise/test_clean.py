"""fix_labels / cleaned_records: which flagged labels are corrected, which dropped, on a hand-built case."""

import numpy as np
import pytest

from labelwise.data import Corpus
from labelwise.noise import LabelCheck
from labelwise.noise.clean import KEEP_UNSURE_BELOW, cleaned_records, fix_labels, resolve_fix

LABELS = np.array([0, 1, 2, 0, 1])
P = np.array([[0.1, 0.85, 0.05],  # flagged, confident suggestion 1
              [0.55, 0.4, 0.05],  # flagged, unsure suggestion 0
              [0.2, 0.1, 0.7],  # not flagged
              [0.05, 0.05, 0.9],  # flagged, confident suggestion 2 (exactly at 0.9)
              [0.3, 0.6, 0.1]])  # flagged but the suggestion is the given label
MASK = np.array([True, True, False, True, True])


def test_every_fix():
    new, keep = fix_labels(LABELS, P, MASK, fix="correct")
    assert new.tolist() == [1, 0, 2, 2, 1] and keep.all()
    new, keep = fix_labels(LABELS, P, MASK, fix="remove")
    assert new.tolist() == LABELS.tolist() and keep.tolist() == [False, False, True, False, False]
    new, keep = fix_labels(LABELS, P, MASK, fix="confident", min_confidence=0.6)
    assert new.tolist() == [1, 1, 2, 2, 1] and keep.tolist() == [True, False, True, True, True]
    new, keep = fix_labels(LABELS, P, MASK, fix="confident", min_confidence=0.9)
    assert new.tolist() == [0, 1, 2, 2, 1] and keep.tolist() == [False, False, True, True, False]
    # confident-keep: record 1 (unsure; given label 1 has 0.4) stays as given; with drop_below 0.5 it goes
    new, keep = fix_labels(LABELS, P, MASK, fix="confident-keep", min_confidence=0.6)
    assert new.tolist() == [1, 1, 2, 2, 1] and keep.all()
    new, keep = fix_labels(LABELS, P, MASK, fix="confident-keep", min_confidence=0.6, drop_below=0.5)
    assert new.tolist() == [1, 1, 2, 2, 1] and keep.tolist() == [True, False, True, True, True]
    new, keep = fix_labels(LABELS, P, MASK, fix="confident-keep", min_confidence=0.9, drop_below=0.1)
    # unsure: records 0 (given 0 has 0.1, not below) and 4 (given 1 has 0.6): both kept as given
    assert new.tolist() == [0, 1, 2, 2, 1] and keep.all()
    new, keep = fix_labels(LABELS, P, MASK, fix="confident-keep", min_confidence=0.9, drop_below=0.11)
    assert keep.tolist() == [False, True, True, True, True]
    with pytest.raises(ValueError, match="drop_below"):
        fix_labels(LABELS, P, MASK, fix="confident-keep", drop_below=-0.1)
    assert LABELS.tolist() == [0, 1, 2, 0, 1]  # the input is not changed
    with pytest.raises(ValueError, match="fix must be one of"):
        fix_labels(LABELS, P, MASK, fix="guess")
    with pytest.raises(ValueError, match="min_confidence"):
        fix_labels(LABELS, P, MASK, min_confidence=1.5)
    with pytest.raises(ValueError, match="shapes"):
        fix_labels(LABELS[:3], P, MASK)


def _wrong_share(n_wrong: int, n: int = 100, classes: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """n texts whose model is 0.9 sure of the true class; the first n_wrong carry the next class as label, so
    the confident joint counts exactly n_wrong wrong labels."""
    true = np.arange(n) % classes
    labels = true.copy()
    labels[:n_wrong] = (true[:n_wrong] + 1) % classes
    probs = np.full((n, classes), 0.05)
    probs[np.arange(n), true] = 0.9
    return labels, probs


def test_auto_fix_keeps_unsure_records_only_while_few_labels_look_wrong():
    assert KEEP_UNSURE_BELOW == 0.2
    assert resolve_fix(*_wrong_share(19)) == "confident-keep"
    assert resolve_fix(*_wrong_share(20)) == "confident"
    assert resolve_fix(*_wrong_share(30), "remove") == "remove"
    with pytest.raises(ValueError, match="fix must be one of"):
        resolve_fix(*_wrong_share(10), "guess")
    # one unsure flagged record (suggestion 0.4, given label 0.25): kept at 10 % wrong, dropped at 30 %
    for n_wrong, kept in ((10, True), (30, False)):
        labels, probs = _wrong_share(n_wrong)
        probs[99] = [0.25, 0.4, 0.35]  # text 99: class 0, labeled 0
        mask = np.zeros(100, dtype=bool)
        mask[99] = True
        new, keep = fix_labels(labels, probs, mask, fix="auto")
        assert keep[99] == kept and new.tolist() == labels.tolist()


def test_cleaned_records_follow_the_corpus():
    corpus = Corpus(ids=["a", "b", "c", "d", "e"], texts=["ta", "tb", "tc", "td", "te"],
                    labels=["x", "y", "z", "x", "y"], label_set=["x", "y", "z"])
    check = LabelCheck("multiclass", "given", [], P, np.zeros(5), MASK)
    out = cleaned_records(corpus, check, fix="confident", min_confidence=0.6)
    assert out == [{"id": "a", "text": "ta", "label": "y", "original_label": "x"},
                   {"id": "c", "text": "tc", "label": "z"},
                   {"id": "d", "text": "td", "label": "z", "original_label": "x"},
                   {"id": "e", "text": "te", "label": "y"}]
    assert [r["id"] for r in cleaned_records(corpus, check, fix="remove")] == ["c"]


def _clear_flips():
    """30 records of 3 classes, the model sure of each true class; records 4 and 17 carry another label."""
    true = np.repeat([0, 1, 2], 10)
    P = np.full((30, 3), 0.05)
    P[np.arange(30), true] = 0.9
    given = true.copy()
    given[[4, 17]] = [2, 0]
    return given, P


def test_cleaning_mask_adds_cleanlabs_both_filter_to_the_detected_set():
    from labelwise.noise.clean import cleaning_mask

    given, P = _clear_flips()
    none = np.zeros(30, dtype=bool)
    assert np.flatnonzero(cleaning_mask(given, P, none)).tolist() == [4, 17]
    detected = none.copy()
    detected[[4, 9]] = True  # whatever the check flagged stays in
    assert np.flatnonzero(cleaning_mask(given, P, detected)).tolist() == [4, 9, 17]


def test_cleaned_records_fix_the_cleaning_mask_not_only_the_detected_set():
    given, P = _clear_flips()
    names = ["x", "y", "z"]
    corpus = Corpus(ids=list(range(30)), texts=[f"t{i}" for i in range(30)], labels=[names[k] for k in given],
                    label_set=names)
    detected = np.zeros(30, dtype=bool)
    detected[4] = True
    check = LabelCheck("multiclass", "given", [], P, np.zeros(30), detected)
    out = cleaned_records(corpus, check, fix="confident")
    changed = {r["id"]: (r["original_label"], r["label"]) for r in out if "original_label" in r}
    assert changed == {4: ("z", "x"), 17: ("x", "y")} and len(out) == 30
