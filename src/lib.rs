//! broadsheet composes a newsroom's weekly email newsletter from a TOML volume file: it
//! renders the volume through a Handlebars layout into MJML and HTML (with mrml) and a plain
//! text part, checks it, scaffolds the next volume, and publishes every volume as a static
//! web archive with an Atom feed.
//!
//! The pipeline's stages are plain functions over plain data: [`volume`] reads a file,
//! [`layout`] loads templates, [`render`] produces MJML, HTML and text, [`lint`] checks the
//! output, and [`pipeline`] runs them all for the commands in `cmd`; [`archive`] builds the
//! web archive from the pipeline's output.

pub mod archive;
pub mod audience;
pub mod bounces;
pub mod cli;
pub mod clicks;
pub mod clock;
mod cmd;
pub mod date;
pub mod diag;
pub mod dispatch;
pub mod encoding;
mod http_guard;
pub mod layout;
pub mod ledger;
pub mod lint;
pub mod markdown;
pub mod message;
pub mod pipeline;
pub mod preview;
mod private;
pub mod project;
pub mod render;
pub mod scaffold;
pub mod serve;
pub mod settings;
pub mod status;
mod toml_diag;
pub mod transport;
pub mod unsubscribe;
mod url;
pub mod verp;
pub mod volume;

use std::fmt;
use std::io::Write as _;

use cli::{Cli, Command};
use clock::Timestamp;
use project::Project;

/// An error that has already been reported to the user; the process exits with status 1.
#[derive(Debug)]
pub struct Reported;

impl fmt::Display for Reported {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("errors were reported")
    }
}

impl std::error::Error for Reported {}

/// A dispatch that stopped before its end and can be resumed: the process exits with
/// [`RESUMABLE_EXIT`].
#[derive(Debug)]
pub struct Resumable;

/// The exit status of an interrupted, resumable dispatch (`EX_TEMPFAIL`).
pub const RESUMABLE_EXIT: u8 = 75;

impl fmt::Display for Resumable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the dispatch stopped and can be resumed")
    }
}

impl std::error::Error for Resumable {}

/// Runs one command line.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    let cwd = std::env::current_dir()?;
    // Found when a command needs it: `init`, `completions` and `man` work anywhere.
    let project = || Project::discover(&cwd);
    match cli.command {
        Command::Init(args) => cmd::init::run(&cwd, &args, Timestamp::now()),
        Command::Completions(args) => cmd::manual::completions(&args),
        Command::Man(args) => cmd::manual::man(&args),
        Command::Build(args) => cmd::build::run(&project()?, &args),
        Command::Check(args) => cmd::check::run(&project()?, &args),
        Command::New(args) => cmd::new::run(&project()?, &args),
        Command::Preview(args) => cmd::preview::run(&project()?, &args),
        Command::Archive(args) => cmd::archive::run(&project()?, &args),
        Command::Plan(args) => cmd::plan::run(&project()?, &args, Timestamp::now()),
        Command::Dispatch(args) => cmd::dispatch::run(&project()?, &args, Timestamp::now()),
        Command::Status(args) => cmd::status::run(&project()?, &args),
        Command::Report(args) => cmd::report::run(&project()?, &args),
        Command::Recipients(args) => cmd::recipients::run(&project()?, &args),
        Command::Suppress(args) => cmd::suppress::run(&project()?, &args, Timestamp::now()),
        Command::UnsubscribeToken(args) => cmd::unsubscribe_token::run(&project()?, &args),
        Command::Proof(args) => cmd::proof::run(&project()?, &args, Timestamp::now()),
        Command::Serve(args) => cmd::serve::run(&project()?, &args),
        Command::Bounces(args) => cmd::bounces::run(&project()?, &args, Timestamp::now()),
    }
}

/// Writes a line to standard output.
pub(crate) fn say(line: fmt::Arguments<'_>) -> std::io::Result<()> {
    print(format_args!("{line}\n"))
}

/// Writes text to standard output. A closed output (`broadsheet ... | head`) is a broken
/// pipe error carrying [`StdoutClosed`], so that it can be told from a server hanging up.
pub(crate) fn print(text: fmt::Arguments<'_>) -> std::io::Result<()> {
    write!(std::io::stdout().lock(), "{text}").map_err(|e| {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::io::Error::new(e.kind(), StdoutClosed)
        } else {
            e
        }
    })
}

/// The reader of standard output went away: the process exits quietly with status 0.
#[derive(Debug)]
pub struct StdoutClosed;

impl fmt::Display for StdoutClosed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("standard output was closed")
    }
}

impl std::error::Error for StdoutClosed {}

/// Writes text to standard error, ending it with a newline if it has none.
pub(crate) fn say_err(text: fmt::Arguments<'_>) -> std::io::Result<()> {
    let text = text.to_string();
    let mut err = std::io::stderr().lock();
    err.write_all(text.as_bytes())?;
    if !text.ends_with('\n') {
        err.write_all(b"\n")?;
    }
    Ok(())
}
