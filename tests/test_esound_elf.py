"""The pure-Python DT_NEEDED reader (sunray/esound/elf.py) against real
binaries, readelf, and junk. Only the comparisons with readelf are system tests."""

import os
import re
import struct
import subprocess
from pathlib import Path

import pytest
from conftest import need
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from sunray.esound import elf

CANDIDATES = [
    "/bin/ls",
    "/usr/bin/rpmbuild",
    "/usr/bin/make",
    "/usr/lib/x86_64-linux-gnu/libasound.so.2",
    "/usr/lib/x86_64-linux-gnu/libc.so.6",
    "/usr/lib/x86_64-linux-gnu/libz.so.1",
    "/usr/bin/ssh",
]
SYSTEM_ELFS = [os.path.realpath(p) for p in CANDIDATES if os.path.exists(p)]


def readelf_needed(path):
    out = subprocess.run(["readelf", "-d", "-W", str(path)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", out.stdout)


@pytest.mark.system
@pytest.mark.parametrize("path", SYSTEM_ELFS)
def test_matches_readelf_on_system_binaries(path):
    need("readelf")
    info = elf.parse_file(path)
    assert info.needed == readelf_needed(path)
    assert info.bits == 64 and info.endian == "little"


def test_known_libraries_without_readelf():
    info = elf.parse_file(os.path.realpath("/usr/lib/x86_64-linux-gnu/libasound.so.2"))
    assert info.soname == "libasound.so.2"
    assert "libc.so.6" in info.needed
    assert elf.parse_file("/bin/ls").needs("libc.so")


def test_section_headers_when_program_headers_are_gone():
    data = bytearray(Path("/bin/ls").read_bytes())
    struct.pack_into("<H", data, 0x38, 0)  # e_phnum = 0
    assert elf.parse(bytes(data)).needed == elf.parse_file("/bin/ls").needed


# --- synthetic files: 32/64-bit, little/big endian, checked by readelf too --------


def build_elf(bits, endian, needed, soname="", sections=True, program_headers=True):
    """A minimal ELF shared object with a dynamic section (our own writer)."""
    e = "<" if endian == "little" else ">"
    w = "Q" if bits == 64 else "I"
    ehsize, phsize, shsize = (64, 56, 64) if bits == 64 else (52, 32, 40)
    base = 0x400000
    strtab = b"\0"
    offsets = []
    for name in needed:
        offsets.append(len(strtab))
        strtab += name.encode() + b"\0"
    soname_off = len(strtab)
    strtab += soname.encode() + b"\0"
    shstr = b"\0.dynstr\0.dynamic\0.shstrtab\0"
    phoff = ehsize
    nph = 2 if program_headers else 0
    str_off = phoff + 2 * phsize
    dyn_off = str_off + len(strtab)
    dyn_off += (-dyn_off) % 8
    tags = [(1, o) for o in offsets] + ([(14, soname_off)] if soname else [])
    tags += [(5, base + str_off), (10, len(strtab)), (0, 0)]
    dyn_fmt = e + ("qQ" if bits == 64 else "iI")
    dynamic = b"".join(struct.pack(dyn_fmt, t, v) for t, v in tags)
    shstr_off = dyn_off + len(dynamic)
    shoff = shstr_off + len(shstr)
    shoff += (-shoff) % 8
    nsh = 4 if sections else 0
    total = shoff + nsh * shsize

    out = bytearray(total)
    ident = b"\x7fELF" + bytes([1 if bits == 32 else 2, 1 if endian == "little" else 2, 1])
    out[0:len(ident)] = ident
    machine = {(64, "little"): 62, (32, "little"): 3, (64, "big"): 21, (32, "big"): 20}[(bits, endian)]
    struct.pack_into(e + "HHI" + w + w + w + "IHHHHHH", out, 16, 3, machine, 1, 0,
                     phoff if nph else 0, shoff if nsh else 0, 0, ehsize, phsize, nph,
                     shsize, nsh, 3 if nsh else 0)
    if program_headers:
        for i, (ptype, off, size) in enumerate([(1, 0, total), (2, dyn_off, len(dynamic))]):
            if bits == 64:
                ph = struct.pack(e + "IIQQQQQQ", ptype, 6, off, base + off, base + off, size, size, 8)
            else:
                ph = struct.pack(e + "IIIIIIII", ptype, off, base + off, base + off, size, size, 6, 8)
            out[phoff + i * phsize:phoff + (i + 1) * phsize] = ph
    out[str_off:str_off + len(strtab)] = strtab
    out[dyn_off:dyn_off + len(dynamic)] = dynamic
    out[shstr_off:shstr_off + len(shstr)] = shstr
    if sections:
        dyn_entsize = 16 if bits == 64 else 8
        rows = [
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0),
            (1, 3, 2, base + str_off, str_off, len(strtab), 0, 0, 1, 0),
            (9, 6, 3, base + dyn_off, dyn_off, len(dynamic), 1, 0, 8, dyn_entsize),
            (18, 3, 0, 0, shstr_off, len(shstr), 0, 0, 1, 0),
        ]
        fmt = e + ("IIQQQQIIQQ" if bits == 64 else "IIIIIIIIII")
        for i, row in enumerate(rows):
            out[shoff + i * shsize:shoff + (i + 1) * shsize] = struct.pack(fmt, *row)
    return bytes(out)


FORMS = [(b, en) for b in (32, 64) for en in ("little", "big")]


SYNTHETIC_NEEDED = ["libesd.so.0", "libasound.so.2", "libc.so.6"]


@pytest.mark.parametrize("bits,endian", FORMS)
def test_synthetic_every_class_and_byte_order(bits, endian):
    needed = SYNTHETIC_NEEDED
    data = build_elf(bits, endian, needed, soname="libesd.so.0")
    info = elf.parse(data)
    assert (info.bits, info.endian, info.needed, info.soname) == (bits, endian, needed, "libesd.so.0")
    assert info.needs("libasound.so")
    # The same through the section headers alone.
    only_sections = build_elf(bits, endian, needed, program_headers=False)
    assert elf.parse(only_sections).needed == needed


@pytest.mark.system
@pytest.mark.parametrize("bits,endian", FORMS)
def test_synthetic_writer_agrees_with_readelf(tmp_path, bits, endian):
    """Our writer is checked by binutils too."""
    need("readelf")
    path = tmp_path / "synthetic.so"
    path.write_bytes(build_elf(bits, endian, SYNTHETIC_NEEDED, soname="libesd.so.0"))
    assert readelf_needed(path) == SYNTHETIC_NEEDED


def test_static_file_has_no_dynamic_section():
    data = build_elf(64, "little", [], sections=False, program_headers=False)
    info = elf.parse(data)
    assert (info.dynamic, info.needed) == (False, [])


# --- hostile input -------------------------------------------------------------------


@pytest.mark.parametrize(
    "data,needle",
    [
        (b"", "not an ELF"),
        (b"\x7fEL", "not an ELF"),
        (b"#!/bin/sh\necho hi\n", "not an ELF"),
        (b"\x7fELF\x03\x01" + b"\0" * 60, "unknown class"),
        (b"\x7fELF\x02\x07" + b"\0" * 60, "unknown byte order"),
        (b"\x7fELF\x02\x01\x01" + b"\0" * 9, "truncated"),
    ],
)
def test_junk_is_a_clean_error(data, needle):
    with pytest.raises(elf.ElfError, match=needle):
        elf.parse(data)


def test_every_truncation_of_a_real_file_is_clean():
    data = Path("/bin/true").read_bytes()
    for cut in list(range(0, 800, 7)) + list(range(len(data) - 4000, len(data), 97)):
        try:
            elf.parse(data[:cut])
        except elf.ElfError:
            pass


def test_string_table_out_of_range():
    data = bytearray(build_elf(64, "little", ["libx.so.1"], sections=False))
    # Point DT_NEEDED's name far past the string table.
    dyn = data.index(struct.pack("<qQ", 1, 1))
    struct.pack_into("<qQ", data, dyn, 1, 10**9)
    with pytest.raises(elf.ElfError, match="out of range"):
        elf.parse(bytes(data))


def test_parse_file_refuses_symlinks_dirs_and_empty(tmp_path):
    link = tmp_path / "link"
    link.symlink_to("/bin/ls")
    empty = tmp_path / "empty"
    empty.write_bytes(b"")
    for path, needle in [(link, "cannot open"), (tmp_path, "not a regular file"), (empty, "empty"),
                         (tmp_path / "missing", "cannot open")]:
        with pytest.raises(elf.ElfError, match=needle):
            elf.parse_file(path)


SMALL = build_elf(64, "little", ["libesd.so.0", "libasound.so.2"], soname="libesd.so.0")


@hypothesis_settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    flips=st.lists(st.tuples(st.integers(0, len(SMALL) - 1), st.integers(0, 255)), max_size=8),
    cut=st.integers(0, len(SMALL)),
)
def test_mutated_input_never_raises_anything_else(flips, cut):
    data = bytearray(SMALL)
    for pos, value in flips:
        data[pos] = value
    try:
        info = elf.parse(bytes(data[:cut]))
    except elf.ElfError:
        return
    assert all(isinstance(n, str) for n in info.needed)
