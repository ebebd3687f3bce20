"""The OSS-only spec rewrite, on the stand-in's distribution-style spec (pure text)."""

import pytest
from esound_support import STOCK_SPEC

from sunray.core.errors import UsageError
from sunray.esound.spec import rewrite


def test_rewrite_is_exact_for_the_stock_spec():
    edit = rewrite(STOCK_SPEC, "oss", "0.2.36", "2", when=0)
    assert edit.release == "2%{?dist}.oss"
    assert edit.text.split("%changelog")[0].count("--disable-alsa") == 1
    assert "* Thu Jan 01 1970 sunray build-esound <root@localhost> - 0.2.36-2.oss\n" in edit.text
    # Leaving the changelog aside, exactly three lines changed.
    old = STOCK_SPEC.splitlines()
    new = [x for x in edit.text.splitlines() if x not in old]
    assert len(new) == 3 + 3  # configure, Release, BuildRequires + the entry's three text lines


def test_rewrite_forms():
    def rw(fragment):
        return rewrite(STOCK_SPEC.replace("%configure\n", fragment), "oss", "1", "1").text

    assert "%{configure} --disable-alsa --with-x\n" in rw("%{configure} --with-x\n")
    assert "./configure --disable-alsa \\\n  --prefix=/usr\n" in rw("./configure \\\n  --prefix=/usr\n")
    out = rw("%configure --enable-alsa=yes --with-x\n")
    assert "--enable-alsa" not in out and "%configure --disable-alsa --with-x" in out
    already = rw("%configure --disable-alsa\n")
    assert already.split("%changelog")[0].count("--disable-alsa") == 1
    # A comment mentioning configure is not a configure step.
    with pytest.raises(UsageError):
        rewrite(STOCK_SPEC.replace("%configure\n", "# %configure\n"), "oss", "1", "1")


def test_rewrite_without_changelog_section_adds_one():
    spec = STOCK_SPEC.split("%changelog")[0]
    text = rewrite(spec, "oss", "0.2.36", "2").text
    assert text.rstrip().split("\n%changelog\n")[1].startswith("* ")
