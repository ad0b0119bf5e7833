//! `broadsheet completions SHELL` and `broadsheet man [--out DIR]`: the shell completion
//! script and the manual pages, generated from the command line's own definition (clap), so
//! that they never fall behind it.

use std::path::Path;

use anyhow::Context as _;
use clap::CommandFactory as _;

use super::say;
use crate::cli::{Cli, CompletionsArgs, ManArgs};
use crate::diag::display_path;

pub(crate) fn completions(args: &CompletionsArgs) -> anyhow::Result<()> {
    let mut command = Cli::command();
    let mut out = std::io::stdout().lock();
    clap_complete::generate(args.shell, &mut command, "broadsheet", &mut out);
    Ok(())
}

pub(crate) fn man(args: &ManArgs) -> anyhow::Result<()> {
    let command = Cli::command();
    match &args.out {
        None => {
            let mut out = std::io::stdout().lock();
            clap_mangen::Man::new(command).render(&mut out)?;
            Ok(())
        }
        Some(dir) => write_pages(command, dir),
    }
}

/// Writes `broadsheet.1` and one page per command and action (`broadsheet-suppress-add.1`)
/// into `dir`.
fn write_pages(command: clap::Command, dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", display_path(dir)))?;
    clap_mangen::generate_to(command, dir)
        .with_context(|| format!("cannot write the manual pages into {}", display_path(dir)))?;
    say(format_args!(
        "wrote the manual pages into {}; read one with `man -l {}/broadsheet.1`",
        display_path(dir),
        display_path(dir)
    ))?;
    Ok(())
}
