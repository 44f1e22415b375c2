#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0

"""Tests the `rust_noinstr_check.py` script.

Each test writes the disassembly of one small function as llvm-objdump prints
it, with its relocations and region markers, and checks what the walk finds:
the x86 cases are those objtool --noinstr reports (a direct call, a tail call,
a rust_helper_*() call, a panic path, an indirect call or jump, a return in a
region) and those it accepts; the arm64 cases are the same shapes in A64.
"""

import unittest

import rust_noinstr_check as chk

X86 = chk.EM_X86_64
A64 = chk.EM_AARCH64


def function(machine, text, relocs=None, begins=(), ends=(), reachable=(),
             noreturns=()):
    """A Function at 0x100 from objdump lines 'addr: insn'; relocs map an
    instruction address to (symbol, section) (placed one byte in)."""
    dump = "\n".join(f"     {line}" for line in text.strip().splitlines())
    insns = chk.parse_objdump(dump, machine)
    end = insns[-1][0] + (4 if machine == A64 else 5)
    rel = {a + (0 if machine == A64 else 1): r for a, r in (relocs or {}).items()}
    return chk.Function("f", 0x100, end - 0x100, insns, rel,
                        chk.Counter(begins), chk.Counter(ends), set(reachable),
                        frozenset(noreturns))


def findings(machine, *args, **kwargs):
    return chk.check_function(function(machine, *args, **kwargs), machine, "t")


X86_REGION = """
100: endbr64
104: callq 0x109 <f+0x9>
109: nop
10a: callq 0x10f <f+0xf>
10f: nop
110: jmp 0x115 <f+0x15>
"""


class TestX86(unittest.TestCase):
    def test_call_outside_a_region(self):
        f = findings(X86, X86_REGION,
                     {0x104: ("get_random_u32", ".text"),
                      0x10a: ("trace_foo", ".text"),
                      0x110: ("__x86_return_thunk", ".text..__x86.return_thunk")},
                     begins=[0x109], ends=[0x10f])
        self.assertEqual(f, ["t: f+0x4: call to get_random_u32() leaves "
                             ".noinstr.text section (to .text)"])

    def test_calls_inside_regions_and_to_noinstr_code_pass(self):
        f = findings(X86, X86_REGION,
                     {0x104: ("ct_irq_enter", ".noinstr.text"),
                      0x10a: ("trace_foo", ".text"),
                      0x110: ("__x86_return_thunk", ".text..__x86.return_thunk")},
                     begins=[0x109], ends=[0x10f])
        self.assertEqual(f, [])

    def test_static_call_and_ubsan_pass(self):
        f = findings(X86, """
100: callq 0x105 <f+0x5>
105: callq 0x10a <f+0xa>
10a: jmp 0x10f <f+0xf>
""", {0x100: ("__SCT__preempt_schedule", ".text"),
      0x105: ("__ubsan_handle_add_overflow", ".text"),
      0x10a: ("__x86_return_thunk", ".text..__x86.return_thunk")})
        self.assertEqual(f, [])

    def test_tail_call(self):
        f = findings(X86, "100: nop\n101: jmp 0x106 <f+0x6>",
                     {0x101: ("dump_stack", ".text")})
        self.assertEqual(f, ["t: f+0x1: tail call to dump_stack() leaves "
                             ".noinstr.text section (to .text)"])

    def test_rust_helper_and_panic_are_named(self):
        f = findings(X86, """
100: callq 0x105 <f+0x5>
105: jmp 0x10a <f+0xa>
10a: callq 0x10f <f+0xf>
10f: ud2
""", {0x100: ("rust_helper_get_current", ".text"),
      0x105: ("__x86_return_thunk", ".text..__x86.return_thunk"),
      0x10a: ("_RNvNtCs1_4core9panicking18panic_bounds_check", ".text")})
        self.assertIn("(a rust_helper_*() call: C helpers are instrumentable)", f[0])
        self.assertEqual(len(f), 1, f)
        # The panic after the return is reached by a branch only.
        f = findings(X86, """
100: jne 0x10a <f+0xa>
106: nop
107: nop
108: nop
109: nop
10a: callq 0x10f <f+0xf>
10f: ud2
""", {0x10a: ("_RNvNtCs1_4core9panicking18panic_bounds_check", ".text")})
        self.assertEqual(f, ["t: f+0xa: call to _RNvNtCs1_4core9panicking18"
                             "panic_bounds_check() leaves .noinstr.text "
                             "section (to .text) (a panic path)"])

    def test_indirect_calls_and_jumps(self):
        f = findings(X86, """
100: callq *%rax
102: callq 0x107 <f+0x7>
107: jmpq *%rcx
""", {0x102: ("__x86_indirect_thunk_rax", ".text..__x86.indirect_thunk")})
        self.assertEqual(f, [
            "t: f+0x0: indirect call leaves .noinstr.text section",
            "t: f+0x2: indirect call (__x86_indirect_thunk_rax) leaves "
            ".noinstr.text section",
            "t: f+0x7: indirect jump leaves .noinstr.text section"])

    def test_return_inside_a_region(self):
        f = findings(X86, "100: nop\n101: callq 0x106 <f+0x6>\n106: retq",
                     {0x101: ("trace_foo", ".text")}, begins=[0x100])
        self.assertEqual(f, ["t: f+0x6: return with instrumentation enabled"])

    def test_each_path_counts_its_own_markers(self):
        # if (x) { begin; foo(); end; } bar(): bar() is outside on both paths.
        text = """
100: je 0x10e <f+0xe>
102: nop
103: callq 0x108 <f+0x8>
108: nop
109: jmp 0x10e <f+0xe>
10e: callq 0x113 <f+0x13>
113: retq
"""
        rel = {0x103: ("foo", ".text"), 0x10e: ("bar", ".text")}
        f = findings(X86, text, rel, begins=[0x102], ends=[0x108])
        self.assertEqual(f, ["t: f+0xe: call to bar() leaves .noinstr.text "
                             "section (to .text)"])
        # With the end marker dropped, the taken path returns in a region
        # and calls bar() in it, the other path still calls it outside.
        f = findings(X86, text, rel, begins=[0x102])
        self.assertIn("t: f+0x13: return with instrumentation enabled", f)
        self.assertIn("t: f+0xe: call to bar() leaves .noinstr.text section "
                      "(to .text)", f)

    def test_noreturn_calls_end_the_path(self):
        text = """
100: nop
101: callq 0x106 <f+0x6>
106: callq 0x10b <f+0xb>
10b: retq
"""
        rel = {0x101: ("panic", ".text"), 0x106: ("foo", ".text")}
        self.assertEqual(findings(X86, text, rel, begins=[0x100],
                                  noreturns=["panic"]), [])
        # Without the list the walk goes on after panic() and takes what
        # follows for code of the region.
        self.assertEqual(findings(X86, text, rel, begins=[0x100]),
                         ["t: f+0xb: return with instrumentation enabled"])

    def test_ud2_ends_a_path_unless_reachable(self):
        text = "100: ud2\n102: callq 0x107 <f+0x7>\n107: retq"
        rel = {0x102: ("foo", ".text")}
        self.assertEqual(findings(X86, text, rel), [])
        self.assertEqual(len(findings(X86, text, rel, reachable=[0x100])), 1)

    def test_falls_through(self):
        f = findings(X86, "100: nop\n101: nop")
        self.assertEqual(f, ["t: f+0x6: falls through to the next function"])


class TestArm64(unittest.TestCase):
    def test_bl_b_blr_br(self):
        f = findings(A64, """
100: bl 0x100 <f>
104: cbz x0, 0x110 <f+0x10>
108: blr x8
10c: br x9
110: b 0x110 <f+0x10>
""", {0x100: ("rust_helper_get_current", ".text"),
      0x110: ("schedule", ".text")})
        self.assertEqual(f, [
            "t: f+0x0: call to rust_helper_get_current() leaves .noinstr.text "
            "section (to .text) (a rust_helper_*() call: C helpers are "
            "instrumentable)",
            "t: f+0x8: indirect call leaves .noinstr.text section",
            "t: f+0xc: indirect jump leaves .noinstr.text section",
            "t: f+0x10: tail call to schedule() leaves .noinstr.text section "
            "(to .text)"])

    def test_regions_conditions_and_brk(self):
        text = """
100: nop
104: bl 0x104 <f+0x4>
108: nop
10c: tbnz w0, #0x3, 0x118 <f+0x18>
110: brk #0x800
114: ret
118: bl 0x118 <f+0x18>
11c: ret
"""
        rel = {0x104: ("trace_foo", ".text"), 0x118: ("ct_nmi_exit", ".noinstr.text")}
        self.assertEqual(findings(A64, text, rel, begins=[0x100], ends=[0x108]), [])
        self.assertEqual(findings(A64, text, rel, begins=[0x100]), [
            "t: f+0x14: return with instrumentation enabled",
            "t: f+0x1c: return with instrumentation enabled"])

    def test_objdump_comments_are_cut(self):
        insns = chk.parse_objdump(
            "     100: \tadrp\tx8, 0x0 <f>\n     104: \tldr\tx0, [x8] // =0x5\n"
            "     108: \tb.ne\t0x100 <f>", A64)
        self.assertEqual(insns, [(0x100, "adrp", "x8, 0x0 <f>"),
                                 (0x104, "ldr", "x0, [x8]"),
                                 (0x108, "b.ne", "0x100 <f>")])
        self.assertEqual(chk.branch_target(insns[2][2]), 0x100)


if __name__ == "__main__":
    unittest.main()
