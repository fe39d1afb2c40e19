"""BIO/IOB2 helpers, spans <-> tags both ways, tokenization (English rules, Chinese per character), repair."""

from __future__ import annotations

import warnings

import pytest

from labelwise.data import DataError, load_corpus, register_task_parser
from labelwise.data.loaders import TASK_PARSERS
from labelwise.data.ner import (
    BIOWarning,
    bio_to_spans,
    char_spans_to_tags,
    join_tokens,
    ner_corpus,
    ner_record_parser,
    parse_ner_record,
    repair_bio,
    spans_to_bio,
    tag_set,
    tags_to_char_spans,
    tokenize,
    validate_bio,
)


def test_bio_to_spans_and_back():
    tags = ["B-PER", "I-PER", "O", "B-LOC", "B-LOC", "I-LOC", "O", "B-ORG"]
    spans = bio_to_spans(tags)
    assert spans == [(0, 2, "PER"), (3, 4, "LOC"), (4, 6, "LOC"), (7, 8, "ORG")]
    assert spans_to_bio(len(tags), spans) == tags


def test_spans_to_bio_rejects_overlap_and_out_of_range():
    with pytest.raises(ValueError, match="overlaps"):
        spans_to_bio(4, [(0, 2, "PER"), (1, 3, "LOC")])
    with pytest.raises(ValueError, match="outside"):
        spans_to_bio(2, [(1, 3, "PER")])


def test_repair_i_after_o_and_type_switch():
    fixed, changed = repair_bio(["I-PER", "I-PER", "O", "I-LOC", "B-ORG", "I-PER"])
    assert fixed == ["B-PER", "I-PER", "O", "B-LOC", "B-ORG", "B-PER"]
    assert changed == [0, 3, 5]
    # A type switch inside an entity starts a new one.
    assert repair_bio(["B-PER", "I-LOC", "I-LOC"])[0] == ["B-PER", "B-LOC", "I-LOC"]
    assert repair_bio(["O", "B-X", "I-X"]) == (["O", "B-X", "I-X"], [])


def test_validate_bio_warns_or_rejects_with_line():
    with pytest.warns(BIOWarning, match=r"f\.jsonl, line 7: repaired .*token 1: 'I-LOC'"):
        assert validate_bio(["O", "I-LOC"], source="f.jsonl", line=7) == ["O", "B-LOC"]
    with pytest.raises(DataError, match=r"f\.jsonl, line 7, field 'tags': invalid BIO.*token 1"):
        validate_bio(["O", "I-LOC"], on_invalid="reject", source="f.jsonl", line=7)
    with pytest.raises(DataError, match="invalid tag 'X-PER'"):
        validate_bio(["X-PER"])


def test_english_tokenizer_rules():
    text = "The U.S. paid $1,000.50 on 1996-08-22, didn't it?"
    tokens = [t for t, _, _ in tokenize(text, "en")]
    assert tokens == ["The", "U.S.", "paid", "$", "1,000.50", "on", "1996-08-22", ",", "didn't", "it", "?"]
    for token, start, end in tokenize(text):
        assert text[start:end] == token


def test_chinese_tokenizer_is_per_character():
    assert tokenize("张三在北京 工作。") == [("张", 0, 1), ("三", 1, 2), ("在", 2, 3), ("北", 3, 4), ("京", 4, 5),
                                          ("工", 6, 7), ("作", 7, 8), ("。", 8, 9)]
    assert join_tokens(["张", "三"]) == "张三"
    assert join_tokens(["EU", "rejects"]) == "EU rejects"


def test_char_spans_round_trip_english():
    text = "Peter Blackburn visited Paris."
    spans = [{"start": 0, "end": 15, "label": "PER"}, {"start": 24, "end": 29, "label": "LOC"}]
    tokens, tags, same_text = parse_ner_record({"text": text, "spans": spans})
    assert tokens == ["Peter", "Blackburn", "visited", "Paris", "."]
    assert tags == ["B-PER", "I-PER", "O", "B-LOC", "O"]
    assert same_text == text
    offsets = [(s, e) for _, s, e in tokenize(text)]
    assert tags_to_char_spans(offsets, tags) == spans


def test_char_spans_round_trip_chinese():
    text = "张三在北京工作"
    spans = [{"start": 0, "end": 2, "label": "PER"}, {"start": 3, "end": 5, "label": "LOC"}]
    tokens, tags, _ = parse_ner_record({"text": text, "spans": spans})
    assert tokens == list(text)
    assert tags == ["B-PER", "I-PER", "O", "B-LOC", "I-LOC", "O", "O"]
    offsets = [(s, e) for _, s, e in tokenize(text)]
    assert tags_to_char_spans(offsets, tags) == spans


def test_span_that_cuts_a_token_or_overlaps_is_rejected():
    offsets = [(s, e) for _, s, e in tokenize("Peter Blackburn visited")]
    with pytest.raises(ValueError, match="cuts token 1"):
        char_spans_to_tags(offsets, [(0, 8, "PER")])
    with pytest.raises(ValueError, match="overlaps"):
        char_spans_to_tags(offsets, [(0, 15, "PER"), (6, 15, "PER")])
    with pytest.raises(DataError, match="line 3.*outside the text"):
        parse_ner_record({"text": "abc", "spans": [{"start": 0, "end": 9, "label": "X"}]}, line=3)


def test_tag_set_order_and_ner_corpus():
    assert tag_set(["LOC", "PER"]) == ["O", "B-LOC", "I-LOC", "B-PER", "I-PER"]
    c = ner_corpus([["张", "三"], ["Paris"]], [["B-PER", "I-PER"], ["B-LOC"]])
    assert c.task == "ner" and c.label_set == ["LOC", "PER"] and c.texts == ["张三", "Paris"]
    with pytest.raises(ValueError, match="record 0: 1 tags for 2 tokens"):
        ner_corpus([["a", "b"]], [["O"]])


def test_loader_plugin_reads_both_forms_and_repairs_with_location():
    saved = TASK_PARSERS["ner"]
    try:
        register_task_parser("ner", ner_record_parser())
        records = [{"tokens": ["a", "b"], "tags": ["I-PER", "O"]},
                   {"text": "Paris is nice", "spans": [{"start": 0, "end": 5, "label": "LOC"}]}]
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            corpus = load_corpus(records, task="ner")
        assert any("row 0" in str(w.message) and "I-PER" in str(w.message) for w in caught)
        assert corpus.labels == [["B-PER", "O"], ["B-LOC", "O", "O"]]
        assert corpus.tokens == [["a", "b"], ["Paris", "is", "nice"]]
        assert corpus.label_set == ["LOC", "PER"]
        register_task_parser("ner", ner_record_parser(on_invalid="reject"))
        with pytest.raises(DataError, match=r"row 1, field 'tags': invalid BIO"):
            load_corpus([{"tokens": ["x"], "tags": ["O"]}, {"tokens": ["a", "b"], "tags": ["O", "I-PER"]}], task="ner")
    finally:
        register_task_parser("ner", saved)
