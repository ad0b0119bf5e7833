//! broadsheet composes a newsroom's weekly email newsletter from a TOML volume file,
//! sends it to the newsroom's readers through an SMTP relay with a durable ledger, and
//! hears what comes back. A library and a thin binary: [`run`] runs one command line, and
//! only the commands (`cmd`), `main` and the servers' own lines print; everything below
//! them returns values (diagnostics, errors such as [`Refused`], an operator's notes).
//!
//! The rooms, from the ground up (a room imports only those below it):
//!
//! - **the floor**: [`settings`] (`broadsheet.toml`, checked like code), [`clock`] (the
//!   one place that reads the time), [`diag`] (compiler-style diagnostics), `status`
//!   (SMTP and enhanced status codes, and the one classifier of refusals and reports);
//! - **compose**: [`volume`] reads a file, [`layout`] loads templates, [`render`] produces
//!   MJML, HTML and text, `lint` checks the output, [`pipeline`] runs them all;
//!   `archive` builds the web archive from its output;
//! - **the audience**: [`audience`] (recipient files, imports, segments, topics, and the
//!   audience store of sign-ups, choices and suppressions);
//! - **send**: [`message`] (one reader's bytes from a rendered variant, then
//!   [`message::outgoing`], the one assembly every mail leaves through: DKIM, the envelope,
//!   VERP), [`transport`] (the outbox or an SMTP relay), `ledger` (what happened to each
//!   message, durably) and `dispatch` (plan, confirm, send, resume);
//! - **return**: `bounces` (reports from files, IMAP and webhooks, classified, tied to a
//!   message we sent, applied), with [`verp`] and [`unsubscribe`] making and checking the
//!   tokens that tie them;
//! - **the readers' service and the editors' preview**: `serve` and `preview`, axum
//!   servers sharing one guard.
//!
//! The library's API is [`run`] (with [`cli`], what the binary calls) and the modules linked
//! above, which the tests and benches build on: composing ([`pipeline::compose`]), a
//! reader's message and its tokens, the audience store, the transports. The rest (`cmd`,
//! `dispatch`, `ledger`, `bounces`, `serve`, `preview`, `archive`, `lint`, `status`, …) is
//! internal to the crate (`unreachable_pub` keeps every item's visibility honest), and is
//! reached through the commands.

#![warn(unreachable_pub)]

pub(crate) mod archive;
pub mod audience;
pub(crate) mod bounces;
pub mod cli;
pub mod clicks;
pub mod clock;
mod cmd;
pub mod date;
pub mod diag;
pub(crate) mod dispatch;
pub mod encoding;
mod http_guard;
pub mod layout;
pub(crate) mod ledger;
pub(crate) mod lint;
pub(crate) mod markdown;
pub mod message;
pub mod pipeline;
pub(crate) mod preview;
mod private;
pub mod project;
pub mod render;
pub(crate) mod scaffold;
pub(crate) mod serve;
pub mod settings;
pub(crate) mod status;
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

/// What the library refused, with its diagnostics: `shown` (each problem as a compiler
/// prints it) and the `error: ...` line that says what was not done. The library returns
/// it; `main` prints it and exits with status 1.
#[derive(Debug)]
pub struct Refused {
    shown: String,
    last: String,
}

impl Refused {
    /// A refusal of what `shown` explains, ending with `last` (without `error: `).
    pub fn new(shown: impl fmt::Display, last: impl fmt::Display) -> Self {
        Self {
            shown: shown.to_string(),
            last: last.to_string(),
        }
    }
}

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}\nerror: {}", self.shown, self.last)
    }
}

impl std::error::Error for Refused {}

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
