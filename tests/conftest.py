"""Shared test helpers: where the shared datasets live (never copied into the repository)."""

import os
from pathlib import Path

import pytest

DATASETS = Path(os.environ.get("LABELWISE_DATASETS", Path(__file__).resolve().parents[1] / ".." / "shared" /
                                                      "datasets")).resolve()


@pytest.fixture(scope="session")
def datasets_dir() -> Path:
    if not DATASETS.is_dir():
        pytest.skip(f"shared datasets not found at {DATASETS} (set LABELWISE_DATASETS)")
    return DATASETS
