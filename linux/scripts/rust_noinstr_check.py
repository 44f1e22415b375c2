#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""rust_noinstr_check - Checks that the noinstr code of Rust objects stays
noinstr, on architectures where objtool does not look.

objtool --noinstr (x86 only) proves that code in .noinstr.text calls or jumps
only to non-instrumentable code, except between instrumentation_begin() and
instrumentation_end(). On other architectures nothing checks it. The Rust
generic entry code marks its regions the way x86 does, with
ANNOTATE_INSTR_BEGIN/END records in .discard.annotate_insn (the Rust region
API emits them wherever this check runs), so the same rule can be checked
from the object code:

  For every function the given objects define in .noinstr.text, every path
  from its entry is followed, counting the region markers it passes. A call,
  or a jump that leaves the function, outside every region must go to
  .noinstr.text, .entry.text, .cpuidle.text (x86: .text..__x86.*), a static
  call trampoline or a __ubsan_handle_*() function, as objtool requires. An
  indirect call or jump outside a region is an error (the callee cannot be
  known), and so is a return inside a region.

The functions are read from the linked vmlinux.o, where every callee is
resolved to its section. Arguments:

  rust_noinstr_check.py [--objdump PATH] VMLINUX_O OBJECT...

Prints one line per finding, objtool style, on stderr and exits 1 when
there is one (2 when an input cannot be read).
"""

import argparse
import os
import re
import struct
import subprocess
import sys
from collections import Counter

EM_X86_64 = 62
EM_AARCH64 = 183
SHT_SYMTAB = 2
SHT_RELA = 4
SHT_SYMTAB_SHNDX = 18
SHN_UNDEF = 0
SHN_LORESERVE = 0xff00
SHN_XINDEX = 0xffff
STT_FUNC = 2
STT_SECTION = 3

ANNOTYPE_INSTR_BEGIN = 3
ANNOTYPE_INSTR_END = 4
ANNOTYPE_REACHABLE = 8

LEAVES = "leaves .noinstr.text section"

# Region nesting deeper than this counts as this deep.
MAX_DEPTH = 8

NOINSTR_SECTIONS = (".noinstr.text", ".entry.text", ".cpuidle.text")


def read_noreturns(path):
    """The names of tools/objtool/noreturns.h: calls to them end a path (the
    C compiler emits no trap after them; rustc does, a ud2 or brk)."""
    try:
        with open(path, encoding="utf-8") as f:
            return set(re.findall(r"^NORETURN\((\w+)\)", f.read(), re.M))
    except OSError:
        return set()


class ElfError(Exception):
    """The file is not an ELF64 little-endian relocatable object we can read."""


class Elf:
    """The sections, symbols and relocations of an ELF64 LE object."""

    def __init__(self, path):
        with open(path, "rb") as f:
            self.data = f.read()
        d = self.data
        if d[:4] != b"\x7fELF" or d[4] != 2 or d[5] != 1:
            raise ElfError(f"{path}: not an ELF64 little-endian file")
        self.machine = struct.unpack_from("<H", d, 0x12)[0]
        shoff = struct.unpack_from("<Q", d, 0x28)[0]
        shentsize, shnum, shstrndx = struct.unpack_from("<HHH", d, 0x3A)
        first = self._shdr(shoff)
        if shnum == 0:
            shnum = first["size"]
        if shstrndx == SHN_XINDEX:
            shstrndx = first["link"]
        self.sections = [self._shdr(shoff + i * shentsize) for i in range(shnum)]
        names = self.sections[shstrndx]
        for s in self.sections:
            s["name"] = self._str(names["offset"], s["name_off"])
        self.symbols = []
        symtab = next((s for s in self.sections if s["type"] == SHT_SYMTAB), None)
        if symtab is not None:
            self._read_symbols(symtab)

    def _shdr(self, off):
        (name_off, typ, flags, addr, offset, size, link, info, _align,
         entsize) = struct.unpack_from("<IIQQQQIIQQ", self.data, off)
        return {"name_off": name_off, "type": typ, "flags": flags,
                "addr": addr, "offset": offset, "size": size, "link": link,
                "info": info, "entsize": entsize}

    def _str(self, table_off, off):
        end = self.data.index(b"\0", table_off + off)
        return self.data[table_off + off:end].decode("utf-8", "replace")

    def _read_symbols(self, symtab):
        strtab = self.sections[symtab["link"]]
        symtab_index = self.sections.index(symtab)
        xindex = next((s for s in self.sections
                       if s["type"] == SHT_SYMTAB_SHNDX
                       and s["link"] == symtab_index), None)
        count = symtab["size"] // 24
        for i in range(count):
            off = symtab["offset"] + i * 24
            (name_off, info, _other, shndx, value,
             size) = struct.unpack_from("<IBBHQQ", self.data, off)
            if shndx == SHN_XINDEX and xindex is not None:
                shndx = struct.unpack_from(
                    "<I", self.data, xindex["offset"] + i * 4)[0]
            elif SHN_LORESERVE <= shndx:
                shndx = -1
            self.symbols.append({
                "name": self._str(strtab["offset"], name_off),
                "type": info & 0xf, "shndx": shndx, "value": value,
                "size": size})
        for s in self.symbols:
            if s["type"] == STT_SECTION and 0 < s["shndx"] < len(self.sections):
                s["name"] = self.sections[s["shndx"]]["name"]

    def section_name(self, shndx):
        if 0 < shndx < len(self.sections):
            return self.sections[shndx]["name"]
        return "*UND*" if shndx == SHN_UNDEF else "*ABS*"

    def index_of(self, name):
        return [i for i, s in enumerate(self.sections) if s["name"] == name]

    def relocations(self, target):
        """(offset, symbol, addend) of every RELA entry against section target."""
        out = []
        for s in self.sections:
            if s["type"] != SHT_RELA or s["info"] != target:
                continue
            for i in range(s["size"] // 24):
                off, info, addend = struct.unpack_from(
                    "<QQq", self.data, s["offset"] + i * 24)
                out.append((off, self.symbols[info >> 32], addend))
        return out

    def noinstr_functions(self):
        """Names of the functions defined in .noinstr.text (the padding
        before a function, __pfx_ and __cfi_, is not one)."""
        idx = set(self.index_of(".noinstr.text"))
        return sorted({s["name"] for s in self.symbols
                       if s["type"] == STT_FUNC and s["shndx"] in idx
                       and not s["name"].startswith(("__pfx_", "__cfi_"))})


def annotations(elf, text_index):
    """Counters of region begin and end markers, and the set of reachable
    annotations, by offset in section text_index."""
    begins, ends, reachable = Counter(), Counter(), set()
    for idx in elf.index_of(".discard.annotate_insn"):
        sec = elf.sections[idx]
        for off, sym, addend in elf.relocations(idx):
            if sym["shndx"] != text_index:
                continue
            typ = struct.unpack_from("<I", elf.data, sec["offset"] + off + 4)[0]
            where = sym["value"] + addend
            if typ == ANNOTYPE_INSTR_BEGIN:
                begins[where] += 1
            elif typ == ANNOTYPE_INSTR_END:
                ends[where] += 1
            elif typ == ANNOTYPE_REACHABLE:
                reachable.add(where)
    return begins, ends, reachable


INSN_RE = re.compile(r"^\s*([0-9a-f]+):\s+(\S+)\s*(.*)$")
TARGET_RE = re.compile(r"(?:^|[\s,])0x([0-9a-f]+)(?:\s+<[^>]*>)?\s*$")


def parse_objdump(text, machine):
    """[(address, mnemonic, operands)] from llvm-objdump -d --no-show-raw-insn
    output, comments cut off; labels and headers are skipped."""
    comment = "//" if machine == EM_AARCH64 else "#"
    out = []
    for line in text.splitlines():
        m = INSN_RE.match(line)
        if m:
            out.append((int(m.group(1), 16), m.group(2),
                        m.group(3).split(comment)[0].strip()))
    return out


def branch_target(ops):
    """The direct target address of a branch, from objdump's '0x1f <f+0x3>'."""
    m = TARGET_RE.search(ops)
    return int(m.group(1), 16) if m else None


def classify(machine, mnem, ops):
    """One of call, icall, jump, ijump, cond, ret, stop, insn."""
    if machine == EM_AARCH64:
        if mnem in ("bl",):
            return "call"
        if mnem.startswith("blr"):
            return "icall"
        if mnem == "b":
            return "jump"
        if mnem.startswith("br"):
            return "ijump" if mnem != "brk" else "insn"
        if mnem.startswith(("b.", "bc.")) or mnem in ("cbz", "cbnz", "tbz", "tbnz"):
            return "cond"
        if mnem.startswith("ret") or mnem == "eret":
            return "ret"
        if mnem == "udf":
            return "stop"
        return "insn"
    if mnem.startswith("call"):
        return "icall" if "*" in ops else "call"
    if mnem in ("jmp", "jmpq", "jmpl"):
        return "ijump" if "*" in ops else "jump"
    if mnem.startswith("j"):
        return "cond"
    if mnem.startswith(("ret", "iret", "sysret", "eret")):
        return "ret"
    if mnem in ("ud2", "ud1", "int3", "hlt"):
        return "stop"
    return "insn"


def callee_kind(name, section):
    """'noinstr', 'indirect', 'return' or 'text' for a call or jump target."""
    if name.startswith(("__x86_indirect_thunk_", "__x86_indirect_call_thunk_",
                        "__x86_indirect_jump_thunk_")):
        return "indirect"
    if name == "__x86_return_thunk":
        return "return"
    if section in NOINSTR_SECTIONS or section.startswith(".text..__x86."):
        return "noinstr"
    # Alternative code replaces (or is jumped to instead of) instructions of
    # the function itself; objtool checks it as part of the function.
    if section in (".altinstr_aux", ".altinstr_replacement"):
        return "noinstr"
    if name.startswith(("__SCT__", "__ubsan_handle_")):
        return "noinstr"
    return "text"


def hint(name):
    """Why a forbidden callee is there, when its name says it."""
    if name.startswith("rust_helper_"):
        return " (a rust_helper_*() call: C helpers are instrumentable)"
    if "panic" in name or "_ZN4core9panicking" in name or "slice_index" in name:
        return " (a panic path)"
    return ""


class Function:
    """One function's instructions, relocations and markers."""

    def __init__(self, name, start, size, insns, relocs, begins, ends, reachable,
                 noreturns=frozenset()):
        self.name, self.start, self.end = name, start, start + size
        self.noreturns = noreturns
        self.insns = {a: (m, o) for a, m, o in insns if start <= a < start + size}
        order = sorted(self.insns)
        self.next = {a: (order[i + 1] if i + 1 < len(order) else self.end)
                     for i, a in enumerate(order)}
        self.relocs = relocs
        self.begins, self.ends, self.reachable = begins, ends, reachable

    def reloc_in(self, addr):
        """The relocation inside the instruction at addr, if any."""
        nxt = self.next[addr]
        for off in range(addr, nxt):
            if off in self.relocs:
                return self.relocs[off]
        return None


def check_function(fn, machine, where):
    """Findings for one function: every path from its entry is walked with
    the count of open regions."""
    findings = []
    seen = set()
    work = [(fn.start, 0)]

    def report(addr, msg):
        findings.append(f"{where}: {fn.name}+{addr - fn.start:#x}: {msg}")

    while work:
        addr, depth = work.pop()
        while True:
            if (addr, depth) in seen:
                break
            seen.add((addr, depth))
            if addr >= fn.end or addr not in fn.insns:
                report(addr, "falls through to the next function")
                break
            # Bounded, so that a loop around an unbalanced marker ends.
            depth += fn.begins.get(addr, 0) - fn.ends.get(addr, 0)
            depth = max(-MAX_DEPTH, min(MAX_DEPTH, depth))
            mnem, ops = fn.insns[addr]
            kind = classify(machine, mnem, ops)
            nxt = fn.next[addr]
            if kind in ("call", "jump"):
                reloc = fn.reloc_in(addr)
                target = None if reloc else branch_target(ops)
                inside = target is not None and fn.start <= target < fn.end
                if reloc is None and inside:
                    if kind == "call":
                        addr = nxt
                        continue
                    addr = target
                    continue
                if reloc is not None:
                    name, section = reloc
                    ck = callee_kind(name, section)
                elif target is None:
                    report(addr, f"'{mnem} {ops}': no target to follow")
                    break
                else:
                    # A direct branch to another function of the same
                    # section (no relocation needed): noinstr code.
                    name, section, ck = f"{target:#x}", ".noinstr.text", "noinstr"
                if ck == "return" and kind == "jump":
                    if depth > 0:
                        report(addr, "return with instrumentation enabled")
                    break
                if depth <= 0 and ck == "indirect":
                    report(addr, f"indirect {kind} ({name}) {LEAVES}")
                elif depth <= 0 and ck == "text":
                    what = "call to" if kind == "call" else "tail call to"
                    report(addr, f"{what} {name}() {LEAVES} (to {section})"
                           f"{hint(name)}")
                noreturn = reloc is not None and reloc[0] in fn.noreturns
                if kind == "call" and nxt < fn.end and not noreturn:
                    addr = nxt
                    continue
                # A jump out, or a call that ends the function: a noreturn
                # callee (the compiler emits nothing after it).
                break
            if kind in ("icall", "ijump"):
                if depth <= 0:
                    what = "call" if kind == "icall" else "jump"
                    report(addr, f"indirect {what} {LEAVES}")
                if kind == "icall":
                    addr = nxt
                    continue
                break
            if kind == "cond":
                target = branch_target(ops)
                reloc = fn.reloc_in(addr)
                if reloc is not None:
                    name, section = reloc
                    if depth <= 0 and callee_kind(name, section) == "text":
                        report(addr, f"conditional tail call to {name}() "
                               f"{LEAVES} (to {section}){hint(name)}")
                elif target is not None and fn.start <= target < fn.end:
                    work.append((target, depth))
                addr = nxt
                continue
            if kind == "ret":
                if depth > 0:
                    report(addr, "return with instrumentation enabled")
                break
            if kind == "stop" and addr not in fn.reachable:
                break
            addr = nxt
    return findings


def check(vmlinux, objects, objdump, noreturns=frozenset()):
    elf = Elf(vmlinux)
    if elf.machine not in (EM_X86_64, EM_AARCH64):
        raise ElfError(f"{vmlinux}: machine {elf.machine} is not supported")
    wanted = set()
    for o in objects:
        wanted.update(Elf(o).noinstr_functions())
    findings = []
    if not wanted:
        return findings, 0
    texts = elf.index_of(".noinstr.text")
    funcs = [s for s in elf.symbols
             if s["type"] == STT_FUNC and s["shndx"] in texts and s["name"] in wanted]
    missing = wanted - {s["name"] for s in funcs}
    for name in sorted(missing):
        findings.append(f"{vmlinux}: error: rust_noinstr_check: {name}: not "
                        f"in .noinstr.text of {vmlinux}")
    by_section = {}
    for s in funcs:
        by_section.setdefault(s["shndx"], []).append(s)
    for shndx, syms in sorted(by_section.items()):
        relocs = {}
        for off, sym, _addend in elf.relocations(shndx):
            relocs[off] = (sym["name"], elf.section_name(sym["shndx"]))
        begins, ends, reachable = annotations(elf, shndx)
        for s in sorted(syms, key=lambda s: s["value"]):
            out = subprocess.run(
                [objdump, "-d", "--no-show-raw-insn", "-j", ".noinstr.text",
                 f"--start-address={s['value']:#x}",
                 f"--stop-address={s['value'] + s['size']:#x}", vmlinux],
                check=True, capture_output=True, text=True).stdout
            fn = Function(s["name"], s["value"], s["size"],
                          parse_objdump(out, elf.machine), relocs, begins,
                          ends, reachable, noreturns)
            findings += check_function(
                fn, elf.machine, f"{vmlinux}: error: rust_noinstr_check")
    return findings, len(funcs)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--objdump", default="llvm-objdump")
    ap.add_argument("--noreturns", default=os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "tools", "objtool",
        "noreturns.h"), help="objtool's list of __noreturn functions")
    ap.add_argument("-v", "--verbose", action="store_true",
                    help="print how many functions were checked")
    ap.add_argument("vmlinux")
    ap.add_argument("objects", nargs="+")
    args = ap.parse_args()
    try:
        findings, count = check(args.vmlinux, args.objects, args.objdump,
                                read_noreturns(args.noreturns))
    except (OSError, ElfError, subprocess.CalledProcessError) as e:
        print(f"rust_noinstr_check: error: {e}", file=sys.stderr)
        return 2
    for f in findings:
        print(f, file=sys.stderr)
    if args.verbose:
        print(f"{count} functions checked, {len(findings)} findings")
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main())
