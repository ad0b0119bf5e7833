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

use cli::{Cli, Command};
use clock::Timestamp;
use project::Project;

pub use cmd::{RESUMABLE_EXIT, Reported, Resumable, StdoutClosed};
pub use diag::Refused;

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
