"""Habits the code base keeps: documented and typed public API, logging instead of print, scripts that import."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LIBRARY = sorted((ROOT / "rag").rglob("*.py")) + [ROOT / "app.py"]


def _public_definitions(path: Path):
    """(qualified name, node) of every public function, method and class, nested in classes only."""
    def walk(node, prefix=""):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) \
                    and not child.name.startswith("_"):
                yield prefix + child.name, child
                if isinstance(child, ast.ClassDef):
                    yield from walk(child, f"{prefix}{child.name}.")

    return list(walk(ast.parse(path.read_text(encoding="utf-8"))))


def test_every_public_function_and_class_has_a_docstring_and_types():
    undocumented, untyped = [], []
    for path in LIBRARY:
        for name, node in _public_definitions(path):
            where = f"{path.relative_to(ROOT)}:{node.lineno} {name}"
            if not ast.get_docstring(node):
                undocumented.append(where)
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                arguments = node.args.posonlyargs + node.args.args + node.args.kwonlyargs
                if node.returns is None or any(a.annotation is None for a in arguments if a.arg not in ("self", "cls")):
                    untyped.append(where)
    assert not undocumented and not untyped, {"no docstring": undocumented, "missing types": untyped}


def test_library_code_logs_instead_of_printing():
    # The CLI speaks through typer.echo; everything else through logging, so an embedding app controls output.
    printing = [f"{path.name}:{node.lineno}" for path in LIBRARY if path.name != "cli.py"
                for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
                if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "print"]
    assert not printing


@pytest.mark.parametrize("script", sorted(p.name for p in (ROOT / "eval").glob("*.py")))
def test_every_name_an_eval_script_imports_from_rag_exists(script):
    # The scripts import inside functions; ruff cannot see a name that a refactor removed, this can.
    tree = ast.parse((ROOT / "eval" / script).read_text(encoding="utf-8"))
    imports = [(node.module, alias.name) for node in ast.walk(tree)
               if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("rag")
               for alias in node.names]
    missing = [f"{module}.{name}" for module, name in imports
               if not hasattr(importlib.import_module(module), name)]
    assert not missing
