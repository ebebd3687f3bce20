"""What discover reads from the module sources: the .ko names a Makefile
builds (plain words only: they end up in a dkms.conf that dkms sources)."""

import pytest


@pytest.mark.parametrize("line, names", [
    ("C_FILES = utio.c utio-2.c _x.c", ["utio", "utio-2", "_x"]),
    ("C_FILES = $(SRC) utio.c", ["utio"]),
])
def test_module_objects_accepts_plain_names(tmp_path, line, names):
    from sunray.modules.discover import module_objects

    (tmp_path / "Makefile").write_text(f"{line}\n")
    assert module_objects(tmp_path) == names


@pytest.mark.parametrize("word", ["a;b.c", "a b\\\nc|d.c", "-rf.c", "a'b.c", 'a"b.c',
                                  "a.b.c", "a/b.c", "$(x)`id`.c".replace("$(x)", ""),
                                  "é.c"])
def test_module_objects_refuses_anything_but_plain_names(tmp_path, word):
    from sunray.core.errors import UsageError
    from sunray.modules.discover import module_objects

    (tmp_path / "Makefile").write_text(f"C_FILES = ok.c {word}\n")
    with pytest.raises(UsageError, match="Makefile.*module name"):
        module_objects(tmp_path)


def test_kernel_versions_sort_as_versions():
    from sunray.modules.discover import version_key

    kernels = ["6.1.0-10-amd64", "6.1.0-9-amd64", "5.10.0-28-amd64", "6.1.0-9-rt-amd64"]
    assert sorted(kernels, key=version_key) == [
        "5.10.0-28-amd64", "6.1.0-9-amd64", "6.1.0-9-rt-amd64", "6.1.0-10-amd64"]


@pytest.mark.parametrize("name, product", [
    ("utio.c", False), ("Makefile", False), ("utio.o", True), ("utio.ko", True),
    ("utio.mod.c", True), (".utio.o.cmd", True), ("Module.symvers", True),
    ("modules.order", True), (".tmp_versions", True), ("utio.h", False),
])
def test_build_products_are_told_from_sources(name, product):
    from sunray.modules.discover import is_build_product

    assert is_build_product(name) is product
