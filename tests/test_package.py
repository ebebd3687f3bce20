"""The package's own rules, checked on its source: small modules, typed
public functions, and syntax the oldest server Python (3.6) can read."""

import ast
import os
import subprocess
from pathlib import Path

import pytest
from conftest import IN_CI, REPO

PACKAGE = REPO / "sunray"
MAX_LINES = 500
PYTHON36 = Path(os.environ.get("SUNRAY_PYTHON36", "/root/.pyenv/versions/3.6.15/bin/python"))


def modules():
    return sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)


def test_every_package_is_installed():
    """pyproject lists packages by hand (templates/ maps to sunray.templates):
    a package directory missing from the list would be missing from the wheel
    and the RPM payload, while the checkout still works."""
    text = (REPO / "pyproject.toml").read_text()
    listed = text[text.index("packages = ["):]
    listed = listed[:listed.index("]")]
    on_disk = {".".join(p.parent.relative_to(REPO).parts) for p in PACKAGE.rglob("__init__.py")
               if "__pycache__" not in p.parts}
    assert {name for name in on_disk if f'"{name}"' not in listed} == set()


def test_no_module_over_500_lines():
    sizes = {str(p.relative_to(REPO)): len(p.read_text().splitlines()) for p in modules()}
    assert {name: n for name, n in sizes.items() if n > MAX_LINES} == {}


def _unannotated(path):
    """Public functions and methods with a parameter or return not annotated."""
    found = []

    def visit(body, prefix):
        for node in body:
            if isinstance(node, ast.ClassDef) and not node.name.startswith("_"):
                visit(node.body, f"{prefix}{node.name}.")
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                init = node.name == "__init__"
                if (node.name.startswith("_") and not init) or (init and not prefix):
                    continue
                args = node.args.posonlyargs + node.args.args + node.args.kwonlyargs
                args += [a for a in (node.args.vararg, node.args.kwarg) if a]
                bare = [a.arg for a in args if a.annotation is None and a.arg not in ("self", "cls")]
                if bare or (node.returns is None and not init):
                    found.append(f"{prefix}{node.name}")

    visit(ast.parse(path.read_text()).body, "")
    return found


def test_public_functions_are_typed():
    missing = {str(p.relative_to(REPO)): _unannotated(p) for p in modules()}
    assert {name: found for name, found in missing.items() if found} == {}


def test_the_checker_finds_an_untyped_function(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text("def typed(a: int) -> int:\n    return a\n\n"
                      "def untyped(a):\n    return a\n\n"
                      "class Thing:\n    def method(self, b: str):\n        pass\n"
                      "    def _private(self, c):\n        pass\n")
    assert _unannotated(sample) == ["untyped", "Thing.method"]


@pytest.mark.system
def test_python36_can_compile_every_module(tmp_path):
    """The server floor is Python 3.6: the real 3.6 interpreter compiles every
    module (3.7+ syntax such as := or positional-only parameters fails here)."""
    if not PYTHON36.exists():
        message = f"needs Python 3.6 at {PYTHON36} (set SUNRAY_PYTHON36)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    script = ("import sys\n"
              "for path in sys.argv[1:]:\n"
              "    with open(path, encoding='utf-8') as f:\n"
              "        compile(f.read(), path, 'exec')\n")
    proc = subprocess.run([str(PYTHON36), "-c", script, *map(str, modules())],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    bad = tmp_path / "walrus.py"
    bad.write_text("if (x := 1):\n    pass\n")
    proc = subprocess.run([str(PYTHON36), "-c", script, str(bad)], capture_output=True, text=True)
    assert proc.returncode != 0 and "SyntaxError" in proc.stderr
