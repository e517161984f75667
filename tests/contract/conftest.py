"""The contract run (schemathesis) is CI's own step (`.ci/run`): it runs only when `-m contract` selects it."""

from __future__ import annotations

import pytest


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if "contract" in (config.option.markexpr or ""):
        return
    skipped = [item for item in items if item.get_closest_marker("contract")]
    if skipped:
        config.hook.pytest_deselected(items=skipped)
        items[:] = [item for item in items if not item.get_closest_marker("contract")]
