#!/usr/bin/env python3
"""Build dist/sunray-server-VERSION.tar.gz: the Ansible collection sunray.server.

    python3 packaging/build_collection.py --pyz dist/sunray-VERSION.pyz [--output DIR]

(``./bootstrap dist`` runs it after build_pyz.py.) The collection's source
is packaging/ansible/ansible_collections/sunray/server; it is copied into
build/collection/ansible_collections/sunray/server with sunray's version
written into galaxy.yml and the bundle as files/sunray.pyz (the very file
of dist/: the modules' action plugin sends it to the servers), then
``ansible-galaxy collection build`` makes the tarball. ansible-galaxy is
taken from --ansible-galaxy, else .venv-ansible216, else the PATH.
Prints the path of the built file.
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import List, Optional

CHECKOUT = Path(__file__).resolve().parent.parent
SOURCE = CHECKOUT / "packaging" / "ansible" / "ansible_collections" / "sunray" / "server"
SKIP = shutil.ignore_patterns("__pycache__", "*.pyc", "output")


def version() -> str:
    text = (CHECKOUT / "sunray" / "__init__.py").read_text(encoding="utf-8")
    match = re.search(r'^__version__ = "([^"]+)"', text, re.M)
    if not match:
        raise RuntimeError("sunray/__init__.py: no __version__")
    return match.group(1)


def ansible_galaxy(explicit: Optional[str] = None) -> str:
    for candidate in (explicit, str(CHECKOUT / ".venv-ansible216" / "bin" / "ansible-galaxy"),
                      shutil.which("ansible-galaxy")):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    raise RuntimeError("no ansible-galaxy (install ansible-core, or run ./bootstrap test "
                       "to make .venv-ansible216)")


def stage(pyz: Path, where: Path) -> Path:
    """The collection tree, ready to build, under ``where``/ansible_collections/sunray/server."""
    tree = where / "ansible_collections" / "sunray" / "server"
    if tree.exists():
        shutil.rmtree(tree)
    shutil.copytree(SOURCE, tree, ignore=SKIP)
    galaxy = tree / "galaxy.yml"
    text, count = re.subn(r"(?m)^version: .*$", f"version: {version()}", galaxy.read_text())
    if count != 1:
        raise RuntimeError(f"{SOURCE / 'galaxy.yml'}: expected one 'version:' line")
    galaxy.write_text(text)
    (tree / "files").mkdir()
    shutil.copyfile(pyz, tree / "files" / "sunray.pyz")
    os.chmod(tree / "files" / "sunray.pyz", 0o644)
    return tree


def build(pyz: Path, output: Path, galaxy: Optional[str] = None,
          staging: Optional[Path] = None) -> Path:
    """Stage the collection with ``pyz`` and build it into ``output``; the tarball's path."""
    if not pyz.is_file():
        raise RuntimeError(f"{pyz}: no such bundle (build it first: packaging/build_pyz.py)")
    tree = stage(pyz, staging or CHECKOUT / "build" / "collection")
    output.mkdir(parents=True, exist_ok=True)
    target = output / f"sunray-server-{version()}.tar.gz"
    # A build needs no cache or temporary files of the builder's own: they
    # go beside the staged tree, not into ~/.ansible.
    home = tree.parent / "ansible-home"
    env = dict(os.environ, ANSIBLE_HOME=str(home), ANSIBLE_LOCAL_TEMP=str(home / "tmp"))
    proc = subprocess.run([ansible_galaxy(galaxy), "collection", "build", "--force",
                           "--output-path", str(output), str(tree)], env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True)
    if proc.returncode != 0 or not target.is_file():
        raise RuntimeError(f"ansible-galaxy collection build failed:\n{proc.stdout}")
    return target


def main(argv: List[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pyz", type=Path, default=CHECKOUT / "dist" / f"sunray-{version()}.pyz",
                        help="the bundle to carry (default: dist/sunray-VERSION.pyz)")
    parser.add_argument("--output", type=Path, default=CHECKOUT / "dist",
                        help="directory for the tarball (default: dist/)")
    parser.add_argument("--ansible-galaxy", help="the ansible-galaxy program to build with")
    args = parser.parse_args(argv)
    try:
        print(build(args.pyz.absolute(), args.output.absolute(), args.ansible_galaxy))
    except (RuntimeError, OSError) as e:
        print(f"build_collection: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
