//! One module per command of the CLI (see `cli.rs`). Each is a short
//! sequence of steps from the library; the jobs (`run`, `test`) are the
//! long ones.

pub mod arm64;
pub mod assemble;
pub mod bench;
pub mod bisect;
pub mod boot;
pub mod build;
pub mod compile_fail;
pub mod export;
pub mod fault;
pub mod fetch;
pub mod kunit;
pub mod matrix;
pub mod mutate;
pub mod run;
pub mod setup;
pub mod style;
pub mod test;
