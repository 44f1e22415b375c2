#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""rust_entry_mirror - Checks that the Rust generic entry code still mirrors
the C code it was written from.

kernel/entry/entry_rs.rs reimplements C functions of kernel/entry/common.c and
the inlines of include/linux/irq-entry-common.h and include/linux/hardirq.h it
depends on. Its comments say which C function each part mirrors and which C
statement each Rust step stands for:

    // mirror: include/linux/irq-entry-common.h enter_from_user_mode()
        Starts the mirror of a C function (a function definition or a
        function-like macro; the first definition in the file). Put it inside
        the Rust function body: the mirror ends with the enclosing Rust block,
        or earlier at

    // mirror end: enter_from_user_mode()
        which ends a mirror of inlined code inside a larger Rust function.

    // C: lockdep_hardirqs_off(CALLER_ADDR0);
        The C statement(s) the Rust code below stands for, as in C. Tags may
        span lines; C comments in them are notes and are ignored. Block
        structure is part of the mapping: an "if (x) {" needs its "}" (or
        "} else {") tag, a braceless "if (x)" is followed by the tag of its
        single statement.

    // C, not mirrored: arch_nmi_enter(); /* empty on x86 */
        A C statement the Rust code deliberately leaves out; the /* reason */
        is required.

The check takes the C function from the tree, drops comments and whitespace
and splits the body into statements: simple statements, the heads of if/else,
while, for, do and switch (a braceless body counts as if it were braced),
block ends and preprocessor lines. The tags of a mirror, read the same way,
must be exactly that sequence. A tagged statement that changed, was removed or
moved, and a C statement that no tag maps, is an error naming the C file and
line and the Rust line. Edits of C comments or whitespace change nothing.

Arguments: [--srctree DIR] RUST_FILE... (the tree defaults to the current
directory). Exits 0 and prints nothing when every mirror holds; otherwise
prints one "file:line: error: ..." per problem on stderr and exits 1.
--dump FILE:FUNCTION prints the statements of a C function as the check sees
them.
"""

import argparse
import difflib
import os
import re
import sys

MIRROR_RE = re.compile(r"^\s*// mirror: (\S+) ([A-Za-z_][A-Za-z0-9_]*)\(\)\s*$")
MIRROR_END_RE = re.compile(r"^\s*// mirror end: ([A-Za-z_][A-Za-z0-9_]*)\(\)\s*$")
TAG_RE = re.compile(r"^\s*// C(, not mirrored)?:(.*)$")
# A misspelt annotation ("//C:", "// C :", "// C, skipped:", "// mirror:x"),
# which would otherwise be taken for a plain comment.
ALMOST_RE = re.compile(r"^\s*//\s*(mirror( end)?\s*:|[Cc]\s*(,[^:]*)?:)")

PUNCT = sorted("""
... <<= >>= -> ++ -- << >> <= >= == != && || *= /= %= += -= &= ^= |= ##
{ } ( ) [ ] ; , . ? : ~ ! + - * / % & | ^ = < > #
""".split(), key=len, reverse=True)
TOKEN_RE = re.compile(r"""
    (?P<ws>[ \t\f\v\r]+|\\\n)
  | (?P<nl>\n)
  | (?P<word>[A-Za-z_0-9](?:[A-Za-z_0-9]|\.(?=[0-9]))*)
  | (?P<str>"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*')
  | (?P<punct>""" + "|".join(re.escape(p) for p in PUNCT) + r""")
  | (?P<other>.)
""", re.VERBOSE)


class MirrorError(Exception):
    """A problem found by the check: where ("file:line") and what."""

    def __init__(self, where, msg):
        super().__init__(f"{where}: error: {msg}")
        self.where = where


class Tok:
    """A C token: its text, line, and whether it is part of a # line."""

    __slots__ = ("text", "line", "directive")

    def __init__(self, text, line, directive):
        self.text = text
        self.line = line
        self.directive = directive


def strip_comments(text):
    """Replaces C comments with blanks, keeping newlines and so line numbers."""
    out = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
        elif c in "\"'":
            m = re.compile(r"%s(?:[^%s\\\n]|\\.)*%s?" % (c, c, c)).match(text, i)
            out.append(m.group(0))
            i = m.end()
        else:
            out.append(c)
            i += 1
    return "".join(out)


def tokenize(text, lines=None):
    """C tokens of comment-free text. Tokens of a preprocessor line are marked,
    and the line ends with a "\\n" token. lines maps text lines to file lines."""
    toks = []
    line = 1
    bol = True
    directive = False
    for m in TOKEN_RE.finditer(text):
        kind = m.lastgroup
        where = lines[line - 1] if lines else line
        if kind == "ws":
            line += m.group(0).count("\n")
            continue
        if kind == "nl":
            if directive:
                toks.append(Tok("\n", where, True))
            line += 1
            bol = True
            directive = False
            continue
        if bol and m.group(0) == "#":
            directive = True
        bol = False
        toks.append(Tok(m.group(0), where, directive))
    if directive:
        toks.append(Tok("\n", toks[-1].line, True))
    return toks


class Unit:
    """One statement of a C function, in the normalised form that is compared.

    key is the tuple of its tokens; line the (file) line it starts on; text
    what the messages show."""

    def __init__(self, key, line, text):
        self.key = key
        self.line = line
        self.text = text
        self.skip = False

    def __repr__(self):
        return f"Unit({' '.join(self.key)!r}, {self.line})"


def show(toks):
    """Readable text of a token sequence."""
    s = ""
    prev = before = ""
    for t in toks:
        if t == "\n":
            continue
        unary = prev in ("&", "*", "-") and before in ("", "(", ",", "=", "return", "!")
        glue = (not s or unary or prev in ("(", "[", "!", "~", ".", "->") or
                t in (")", "]", ",", ";", ".", "->", "++", "--") or
                (t == "(" and re.match(r"\w", prev) and prev not in
                 ("if", "while", "for", "switch", "return")) or
                (t == "[" and prev not in ("=", ",")))
        s += t if glue else " " + t
        before, prev = prev, t
    return s


class Parser:
    """Splits a token sequence into Units: statements, control heads
    ("if (c) {"), block ends ("}", "} else {", "} while (0);") and
    preprocessor lines. A braceless body is read as if it were braced."""

    HEADS = ("if", "while", "for", "switch")

    def __init__(self, toks, where):
        self.toks = toks
        self.i = 0
        self.units = []
        self.where = where  # line -> "file:line"

    def peek(self, k=0):
        j = self.i + k
        return self.toks[j].text if j < len(self.toks) else None

    def fail(self, msg):
        t = self.toks[min(self.i, len(self.toks) - 1)] if self.toks else None
        raise MirrorError(self.where(t.line if t else 0), msg)

    def unit(self, toks, line=None):
        texts = tuple(t.text for t in toks if t.text != "\n")
        self.units.append(Unit(texts, toks[0].line if line is None else line,
                               show(texts)))

    def balanced(self):
        """Consumes a parenthesised group, returns its tokens."""
        start = self.i
        if self.peek() != "(":
            self.fail(f"expected '(' after '{self.peek(-1)}'")
        depth = 0
        while self.i < len(self.toks):
            t = self.toks[self.i].text
            self.i += 1
            if t in "([{":
                depth += 1
            elif t in ")]}":
                depth -= 1
                if depth == 0:
                    return self.toks[start:self.i]
        self.fail("unbalanced parentheses")

    def block(self, closer):
        """Statements up to the closing '}' (consumed) or the end (closer None)."""
        while self.i < len(self.toks):
            if self.peek() == "}":
                if closer is None:
                    self.fail("'}' without an open block")
                self.i += 1
                return self.toks[self.i - 1]
            self.statement()
        if closer is not None:
            texts, line = closer
            raise MirrorError(self.where(line),
                              f"block of '{show(texts)}' is not closed ('}}' missing)")
        return None

    def body(self, head, opener_texts):
        """The body after a control head: a block or one statement. Returns the
        token of its end, for the line of the block end."""
        if self.peek() == "{":
            self.i += 1
            self.unit(head + [self.toks[self.i - 1]])
            unit = self.units[-1]
            return self.block((opener_texts, head[0].line)), unit
        self.unit(head + [Tok("{", head[0].line, False)])
        unit = self.units[-1]
        if self.i >= len(self.toks):
            self.fail(f"'{show(opener_texts)}' has no statement")
        self.statement()
        return self.toks[self.i - 1], unit

    def close(self, end, head):
        """Adds the end of a block: the line of its '}' or, braceless, of the
        end of its statement. head is the unit that opened the block."""
        self.unit([Tok("}", end.line, False)])
        self.units[-1].text = f"}} (end of '{head.text}')"

    def statement(self):
        t = self.toks[self.i]
        if t.directive:
            start = self.i
            while self.toks[self.i].text != "\n":
                self.i += 1
            self.i += 1
            self.unit(self.toks[start:self.i])
            return
        if t.text == ";":
            self.i += 1
            return
        if t.text == "{":
            self.i += 1
            self.unit([t])
            head = self.units[-1]
            end = self.block((("{",), t.line))
            self.close(end, head)
            return
        if t.text in self.HEADS:
            self.i += 1
            head = [t] + self.balanced()
            end, opener = self.body(head, tuple(x.text for x in head))
            while t.text == "if" and self.peek() == "else":
                els = self.toks[self.i]
                self.i += 1
                chain = [els]
                if self.peek() == "if":
                    self.i += 1
                    chain += [self.toks[self.i - 1]] + self.balanced()
                # "} else {" is one unit: the end of the if block and the
                # head of the else block.
                tail = self.peek() == "{"
                if tail:
                    self.i += 1
                key = ("}",) + tuple(x.text for x in chain) + ("{",)
                self.units.append(Unit(key, els.line, show(key)))
                opener = self.units[-1]
                if tail:
                    end = self.block((tuple(x.text for x in chain), els.line))
                elif self.i >= len(self.toks):
                    self.fail("'else' has no statement")
                else:
                    self.statement()
                    end = self.toks[self.i - 1]
                if chain[-1].text != ")":
                    break
            self.close(end, opener)
            return
        if t.text == "do":
            self.i += 1
            head = [t]
            self.body(head, ("do",))
            if self.peek() != "while":
                self.fail("'do' without 'while'")
            w = self.toks[self.i]
            self.i += 1
            cond = self.balanced()
            semi = []
            if self.peek() == ";":
                semi = [self.toks[self.i]]
                self.i += 1
            self.unit([Tok("}", w.line, False), w] + cond + semi, line=w.line)
            return
        if t.text == "else":
            self.fail("'else' without 'if'")
        # A simple statement: up to ';' outside brackets and braces.
        start = self.i
        depth = 0
        while self.i < len(self.toks):
            x = self.toks[self.i]
            if x.directive:
                break
            self.i += 1
            if x.text in "([{":
                depth += 1
            elif x.text in ")]}":
                depth -= 1
                if depth < 0:
                    self.i -= 1
                    break
            elif x.text == ";" and depth == 0:
                break
        toks = self.toks[start:self.i]
        if not toks:
            self.fail(f"unexpected '{t.text}'")
        self.unit(toks)


def parse(toks, where):
    p = Parser(toks, where)
    p.block(None)
    return p.units


class CFile:
    """A C source file of the tree, comment-free and tokenised."""

    def __init__(self, srctree, path):
        self.path = path
        with open(os.path.join(srctree, path), encoding="utf-8") as f:
            self.raw = f.read()
        self.lines = self.raw.split("\n")
        self.toks = tokenize(strip_comments(self.raw))

    def where(self, line):
        return f"{self.path}:{line}"

    def function(self, name):
        """(line of the definition, units of the body) of the first definition
        of the function or function-like macro name, or None."""
        toks = self.toks
        depth = 0
        i = 0
        while i < len(toks):
            t = toks[i]
            if t.directive:
                if (t.text == "#" and i + 3 < len(toks) and toks[i + 1].text == "define"
                        and toks[i + 2].text == name and toks[i + 3].text == "("):
                    return self.macro(i)
                i += 1
                continue
            if t.text == "{":
                depth += 1
            elif t.text == "}":
                depth -= 1
            elif (depth == 0 and t.text == name and i + 1 < len(toks)
                  and toks[i + 1].text == "(" and (i == 0 or toks[i - 1].text not in (".", "->"))):
                j = self.skip_group(i + 1)
                # Attributes after the parameters, then the body or ';'.
                while j < len(toks) and toks[j].text not in ("{", ";") and not toks[j].directive:
                    j = self.skip_group(j + 1) if toks[j + 1].text == "(" else j + 1
                if j < len(toks) and toks[j].text == "{":
                    end = self.skip_group(j)
                    return t.line, parse(toks[j + 1:end - 1], self.where)
                i = j
                continue
            i += 1
        return None

    def skip_group(self, j):
        """Index after the bracketed group starting at toks[j]."""
        depth = 0
        while j < len(self.toks):
            t = self.toks[j].text
            j += 1
            if t in "([{":
                depth += 1
            elif t in ")]}":
                depth -= 1
                if depth == 0:
                    return j
        return j

    def macro(self, i):
        line = self.toks[i].line
        end = i
        while self.toks[end].text != "\n":
            end += 1
        j = self.skip_group(i + 3)
        body = [Tok(t.text, t.line, False) for t in self.toks[j:end]]
        texts = [t.text for t in body]
        # do { ... } while (0): the statements inside
        if (texts[:2] == ["do", "{"] and texts[-5:] == ["}", "while", "(", "0", ")"]):
            body = body[2:-5]
        elif texts and texts[-1] != ";":
            body.append(Tok(";", body[-1].line, False))
        return line, parse(body, self.where)


class Mirror:
    """The tags of one mirrored C function in a Rust file."""

    def __init__(self, rust, line, path, name, depth):
        self.rust = rust
        self.line = line
        self.path = path
        self.name = name
        self.depth = depth
        self.text = []      # tag text, one entry per Rust line
        self.lines = []     # the Rust line of each entry
        self.skips = set()  # Rust lines of "not mirrored" tags

    def add(self, line, text, skip):
        self.text.append(text)
        self.lines.append(line)
        if skip:
            self.skips.add(line)

    def unexplained(self, units):
        """The "not mirrored" units without a /* reason */ in their tag lines."""
        bad = []
        for k, u in enumerate(units):
            if not u.skip:
                continue
            end = units[k + 1].line if k + 1 < len(units) else self.lines[-1] + 1
            end = max(end, u.line + 1)
            text = " ".join(t for t, l in zip(self.text, self.lines) if u.line <= l < end)
            if not re.search(r"/\*.*\S.*\*/", text):
                bad.append(u)
        return bad

    def units(self):
        where = lambda l: f"{self.rust}:{l}"
        toks = tokenize(strip_comments("\n".join(self.text) + "\n"), self.lines)
        units = parse(toks, where)
        for u in units:
            u.skip = u.line in self.skips
        return units


def rust_depths(text):
    """Brace depth at the start of each line of Rust source."""
    depths = []
    depth = 0
    i, n = 0, len(text)
    comment = 0
    depths.append(0)
    while i < n:
        c = text[i]
        if comment:
            if text.startswith("*/", i):
                comment -= 1
                i += 2
                continue
            if text.startswith("/*", i):
                comment += 1
                i += 2
                continue
        elif text.startswith("//", i):
            i = text.find("\n", i)
            i = n if i < 0 else i
            continue
        elif text.startswith("/*", i):
            comment += 1
            i += 2
            continue
        elif c == '"' or (c == "r" and re.match(r'r#*"', text[i:i + 8]) and
                          (i == 0 or not re.match(r"\w", text[i - 1]))):
            m = re.compile(r'r(#*)"').match(text, i)
            if m:
                close = '"' + m.group(1)
                j = text.find(close, m.end())
            else:
                j = i + 1
                while j < n and text[j] != '"':
                    j += 2 if text[j] == "\\" else 1
                close = '"'
            j = n if j < 0 else j + len(close)
            depths.extend([depth] * text.count("\n", i, j))
            i = j
            continue
        elif c == "'":
            m = re.compile(r"'(?:\\[^']*|[^\\'\n])'").match(text, i)
            if m:
                i = m.end()
                continue
        elif c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
        if c == "\n":
            depths.append(depth)
        i += 1
    return depths


def read_mirrors(rust):
    """The mirrors of a Rust file, in file order, and the problems found."""
    with open(rust, encoding="utf-8") as f:
        text = f.read()
    depths = rust_depths(text)
    mirrors = []
    errors = []
    stack = []
    for n, l in enumerate(text.split("\n"), 1):
        depth = depths[n - 1] if n - 1 < len(depths) else 0
        while stack and depth < stack[-1].depth:
            stack.pop()
        m = MIRROR_RE.match(l)
        if m:
            if depth == 0:
                errors.append(MirrorError(f"{rust}:{n}",
                                          "put '// mirror:' inside the Rust function body"))
                continue
            mi = Mirror(rust, n, m.group(1), m.group(2), depth)
            mirrors.append(mi)
            stack.append(mi)
            continue
        m = MIRROR_END_RE.match(l)
        if m:
            if not stack or stack[-1].name != m.group(1):
                errors.append(MirrorError(
                    f"{rust}:{n}", f"'// mirror end: {m.group(1)}()' without its '// mirror:'"))
            else:
                stack.pop()
            continue
        m = TAG_RE.match(l)
        if m:
            if not stack:
                errors.append(MirrorError(f"{rust}:{n}",
                                          "'// C:' tag outside a '// mirror:' of a C function"))
            else:
                stack[-1].add(n, m.group(2), bool(m.group(1)))
            continue
        if ALMOST_RE.match(l):
            errors.append(MirrorError(f"{rust}:{n}", f"malformed mirror annotation: {l.strip()}"))
    return mirrors, errors


def compare(mirror, cfile, cunits, runits):
    """Errors for the differences between the C statements and the tags."""
    errors = []
    fn = f"{mirror.name}()"
    r = lambda u: f"{mirror.rust}:{u.line}"
    c = lambda u: cfile.where(u.line)
    a = [u.key for u in runits]
    b = [u.key for u in cunits]
    gone = []   # (Rust unit, index in C where it would be): tagged, not in C there
    new = []    # (C unit, index in C): in C, not tagged there
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if op == "equal":
            continue
        rs = [(u, j1) for u in runits[i1:i2]]
        cs = list(zip(cunits[j1:j2], range(j1, j2)))
        if op == "replace":
            # A statement edited in place: one tag, one C statement.
            for k in range(min(len(rs), len(cs))):
                (ru, _), (cu, ci) = rs[k], cs[k]
                if ru.key in b or cu.key in a:
                    gone.append(rs[k])
                    new.append(cs[k])
                    continue
                errors.append(MirrorError(
                    c(cu),
                    f"{fn} changed: C now has '{cu.text}' where {r(ru)} mirrors '{ru.text}'"))
            gone += rs[len(cs):]
            new += cs[len(rs):]
        else:
            gone += rs
            new += cs

    def after(ci):
        if ci == 0:
            return f"at the start of {fn}"
        return f"after '{cunits[ci - 1].text}' ({c(cunits[ci - 1])})"

    # A statement that left one place and appears at another was reordered.
    # Block ends are all alike: a misplaced one is a changed block structure.
    for cu, ci in list(new):
        if cu.key == ("}",):
            continue
        g = next((x for x in gone if x[0].key == cu.key), None)
        if g is None:
            continue
        gone.remove(g)
        new.remove((cu, ci))
        errors.append(MirrorError(
            c(cu), f"{fn} reordered: '{cu.text}' now comes {after(ci)}; "
            f"{r(g[0])} mirrors the old order"))
    for cu, ci in new:
        if cu.key == ("}",):
            msg = (f"block structure of {fn} changed: a block ends here, {after(ci)}, "
                   f"where the tags of {mirror.rust}:{mirror.line} have none")
        else:
            msg = (f"'{cu.text}' in {fn} is not mirrored: no '// C:' or '// C, not mirrored:' "
                   f"tag for it in the mirror at {mirror.rust}:{mirror.line}")
        errors.append(MirrorError(c(cu), msg))
    for ru, ci in gone:
        anchor = cunits[ci - 1] if ci else None
        where = c(anchor) if anchor else cfile.where(mirror.cline)
        what = "a block end" if ru.key == ("}",) else f"'{ru.text}'"
        errors.append(MirrorError(
            where, f"{fn} changed: {what}, mirrored by {r(ru)}, is no longer in C "
            f"{after(ci)}: the C line was edited, moved or removed"))
    return errors


def check(srctree, rust_files):
    """All problems, as MirrorErrors; empty when every mirror holds."""
    errors = []
    files = {}
    seen = {}
    for rust in rust_files:
        mirrors, errs = read_mirrors(rust)
        errors += errs
        if not mirrors:
            errors.append(MirrorError(f"{rust}:1", "no '// mirror:' annotation"))
        for m in mirrors:
            key = (m.path, m.name)
            if key in seen:
                errors.append(MirrorError(f"{m.rust}:{m.line}",
                                          f"{m.name}() is mirrored twice (also at {seen[key]})"))
                continue
            seen[key] = f"{m.rust}:{m.line}"
            try:
                if m.path not in files:
                    files[m.path] = CFile(srctree, m.path)
                cf = files[m.path]
                found = cf.function(m.name)
                if found is None:
                    errors.append(MirrorError(f"{m.rust}:{m.line}",
                                              f"{m.path} has no function {m.name}()"))
                    continue
                cline, cunits = found
                runits = m.units()
            except OSError as e:
                errors.append(MirrorError(f"{m.rust}:{m.line}",
                                          f"cannot read {m.path}: {e.strerror}"))
                continue
            except MirrorError as e:
                errors.append(e)
                continue
            for u in m.unexplained(runits):
                errors.append(MirrorError(f"{m.rust}:{u.line}",
                                          f"'{u.text}' is not mirrored: say why in a /* comment */"))
            m.cline = cline
            errors += compare(m, cf, cunits, runits)
    return errors


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--srctree", default=".", help="kernel source tree (default: .)")
    ap.add_argument("--dump", metavar="FILE:FUNCTION",
                    help="print the statements of a C function as the check sees them")
    ap.add_argument("rust", nargs="*", help="Rust file(s) with // mirror: annotations")
    args = ap.parse_args(argv)
    if args.dump:
        path, name = args.dump.rsplit(":", 1)
        found = CFile(args.srctree, path).function(name)
        if found is None:
            print(f"{path} has no function {name}()", file=sys.stderr)
            return 1
        for u in found[1]:
            print(f"{path}:{u.line}: {u.text}")
        return 0
    if not args.rust:
        ap.error("no Rust file given")
    errors = check(args.srctree, args.rust)
    for e in errors:
        print(e, file=sys.stderr)
    if errors:
        print(f"{os.path.basename(sys.argv[0])}: the Rust entry code no longer mirrors the C code "
              f"({len(errors)} problem(s)); update the Rust code and its '// C:' tags",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
