"""Against a real `labelwise serve` subprocess: concurrent annotators, and kill -9 in the middle of labeling."""

from __future__ import annotations

import threading
from collections import Counter

import httpx
import pytest

from labelwise.server.project import create_project, project_url
from labelwise.server.store import Store

from .conftest import login, write_jsonl_project_data


def run_annotators(base_url: str, n_annotators: int, n_labels: int) -> tuple[dict, list, list]:
    """Each annotator labels ``n_labels`` texts as fast as it can. Returns served items per annotator,
    acknowledged (annotator, item, label_id), and every non-200 status seen."""
    served: dict[str, list[int]] = {}
    acked: list[tuple[str, int, int]] = []
    errors: list[tuple[str, int, str]] = []
    lock = threading.Lock()
    start = threading.Barrier(n_annotators)

    def annotator(name: str) -> None:
        client = login(base_url, name)
        mine: list[int] = []
        start.wait()
        item = client.get("/api/next").json()["item"]
        while item is not None and len(mine) < n_labels:
            mine.append(item["id"])
            response = client.post(f"/api/items/{item['id']}/label", json={"value": "pos"})
            if response.status_code != 200:
                with lock:
                    errors.append((name, response.status_code, response.text))
                break
            with lock:
                acked.append((name, item["id"], response.json()["label_id"]))
            item = response.json()["item"]
        served[name] = mine
        client.close()

    threads = [threading.Thread(target=annotator, args=(f"ann{i}",)) for i in range(n_annotators)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=600)
    return served, acked, errors


def check_concurrent_labeling(tmp_path, server_factory, n_annotators: int, n_labels: int) -> None:
    data = write_jsonl_project_data(tmp_path / "d.jsonl", n_annotators * n_labels + 50)
    project = tmp_path / "p"
    create_project(project, data, labels=["pos", "neg"]).close()
    server = server_factory(project)
    served, acked, errors = run_annotators(server.url, n_annotators, n_labels)
    assert errors == []
    assert all(len(items) == n_labels for items in served.values())
    every = [i for items in served.values() for i in items]
    assert len(every) == len(set(every)), "a text was leased to two annotators"
    assert len(acked) == n_annotators * n_labels
    store = Store(project_url(project))
    try:
        current = store.current_labels()
        assert set(current) == set(every)  # no label lost
        history = {i: store.label_history(i) for i in list(current)[:50]}
        who = {item: name for name, item, _ in acked}
        for item, rows in history.items():
            assert [r["annotator"] for r in rows] == [who[item]]  # recorded who answered
        assert Counter(current.values()) == {"pos": n_annotators * n_labels}
    finally:
        store.close()


def test_20_annotators_20_labels_each(tmp_path, server_factory):
    check_concurrent_labeling(tmp_path, server_factory, 20, 20)


@pytest.mark.slow
def test_20_annotators_200_labels_each(tmp_path, server_factory):
    check_concurrent_labeling(tmp_path, server_factory, 20, 200)


def test_kill_9_loses_no_acknowledged_label_and_restart_resumes(tmp_path, server_factory):
    data = write_jsonl_project_data(tmp_path / "d.jsonl", 400)
    project = tmp_path / "p"
    create_project(project, data, labels=["pos", "neg"]).close()
    server = server_factory(project)
    acked: list[tuple[int, int]] = []
    enough = threading.Event()

    def label_until_killed() -> None:
        client = login(server.url, "alice")
        item = client.get("/api/next").json()["item"]
        try:
            while item is not None:
                response = client.post(f"/api/items/{item['id']}/label", json={"value": "neg"})
                if response.status_code != 200:
                    break
                acked.append((item["id"], response.json()["label_id"]))
                if len(acked) >= 60:
                    enough.set()
                item = response.json()["item"]
        except httpx.TransportError:
            pass  # the server died under us: this request was never acknowledged
        finally:
            enough.set()

    worker = threading.Thread(target=label_until_killed)
    worker.start()
    assert enough.wait(120)
    server.kill()  # SIGKILL while requests are in flight
    worker.join(timeout=60)
    assert len(acked) >= 60

    store = Store(project_url(project))
    try:
        current = store.current_labels()
        for item, label_id in acked:
            assert current.get(item) == "neg"
            assert any(r["label_id"] == label_id and r["is_current"] for r in store.label_history(item))
        assert len(current) - len(acked) in (0, 1)  # at most the in-flight one committed but unacknowledged
    finally:
        store.close()

    restarted = server_factory(project)
    client = login(restarted.url, "alice")
    resumed = client.get("/api/next").json()["item"]
    assert resumed is not None and resumed["id"] not in current
    answered = client.post(f"/api/items/{resumed['id']}/label", json={"value": "pos"})
    assert answered.status_code == 200
    assert client.get("/api/progress").json()["n_labels"] == len(current) + 1
