//! Host tests of the `#[noinstr]` attribute: the series' own
//! `linux/rust/macros/noinstr.rs`, compiled here against crates.io `syn`,
//! `quote` and `proc-macro2` (the kernel vendors the same crates), fed the
//! uses the attribute must accept and each misuse it must reject.

// A kernel file: formatted by the kernel's .rustfmt.toml (`./entry-lab
// style`), so the lab's `cargo fmt` must leave it alone.
#[path = "../../linux/rust/macros/noinstr.rs"]
#[allow(dead_code)]
#[rustfmt::skip]
mod noinstr;

fn expand(src: &str) -> Result<String, String> {
    let item: syn::Item = syn::parse_str(src).map_err(|e| format!("test input does not parse: {e}"))?;
    noinstr::noinstr(item).map(|ts| ts.to_string()).map_err(|e| e.to_string())
}

fn rejected(src: &str) -> String {
    match expand(src) {
        Ok(out) => panic!("accepted `{src}`: {out}"),
        Err(e) => e,
    }
}

#[test]
fn places_the_function_in_noinstr_text_and_never_inlines_it() {
    let out = expand("#[unsafe(no_mangle)] pub unsafe extern \"C\" fn irqentry_enter() {}").unwrap();
    assert!(out.starts_with("# [unsafe (link_section = \".noinstr.text\")] # [inline (never)]"), "{out}");
    assert!(out.contains("fn irqentry_enter"), "{out}");
    assert!(expand("fn helper() {}").is_ok());
    assert!(expand("extern fn implicit_c() {}").is_ok());
}

#[test]
fn misuse_is_a_compile_error_that_says_why() {
    assert!(rejected("fn f<T>(_: T) {}").contains("cannot be generic"));
    assert!(rejected("fn f() where u8: Copy {}").contains("cannot be generic"));
    assert!(rejected("async fn f() {}").contains("cannot be applied to `async fn`"));
    assert!(rejected("const fn f() {}").contains("cannot be applied to `const fn`"));
    assert!(rejected("struct S;").contains("can only be applied to functions"));
    assert!(rejected("static X: u8 = 0;").contains("can only be applied to functions"));
    assert!(rejected("#[inline(always)] fn f() {}").contains("already implies `#[inline(never)]`"));
    assert!(rejected("#[unsafe(link_section = \".text\")] fn f() {}").contains("already places"));
    let e = rejected("#[unsafe(no_mangle)] pub fn f() {}");
    assert!(e.contains("must be declared `extern \"C\"`"), "{e}");
    assert!(rejected("#[no_mangle] pub extern \"Rust\" fn f() {}").contains("extern \"C\""));
    assert!(rejected("#[export] pub unsafe fn f() {}").contains("extern \"C\""));
}
