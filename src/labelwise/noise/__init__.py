"""labelwise.noise: find the labels most likely wrong (confident learning over out-of-fold probabilities).

Layers: :mod:`oof` (model-agnostic out-of-fold probabilities), :mod:`issues` (cleanlab wrappers: quality
scores, issue masks, noise summary; multi-label and token variants), :mod:`hierarchy` (two-level labels),
:mod:`multiannotator` (consensus, annotator quality, ActiveLab scores), :mod:`activelab` (what to re-label
next over a whole pool: the app's review queue calls it), :mod:`clean` (training labels from a check:
correct, drop, or correct only confident suggestions), :mod:`pipeline` (featurize + ensemble + records: what
``labelwise check-labels`` and the app's review queue call) and :mod:`report` (files).
"""

from labelwise.noise.activelab import RelabelRanking, rank_to_relabel
from labelwise.noise.clean import (
    FIXES,
    MIN_CONFIDENCE,
    cleaned_records,
    cleaning_mask,
    fix_labels,
    resolve_fix,
)
from labelwise.noise.issues import (
    CLEANLAB_FILTERS,
    FILTERS,
    NoiseSummary,
    confident_joint,
    estimated_num_issues,
    find_label_issues,
    find_multilabel_issues,
    find_token_label_issues,
    get_label_quality_scores,
    get_multilabel_quality_scores,
    get_token_label_quality_scores,
    largest_flip_rate,
    multilabel_suggestions,
    noise_summary,
    resolve_filter,
)
from labelwise.noise.multiannotator import (
    active_learning_scores,
    annotation_matrix,
    choose_to_relabel,
    krippendorff_alpha_nominal,
    label_quality_multiannotator,
    majority_vote,
)
from labelwise.noise.oof import fold_assignments, out_of_fold_proba, out_of_fold_token_proba
from labelwise.noise.pipeline import (
    LabelCheck,
    check_labels,
    ensemble_out_of_fold_proba,
    multiclass_result,
    parse_model,
    rank_label_issues,
)

__all__ = [
    "CLEANLAB_FILTERS", "FILTERS", "FIXES", "MIN_CONFIDENCE", "LabelCheck", "NoiseSummary", "RelabelRanking", "active_learning_scores", "annotation_matrix",
    "check_labels", "choose_to_relabel", "cleaned_records", "cleaning_mask", "confident_joint", "ensemble_out_of_fold_proba", "estimated_num_issues",
    "find_label_issues", "find_multilabel_issues", "find_token_label_issues", "fix_labels", "fold_assignments",
    "get_label_quality_scores", "get_multilabel_quality_scores", "get_token_label_quality_scores",
    "krippendorff_alpha_nominal", "label_quality_multiannotator", "largest_flip_rate", "majority_vote", "multiclass_result", "multilabel_suggestions",
    "noise_summary", "out_of_fold_proba", "out_of_fold_token_proba", "parse_model", "rank_label_issues",
    "rank_to_relabel", "resolve_filter", "resolve_fix",
]
