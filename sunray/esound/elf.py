"""The shared libraries an ELF file needs (its DT_NEEDED entries), in pure Python.

check-esound must see whether esd or libesd link libasound, on files taken
from an RPM payload or an installed tree: untrusted bytes, on hosts that may
lack binutils. This reads just enough of the ELF format for that: the file
header, the program headers (PT_DYNAMIC, PT_LOAD to map the string table's
address to a file offset) and, when there are none, the section headers
(.dynamic and its linked string table). 32/64-bit, little and big endian.

Every malformed input ends in ``ElfError`` (a ValueError) with a short cause;
no other exception escapes and no read goes past the end of the data.
"""

import os
import stat
import struct
from dataclasses import dataclass, field
from typing import Any, List, Optional, Tuple, Union

ELF_MAGIC = b"\x7fELF"
PT_LOAD, PT_DYNAMIC = 1, 2
SHT_DYNAMIC = 6
DT_NULL, DT_NEEDED, DT_STRTAB, DT_STRSZ, DT_SONAME = 0, 1, 5, 10, 14
# Sanity bounds: real files are far below them; hostile ones must not make
# us loop for ages.
MAX_HEADERS = 0xFFFF
MAX_NAME = 4096
MAX_FILE = 512 << 20


class ElfError(ValueError):
    """The data is not an ELF file, or a malformed one."""


@dataclass
class ElfInfo:
    bits: int              # 32 or 64
    endian: str            # "little" or "big"
    dynamic: bool          # has a dynamic section (False: static or no deps)
    needed: List[str] = field(default_factory=list)   # DT_NEEDED names, in order
    soname: str = ""

    def needs(self, prefix: str) -> bool:
        """True when some DT_NEEDED entry starts with ``prefix`` (e.g. "libasound.so")."""
        return any(name.startswith(prefix) for name in self.needed)


def is_elf(data: bytes) -> bool:
    return bytes(data[:4]) == ELF_MAGIC


class _Reader:
    """Bounds-checked struct reads over a bytes-like object."""

    def __init__(self, data: bytes, bits: int, endian: str) -> None:
        self.data = data
        self.size = len(data)
        self.prefix = "<" if endian == "little" else ">"
        self.word = "Q" if bits == 64 else "I"
        self.sword = "q" if bits == 64 else "i"

    def unpack(self, fmt: str, offset: int, what: str) -> Tuple[Any, ...]:
        fmt = self.prefix + fmt.replace("W", self.word).replace("S", self.sword)
        size = struct.calcsize(fmt)
        if offset < 0 or offset + size > self.size:
            raise ElfError(f"truncated ELF file: {what} at offset {offset} past the end")
        return struct.unpack_from(fmt, self.data, offset)

    def cstring(self, offset: int, limit: int, what: str) -> str:
        """A NUL-terminated string at ``offset``, not beyond ``limit``."""
        end_limit = min(self.size, limit, offset + MAX_NAME)
        if offset < 0 or offset >= end_limit:
            raise ElfError(f"corrupt ELF file: {what} string offset {offset} out of range")
        end = bytes(self.data[offset:end_limit]).find(b"\0")
        if end < 0:
            raise ElfError(f"corrupt ELF file: {what} string not terminated")
        raw = bytes(self.data[offset:offset + end])
        return raw.decode("utf-8", errors="replace")


def parse(data: bytes) -> ElfInfo:
    """The ``ElfInfo`` of ``data`` (bytes, bytearray, memoryview or mmap)."""
    if len(data) < 16 or not is_elf(data):
        raise ElfError("not an ELF file")
    ei_class, ei_data = data[4], data[5]
    if ei_class not in (1, 2):
        raise ElfError(f"corrupt ELF file: unknown class {ei_class}")
    if ei_data not in (1, 2):
        raise ElfError(f"corrupt ELF file: unknown byte order {ei_data}")
    bits = 32 if ei_class == 1 else 64
    endian = "little" if ei_data == 1 else "big"
    r = _Reader(data, bits, endian)

    if bits == 64:
        phoff, shoff = r.unpack("QQ", 0x20, "ELF header")
        phentsize, phnum, shentsize, shnum, _shstrndx = r.unpack("HHHHH", 0x36, "ELF header")
        ph_fmt, ph_size, sh_fmt, sh_size, dyn_fmt = "IIQQQQQQ", 56, "IIQQQQIIQQ", 64, "qQ"
    else:
        phoff, shoff = r.unpack("II", 0x1C, "ELF header")
        phentsize, phnum, shentsize, shnum, _shstrndx = r.unpack("HHHHH", 0x2A, "ELF header")
        ph_fmt, ph_size, sh_fmt, sh_size, dyn_fmt = "IIIIIIII", 32, "IIIIIIIIII", 40, "iI"

    loads, dynamic = [], None
    if phoff and phnum:
        if phentsize < ph_size:
            raise ElfError(f"corrupt ELF file: program header size {phentsize}")
        for i in range(min(phnum, MAX_HEADERS)):
            fields = r.unpack(ph_fmt, phoff + i * phentsize, "program header")
            if bits == 64:
                p_type, _flags, p_offset, p_vaddr, _paddr, p_filesz = fields[:6]
            else:
                p_type, p_offset, p_vaddr, _paddr, p_filesz = fields[:5]
            if p_type == PT_LOAD:
                loads.append((p_vaddr, p_offset, p_filesz))
            elif p_type == PT_DYNAMIC and dynamic is None:
                dynamic = (p_offset, p_filesz)

    # The string table's (file offset, size): known directly when found
    # through the section headers, else from the dynamic entries below.
    strtab: Optional[Tuple[int, int]] = None
    if dynamic is None and shoff and shnum:
        if shentsize < sh_size:
            raise ElfError(f"corrupt ELF file: section header size {shentsize}")
        sections = [
            r.unpack(sh_fmt, shoff + i * shentsize, "section header")
            for i in range(min(shnum, MAX_HEADERS))
        ]
        for sh in sections:
            _name, sh_type, _flags, _addr, sh_offset, sh_size_bytes, sh_link = sh[:7]
            if sh_type == SHT_DYNAMIC:
                dynamic = (sh_offset, sh_size_bytes)
                if 0 < sh_link < len(sections):
                    strtab = (sections[sh_link][4], sections[sh_link][5])
                break

    if dynamic is None:
        return ElfInfo(bits=bits, endian=endian, dynamic=False)

    dyn_offset, dyn_size = dynamic
    entry = struct.calcsize("<" + dyn_fmt)
    if dyn_offset + dyn_size > r.size:
        raise ElfError("truncated ELF file: dynamic section past the end")
    needed_offsets, soname_offset, strtab_addr, strsz = [], None, None, None
    for i in range(dyn_size // entry):
        tag, value = r.unpack(dyn_fmt, dyn_offset + i * entry, "dynamic entry")
        if tag == DT_NULL:
            break
        if tag == DT_NEEDED:
            needed_offsets.append(value)
        elif tag == DT_SONAME:
            soname_offset = value
        elif tag == DT_STRTAB:
            strtab_addr = value
        elif tag == DT_STRSZ:
            strsz = value

    if strtab is None:
        if strtab_addr is None:
            if needed_offsets or soname_offset is not None:
                raise ElfError("corrupt ELF file: dynamic section without a string table")
            return ElfInfo(bits=bits, endian=endian, dynamic=True)
        strtab_start = _file_offset(strtab_addr, loads, strsz)
        strtab = (strtab_start, strsz if strsz is not None else r.size - strtab_start)
    str_start, str_size = strtab
    str_end = str_start + str_size

    def name(off: int, what: str) -> str:
        return r.cstring(str_start + off, str_end, what)

    needed = [name(off, "DT_NEEDED") for off in needed_offsets]
    soname = name(soname_offset, "DT_SONAME") if soname_offset is not None else ""
    return ElfInfo(bits=bits, endian=endian, dynamic=True, needed=needed, soname=soname)


def _file_offset(addr: int, loads: List[Tuple[int, int, int]], length: Optional[int]) -> int:
    """File offset of virtual address ``addr`` through the PT_LOAD segments."""
    for vaddr, offset, filesz in loads:
        if vaddr <= addr < vaddr + filesz:
            return addr - vaddr + offset
    # Unlinked or odd files: with no PT_LOAD the address is the offset.
    if not loads:
        return addr
    raise ElfError(f"corrupt ELF file: string table address {addr:#x} not in any segment")


def parse_file(path: Union[str, os.PathLike]) -> ElfInfo:
    """``parse()`` a file on disk.

    Opens with O_NOFOLLOW (the caller decides about symlinks) and refuses
    anything but a regular file.
    """
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    except OSError as e:
        raise ElfError(f"cannot open: {e.strerror}") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise ElfError("not a regular file")
        if st.st_size == 0:
            raise ElfError("not an ELF file (empty)")
        if st.st_size > MAX_FILE:
            raise ElfError(f"file too large ({st.st_size} bytes)")
        # Read, not mmap: a file truncated under us must not kill us with SIGBUS.
        chunks, left = [], st.st_size
        while left > 0:
            chunk = os.read(fd, min(left, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
        return parse(b"".join(chunks))
    finally:
        os.close(fd)
