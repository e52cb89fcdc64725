"""Every exercise's check passes its reference solution as the grader runs it: student code
isolated (pickled arguments in, plain data out) and on instructor-only cases (hidden seeds).

The reference solutions come from the source notebooks' solution cells, which must not
depend on anything but numpy, math, bpcourse and the lesson's earlier solution cells.
"""
import contextlib
import io

import pytest

from bpcourse.exercises import core
from isolation import NOTEBOOKS, isolated, reference_namespace, graded_cells

CASES = [pytest.param(path, gid, src, id=gid)
         for path in sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb")) for gid, src in graded_cells(path)]


@pytest.mark.parametrize("path, grade_id, test_source", CASES)
@pytest.mark.parametrize("secret", [None, 20261127, 7])
def test_reference_solution_passes_isolated_and_on_hidden_cases(path, grade_id, test_source, secret):
    namespace = reference_namespace(path)
    hidden = core.hidden_cases(secret) if secret is not None else contextlib.nullcontext()
    printed = io.StringIO()
    with isolated(), hidden, contextlib.redirect_stdout(printed):
        try:
            exec(compile(test_source, f"<{grade_id}>", "exec"), namespace)
        except AssertionError:
            pytest.fail(f"{grade_id} with secret {secret}:\n{printed.getvalue()}")
    assert "✓" in printed.getvalue(), printed.getvalue()
