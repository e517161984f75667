"""unified_models/openapi.py: the schema's examples are real: every request example of a write is valid input
for that write's serializer (an example the API would refuse would teach clients to send it), every record
example has exactly the record's fields (remote_data aside), every write has its summary and description."""

from __future__ import annotations

from typing import Any

import pytest

from unified_models import openapi
from unified_models.specs import SPECS, ResourceSpec, WriteSpec


def _writes() -> list[tuple[str, WriteSpec]]:
    found = []
    for spec in SPECS:
        for operation in ("create", "update", "finalize"):
            write: WriteSpec | None = getattr(spec, operation)
            if write is not None:
                found.append((f"{spec.resource.value}.{operation}", write))
    return found


WRITES = _writes()


@pytest.mark.parametrize(("name", "write"), WRITES, ids=[name for name, _ in WRITES])
def test_every_request_example_is_valid_input_for_its_write(name: str, write: WriteSpec) -> None:
    requests = [example for example in write.text.examples if example.request_only]
    if write.serializer is None:
        assert not requests, f"{name} takes no body but shows one"
        return
    assert requests, f"{name} shows no request example"
    for example in requests:
        serializer = write.serializer(data=example.value)
        assert serializer.is_valid(), (name, example.summary, serializer.errors)
    assert write.text.summary and write.text.description


@pytest.mark.parametrize("spec", SPECS, ids=[spec.resource.value for spec in SPECS])
def test_every_record_example_has_exactly_the_records_fields(spec: ResourceSpec) -> None:
    example: dict[str, Any] = openapi.RECORD_EXAMPLES[spec.resource]
    fields = set(spec.record_serializer().fields) - {"remote_data"}  # shown only with ?include=remote_data
    assert set(example) == fields, (set(example) - fields, fields - set(example))


def test_problem_responses_name_each_status_with_the_problem_schema() -> None:
    responses = openapi.problem_responses(404, 422)
    assert set(responses) == {(404, "application/problem+json"), (422, "application/problem+json")}
    for response in responses.values():
        assert response.description
