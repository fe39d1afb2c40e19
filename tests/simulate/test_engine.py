import numpy as np
import pytest

from labelwise.simulate import area_under_curve, label_schedule, savings_against_random, score_predictions


def test_label_schedule_ends_at_budget():
    assert label_schedule(50, 50, 200) == [50, 100, 150, 200]
    assert label_schedule(10, 25, 70) == [10, 35, 60, 70]
    assert label_schedule(5, 5, 5) == [5]
    with pytest.raises(ValueError):
        label_schedule(0, 5, 10)


def test_savings_follow_the_seed_definition():
    curves = {
        "random": {"labels": [100, 200, 300, 400], "mean": [0.5, 0.6, 0.65, 0.70]},
        "margin": {"labels": [100, 200, 300, 400], "mean": [0.55, 0.70, 0.72, 0.75]},
        "worse": {"labels": [100, 200, 300, 400], "mean": [0.4, 0.5, 0.6, 0.69]},
    }
    got = savings_against_random(curves, 400)
    assert got["margin"] == {"target_score": 0.70, "labels_needed": 200, "random_labels_needed": 400,
                             "savings": 0.5}
    assert got["random"]["savings"] == 0.0
    assert got["worse"]["labels_needed"] is None and got["worse"]["savings"] is None


def test_area_under_curve_is_a_mean_score():
    assert area_under_curve([0, 10], [0.5, 0.7]) == pytest.approx(0.6)
    assert area_under_curve([0, 10, 30], [0.0, 1.0, 1.0]) == pytest.approx((5 + 20) / 30)


def test_score_predictions():
    proba = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4]])
    assert score_predictions("multiclass", np.array([0, 1, 1]), proba) == pytest.approx(2 / 3)
    y = np.array([[1, 0], [1, 1], [0, 0]])
    # predicted positives: (0,0), (1,1), (2,0) -> tp 2, fp 1, fn 1 -> micro F1 = 2/3
    assert score_predictions("multilabel", y, proba) == pytest.approx(2 / 3)
