#!/usr/bin/env python3
"""Build dist/sunray-VERSION.pyz: the toolkit as one file for servers.

    python3 packaging/build_pyz.py [--output DIR] [--downloads DIR]

(``./bootstrap dist`` runs it.) The zipapp holds the sunray package (its
templates as sunray/templates, its data), the pure-Python dependencies at
versions that still run on Python 3.6 (downloaded from PyPI with pip once,
checked against the SHA-256 digests below, kept under build/pyz-downloads),
their licence files under licenses/, the toolkit's own LICENSE and its
manual page (docs/sunray.1: ``unzip -p sunray-VERSION.pyz docs/sunray.1 |
man -l -``), and packaging/pyz_main.py as __main__.py. It runs with any python3 >= 3.6: ``python3 sunray-VERSION.pyz
doctor``. Prints the path of the built file.

Byte code for Python 3.6 (the server floor, where startup time matters
most): every module compiled by a Python 3.6 (--python36, else
$SUNRAY_PYTHON36, python3.6 on PATH or pyenv's) into _py36/bytecode, with
no sources beside it: zipimport then loads it without comparing timestamps
(zip entry times are local time, so they would only match in the build's
time zone). __main__ puts that tree first on sys.path on 3.6; the other
versions compile the sources. Without a 3.6 the pyz is built without it
(slower to start on 3.6, same behaviour).

Left out on purpose: compiled code (MarkupSafe's speedups: it falls back
to its pure-Python code) and PyYAML: the toolkit reads YAML (settings,
proposals, inventories) with the copy Invoke carries (invoke/vendor/yaml,
bundled with invoke), and a second copy would only cost startup time.
"""

import argparse
import glob
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path
from typing import Dict, Iterator, List, NamedTuple, Optional, Tuple

CHECKOUT = Path(__file__).resolve().parent.parent
MAIN = CHECKOUT / "packaging" / "pyz_main.py"
# The toolkit's own documents in the zip: {zip name: file in the checkout}.
DOCUMENTS = {"LICENSE": CHECKOUT / "LICENSE", "docs/sunray.1": CHECKOUT / "docs" / "sunray.1"}
# Fixed entry times: the same checkout builds the same bytes.
ZIP_TIME = (2020, 1, 1, 0, 0, 0)
SKIP_PARTS = {"__pycache__"}
SKIP_SUFFIXES = (".pyc", ".pyo", "~")
# Besides, from the dependencies: compiled code and its sources, type stubs.
SKIP_DEPENDENCY_SUFFIXES = SKIP_SUFFIXES + (".so", ".c", ".pyi")
BYTECODE = "_py36/bytecode"
# Run by the Python 3.6: JSON {name: source} on stdin, JSON {name: pyc hex} out.
_COMPILE = """
import importlib.util, json, marshal, struct, sys
out = {}
for name, source in json.load(sys.stdin).items():
    code = compile(source, name, "exec", dont_inherit=True)
    header = importlib.util.MAGIC_NUMBER + struct.pack("<II", 0, len(source.encode()) & 0xFFFFFFFF)
    out[name] = (header + marshal.dumps(code)).hex()
json.dump(out, sys.stdout)
"""


class Dependency(NamedTuple):
    """One distribution to bundle: what pip downloads, what goes in the zip."""

    file: str                  # the file pip download writes
    sha256: str                # its digest on PyPI
    pip_args: Tuple[str, ...]  # the pip download arguments that fetch it
    top: str                   # the directory in the archive that holds the code
    target: str                # where that code goes in the zip ("" = top level)
    licences: Tuple[str, ...]  # licence files in the archive


_WHEEL = ("--only-binary=:all:",)
DEPENDENCIES = (
    Dependency("invoke-2.2.1-py3-none-any.whl",
               "2413bc441b376e5cd3f55bb5d364f973ad8bdd7bf87e53c79de3c11bf3feecc8",
               _WHEEL + ("invoke==2.2.1",), "invoke", "invoke",
               ("invoke-2.2.1.dist-info/LICENSE",)),
    Dependency("Jinja2-3.0.3-py3-none-any.whl",
               "077ce6014f7b40d03b47d1f1ca4b0fc8328a692bd284016f806ed0eaca390ad8",
               _WHEEL + ("Jinja2==3.0.3",), "jinja2", "jinja2",
               ("Jinja2-3.0.3.dist-info/LICENSE.rst",)),
    # No pure-Python wheel: the sdist's sources, without _speedups.c.
    Dependency("MarkupSafe-2.0.1.tar.gz",
               "594c67807fb16238b30c44bdf74f36c02cdf22d1c8cda91ef8a0ed8dabf5620a",
               ("--no-binary=:all:", "MarkupSafe==2.0.1"), "MarkupSafe-2.0.1/src/markupsafe",
               "markupsafe", ("MarkupSafe-2.0.1/LICENSE.rst",)),
    Dependency("rpmfile-2.2.0-py3-none-any.whl",
               "a24da33c0447db9fa28d85522eb9571656993bb7e2faef03ee2a5b39f1315f49",
               _WHEEL + ("rpmfile==2.2.0",), "rpmfile", "rpmfile",
               ("rpmfile-2.2.0.dist-info/licenses/LICENSE",)),
    # Python 3.6 only: __main__ puts _py36 on sys.path below 3.7.
    Dependency("dataclasses-0.8-py3-none-any.whl",
               "0201d89fa866f68c8ebd9d08ee6ff50c0b255f8ec63a71c16fda7af82bb887bf",
               _WHEEL + ("--python-version", "3.6", "dataclasses==0.8"), "dataclasses.py",
               "_py36/dataclasses.py", ("dataclasses-0.8.dist-info/LICENSE.txt",)),
)


def version() -> str:
    text = (CHECKOUT / "sunray" / "__init__.py").read_text(encoding="utf-8")
    match = re.search(r'^__version__ = "([^"]+)"', text, re.M)
    if not match:
        raise RuntimeError("sunray/__init__.py: no __version__")
    return match.group(1)


def download(dependency: Dependency, directory: Path) -> Path:
    """The dependency's file in ``directory``, fetched with pip when missing; checked."""
    path = directory / dependency.file
    if not path.is_file():
        directory.mkdir(parents=True, exist_ok=True)
        # Into a private directory, then renamed: parallel builds never see half a file.
        with tempfile.TemporaryDirectory(dir=str(directory)) as private:
            argv = [sys.executable, "-m", "pip", "download", "--no-deps", "--disable-pip-version-check",
                    "--quiet", "--dest", private, *dependency.pip_args]
            proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  universal_newlines=True)
            fetched = Path(private) / dependency.file
            if proc.returncode != 0 or not fetched.is_file():
                raise RuntimeError(f"pip download {' '.join(dependency.pip_args)} failed:\n{proc.stderr}")
            os.replace(str(fetched), str(path))
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != dependency.sha256:
        raise RuntimeError(f"{path}: SHA-256 {digest}, expected {dependency.sha256}")
    return path


def _archive_members(path: Path) -> Iterator[Tuple[str, bytes]]:
    """(name, bytes) of every regular file in a wheel or a .tar.gz."""
    if path.name.endswith(".whl"):
        with zipfile.ZipFile(path) as whl:
            for info in whl.infolist():
                if not info.is_dir():
                    yield info.filename, whl.read(info)
    else:
        with tarfile.open(path) as tar:
            for member in tar:
                if member.isfile():
                    handle = tar.extractfile(member)
                    if handle is not None:
                        yield member.name, handle.read()


def _wanted(name: str, skip: Tuple[str, ...] = SKIP_SUFFIXES) -> bool:
    return not SKIP_PARTS.intersection(name.split("/")) and not name.endswith(skip)


def dependency_files(dependency: Dependency, path: Path) -> Dict[str, bytes]:
    """Zip name -> bytes of one dependency's code and licence files."""
    files = {}
    for name, data in _archive_members(path):
        if name == dependency.top:
            files[dependency.target] = data
        elif name.startswith(dependency.top + "/") and _wanted(name, SKIP_DEPENDENCY_SUFFIXES):
            files[dependency.target + name[len(dependency.top):]] = data
        elif name in dependency.licences:
            files[f"licenses/{dependency.file.split('-')[0]}/{name.rsplit('/', 1)[1]}"] = data
    missing = [n for n in dependency.licences
               if f"licenses/{dependency.file.split('-')[0]}/{n.rsplit('/', 1)[1]}" not in files]
    if not any(n.startswith(dependency.target) for n in files) or missing:
        raise RuntimeError(f"{path.name}: no {dependency.top} or licence {missing} in it")
    return files


def sunray_files() -> Dict[str, bytes]:
    """Zip name -> bytes of the sunray package, templates/ as sunray/templates."""
    files = {}
    for source, target in ((CHECKOUT / "sunray", "sunray"), (CHECKOUT / "templates", "sunray/templates")):
        for path in sorted(source.rglob("*")):
            name = f"{target}/{path.relative_to(source).as_posix()}"
            if path.is_file() and _wanted(name):
                files[name] = path.read_bytes()
    return files


def find_python36() -> Optional[str]:
    """A Python 3.6 to compile with: $SUNRAY_PYTHON36, python3.6, pyenv's; else None."""
    candidates = [os.environ.get("SUNRAY_PYTHON36", ""), shutil.which("python3.6") or ""]
    candidates += sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.6*/bin/python")))
    for candidate in candidates:
        if candidate and os.access(candidate, os.X_OK):
            proc = subprocess.run([candidate, "-c", "import sys; print(sys.version_info[:2])"],
                                  stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                  universal_newlines=True)
            if proc.returncode == 0 and proc.stdout.strip() == "(3, 6)":  # not a pyenv shim
                return candidate
    return None


def bytecode_files(files: Dict[str, bytes], python36: str) -> Dict[str, bytes]:
    """The _py36/bytecode tree: each module of ``files`` compiled by ``python36``
    (sources left out), the sunray package's data files beside them."""
    sources = {name: data.decode("utf-8") for name, data in files.items()
               if name.endswith(".py") and name != "__main__.py"}
    # A fixed hash seed: frozenset constants marshal in hash order (reproducible builds).
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    env["PYTHONHASHSEED"] = "0"
    proc = subprocess.run([python36, "-s", "-c", _COMPILE], input=json.dumps(sources), env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True)
    if proc.returncode != 0:
        raise RuntimeError(f"{python36} could not compile the bundle:\n{proc.stderr}")
    compiled = {}
    for name, hexdata in json.loads(proc.stdout).items():
        name = name[len("_py36/"):] if name.startswith("_py36/") else name
        compiled[f"{BYTECODE}/{name}c"] = bytes.fromhex(hexdata)
    for name, data in files.items():  # resources are read beside the package that imports them
        if name.startswith("sunray/") and not name.endswith(".py"):
            compiled[f"{BYTECODE}/{name}"] = data
    return compiled


def build(output: Path, downloads: Path, python36: Optional[str] = None) -> Path:
    """Write ``output``/sunray-VERSION.pyz; returns its path. ``python36``
    compiles the 3.6 byte code ("" = none)."""
    files: Dict[str, bytes] = {"__main__.py": MAIN.read_bytes()}
    files.update({name: path.read_bytes() for name, path in DOCUMENTS.items()})
    files.update(sunray_files())
    for dependency in DEPENDENCIES:
        files.update(dependency_files(dependency, download(dependency, downloads)))
    if python36 is None:
        python36 = find_python36()
        if python36 is None:
            print("build_pyz: no Python 3.6 found (--python36): no 3.6 byte code, "
                  "so the pyz starts slower there", file=sys.stderr)
    if python36:
        files.update(bytecode_files(files, python36))
    output.mkdir(parents=True, exist_ok=True)
    target = output / f"sunray-{version()}.pyz"
    partial = target.with_name(f"{target.name}.{os.getpid()}.part")
    with open(partial, "wb") as f:
        f.write(b"#!/usr/bin/env python3\n")
        with zipfile.ZipFile(f, "w", zipfile.ZIP_DEFLATED) as zf:
            for name in sorted(files):
                info = zipfile.ZipInfo(name, ZIP_TIME)
                info.compress_type = zipfile.ZIP_DEFLATED
                info.external_attr = 0o644 << 16
                zf.writestr(info, files[name])
    partial.chmod(0o755)
    partial.replace(target)
    return target


def main(argv: List[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=CHECKOUT / "dist",
                        help="directory for the pyz (default: dist/)")
    parser.add_argument("--downloads", type=Path, default=CHECKOUT / "build" / "pyz-downloads",
                        help="where the dependencies are downloaded (default: build/pyz-downloads/)")
    parser.add_argument("--python36", help="the Python 3.6 that compiles the 3.6 byte code "
                        "(default: $SUNRAY_PYTHON36, python3.6 on PATH, pyenv's; '' for none)")
    args = parser.parse_args(argv)
    try:
        print(build(args.output.absolute(), args.downloads.absolute(), args.python36))
    except (RuntimeError, OSError) as e:
        print(f"build_pyz: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
