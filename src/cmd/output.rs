//! How a command speaks and ends: its lines on standard output and standard error, and
//! the errors that set the process's exit status (`main` reads them). Only the command
//! layer prints; the library below it returns values.

use std::fmt;
use std::io::Write as _;

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

/// Writes a line to standard output.
pub(crate) fn say(line: fmt::Arguments<'_>) -> std::io::Result<()> {
    print(format_args!("{line}\n"))
}

/// Writes text to standard output. A closed output (`broadsheet ... | head`) is a broken
/// pipe error carrying [`StdoutClosed`], so that it can be told from a server hanging up.
pub(crate) fn print(text: fmt::Arguments<'_>) -> std::io::Result<()> {
    write!(std::io::stdout().lock(), "{text}").map_err(closed)
}

/// Writes `value` to standard output as indented JSON and a newline, as it is serialized:
/// a plan of a million readers lists each of them, and is never held whole as text. A
/// closed output is [`StdoutClosed`], as in [`print()`].
pub(crate) fn say_json(value: &impl serde::Serialize) -> std::io::Result<()> {
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    serde_json::to_writer_pretty(&mut out, value)
        .map_err(std::io::Error::from)
        .and_then(|()| writeln!(out))
        .and_then(|()| out.flush())
        .map_err(closed)
}

/// Marks a broken pipe on standard output as [`StdoutClosed`].
fn closed(e: std::io::Error) -> std::io::Error {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        std::io::Error::new(e.kind(), StdoutClosed)
    } else {
        e
    }
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
