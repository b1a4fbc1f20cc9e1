"""The layout of DESIGN.md holds: dependencies point one way (import-linter's contracts in
pyproject.toml), no two modules import each other even indirectly, and no import hides inside a
function to dodge a cycle."""

import ast
import subprocess
import sys
import tomllib
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("ciam", "clients", "consent")


def _app_modules() -> list[Path]:
    return [
        path
        for package in PACKAGES
        for path in (ROOT / package).rglob("*.py")
        if "migrations" not in path.parts
    ]


def test_the_layer_contracts_are_kept():
    lint = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([str(lint)], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "0 broken" in result.stdout


def test_no_module_imports_itself_through_others():
    graph = grimp.build_graph(*PACKAGES)
    cycles = []
    for module in sorted(graph.modules):
        for imported in graph.find_modules_directly_imported_by(module):
            if imported != module and graph.chain_exists(importer=imported, imported=module):
                cycles.append(f"{module} -> {imported} -> ... -> {module}")
    assert cycles == []


def test_no_import_of_our_code_hides_in_a_function():
    # Only an AppConfig's ready(), where Django says signal receivers are connected.
    hidden = []
    for path in _app_modules():
        tree = ast.parse(path.read_text(), filename=str(path))
        for function in ast.walk(tree):
            if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef) or function.name == "ready":
                continue
            for node in ast.walk(function):
                names = []
                if isinstance(node, ast.ImportFrom) and node.module:
                    names = [node.module]
                elif isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                if any(name.split(".")[0] in PACKAGES for name in names):
                    hidden.append(f"{path.relative_to(ROOT)}:{node.lineno} in {function.name}()")
    assert hidden == []


def test_every_module_of_the_identity_app_has_its_layer():
    # ciam.accounts holds both its pages and API (above the engine) and the identity layer
    # (below it), so its modules are listed one by one: a new one must be placed.
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    layers = next(
        contract["layers"]
        for contract in config["tool"]["importlinter"]["contracts"]
        if contract["type"] == "layers"
    )
    placed = {name.strip() for layer in layers for name in layer.replace("|", ":").split(":")}
    modules = {
        "ciam.accounts." + path.relative_to(ROOT / "ciam" / "accounts").parts[0].removesuffix(".py")
        for path in (ROOT / "ciam" / "accounts").glob("*")
        if path.name != "__init__.py"
        and (path.suffix == ".py" or path.is_dir())
        and path.name != "__pycache__"
    }
    assert modules <= placed, sorted(modules - placed)
