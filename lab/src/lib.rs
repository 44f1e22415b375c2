//! entry-lab: from a fresh machine to the C and Rust generic entry code of
//! Linux 7.3.4 built, booted in QEMU and KUnit-tested, side by side.
//!
//! [`cli`] parses the command line and calls one module of [`commands`]
//! per command; the other modules are the machinery they share: the base
//! tree ([`base`]), the series ([`series`]), builds ([`build`]), KUnit
//! ([`kunit`]), boots ([`boot`], [`qemu`], [`guest`], [`upstream`]), the
//! report ([`report`], [`flaky`]), the benchmark ([`bench`]), the config
//! matrix ([`matrix`]), deliberate faults ([`fault`]), the mutation sweep
//! ([`mutate`]), style checks ([`style`]), symbol checks ([`symbols`]), the
//! drift check of the mirrored C code ([`mirror`]) and kept results
//! ([`memo`]). Nothing below [`commands`] calls up into it.

pub mod arm64;
pub mod arm64_boot;
pub mod arm64_identity;
pub mod base;
pub mod bench;
pub mod bisect;
pub mod boot;
pub mod build;
pub mod cli;
pub mod commands;
pub mod compile_fail;
pub mod fault;
pub mod flaky;
pub mod guest;
pub mod kunit;
pub mod lab;
pub mod matrix;
pub mod memo;
pub mod mirror;
pub mod mutate;
pub mod noinstr_check;
#[cfg(test)]
mod noinstr_tests;
pub mod qemu;
pub mod report;
pub mod series;
pub mod setup;
pub mod style;
pub mod symbols;
pub mod upstream;
pub mod util;
