// SPDX-License-Identifier: GPL-2.0

//! Implementation of the `#[noinstr]` attribute.

use proc_macro2::TokenStream;
use quote::quote;
use syn::{
    Attribute,
    Error,
    Item,
    ItemFn,
    Meta,
    Result, //
};

/// Returns true if `attr` is `#[no_mangle]`, `#[unsafe(no_mangle)]` or `#[export]`.
///
/// `#[export]` (see [`crate::export`]) expands to `#[no_mangle]`, so it is treated the same way.
fn is_no_mangle(attr: &Attribute) -> bool {
    let path = attr.path();
    if path.is_ident("no_mangle") || path.is_ident("export") {
        return true;
    }
    if !path.is_ident("unsafe") {
        return false;
    }
    // `#[unsafe(no_mangle)]`: the argument is a single path.
    match &attr.meta {
        Meta::List(list) => list
            .parse_args::<syn::Path>()
            .map(|p| p.is_ident("no_mangle"))
            .unwrap_or(false),
        _ => false,
    }
}

/// Returns true if `attr` is an `#[unsafe(link_section = ...)]` or `#[link_section = ...]`.
fn is_link_section(attr: &Attribute) -> bool {
    let path = attr.path();
    if path.is_ident("link_section") {
        return true;
    }
    if !path.is_ident("unsafe") {
        return false;
    }
    match &attr.meta {
        Meta::List(list) => list
            .parse_args::<syn::MetaNameValue>()
            .map(|nv| nv.path.is_ident("link_section"))
            .unwrap_or(false),
        _ => false,
    }
}

fn check(f: &ItemFn) -> Result<()> {
    let sig = &f.sig;

    if !sig.generics.params.is_empty() || sig.generics.where_clause.is_some() {
        return Err(Error::new_spanned(
            &sig.generics,
            "`#[noinstr]` functions cannot be generic: a generic function is instantiated in the \
             crate that uses it and there is no guarantee that the instance lands in \
             `.noinstr.text`",
        ));
    }

    if let Some(asyncness) = &sig.asyncness {
        return Err(Error::new_spanned(
            asyncness,
            "`#[noinstr]` cannot be applied to `async fn`: the body would run from a future's \
             `poll()`, which is not placed in `.noinstr.text`",
        ));
    }

    if let Some(constness) = &sig.constness {
        return Err(Error::new_spanned(
            constness,
            "`#[noinstr]` cannot be applied to `const fn`",
        ));
    }

    for attr in &f.attrs {
        if attr.path().is_ident("inline") {
            return Err(Error::new_spanned(
                attr,
                "`#[noinstr]` already implies `#[inline(never)]`; remove this attribute",
            ));
        }
        if is_link_section(attr) {
            return Err(Error::new_spanned(
                attr,
                "`#[noinstr]` already places the function in `.noinstr.text`; remove this \
                 attribute",
            ));
        }
    }

    if let Some(attr) = f.attrs.iter().find(|a| is_no_mangle(a)) {
        let is_extern_c = match &sig.abi {
            // `extern fn` without a string is `extern "C"`.
            Some(abi) => abi.name.as_ref().is_none_or(|name| name.value() == "C"),
            None => false,
        };
        if !is_extern_c {
            return Err(Error::new_spanned(
                attr,
                "`#[noinstr]` functions with an unmangled name are called from C or assembly and \
                 must be declared `extern \"C\"`",
            ));
        }
    }

    Ok(())
}

/// Please see [`crate::noinstr`] for documentation.
pub(crate) fn noinstr(item: Item) -> Result<TokenStream> {
    let Item::Fn(f) = item else {
        return Err(Error::new_spanned(
            item,
            "`#[noinstr]` can only be applied to functions",
        ));
    };

    check(&f)?;

    Ok(quote! {
        #[unsafe(link_section = ".noinstr.text")]
        #[inline(never)]
        #f
    })
}
