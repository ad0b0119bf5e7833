//! The `broadsheet` binary: parses the command line, runs it, and maps the outcome to an
//! exit code (0 success, 1 failure, 2 usage, 75 dispatch interrupted and resumable).

use std::process::ExitCode;

use clap::Parser as _;

fn main() -> ExitCode {
    let cli = broadsheet::cli::Cli::parse();
    init_logging();
    match broadsheet::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => report(&error),
    }
}

/// Diagnostic logging to stderr at the level `BROADSHEET_LOG` names (`error`, `warn`,
/// `info`, `debug`, `trace`); off by default. Logs never carry credentials or address lists.
fn init_logging() {
    use tracing_subscriber::filter::LevelFilter;
    let level = match std::env::var("BROADSHEET_LOG") {
        Err(_) => return,
        Ok(value) => value.parse::<LevelFilter>().unwrap_or_else(|_| {
            eprintln!(
                "warning: BROADSHEET_LOG={value:?} is not a level (error, warn, info, debug, trace)"
            );
            LevelFilter::OFF
        }),
    };
    tracing_subscriber::fmt()
        .with_max_level(level)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false)
        .init();
}

fn report(error: &anyhow::Error) -> ExitCode {
    if error.is::<broadsheet::Reported>() {
        return ExitCode::FAILURE;
    }
    if let Some(refused) = error.downcast_ref::<broadsheet::Refused>() {
        eprintln!("{refused}");
        return ExitCode::FAILURE;
    }
    if error.is::<broadsheet::Resumable>() {
        return ExitCode::from(broadsheet::RESUMABLE_EXIT);
    }
    // A closed pipe (`broadsheet check ... | head`) is the reader's choice, not a failure;
    // any other broken pipe (a server hanging up) is.
    let stdout_closed = error
        .downcast_ref::<std::io::Error>()
        .and_then(|e| e.get_ref())
        .is_some_and(|e| e.is::<broadsheet::StdoutClosed>());
    if stdout_closed {
        return ExitCode::SUCCESS;
    }
    if let Some(diags) = error.downcast_ref::<broadsheet::diag::Diagnostics>() {
        eprint!("{diags}");
        eprintln!("error: {}", diags.summary());
    } else {
        eprintln!("error: {error:#}");
    }
    ExitCode::FAILURE
}
