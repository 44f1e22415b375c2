//! Mutation sweep of the Rust entry code (`entry-lab mutate`): mutants of
//! `kernel/entry/entry_rs.rs` made from its text, and the rules that judge
//! one against the unmutated control.
//!
//! The generator finds the bodies of the exported entry functions
//! ([`ROOTS`]) and of every function of the file they call, directly or
//! not, and in them the *state operations*: statements that call a
//! state-changing building block ([`STATE_OPS`]: lockdep, context tracking
//! and RCU, tracing, the preempt count, the C shims (irq enable/disable,
//! rseq, hrtimer, ...), `schedule()` and the other work calls, an
//! instrumentation region, or a helper of the file that does any of
//! these). Each gives mutants:
//!
//! - `drop`: the statement (and its attributes) deleted;
//! - `swap`: the statement exchanged with the next statement of the same
//!   block, when that one is a state operation too (comment lines stay
//!   where they are);
//! - `negate`: every `if COND {` of those bodies made `if !(COND) {`.
//!
//! A mutant's id is `FUNCTION-OPn-HASH`: the function whose body it changes,
//! the operator, its ordinal among that function's mutants of that
//! operator (source order, from 1) and the first 6 hex digits of the
//! SHA-256 of the changed text, so an id names the same change as long as
//! the function's statements before it do not change. Mutants are
//! unified diffs made in memory; nothing is committed.
//!
//! Statements under a `#[cfg(...)]` that is false in the built `.config`,
//! and calls of a helper of the file whose body compiles to no state
//! operation there, are not compiled in: their mutants are listed but not
//! run.

use crate::util::{Context, Result};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};

/// The file the mutants change, as a kernel path.
pub const PATH: &str = "kernel/entry/entry_rs.rs";

/// The exported entry functions: the roots of the sweep.
pub const ROOTS: &[&str] = &crate::symbols::ENTRY_SYMBOLS;

/// A statement that contains one of these changes entry state.
pub const STATE_OPS: &[&str] = &[
    "lockdep::",
    "ct::",
    "arch::",
    "rseq::",
    "preempt::preempt_count_nmi_",
    "work::",
    "bindings::",
    ".instrumentation(",
    "entry_field!(",
    // The typed steps of `rust/kernel/entry/irq.rs` and `nmi.rs`.
    "let irq = irq.",
    "let nmi = nmi.",
    "irq.",
    "nmi.",
    ".kmsan_unpoison_entry_regs(",
    ".disable()",
];

/// Statements that move a typed entry context (`Irq`, `Nmi`) into its
/// next state or end it. They are compiled in whatever the configuration:
/// without them the types do not line up, so dropping or moving one is a
/// compile error (the mutant is stillborn), which is the point of the
/// types.
pub const TYPED_TRANSITIONS: &[&str] = &[
    "let irq = irq.",
    "let nmi = nmi.",
    ".into_state(",
    ".lockdep_on()",
    ".lockdep_hardirqs_on()",
    ".return_irqs_off()",
    ".return_watching()",
    // Interrupts enabled for the exit work, and disabled again.
    ".disable()",
];

/// The `&self` methods of the typed contexts and the building block each
/// one calls: a statement that only calls such a method does something
/// exactly when the building block is not empty in the configuration.
pub const TYPED_METHODS: &[(&str, &str)] = &[
    (".trace_hardirqs_off_finish(", "lockdep::trace_hardirqs_off_finish"),
    (".trace_hardirqs_on_prepare(", "lockdep::trace_hardirqs_on_prepare"),
    (".lockdep_hardirqs_on_prepare(", "lockdep::lockdep_hardirqs_on_prepare"),
    (".trace_hardirqs_on(", "lockdep::trace_hardirqs_on"),
    (".ftrace_nmi_enter(", "nmi::ftrace_nmi_callbacks"),
    (".ftrace_nmi_exit(", "nmi::ftrace_nmi_callbacks"),
    (".rcu_irq_enter_check_tick(", "ct::rcu_irq_enter_check_tick"),
    (".arch_enter_from_user_mode(", "arch::arch_enter_from_user_mode"),
    (".arch_exit_to_user_mode(", "arch::arch_exit_to_user_mode"),
    (".ct_warn_on_not_user(", "ct::ct_warn_on_not_user"),
    (".rseq_note_user_irq_entry(", "rseq::note_user_irq_entry"),
    (".kmsan_unpoison_entry_regs(", "regs::kmsan_unpoison_entry_regs"),
];

/// The mutation operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
pub enum Op {
    Drop,
    Swap,
    Negate,
}

impl Op {
    pub fn name(self) -> &'static str {
        match self {
            Op::Drop => "drop",
            Op::Swap => "swap",
            Op::Negate => "negate",
        }
    }
}

/// One mutant: lines `old.start..old.end` (0-based) of the file replaced
/// by `new`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mutant {
    pub id: String,
    /// The function whose body it changes.
    pub func: String,
    pub op: Op,
    /// 1-based, per function and operator.
    pub ordinal: usize,
    /// 1-based line of the (first) changed statement.
    pub line: usize,
    /// What it does, on one line.
    pub what: String,
    pub old: std::ops::Range<usize>,
    pub new: Vec<String>,
    /// The `#[cfg(...)]` predicates the changed code sits under.
    pub cfgs: Vec<String>,
    /// The code of each statement dropped or moved (for `negate`: of the
    /// whole `if`), and the helpers of the file it calls: whether these do
    /// something in a configuration decides whether the mutant is compiled
    /// in.
    pub parts: Vec<(String, Vec<String>)>,
}

impl Mutant {
    /// `irqentry_exit drop#3`, for progress lines.
    pub fn short(&self) -> String {
        format!("{} {}#{}", self.func, self.op.name(), self.ordinal)
    }

    /// The whole file with the mutant applied.
    pub fn apply(&self, text: &str) -> String {
        let lines: Vec<&str> = text.lines().collect();
        let mut out: Vec<&str> = lines[..self.old.start].to_vec();
        out.extend(self.new.iter().map(String::as_str));
        out.extend(&lines[self.old.end..]);
        let mut s = out.join("\n");
        if text.ends_with('\n') {
            s.push('\n');
        }
        s
    }

    /// The mutant as a unified diff of [`PATH`] (three lines of context).
    pub fn diff(&self, text: &str) -> String {
        let lines: Vec<&str> = text.lines().collect();
        unified(&lines, self.old.clone(), &self.new, PATH)
    }
}

/// One line of the file, split into its code and whether it holds only a
/// comment (or nothing).
struct Line<'a> {
    raw: &'a str,
    /// The line without a `//` comment, trimmed.
    code: String,
}

impl Line<'_> {
    fn blank(&self) -> bool {
        self.code.is_empty()
    }
}

/// The code of a line: string and char literals blanked, `//` comments
/// cut. Doc comments are comments too.
fn code_of(raw: &str) -> String {
    let mut out = String::new();
    let mut chars = raw.chars().peekable();
    let mut in_str = false;
    while let Some(c) = chars.next() {
        if in_str {
            match c {
                '\\' => {
                    chars.next();
                }
                '"' => {
                    in_str = false;
                    out.push('"');
                }
                _ => out.push(' '),
            }
            continue;
        }
        match c {
            '"' => {
                in_str = true;
                out.push('"');
            }
            '/' if chars.peek() == Some(&'/') => break,
            _ => out.push(c),
        }
    }
    out.trim().to_string()
}

/// Brace, bracket and parenthesis depth change of a line's code.
fn depth_delta(code: &str) -> i32 {
    code.chars()
        .map(|c| match c {
            '{' | '(' | '[' => 1,
            '}' | ')' | ']' => -1,
            _ => 0,
        })
        .sum()
}

/// A function of the file: its name and the lines of its body (between
/// the line that opens it and the `}` that closes it).
#[derive(Debug, Clone)]
struct Function {
    name: String,
    body: std::ops::Range<usize>,
}

/// `fn NAME` at the start of an item line (`pub unsafe extern "C" fn x(`).
fn fn_name(raw: &str) -> Option<String> {
    if raw.starts_with(char::is_whitespace) {
        return None;
    }
    any_fn_name(raw)
}

/// The name of the function that `raw` starts, at any indentation (a
/// method of an `impl` block too).
fn any_fn_name(raw: &str) -> Option<String> {
    let code = code_of(raw);
    let mut words = code.split_whitespace();
    loop {
        match words.next()? {
            "pub" | "pub(crate)" | "unsafe" | "extern" | "\"\"" | "const" | "async" => {}
            w if w.starts_with('"') => {}
            "fn" => break,
            _ => return None,
        }
    }
    let rest = words.next()?;
    let name: String = rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
    (!name.is_empty()).then_some(name)
}

fn functions(lines: &[Line]) -> Vec<Function> {
    functions_of(lines, fn_name)
}

/// The functions of `lines` that `name_of` recognises; each ends at the
/// first `}` line with the indentation of its `fn` line.
fn functions_of(lines: &[Line], name_of: fn(&str) -> Option<String>) -> Vec<Function> {
    let mut out = vec![];
    let mut i = 0;
    while i < lines.len() {
        let Some(name) = name_of(lines[i].raw) else {
            i += 1;
            continue;
        };
        // `fn f() {}` on one line: an empty body (the only body rustfmt
        // leaves on the `fn` line).
        if lines[i].code.trim_end().ends_with("{}") {
            out.push(Function { name, body: i + 1..i + 1 });
            i += 1;
            continue;
        }
        let indent = &lines[i].raw[..lines[i].raw.len() - lines[i].raw.trim_start().len()];
        let end = format!("{indent}}}");
        let Some(open) = (i..lines.len()).find(|&j| lines[j].code.ends_with('{')) else { break };
        let Some(close) = (open + 1..lines.len()).find(|&j| lines[j].raw == end) else { break };
        out.push(Function { name, body: open + 1..close });
        i = close + 1;
    }
    out
}

/// Does `code` call function `name` (`name(` not inside a longer name)?
fn calls(code: &str, name: &str) -> bool {
    let pat = format!("{name}(");
    code.match_indices(&pat).any(|(i, _)| {
        let before = code[..i].chars().next_back();
        !before.is_some_and(|c| c.is_alphanumeric() || c == '_') && !code[..i].ends_with("fn ")
    })
}

/// `let irq = irq.STEP(...);`: a typed step that rebinds its context (a
/// statement to mutate, unlike other `let`s).
fn typed_step(header: &str) -> bool {
    header.starts_with("let irq = irq.") || header.starts_with("let nmi = nmi.")
}

/// The kinds of items of a block.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Kind {
    /// A statement ending in `;`.
    Stmt,
    /// `if COND {`, with its header line.
    If(usize),
    /// Anything else: `let`, `return`, loops, tail expressions.
    Other,
}

/// One item of a block: attribute and code lines (comment lines inside it
/// are not in `code`), the nested blocks.
#[derive(Debug, Clone)]
struct Item {
    kind: Kind,
    /// First and last line (attributes included).
    span: std::ops::Range<usize>,
    /// The item's non-comment lines.
    code: Vec<usize>,
    /// The `#[cfg(...)]` predicates on it.
    cfgs: Vec<String>,
    blocks: Vec<std::ops::Range<usize>>,
}

fn parse_block(lines: &[Line], range: std::ops::Range<usize>) -> Vec<Item> {
    let mut items = vec![];
    let mut i = range.start;
    let mut attrs: Vec<usize> = vec![];
    let mut start: Option<usize> = None;
    while i < range.end {
        let c = &lines[i].code;
        if c.is_empty() {
            i += 1;
            continue;
        }
        if c.starts_with("#[") {
            start.get_or_insert(i);
            attrs.push(i);
            i += 1;
            continue;
        }
        let first = i;
        let mut depth = 0;
        let mut starts = vec![];
        let mut j = i;
        // The last non-blank line of the block ends any item (a tail
        // expression); otherwise an item ends where the depth is back to
        // zero on a line ending in `;` or `}`.
        let end = (range.start..range.end).rev().find(|&k| !lines[k].blank()).unwrap_or(range.start);
        while j < range.end {
            starts.push(depth);
            let c = &lines[j].code;
            depth += depth_delta(c);
            if depth <= 0 && !c.is_empty() && (c.ends_with(';') || c.ends_with('}') || j >= end) {
                break;
            }
            j += 1;
        }
        let last = j.min(range.end - 1);
        let mut code: Vec<usize> = attrs.clone();
        code.extend((first..=last).filter(|&k| !lines[k].blank()));
        let cfgs = attrs
            .iter()
            .filter_map(|&a| lines[a].code.strip_prefix("#[cfg(")?.strip_suffix(")]").map(str::to_string))
            .collect();
        // Nested blocks: the header opens at depth d0; each line that
        // starts at d0 with `}` ends one (`}`, `} else {`).
        let mut blocks = vec![];
        let header = &lines[first].code;
        if header.ends_with('{') && last > first {
            let d0 = starts.get(1).copied().unwrap_or(0);
            let mut from = first + 1;
            for k in first + 1..=last {
                if starts[k - first] == d0 && lines[k].code.starts_with('}') {
                    blocks.push(from..k);
                    from = k + 1;
                }
            }
        }
        let kind = if header.starts_with("if ") && header.ends_with('{') {
            Kind::If(first)
        } else if lines[last].code.ends_with(';')
            && (!header.starts_with("let ") || typed_step(header))
            && !header.starts_with("return")
        {
            Kind::Stmt
        } else {
            Kind::Other
        };
        items.push(Item { kind, span: start.unwrap_or(first)..last + 1, code, cfgs, blocks });
        attrs.clear();
        start = None;
        i = last + 1;
    }
    items
}

/// What the generator saw, for the mutants.
struct Gen<'a> {
    lines: &'a [Line<'a>],
    helpers: &'a [String],
    out: Vec<Mutant>,
    ordinals: BTreeMap<Op, usize>,
    func: String,
}

impl Gen<'_> {
    fn text(&self, item: &Item) -> String {
        item.code.iter().map(|&k| self.lines[k].code.as_str()).collect::<Vec<_>>().join(" ")
    }

    fn is_op(&self, item: &Item) -> bool {
        if item.kind != Kind::Stmt {
            return false;
        }
        let t = self.text(item);
        STATE_OPS.iter().any(|p| t.contains(p)) || self.helpers.iter().any(|h| calls(&t, h))
    }

    /// The item's code and the helpers it calls.
    fn part(&self, item: &Item) -> (String, Vec<String>) {
        let t = self.text(item);
        let h = self.helpers.iter().filter(|h| calls(&t, h)).cloned().collect();
        (t, h)
    }

    fn push(
        &mut self,
        op: Op,
        item: &Item,
        old: std::ops::Range<usize>,
        new: Vec<String>,
        what: String,
        extra: &[&Item],
    ) {
        let n = self.ordinals.entry(op).or_insert(0);
        *n += 1;
        let ordinal = *n;
        let mut h = Sha256::new();
        for l in &self.lines[old.clone()] {
            h.update(l.raw.as_bytes());
            h.update(b"\n");
        }
        h.update(b"=>\n");
        for l in &new {
            h.update(l.as_bytes());
            h.update(b"\n");
        }
        let hash: String = h.finalize().iter().take(3).map(|b| format!("{b:02x}")).collect();
        let mut cfgs = item.cfgs.clone();
        let mut parts = vec![self.part(item)];
        for e in extra {
            cfgs.extend(e.cfgs.iter().filter(|c| !item.cfgs.contains(c)).cloned());
            parts.push(self.part(e));
        }
        self.out.push(Mutant {
            id: format!("{}-{}{ordinal}-{hash}", self.func, op.name()),
            func: self.func.clone(),
            op,
            ordinal,
            line: item.code.iter().copied().find(|&k| !self.lines[k].code.starts_with("#[")).unwrap_or(item.span.start)
                + 1,
            what,
            old,
            new,
            cfgs,
            parts,
        });
    }

    /// Mutants of one block, then of the blocks nested in it, in source
    /// order; `outer` are the cfg predicates of the enclosing items.
    fn block(&mut self, range: std::ops::Range<usize>, outer: &[String]) {
        let mut items = parse_block(self.lines, range);
        for it in &mut items {
            let mut c = outer.to_vec();
            c.append(&mut it.cfgs);
            it.cfgs = c;
        }
        for (n, it) in items.iter().enumerate() {
            if self.is_op(it) {
                let keep: Vec<String> =
                    it.span.clone().filter(|k| !it.code.contains(k)).map(|k| self.lines[k].raw.to_string()).collect();
                let what = format!("drop `{}`", short(&self.text(it)));
                self.push(Op::Drop, it, it.span.clone(), keep, what, &[]);
                if let Some(next) = items.get(n + 1).filter(|nx| self.is_op(nx)) {
                    let (new, what) = self.swapped(it, next);
                    self.push(Op::Swap, it, it.span.start..next.span.end, new, what, &[next]);
                }
            }
            if let Kind::If(h) = it.kind {
                let raw = self.lines[h].raw;
                let indent = &raw[..raw.len() - raw.trim_start().len()];
                let cond = raw.trim().strip_prefix("if ").and_then(|c| c.strip_suffix('{')).unwrap_or("").trim_end();
                let mut new: Vec<String> = self.lines[it.span.clone()].iter().map(|l| l.raw.to_string()).collect();
                new[h - it.span.start] = format!("{indent}if !({cond}) {{");
                // Only the header: keep the mutant to that one line.
                let new = vec![new[h - it.span.start].clone()];
                let what = format!("negate `if {}`", short(cond));
                self.push(Op::Negate, it, h..h + 1, new, what, &[]);
            }
            // A nested block of an `if`/`else`, loop or region: its
            // statements run under the item's cfg.
            for b in &it.blocks {
                self.block(b.clone(), &it.cfgs);
            }
        }
    }

    /// The lines from `a` to `b` with the code lines of `a` and `b`
    /// exchanged; comment lines stay where they are.
    fn swapped(&self, a: &Item, b: &Item) -> (Vec<String>, String) {
        let span = a.span.start..b.span.end;
        let mut out = vec![];
        let mut placed_a = false;
        let mut placed_b = false;
        for k in span {
            let raw = self.lines[k].raw.to_string();
            if a.code.contains(&k) {
                if !placed_a {
                    out.extend(b.code.iter().map(|&x| self.lines[x].raw.to_string()));
                    placed_a = true;
                }
            } else if b.code.contains(&k) {
                if !placed_b {
                    out.extend(a.code.iter().map(|&x| self.lines[x].raw.to_string()));
                    placed_b = true;
                }
            } else {
                out.push(raw);
            }
        }
        let what = format!("swap `{}` and `{}`", short(&self.text(a)), short(&self.text(b)));
        (out, what)
    }
}

/// A statement on one short line: `unsafe { ` and `// ...` left out.
fn short(code: &str) -> String {
    let t = code.trim();
    let t =
        t.strip_prefix("unsafe {").map(|s| s.trim().trim_end_matches("};").trim_end_matches('}').trim()).unwrap_or(t);
    let t: String = t.split_whitespace().collect::<Vec<_>>().join(" ");
    if t.chars().count() > 70 {
        format!("{}...", t.chars().take(67).collect::<String>())
    } else {
        t
    }
}

/// The functions reached from [`ROOTS`] through calls in their bodies, in
/// file order.
fn reached(lines: &[Line], fns: &[Function]) -> Vec<Function> {
    let body = |f: &Function| lines[f.body.clone()].iter().map(|l| l.code.as_str()).collect::<Vec<_>>().join("\n");
    let mut seen: BTreeSet<String> = BTreeSet::new();
    let mut todo: Vec<String> = ROOTS.iter().map(|s| s.to_string()).collect();
    while let Some(n) = todo.pop() {
        let Some(f) = fns.iter().find(|f| f.name == n) else { continue };
        if !seen.insert(n) {
            continue;
        }
        let b = body(f);
        todo.extend(fns.iter().filter(|g| !seen.contains(&g.name) && calls(&b, &g.name)).map(|g| g.name.clone()));
    }
    fns.iter().filter(|f| seen.contains(&f.name)).cloned().collect()
}

/// Every mutant of the file's text, in source order.
pub fn generate(text: &str) -> Vec<Mutant> {
    let lines: Vec<Line> = text.lines().map(|raw| Line { raw, code: code_of(raw) }).collect();
    let fns = reached(&lines, &functions(&lines));
    let helpers: Vec<String> = fns.iter().map(|f| f.name.clone()).collect();
    let mut g = Gen { lines: &lines, helpers: &helpers, out: vec![], ordinals: BTreeMap::new(), func: String::new() };
    for f in &fns {
        g.func = f.name.clone();
        g.ordinals.clear();
        g.block(f.body.clone(), &[]);
    }
    g.out
}

/// The modules of building blocks (`linux/rust/kernel/entry/NAME.rs`)
/// the entry functions call as `NAME::function(`.
pub const BLOCK_MODULES: &[(&str, &str)] = &[
    ("lockdep", "lockdep"),
    ("ct", "ct"),
    ("arch", "arch/x86"),
    ("preempt", "preempt"),
    ("rseq", "rseq"),
    ("work", "work"),
    ("nmi", "nmi"),
    ("irq", "irq"),
    ("regs", "regs"),
];

/// A built kernel's configuration: the options set to `y`, and the
/// building blocks ([`BLOCK_MODULES`]) whose whole body is under a `cfg`
/// that is false there.
#[derive(Debug, Clone, Default)]
pub struct KConfig {
    pub options: BTreeSet<String>,
    /// `module::function` of every empty building block.
    pub empty: BTreeSet<String>,
}

impl KConfig {
    pub fn parse(dotconfig: &str) -> KConfig {
        KConfig {
            options: dotconfig
                .lines()
                .filter_map(|l| l.strip_suffix("=y"))
                .filter(|k| k.starts_with("CONFIG_"))
                .map(String::from)
                .collect(),
            empty: BTreeSet::new(),
        }
    }

    /// Notes the functions of a building-block module (its source text)
    /// that compile to nothing here: every item of the body is under a
    /// false `#[cfg]`.
    pub fn add_blocks(&mut self, module: &str, text: &str) {
        let lines: Vec<Line> = text.lines().map(|raw| Line { raw, code: code_of(raw) }).collect();
        // Methods too: `PtRegs::kmsan_unpoison_entry_regs()` is called as
        // `regs.kmsan_unpoison_entry_regs(` (see `TYPED_METHODS`).
        for f in functions_of(&lines, any_fn_name) {
            let items = parse_block(&lines, f.body.clone());
            // No items at all (x86's `arch_exit_to_user_mode_work()`), or
            // every item under a false `#[cfg]`.
            let empty = items.iter().all(|it| !it.cfgs.is_empty() && it.cfgs.iter().any(|c| self.eval(c) == Ok(false)));
            if empty {
                self.empty.insert(format!("{module}::{}", f.name));
            }
        }
    }

    /// Does this code do something here: call a building block that is
    /// not empty, a binding, or store through `entry_field!`?
    fn live_code(&self, code: &str) -> bool {
        if code.contains("bindings::") || code.contains("entry_field!(") || code.contains("return") {
            return true;
        }
        if TYPED_TRANSITIONS.iter().any(|t| code.contains(t)) {
            return true;
        }
        if TYPED_METHODS.iter().any(|(m, block)| code.contains(m) && !self.empty.contains(*block)) {
            return true;
        }
        BLOCK_MODULES.iter().any(|(m, _)| {
            let pat = format!("{m}::");
            code.match_indices(&pat).any(|(i, _)| {
                let name: String =
                    code[i + pat.len()..].chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
                !self.empty.contains(&format!("{m}::{name}"))
            })
        })
    }

    /// Evaluates a `cfg` predicate: `CONFIG_X`, `not(..)`, `all(..)`,
    /// `any(..)`. Anything else is an error.
    pub fn eval(&self, pred: &str) -> std::result::Result<bool, String> {
        let p = pred.trim();
        let args = |inner: &str| -> std::result::Result<Vec<bool>, String> {
            split_top(inner).iter().map(|a| self.eval(a)).collect()
        };
        if let Some(inner) = p.strip_prefix("not(").and_then(|s| s.strip_suffix(')')) {
            return Ok(!self.eval(inner)?);
        }
        if let Some(inner) = p.strip_prefix("all(").and_then(|s| s.strip_suffix(')')) {
            return Ok(args(inner)?.into_iter().all(|b| b));
        }
        if let Some(inner) = p.strip_prefix("any(").and_then(|s| s.strip_suffix(')')) {
            return Ok(args(inner)?.into_iter().any(|b| b));
        }
        if p.starts_with("CONFIG_") && p.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Ok(self.options.contains(p));
        }
        Err(format!("cannot evaluate cfg `{p}`"))
    }
}

/// Splits `a, all(b, c), d` at its top-level commas.
fn split_top(s: &str) -> Vec<String> {
    let mut out = vec![];
    let mut depth = 0;
    let mut cur = String::new();
    for c in s.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                out.push(std::mem::take(&mut cur));
                continue;
            }
            _ => {}
        }
        cur.push(c);
    }
    if !cur.trim().is_empty() {
        out.push(cur);
    }
    out
}

/// Why a mutant is not compiled into this configuration (None: it is).
/// A helper is empty when none of its own mutants is compiled in.
pub fn not_compiled(m: &Mutant, all: &[Mutant], cfg: &KConfig) -> Option<String> {
    for p in &m.cfgs {
        match cfg.eval(p) {
            Ok(true) => {}
            Ok(false) => return Some(format!("under #[cfg({p})], false in this .config")),
            Err(e) => return Some(e),
        }
    }
    // Each statement dropped or moved (the `if` negated) must do something
    // in this configuration: call a building block that is not empty, or a
    // helper of the file that is not.
    let live = |h: &str| all.iter().any(|o| o.func == h && o.op == Op::Drop && not_compiled(o, all, cfg).is_none());
    for (code, helpers) in &m.parts {
        if !cfg.live_code(code) && helpers.iter().all(|h| !live(h)) {
            let mut what: Vec<String> = helpers.clone();
            what.extend(cfg.empty.iter().filter(|b| code.contains(b.as_str())).cloned());
            return Some(format!(
                "{} compiles to nothing in this .config",
                if what.is_empty() { "the code".to_string() } else { what.join(", ") }
            ));
        }
    }
    None
}

/// A unified diff of `lines` with `old` replaced by `new`.
pub fn unified(lines: &[&str], old: std::ops::Range<usize>, new: &[String], path: &str) -> String {
    let a: Vec<&str> = lines[old.clone()].to_vec();
    let b: Vec<&str> = new.iter().map(String::as_str).collect();
    // LCS of the two short regions.
    let (n, m) = (a.len(), b.len());
    let mut t = vec![vec![0usize; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            t[i][j] = if a[i] == b[j] { t[i + 1][j + 1] + 1 } else { t[i + 1][j].max(t[i][j + 1]) };
        }
    }
    let mut body: Vec<String> = vec![];
    let (mut i, mut j) = (0, 0);
    while i < n || j < m {
        if i < n && j < m && a[i] == b[j] {
            body.push(format!(" {}", a[i]));
            i += 1;
            j += 1;
        } else if j < m && (i == n || t[i][j + 1] >= t[i + 1][j]) {
            body.push(format!("+{}", b[j]));
            j += 1;
        } else {
            body.push(format!("-{}", a[i]));
            i += 1;
        }
    }
    let pre = old.start.saturating_sub(3);
    let post = (old.end + 3).min(lines.len());
    let mut hunk: Vec<String> = lines[pre..old.start].iter().map(|l| format!(" {l}")).collect();
    hunk.extend(body);
    hunk.extend(lines[old.end..post].iter().map(|l| format!(" {l}")));
    let old_len = post - pre;
    let new_len = old_len - n + m;
    let start = |len: usize| if len == 0 { pre } else { pre + 1 };
    let mut s =
        format!("--- a/{path}\n+++ b/{path}\n@@ -{},{old_len} +{},{new_len} @@\n", start(old_len), start(new_len));
    for l in hunk {
        s.push_str(&l);
        s.push('\n');
    }
    s
}

/// SHA-256 (hex) of a mutant's diff: a result is kept for the same text.
pub fn text_hash(diff: &str) -> String {
    crate::memo::fingerprint(&[diff])
}

/// Why surviving mutants are equivalent (`lab/mutants-equivalent.toml`:
/// `ID = "reason"`).
pub fn load_equivalent(text: &str) -> Result<BTreeMap<String, String>> {
    let t: BTreeMap<String, String> = toml::from_str(text).context("not a table of `ID = \"reason\"`")?;
    if let Some((id, _)) = t.iter().find(|(_, r)| r.trim().is_empty()) {
        anyhow::bail!("{id}: an empty reason");
    }
    Ok(t)
}

/// The judgement on one mutant.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// A test (or objtool, or a crash) noticed it: `stage` is `objtool`,
    /// `kunit` or `boot`, `by` says what there.
    Killed { stage: String, by: String, detail: String },
    /// It does not compile: not counted.
    Stillborn { detail: String },
    /// Every test passed.
    Survived { detail: String },
}

impl Verdict {
    /// The line of the summary it counts in.
    pub fn class(&self) -> String {
        match self {
            Verdict::Killed { stage, by, .. } => match stage.as_str() {
                "objtool" => "killed by objtool (noinstr)".into(),
                _ if by.contains("did not complete") => format!("killed by a {stage} crash or hang"),
                _ if by == "console splat" => "killed by a console splat at boot".into(),
                "kunit" => "killed by a KUnit case".into(),
                _ => "killed by a guest test".into(),
            },
            Verdict::Stillborn { .. } => "stillborn (does not compile)".into(),
            Verdict::Survived { .. } => "survived".into(),
        }
    }

    pub fn word(&self) -> &'static str {
        match self {
            Verdict::Killed { .. } => "killed",
            Verdict::Stillborn { .. } => "stillborn",
            Verdict::Survived { .. } => "survived",
        }
    }
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Verdict::Killed { stage, by, .. } if stage == "objtool" || by.starts_with(stage.as_str()) => {
                write!(f, "killed by {by}")
            }
            Verdict::Killed { stage, by, .. } => write!(f, "killed by {stage} {by}"),
            Verdict::Stillborn { detail } => write!(f, "stillborn: {detail}"),
            Verdict::Survived { .. } => write!(f, "SURVIVED"),
        }
    }
}

/// One stored judgement (`results/mutate.json`).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Record {
    pub verdict: Verdict,
    /// Wall-clock time of its build, KUnit run and boot.
    pub seconds: u64,
    /// Of that, the time spent waiting for the machine-wide build lock
    /// (other engineers' builds); None in records from before it was kept.
    #[serde(default)]
    pub waited: Option<u64>,
    /// The series tip it was judged on.
    pub tip: String,
    /// [`text_hash`] of the mutant's diff.
    pub text: String,
    pub what: String,
}

/// The stored judgements, by mutant id.
pub type Records = BTreeMap<String, Record>;

#[cfg(test)]
mod tests {
    use super::*;

    const SRC: &str = r#"// SPDX-License-Identifier: GPL-2.0
//! Doc: lockdep::lockdep_hardirqs_off(ip) in a comment is no statement.

#[inline(always)]
fn helper(ni: &Noinstr) {
    // C: lockdep_hardirqs_off();
    // SAFETY: test.
    unsafe { lockdep::lockdep_hardirqs_off(0) };
    // C: ct_irq_enter();
    unsafe { ct::ct_irq_enter() };
    ni.instrumentation(|ins| {
        // SAFETY: test.
        unsafe { lockdep::trace_hardirqs_off_finish(ins) };
    });
}

#[inline(always)]
fn empty(_ins: &Instr) {
    #[cfg(CONFIG_KMSAN)]
    // SAFETY: test.
    unsafe {
        bindings::kmsan_unpoison_entry_regs(0)
    };
}

fn unused() {
    unsafe { ct::ct_irq_exit() };
}

#[export]
pub unsafe extern "C" fn irqentry_enter(
    regs: *mut bindings::pt_regs,
) -> bindings::irqentry_state_t {
    let ni = unsafe { Noinstr::assume() };
    let x = 1;
    // C: if (user_mode(regs)) {
    if regs.user_mode() {
        helper(&ni);
        return 0;
    }
    empty(&ins);
    unsafe { ct::ct_irq_exit() };
    0
}
"#;

    fn by_id<'a>(ms: &'a [Mutant], prefix: &str) -> &'a Mutant {
        ms.iter().find(|m| m.id.starts_with(prefix)).unwrap_or_else(|| panic!("no {prefix}: {ms:#?}"))
    }

    #[test]
    fn drop_swap_and_negate() {
        let ms = generate(SRC);
        let ids: Vec<String> = ms.iter().map(|m| m.id.rsplit_once('-').unwrap().0.to_string()).collect();
        assert_eq!(
            ids,
            [
                "helper-drop1",
                "helper-swap1",
                "helper-drop2",
                "helper-swap2",
                "helper-drop3",
                "helper-drop4",
                "empty-drop1",
                "irqentry_enter-negate1",
                "irqentry_enter-drop1",
                "irqentry_enter-drop2",
                "irqentry_enter-swap1",
                "irqentry_enter-drop3",
            ]
        );
        // Drop: the statement goes, its comments stay.
        let d = by_id(&ms, "helper-drop2").apply(SRC);
        assert!(!d.contains("ct::ct_irq_enter()") && d.contains("// C: ct_irq_enter();"), "{d}");
        assert_eq!(d.lines().count(), SRC.lines().count() - 1);
        // A region is one statement: dropped whole, its comment kept.
        let r = by_id(&ms, "helper-drop3").apply(SRC);
        assert!(!r.contains("instrumentation(") && !r.contains("trace_hardirqs_off_finish"), "{r}");
        assert!(r.contains("        // SAFETY: test.\n}"), "{r}");
        // Drop with an attribute: both go.
        let e = by_id(&ms, "empty-drop1").apply(SRC);
        assert!(!e.contains("#[cfg(CONFIG_KMSAN)]") && !e.contains("kmsan_unpoison"), "{e}");
        // Swap: the code lines change places, the comments do not.
        let s = by_id(&ms, "helper-swap1").apply(SRC);
        let want = "    // C: lockdep_hardirqs_off();\n    // SAFETY: test.\n    unsafe { ct::ct_irq_enter() };\n    // C: ct_irq_enter();\n    unsafe { lockdep::lockdep_hardirqs_off(0) };\n";
        assert!(s.contains(want), "{s}");
        // Negate: the header only.
        let n = by_id(&ms, "irqentry_enter-negate1");
        assert_eq!(n.new, ["    if !(regs.user_mode()) {"]);
        assert_eq!(n.old, 36..37);
        assert_eq!(n.line, 37);
    }

    #[test]
    fn nothing_outside_the_bodies_and_no_comment_changes() {
        let ms = generate(SRC);
        // `unused` is not reached from a root; nothing in the doc comment.
        assert!(ms.iter().all(|m| m.func != "unused"), "{ms:#?}");
        let orig: Vec<&str> = SRC.lines().collect();
        let comments = |t: &str| -> Vec<String> {
            t.lines().filter(|l| l.trim_start().starts_with("//")).map(String::from).collect()
        };
        for m in &ms {
            let t = m.apply(SRC);
            assert_eq!(comments(&t), comments(SRC), "{}", m.id);
            // Every changed line is inside a body of a reached function.
            let lines: Vec<Line> = SRC.lines().map(|raw| Line { raw, code: code_of(raw) }).collect();
            let bodies = reached(&lines, &functions(&lines));
            assert_eq!(
                bodies.iter().map(|f| f.name.as_str()).collect::<Vec<_>>(),
                ["helper", "empty", "irqentry_enter"]
            );
            assert!(m.old.clone().all(|l| bodies.iter().any(|f| f.body.contains(&l))), "{} changes {:?}", m.id, m.old);
            assert!(orig[..m.old.start] == t.lines().collect::<Vec<_>>()[..m.old.start]);
        }
    }

    #[test]
    fn ids_are_stable_and_name_the_change() {
        let a = generate(SRC);
        assert_eq!(a, generate(SRC));
        // An edit elsewhere (a comment, a line more above) keeps the ids.
        let moved = SRC.replace("//! Doc:", "//! More doc.\n//! Doc:");
        let b = generate(&moved);
        assert_eq!(a.iter().map(|m| &m.id).collect::<Vec<_>>(), b.iter().map(|m| &m.id).collect::<Vec<_>>());
        // Another statement text: another hash.
        let other = SRC.replace("ct::ct_irq_enter()", "ct::ct_nmi_enter()");
        let c = generate(&other);
        assert_ne!(by_id(&a, "helper-drop2").id, by_id(&c, "helper-drop2").id);
        assert_eq!(by_id(&a, "helper-drop1").id, by_id(&c, "helper-drop1").id);
    }

    #[test]
    fn config_decides_what_is_compiled() {
        let ms = generate(SRC);
        let off = KConfig::parse("CONFIG_X=y\n# CONFIG_KMSAN is not set\n");
        let on = KConfig::parse("CONFIG_KMSAN=y\n");
        let e = by_id(&ms, "empty-drop1");
        assert!(not_compiled(e, &ms, &off).unwrap().contains("cfg(CONFIG_KMSAN)"));
        assert_eq!(not_compiled(e, &ms, &on), None);
        // The call of an empty helper is not compiled either.
        let call = by_id(&ms, "irqentry_enter-drop2");
        assert!(call.what.contains("empty(&ins)"), "{call:?}");
        assert!(not_compiled(call, &ms, &off).unwrap().contains("empty compiles to nothing"));
        assert_eq!(not_compiled(call, &ms, &on), None);
        assert_eq!(not_compiled(by_id(&ms, "irqentry_enter-drop1"), &ms, &off), None);
        assert_eq!(off.eval("all(CONFIG_X, not(any(CONFIG_KMSAN, CONFIG_Y)))"), Ok(true));
        assert!(off.eval("feature = \"x\"").is_err());
        // A building block whose body is all under a false cfg is empty:
        // statements that call only it are not compiled in.
        let mut off = off;
        off.add_blocks(
            "lockdep",
            "pub unsafe fn lockdep_hardirqs_off(ip: usize) {\n    #[cfg(CONFIG_PROVE_LOCKING)]\n    // SAFETY: x.\n    unsafe {\n        f(ip)\n    };\n}\n\npub fn other() {\n    f();\n}\n",
        );
        assert_eq!(off.empty.iter().collect::<Vec<_>>(), ["lockdep::lockdep_hardirqs_off"]);
        // A method of an `impl` block counts too, and ends at its own `}`:
        // the method after it is not swallowed into its body.
        let mut m = KConfig::parse("");
        m.add_blocks(
            "regs",
            "impl PtRegs {\n    pub fn kmsan(&self) {\n        #[cfg(CONFIG_KMSAN)]\n        // SAFETY: x.\n        unsafe { f() };\n    }\n\n    pub fn cs(&self) -> u64 {\n        g()\n    }\n}\n",
        );
        assert_eq!(m.empty.iter().collect::<Vec<_>>(), ["regs::kmsan"]);
        // A function with an empty body is empty too.
        let mut e = KConfig::parse("");
        e.add_blocks("arch", "pub fn hook(_a: &A) {}\n\npub fn work(_a: &A) {\n}\n");
        assert_eq!(e.empty.iter().collect::<Vec<_>>(), ["arch::hook", "arch::work"]);
        let d = by_id(&ms, "helper-drop1");
        assert!(not_compiled(d, &ms, &off).unwrap().contains("lockdep::lockdep_hardirqs_off"), "{d:?}");
        // The negated `if` calls a live helper: compiled.
        assert_eq!(not_compiled(by_id(&ms, "irqentry_enter-negate1"), &ms, &off), None);
        assert_eq!(not_compiled(by_id(&ms, "helper-drop2"), &ms, &off), None);
    }

    #[test]
    fn typed_steps_are_mutated_and_always_compiled_in() {
        let src = "pub unsafe extern \"C\" fn irqentry_nmi_exit() {\n    let nmi = unsafe { Nmi::resume(&ni, s, ip) };\n    let nmi = nmi.ct_nmi_exit();\n    let x = 1;\n    nmi.ftrace_nmi_exit(ins);\n    nmi.lockdep_on();\n}\n";
        let ms = generate(src);
        let whats: Vec<&str> = ms.iter().map(|m| m.what.as_str()).collect();
        assert!(whats.contains(&"drop `let nmi = nmi.ct_nmi_exit();`"), "{whats:?}");
        assert!(whats.contains(&"drop `nmi.lockdep_on();`"), "{whats:?}");
        assert!(!whats.iter().any(|w| w.contains("let x") || w.contains("Nmi::resume")), "{whats:?}");
        // A transition is compiled in whatever the config; an `&self` step
        // only when its building block is not empty.
        let mut cfg = KConfig::parse("");
        cfg.empty.insert("nmi::ftrace_nmi_callbacks".into());
        let by_what = |w: &str| ms.iter().find(|m| m.what == w).unwrap();
        assert_eq!(not_compiled(by_what("drop `let nmi = nmi.ct_nmi_exit();`"), &ms, &cfg), None);
        assert_eq!(not_compiled(by_what("drop `nmi.lockdep_on();`"), &ms, &cfg), None);
        assert!(not_compiled(by_what("drop `nmi.ftrace_nmi_exit(ins);`"), &ms, &cfg).is_some());
    }

    #[test]
    fn a_diff_git_can_apply() {
        let t = crate::util::TempDir::new("mutate").unwrap();
        let dir = t.path();
        let file = dir.join(PATH);
        crate::util::write(&file, SRC).unwrap();
        for m in generate(SRC) {
            let diff = dir.join("m.diff");
            crate::util::write(&diff, m.diff(SRC)).unwrap();
            let out = std::process::Command::new("git")
                .current_dir(dir)
                .args(["apply", "--check", "--whitespace=nowarn", "m.diff"])
                .output()
                .unwrap();
            assert!(out.status.success(), "{}: {}\n{}", m.id, String::from_utf8_lossy(&out.stderr), m.diff(SRC));
            let out = std::process::Command::new("git")
                .current_dir(dir)
                .args(["apply", "--whitespace=nowarn", "m.diff"])
                .output()
                .unwrap();
            assert!(out.status.success());
            assert_eq!(crate::util::read(&file).unwrap(), m.apply(SRC), "{}", m.id);
            crate::util::write(&file, SRC).unwrap();
        }
    }

    #[test]
    fn equivalents_need_a_reason() {
        let e = load_equivalent("a-drop1-abcdef = \"empty without lockdep\"\n").unwrap();
        assert_eq!(e["a-drop1-abcdef"], "empty without lockdep");
        assert!(load_equivalent("a-drop1-abcdef = \"\"\n").is_err());
        assert!(load_equivalent("a = 1\n").is_err());
    }
}
