//! The `broadsheet` binary: parses the command line, runs it, and maps the outcome to an
//! exit code (0 success, 1 failure, 2 usage, 75 dispatch interrupted and resumable).

use std::process::ExitCode;

use clap::Parser as _;

fn main() -> ExitCode {
    let cli = broadsheet::cli::Cli::parse();
    match broadsheet::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => report(&error),
    }
}

fn report(error: &anyhow::Error) -> ExitCode {
    if error.is::<broadsheet::Reported>() {
        return ExitCode::FAILURE;
    }
    if error.is::<broadsheet::Resumable>() {
        return ExitCode::from(broadsheet::RESUMABLE_EXIT);
    }
    // A closed pipe (`broadsheet check ... | head`) is the reader's choice, not a failure.
    let broken_pipe = error
        .downcast_ref::<std::io::Error>()
        .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe);
    if broken_pipe {
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
