"""The server's logs never carry what a reader wrote, even in a traceback."""

from __future__ import annotations

import pytest
import structlog

from causerie.cli import _configure_logging


def test_tracebacks_do_not_show_local_variables(capsys: pytest.CaptureFixture[str]) -> None:
    _configure_logging("info")
    try:
        text = "mon secret 0612345678"  # a local variable, as in a failing handler
        raise ValueError(len(text))
    except ValueError:
        structlog.get_logger("test").exception("handler_failed")
    finally:
        structlog.reset_defaults()
    out = capsys.readouterr().out
    assert "handler_failed" in out and "ValueError" in out
    assert "0612345678" not in out
