//! `entry-lab style`: rustfmt, checkpatch.pl, clippy, rustdoc and htmldocs on the series.

use crate::lab::Lab;
use crate::util::Result;

pub fn run(lab: &Lab) -> Result<bool> {
    let s = crate::series::assemble_tree(lab)?;
    let mails = crate::series::export_checked(lab, &s, None, &Default::default())?;
    let mut ok = true;
    for (name, found) in [
        ("rustfmt", crate::style::rustfmt(lab)?),
        ("checkpatch", crate::style::checkpatch(lab, &mails)?),
        ("clippy", crate::style::clippy(lab)?),
        ("rustdoc", crate::style::rustdoc(lab)?),
        ("htmldocs", crate::style::htmldocs(lab)?),
    ] {
        for f in &found {
            println!("{name}: {f}");
        }
        println!("{name}: {}", if found.is_empty() { "clean" } else { "FINDINGS" });
        ok &= found.is_empty();
    }
    Ok(ok)
}
