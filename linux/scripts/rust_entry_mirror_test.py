#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0

"""Tests the `rust_entry_mirror.py` script.

The first tests use a small C file and its Rust mirror written here. The
others run the check of kernel/entry/entry_rs.rs (next to this script's
directory) against a copy of the C files of a kernel tree, edited: the tree in
$RUST_ENTRY_MIRROR_SRCTREE, or the one this script is in; they are skipped
when there is no kernel/entry/common.c there.
"""

import contextlib
import io
import os
import pathlib
import shutil
import tempfile
import unittest

import rust_entry_mirror as mirror

HERE = pathlib.Path(__file__).resolve().parent
C_FILES = ("kernel/entry/common.c", "include/linux/irq-entry-common.h",
           "include/linux/hardirq.h")

TOY_C = """\
/* SPDX-License-Identifier: GPL-2.0 */
#define __toy_enter()				\\
	do {					\\
		toy_off();			\\
		toy_arch();			\\
	} while (0)

static __always_inline int toy(struct pt_regs *regs)
{
	/* A comment. */
	if (user_mode(regs)) {
		toy_user(regs);
		return 1;
	}

	__toy_enter();
	toy_a();
	toy_b(regs);
	if (toy_c())
		toy_d();
	return 0;
}
"""

TOY_RS = """\
// SPDX-License-Identifier: GPL-2.0
fn toy(regs: &PtRegs) -> i32 {
    // mirror: include/toy.h toy()
    // C: if (user_mode(regs)) {
    if regs.user_mode() {
        // C: toy_user(regs);
        toy_user(regs);
        // C: return 1;
        return 1;
        // C: }
    }
    // C: __toy_enter();
    // mirror: include/toy.h __toy_enter()
    // C: toy_off();
    toy_off();
    // C, not mirrored: toy_arch(); /* empty here */
    // mirror end: __toy_enter()
    // C: toy_a();
    toy_a();
    // C: toy_b(regs);
    toy_b(regs);
    // C: if (toy_c())
    // C:         toy_d();
    if toy_c() {
        toy_d();
    }
    // C: return 0;
    0
}
"""


class Tree:
    """A temporary source tree with files to edit."""

    def __init__(self, files):
        self.dir = tempfile.TemporaryDirectory()
        self.root = pathlib.Path(self.dir.name)
        for path, text in files.items():
            p = self.root / path
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_text(text)

    def read(self, path):
        return (self.root / path).read_text()

    def write(self, path, text):
        (self.root / path).write_text(text)

    def edit(self, path, old, new):
        text = self.read(path)
        if text.count(old) != 1:
            raise AssertionError(f"{old!r} is not once in {path}")
        self.write(path, text.replace(old, new))

    def line_of(self, path, text):
        """1-based line of the first line containing text."""
        whole = self.read(path)
        if text not in whole:
            raise AssertionError(f"{text!r} not in {path}")
        return whole[:whole.index(text)].count("\n") + 1

    def check(self, rust):
        return [str(e) for e in mirror.check(str(self.root), [str(rust)])]


class TestToy(unittest.TestCase):
    def setUp(self):
        self.tree = Tree({"include/toy.h": TOY_C, "toy.rs": TOY_RS})
        self.rs = self.tree.root / "toy.rs"

    def tearDown(self):
        self.tree.dir.cleanup()

    def assertFails(self, where, *words):
        errors = self.tree.check(self.rs)
        self.assertTrue(errors, "the check passed")
        hits = [e for e in errors if e.startswith(where + ": error: ")]
        self.assertTrue(hits, f"no error at {where}: {errors}")
        for w in words:
            self.assertIn(w, hits[0])
        return errors

    def test_pass(self):
        self.assertEqual(self.tree.check(self.rs), [])

    def test_main_exit_status(self):
        self.assertEqual(mirror.main(["--srctree", str(self.tree.root), str(self.rs)]), 0)
        self.tree.edit("include/toy.h", "toy_a();", "toy_a(1);")
        with contextlib.redirect_stderr(io.StringIO()) as err:
            self.assertEqual(mirror.main(["--srctree", str(self.tree.root), str(self.rs)]), 1)
        self.assertIn("include/toy.h:17: error: toy() changed: ", err.getvalue())

    def test_comment_and_whitespace_edits_pass(self):
        self.tree.edit("include/toy.h", "\ttoy_a();\n", "\t/* new */ toy_a ( ) ;  // why\n\n")
        self.tree.edit("include/toy.h", "\ttoy_b(regs);", "\ttoy_b(\n\t\tregs /* x */);")
        self.tree.edit("include/toy.h", "\t\ttoy_off();\t\t\t\\", "\t\ttoy_off(); /* y */\t\\")
        self.assertEqual(self.tree.check(self.rs), [])

    def test_braces_around_a_single_statement_pass(self):
        self.tree.edit("include/toy.h", "\tif (toy_c())\n\t\ttoy_d();", "\tif (toy_c()) {\n\t\ttoy_d();\n\t}")
        self.assertEqual(self.tree.check(self.rs), [])

    def test_edited_statement(self):
        self.tree.edit("include/toy.h", "toy_b(regs);", "toy_b(regs, 1);")
        line = self.tree.line_of("include/toy.h", "toy_b(")
        self.assertFails(f"include/toy.h:{line}", "toy_b(regs, 1);", "toy.rs:20")

    def test_edited_macro_statement(self):
        self.tree.edit("include/toy.h", "toy_off();", "toy_off_now();")
        line = self.tree.line_of("include/toy.h", "toy_off_now")
        self.assertFails(f"include/toy.h:{line}", "__toy_enter()", "toy_off_now();")

    def test_swapped_statements(self):
        self.tree.edit("include/toy.h", "\ttoy_a();\n\ttoy_b(regs);\n", "\ttoy_b(regs);\n\ttoy_a();\n")
        errors = self.tree.check(self.rs)
        self.assertEqual(len(errors), 1, errors)
        self.assertRegex(errors[0], r"^include/toy.h:1[78]: error: toy\(\) reordered: ")

    def test_new_statement_unmapped(self):
        self.tree.edit("include/toy.h", "\ttoy_a();\n", "\ttoy_a();\n\ttoy_new();\n")
        line = self.tree.line_of("include/toy.h", "toy_new")
        self.assertFails(f"include/toy.h:{line}", "toy_new();", "not mirrored")

    def test_removed_statement(self):
        self.tree.edit("include/toy.h", "\ttoy_a();\n", "")
        self.assertFails(f"include/toy.h:{self.tree.line_of('include/toy.h', '__toy_enter();')}",
                         "toy_a();", "toy.rs:18")

    def test_statement_moved_into_a_block(self):
        self.tree.edit("include/toy.h", "\t\ttoy_d();\n\treturn 0;", "\t\ttoy_d();\n\t\treturn 0;")
        self.tree.edit("include/toy.h", "\tif (toy_c())\n", "\tif (toy_c()) {\n")
        self.tree.edit("include/toy.h", "\t\treturn 0;\n", "\t\treturn 0;\n\t}\n")
        self.assertTrue(self.tree.check(self.rs))

    def test_not_mirrored_needs_a_reason(self):
        self.tree.write("toy.rs", TOY_RS.replace(" /* empty here */", ""))
        self.assertFails(f"{self.rs}:16", "say why")

    def test_reason_on_the_next_tag_line(self):
        self.tree.write("toy.rs", TOY_RS.replace("toy_arch(); /* empty here */",
                                                 "toy_arch();\n    // C:     /* empty here */"))
        self.assertEqual(self.tree.check(self.rs), [])

    def test_misspelt_annotation(self):
        self.tree.write("toy.rs", TOY_RS.replace("    // C: toy_a();", "    // C : toy_a();"))
        errors = self.tree.check(self.rs)
        self.assertTrue(any(e.startswith(f"{self.rs}:18: error: malformed") for e in errors), errors)

    def test_prose_and_doc_comments_are_not_annotations(self):
        self.tree.write("toy.rs", TOY_RS.replace(
            "    // C: toy_a();",
            "    // C code: not a tag.\n    /// C: a doc comment\n    // mirrors nothing\n    // C: toy_a();"))
        self.assertEqual(self.tree.check(self.rs), [])

    def test_tag_outside_a_mirror(self):
        self.tree.write("toy.rs", "// C: toy_a();\n" + TOY_RS)
        self.assertFails(f"{self.rs}:1", "outside")

    def test_unclosed_tag_block(self):
        self.tree.write("toy.rs", TOY_RS.replace("        // C: }\n", "", 1))
        self.assertTrue(self.tree.check(self.rs))

    def test_missing_function(self):
        self.tree.edit("include/toy.h", "int toy(", "int toy2(")
        self.assertFails(f"{self.rs}:3", "no function toy()")


def kernel_tree():
    env = os.environ.get("RUST_ENTRY_MIRROR_SRCTREE")
    root = pathlib.Path(env) if env else HERE.parent
    return root if (root / "kernel/entry/common.c").is_file() else None


@unittest.skipIf(kernel_tree() is None, "no kernel tree with kernel/entry/common.c")
class TestEntryRs(unittest.TestCase):
    """The real mirror: entry_rs.rs against the C files of the tree, edited."""

    def setUp(self):
        src = kernel_tree()
        self.tree = Tree({p: (src / p).read_text() for p in C_FILES})
        self.rs = HERE.parent / "kernel/entry/entry_rs.rs"

    def tearDown(self):
        self.tree.dir.cleanup()

    def test_pass(self):
        self.assertEqual(self.tree.check(self.rs), [])

    def test_edited_header_line(self):
        h = "include/linux/irq-entry-common.h"
        self.tree.edit(h, "\tuser_exit_irqoff();\n", "\tuser_exit_irqoff_now();\n")
        line = self.tree.line_of(h, "user_exit_irqoff_now")
        errors = self.tree.check(self.rs)
        self.assertEqual(len(errors), 1, errors)
        self.assertTrue(errors[0].startswith(f"{h}:{line}: error: enter_from_user_mode() changed: "),
                        errors)
        self.assertIn("user_exit_irqoff_now();", errors[0])
        self.assertIn("entry_rs.rs:", errors[0])

    def test_edited_hardirq_macro(self):
        h = "include/linux/hardirq.h"
        self.tree.edit(h, "\t\tlockdep_on();\t", "\t\tlockdep_on_now();")
        line = self.tree.line_of(h, "lockdep_on_now")
        errors = self.tree.check(self.rs)
        self.assertEqual(len(errors), 1, errors)
        self.assertTrue(errors[0].startswith(f"{h}:{line}: error: __nmi_exit() changed: "), errors)

    def test_swapped_lines(self):
        h = "include/linux/irq-entry-common.h"
        old = "\ttrace_hardirqs_on_prepare();\n\tlockdep_hardirqs_on_prepare();\n\tinstrumentation_end();\n\n\tuser_enter_irqoff();"
        new = "\tlockdep_hardirqs_on_prepare();\n\ttrace_hardirqs_on_prepare();\n\tinstrumentation_end();\n\n\tuser_enter_irqoff();"
        self.tree.edit(h, old, new)
        errors = self.tree.check(self.rs)
        self.assertEqual(len(errors), 1, errors)
        lines = {self.tree.line_of(h, "\tlockdep_hardirqs_on_prepare();\n\ttrace") + k for k in (0, 1)}
        self.assertRegex(errors[0], r"^include/linux/irq-entry-common.h:(\d+): error: exit_to_user_mode\(\) reordered: ")
        self.assertIn(int(errors[0].split(":")[1]), lines)

    def test_swapped_common_c_lines(self):
        c = "kernel/entry/common.c"
        self.tree.edit(c, "\tct_nmi_exit();\n\tlockdep_hardirq_exit();\n",
                       "\tlockdep_hardirq_exit();\n\tct_nmi_exit();\n")
        errors = self.tree.check(self.rs)
        self.assertEqual(len(errors), 1, errors)
        self.assertIn("irqentry_nmi_exit() reordered", errors[0])

    def test_comment_only_edit(self):
        h = "include/linux/irq-entry-common.h"
        self.tree.edit(h, "\tuser_exit_irqoff();\n", "\t/* Now RCU watches. */\n\tuser_exit_irqoff(); // really\n")
        self.tree.edit(h, "\tif (!IS_ENABLED(CONFIG_TINY_RCU) &&\n\t    (is_idle_task(current) || arch_in_rcu_eqs())) {",
                       "\tif (!IS_ENABLED(CONFIG_TINY_RCU) && (is_idle_task(current) ||\n\t\t\t\t\t\tarch_in_rcu_eqs())) {")
        c = "kernel/entry/common.c"
        self.tree.edit(c, "\t__nmi_enter();\n", "\t__nmi_enter();   /* in_nmi() from here */\n")
        self.tree.edit(c, "/* Check if any of the above work has queued a deferred wakeup */",
                       "/* Something else entirely */")
        self.assertEqual(self.tree.check(self.rs), [])

    def test_new_statement_unmapped(self):
        c = "kernel/entry/common.c"
        self.tree.edit(c, "\tlockdep_hardirq_enter();\n\tct_nmi_enter();\n",
                       "\tlockdep_hardirq_enter();\n\tct_nmi_enter();\n\trcu_nmi_check();\n")
        line = self.tree.line_of(c, "rcu_nmi_check")
        errors = self.tree.check(self.rs)
        self.assertEqual(len(errors), 1, errors)
        self.assertTrue(errors[0].startswith(f"{c}:{line}: error: 'rcu_nmi_check();' in irqentry_nmi_enter() is not mirrored"),
                        errors)


if __name__ == "__main__":
    unittest.main()
