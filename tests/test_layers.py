"""The layers of sunray/ (docs/development.md, "The layers"), read from the
source: every ``import`` wherever it stands (top of the file, inside a
function, under ``if TYPE_CHECKING``) is an edge of the import graph.

- no import cycle between modules;
- each package imports only the layers below it (``ALLOWED``);
- at most 8 modules loose at the top of ``sunray/``.
"""

import ast
from pathlib import Path
from typing import Dict, List, Set

import pytest

SUNRAY = Path(__file__).resolve().parent.parent / "sunray"

# Package (or top-level module) -> the packages it may import besides itself.
# core: the shared layer. Concerns: core only. boot stands on three concerns
# (it makes /tmp/.esd, rebuilds modules and checks /tmp at boot). The
# operations may use every concern; the CLI sits on everything.
CONCERNS = {"tmpclean", "esddir", "modules", "esound", "savings"}
OPERATIONS = {"apply", "doctor", "demo", "fleet"}
ALLOWED: Dict[str, Set[str]] = {
    "core": set(),
    **{name: {"core"} for name in CONCERNS},
    "boot": {"core", "esddir", "modules", "tmpclean"},
    "doctor": {"core"},  # its rows come from the concerns by name (doctor.CONCERNS)
    "fleet": {"core"},
    "apply": {"core", "boot", "doctor", "esddir", "modules", "tmpclean"},
    "demo": {"core", "apply", "modules", "sunray"},
    "cli": {"core", "boot", "sunray"} | CONCERNS | OPERATIONS,
    "__main__": {"cli"},
}
MAX_TOP_MODULES = 8


def module_names(top: Path) -> Dict[str, Path]:
    """{dotted name: file} of every module under ``top`` (a package dir)."""
    names = {}
    for path in top.rglob("*.py"):
        parts = list(path.relative_to(top.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        names[".".join(parts)] = path
    return names


def import_graph(top: Path) -> Dict[str, Set[str]]:
    """{module: the sunray modules it imports}, from every import statement."""
    modules = module_names(top)

    def known(name: str) -> str:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name

    graph: Dict[str, Set[str]] = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        edges = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join(anchor + ([base] if base else []))
                # "from . import x" imports module x when there is one.
                targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base
                           for alias in node.names]
            else:
                continue
            edges.update(known(t) for t in targets if t.split(".")[0] == top.name)
        edges.discard(name)
        edges.discard("")
        graph[name] = edges
    return graph


def cycles(graph: Dict[str, Set[str]]) -> List[List[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: Dict[str, int] = {}
    low: Dict[str, int] = {}
    stack: List[str] = []
    on_stack: Set[str] = set()
    found: List[List[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def layer(module: str) -> str:
    """The layer a module belongs to: its package under sunray, or the
    top-level module's own name; ``sunray`` for the package itself."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "sunray"


def layer_violations(graph: Dict[str, Set[str]]) -> List[str]:
    wrong = []
    for module, targets in sorted(graph.items()):
        mine = layer(module)
        if mine == "sunray":
            continue
        allowed = ALLOWED.get(mine)
        for target in sorted(targets):
            theirs = layer(target)
            if theirs == mine:
                continue
            if allowed is None or theirs not in allowed:
                wrong.append(f"{module} imports {target} ({mine} may import: "
                             f"{', '.join(sorted(allowed or ())) or 'nothing'})")
    return wrong


def test_sunray_has_no_import_cycle():
    assert cycles(import_graph(SUNRAY)) == []


def test_each_layer_imports_only_the_layers_below_it():
    assert layer_violations(import_graph(SUNRAY)) == []


def test_every_package_has_a_layer():
    packages = {p.name for p in SUNRAY.iterdir() if (p / "__init__.py").is_file()}
    top = {p.stem for p in SUNRAY.glob("*.py")} - {"__init__"}
    assert packages | top <= set(ALLOWED)


def test_at_most_eight_modules_are_loose_at_the_top():
    loose = sorted(p.name for p in SUNRAY.glob("*.py"))
    assert len(loose) <= MAX_TOP_MODULES, loose


def _package(tmp_path: Path, files: Dict[str, str]) -> Path:
    top = tmp_path / "sunray"
    for name, text in files.items():
        path = top / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return top


@pytest.mark.parametrize("where", ["top", "function", "type_checking"])
def test_the_checker_finds_a_cycle_wherever_the_import_stands(tmp_path, where):
    back = {
        "top": "from . import a\n",
        "function": "def f():\n    from . import a\n",
        "type_checking": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .a import x\n",
    }[where]
    top = _package(tmp_path, {"__init__.py": "", "a.py": "from .b import y\nx = 1\n",
                              "b.py": back + "y = 2\n"})
    assert cycles(import_graph(top)) == [["sunray.a", "sunray.b"]]


def test_the_checker_finds_core_importing_a_concern(tmp_path):
    top = _package(tmp_path, {
        "__init__.py": "", "core/__init__.py": "", "modules/__init__.py": "",
        "modules/settings.py": "X = 1\n",
        "core/journal.py": "def f():\n    from ..modules.settings import X\n",
    })
    assert layer_violations(import_graph(top)) == [
        "sunray.core.journal imports sunray.modules.settings (core may import: nothing)"]


def test_the_checker_resolves_absolute_and_parent_imports(tmp_path):
    top = _package(tmp_path, {
        "__init__.py": "", "core/__init__.py": "", "core/errors.py": "",
        "esddir/__init__.py": "", "esddir/fix.py": "from ..core import errors\n",
        "boot/__init__.py": "", "boot/hook.py": "import sunray.esddir.fix\n",
    })
    graph = import_graph(top)
    assert graph["sunray.esddir.fix"] == {"sunray.core.errors"}
    assert graph["sunray.boot.hook"] == {"sunray.esddir.fix"}
