"""docs/robustness.md: its code blocks run and print what the page says they do."""

import contextlib
import io
import pathlib
import re

PAGE = pathlib.Path(__file__).resolve().parent.parent / "docs" / "robustness.md"


def _blocks():
    return re.findall(r"```python\n(.*?)```", PAGE.read_text(), re.S)


def _run(code):
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, str(PAGE), "exec"), {})
    return out.getvalue()


def test_the_optax_guard_skips_the_non_finite_step_and_keeps_the_weights_finite():
    out = _run(_blocks()[0])
    assert "finite weights: True | skipped steps: 1" in out


def test_the_brainstate_guard_skips_the_non_finite_step_and_its_count():
    out = _run(_blocks()[1])
    assert "applied: [True, False] | step_count: 1" in out
