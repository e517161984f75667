"""gateway/request_context.py: the request id and the log context of the work in hand, each request or task with
its own, only id fields kept."""

from __future__ import annotations

import threading

from gateway import request_context as rc


def test_outside_a_request_the_id_is_a_dash_and_nothing_is_bound() -> None:
    assert rc.current_request_id() == "-" and rc.current_api_key_prefix() == ""
    rc.log_context_bind(workspace_id="w-1")
    assert rc.log_context() == {}


def test_a_scope_keeps_only_id_fields_and_ends_with_its_block() -> None:
    with rc.log_context_scope(task_id="t-1", task_name=""):
        rc.log_context_bind(workspace_id="w-1", connection_id=None, access_token="secret", task_name="sync")
        assert rc.log_context() == {"task_id": "t-1", "workspace_id": "w-1", "task_name": "sync"}
        snapshot = rc.log_context()
        snapshot["workspace_id"] = "changed"  # a copy: the context itself stays
        assert rc.log_context()["workspace_id"] == "w-1"
        with rc.log_context_scope(task_id="t-2"):
            assert rc.log_context() == {"task_id": "t-2"}
        assert rc.log_context()["task_id"] == "t-1"
    assert rc.log_context() == {}


def test_a_task_context_started_without_a_block_ends_explicitly() -> None:
    rc.log_context_start(task_id="t-9", task_name="unified_models.tasks.mutation_retry")
    try:
        rc.log_context_bind(connection_id="c-1")
        assert rc.log_context()["connection_id"] == "c-1"
    finally:
        rc.log_context_end()
    assert rc.log_context() == {}


def test_each_thread_has_its_own_request_id_and_context() -> None:
    seen: dict[str, object] = {}

    def other() -> None:
        seen["request_id"] = rc.current_request_id()
        seen["context"] = rc.log_context()

    token = rc.request_id_var.set("req-1")
    try:
        with rc.log_context_scope(workspace_id="w-1"):
            thread = threading.Thread(target=other)
            thread.start()
            thread.join()
            assert rc.current_request_id() == "req-1"
    finally:
        rc.request_id_var.reset(token)
    assert seen == {"request_id": "-", "context": {}}
