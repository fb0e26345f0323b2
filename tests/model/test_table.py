"""The declared table and what is generated from it."""

from pathlib import Path

import pytest

from mentoring.domain import TERMINAL_STATUSES
from workflows.machine.table import TRANSITIONS, markdown

pytestmark = pytest.mark.model

DOC = Path(__file__).parents[2] / "docs" / "state-machine.md"


def test_docs_state_machine_is_generated_from_the_table() -> None:
    assert DOC.read_text() == markdown(), (
        "docs/state-machine.md differs from the table: "
        "python -m workflows.machine.table > docs/state-machine.md"
    )


def test_no_transition_leaves_a_terminal_status() -> None:
    assert not [t for t in TRANSITIONS if t.status in TERMINAL_STATUSES]
