"""The security checklist (CHECKLIST.md) and the tests that carry its markers agree."""

import ast
import re
from pathlib import Path

TESTS = Path(__file__).resolve().parent.parent


def attacks_in_checklist() -> set[str]:
    text = (Path(__file__).parent / "CHECKLIST.md").read_text()
    return set(re.findall(r"^\| `([a-z-]+)` \|", text, flags=re.MULTILINE))


def _security_marks(node) -> list[str]:
    """The attack names in `pytest.mark.security("...")` calls under `node`."""
    found = []
    for call in ast.walk(node):
        if (
            isinstance(call, ast.Call)
            and isinstance(call.func, ast.Attribute)
            and call.func.attr == "security"
            and call.args
            and isinstance(call.args[0], ast.Constant)
        ):
            found.append(call.args[0].value)
    return found


def marked_tests() -> dict[str, list[str]]:
    """attack -> test functions marked with it (directly, or by their module's pytestmark)."""
    found: dict[str, list[str]] = {}
    for path in TESTS.rglob("test_*.py"):
        module = ast.parse(path.read_text())
        module_marks = [
            mark
            for stmt in module.body
            if isinstance(stmt, ast.Assign)
            and any(getattr(t, "id", "") == "pytestmark" for t in stmt.targets)
            for mark in _security_marks(stmt.value)
        ]
        for stmt in module.body:
            if isinstance(stmt, ast.FunctionDef) and stmt.name.startswith("test_"):
                marks = module_marks + [m for d in stmt.decorator_list for m in _security_marks(d)]
                for attack in marks:
                    found.setdefault(attack, []).append(f"{path.relative_to(TESTS)}::{stmt.name}")
    return found


def test_every_attack_on_the_checklist_has_a_test():
    checklist, tested = attacks_in_checklist(), marked_tests()
    assert len(checklist) >= 13
    assert not checklist - set(tested), f"no test for: {sorted(checklist - set(tested))}"


def test_every_security_marker_names_an_attack_on_the_checklist():
    unknown = set(marked_tests()) - attacks_in_checklist()
    assert not unknown, f"not on CHECKLIST.md: {sorted(unknown)}"


def test_the_checklist_names_the_files_that_hold_its_tests():
    text = (Path(__file__).parent / "CHECKLIST.md").read_text()
    for attack, tests in marked_tests().items():
        row = re.search(rf"^\| `{attack}` \|.*$", text, flags=re.MULTILINE).group(0)
        for test in tests:
            assert "tests/" + test.split("::")[0] in row, (attack, test)
