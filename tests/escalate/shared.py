"""Tests that need ../shared/fixtures/zendesk skip with one line when it is missing (and fail
when PEERDESK_REQUIRE_ALL is set, as CI does)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ZENDESK = Path(__file__).resolve().parents[2] / ".." / "shared" / "fixtures" / "zendesk"


def need_zendesk_fixtures() -> None:
    if (ZENDESK / "TestTicketAudits.test_values.json").exists():
        return
    message = f"the recorded Zendesk exchanges are missing ({ZENDESK})"
    if os.environ.get("PEERDESK_REQUIRE_ALL"):
        pytest.fail(message + " and PEERDESK_REQUIRE_ALL is set")
    pytest.skip(message, allow_module_level=True)
