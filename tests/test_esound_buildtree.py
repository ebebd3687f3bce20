"""The private rpmbuild tree (sunray/esound/buildtree.py): the build user owns
it, so root copies the results out without following anything planted there."""

import pytest
from conftest import assert_clean_error, need_root, run_sunray
from esound_support import STOCK_SPEC, make_srpm

pytest_plugins = ["esound_fixtures"]


@pytest.mark.system
@pytest.mark.parametrize("link", ["ln -s /etc/shadow", "ln %{_sourcedir}/esound-0.2.36.tar.bz2"])
def test_links_planted_in_the_build_tree_are_not_followed(esound_work, tmp_path, link):
    """The build user owns RPMS/: a link to a secret there (or a hard link,
    which old kernels allow to any file) must not be copied out by root."""
    need_root()
    spec = STOCK_SPEC.replace(
        "make install DESTDIR=$RPM_BUILD_ROOT\n",
        "make install DESTDIR=$RPM_BUILD_ROOT\nmkdir -p %{_rpmdir}/noarch\n"
        f"{link} %{{_rpmdir}}/noarch/shadow.rpm\n",
    )
    srpm = make_srpm(tmp_path / "planted", spec)
    out = tmp_path / "dist"
    proc = run_sunray("build-esound", "--srpm", srpm, "--output", out)
    assert_clean_error(proc, 1, "RPMS/noarch/shadow.rpm is not a plain file")
    assert not out.exists() or not list(out.glob("*.rpm"))
