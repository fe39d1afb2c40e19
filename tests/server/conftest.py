"""Fixtures for the annotation app: small projects, an in-process client, a real server subprocess."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from labelwise.data import Corpus
from labelwise.server.store import Store

LABELS = ["pos", "neg", "neu"]


def make_corpus(n: int, *, task: str = "multiclass", prefix: str = "text") -> Corpus:
    return Corpus(ids=[f"id{i}" for i in range(n)], texts=[f"{prefix} number {i}" for i in range(n)], task=task,
                  label_set=list(LABELS))


def annotators(store: Store, *names: str) -> list[int]:
    """Create the named annotators; their ids, in order."""
    return [store.add_annotator(name)[0] for name in names]


@pytest.fixture
def make_store(tmp_path):
    stores = []

    def factory(n: int = 30, *, task: str = "multiclass", lease_seconds: float | None = None, name: str = "p",
                settings: dict | None = None) -> Store:
        url = f"sqlite:///{tmp_path / f'{name}.db'}"
        Store.create(url, make_corpus(n, task=task), name=name, labels=LABELS, settings=settings).close()
        store = Store(url, lease_seconds=lease_seconds)
        stores.append(store)
        return store

    yield factory
    for store in stores:
        store.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ServerProcess:
    """``labelwise serve`` in a real subprocess (so it can be SIGKILLed)."""

    def __init__(self, project: Path, *, trainer: str = "off", extra: list[str] | None = None):
        self.project, self.port = project, free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "labelwise.cli.main", "serve", str(project), "--port", str(self.port),
             "--trainer", trainer, *(extra or [])],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, text=True)
        deadline = time.time() + 30
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {self.proc.stdout.read()}")
            try:
                if httpx.get(f"{self.url}/api/config", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.1)
        self.kill()
        raise RuntimeError("server did not start within 30 s")

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(timeout=30)


@pytest.fixture
def server_factory():
    servers: list[ServerProcess] = []

    def start(project: Path, **kwargs) -> ServerProcess:
        server = ServerProcess(project, **kwargs)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.kill(signal.SIGTERM)


def login(base_url: str, name: str) -> httpx.Client:
    """A client logged in with a cookie session, sending its CSRF header on every request."""
    client = httpx.Client(base_url=base_url, timeout=30)
    response = client.post("/api/login", json={"name": name})
    response.raise_for_status()
    client.headers["X-CSRF-Token"] = response.json()["csrf"]
    client.headers["X-Labelwise-Tab"] = f"tab-{name}"
    return client


def write_jsonl_project_data(path: Path, n: int) -> Path:
    import json

    with path.open("w", encoding="utf-8") as fh:
        for i in range(n):
            fh.write(json.dumps({"id": f"t{i}", "text": f"sample text {i} 样本"}, ensure_ascii=False) + "\n")
    return path
