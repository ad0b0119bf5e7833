//! The command line: one `Args` struct per command; doc comments are the help text.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// Compose, check and preview a newsroom's weekly email newsletter.
#[derive(Debug, Parser)]
#[command(
    name = "broadsheet",
    version = env!("BROADSHEET_VERSION"),
    about,
    max_term_width = 100
)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Start a new newsletter: settings, a layout of its own, a first volume and recipients
    Init(InitArgs),
    /// Render a volume to email.mjml, email.html and email.txt
    Build(BuildArgs),
    /// Check a volume and report every problem, without writing anything
    Check(CheckArgs),
    /// Start the next volume from the latest one in volumes/
    New(NewArgs),
    /// Serve a live preview of a volume on 127.0.0.1, rebuilt on every save
    Preview(PreviewArgs),
    /// Write the web archive: a page per volume, an index and an Atom feed
    Archive(ArchiveArgs),
    /// Show who would get a volume, in which variant, and how long sending would take
    Plan(PlanArgs),
    /// Send a volume to its segments, with a durable ledger; resumes an interrupted send
    Dispatch(DispatchArgs),
    /// Show where a volume's dispatch stands, from the ledger
    Status(StatusArgs),
    /// Show what a volume did: deliveries, bounces, complaints, unsubscribes, clicks
    Report(ReportArgs),
    /// Count recipients per segment, or explain whether one address gets a volume
    Recipients(RecipientsArgs),
    /// Send test copies of a volume to the proof list (never to subscribers)
    Proof(ProofArgs),
    /// Add, remove or list suppressed addresses (unsubscribes, bounces, complaints)
    Suppress(SuppressArgs),
    /// Check unsubscribe tokens, for whoever runs the unsubscribe endpoint
    UnsubscribeToken(TokenArgs),
    /// Read bounce reports, complaints and unsubscribe mails, and suppress whom they name
    Bounces(BouncesArgs),
    /// Answer readers: one-click unsubscribe, preferences and sign-up (behind a TLS proxy)
    Serve(ServeArgs),
    /// Print the completion script for a shell (bash, zsh, fish, elvish, powershell)
    Completions(CompletionsArgs),
    /// Print the manual page (roff), or write one per command into a folder
    Man(ManArgs),
}

/// Arguments of `broadsheet init`.
#[derive(Debug, clap::Args)]
pub struct InitArgs {
    /// The folder of the new project, created if missing (default: the current folder)
    pub dir: Option<PathBuf>,
    /// The newsletter's name, e.g. "The Weekly Wire"
    #[arg(long)]
    pub title: Option<String>,
    /// The address it comes from, e.g. newsletter@example.org
    #[arg(long, value_name = "ADDRESS")]
    pub from: Option<String>,
    /// The domain of Message-IDs, the List-Id and the unsubscribe link (default: --from's)
    #[arg(long)]
    pub domain: Option<String>,
    /// The design the project's layout starts from (default: plain)
    #[arg(long, value_enum, value_name = "DESIGN")]
    pub layout: Option<crate::scaffold::Design>,
    /// The newsroom's postal address, which the footer of every email shows
    #[arg(long)]
    pub address: Option<String>,
    /// Ask nothing: what the flags leave out takes its default (also when not on a terminal)
    #[arg(long, short = 'y')]
    pub yes: bool,
}

/// Arguments of `broadsheet completions`.
#[derive(Debug, clap::Args)]
pub struct CompletionsArgs {
    /// The shell, e.g. `bash`; load the script with `source <(broadsheet completions bash)`
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// Arguments of `broadsheet man`.
#[derive(Debug, clap::Args)]
pub struct ManArgs {
    /// Write broadsheet.1 and a page per command (broadsheet-build.1, ...) into DIR
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

/// Arguments of `broadsheet serve`.
#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Listen on this address and port
    #[arg(long, value_name = "ADDR:PORT", default_value = crate::serve::DEFAULT_LISTEN)]
    pub listen: std::net::SocketAddr,
}

/// Arguments of `broadsheet build`.
#[derive(Debug, clap::Args)]
pub struct BuildArgs {
    /// The volume file, e.g. volumes/011.toml
    pub volume: PathBuf,
    /// Write the files into DIR instead of out/NNN/
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Treat a draft's placeholders (TK) and missing picks as errors, as in a finished volume
    #[arg(long)]
    pub strict: bool,
}

/// Arguments of `broadsheet check`.
#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// The volume file, e.g. volumes/012.toml
    pub volume: PathBuf,
    /// Treat a draft's placeholders (TK) and missing picks as errors, as in a finished volume
    #[arg(long)]
    pub strict: bool,
}

/// Arguments of `broadsheet new`.
#[derive(Debug, clap::Args)]
pub struct NewArgs {}

/// Arguments of `broadsheet preview`.
#[derive(Debug, clap::Args)]
pub struct PreviewArgs {
    /// The volume file, e.g. volumes/012.toml
    pub volume: PathBuf,
    /// Listen on this port (default: 4000, or the next free one)
    #[arg(long)]
    pub port: Option<u16>,
    /// Open the page in a browser
    #[arg(long)]
    pub open: bool,
}

/// Arguments of `broadsheet archive`.
#[derive(Debug, clap::Args)]
pub struct ArchiveArgs {
    /// Write the archive into DIR instead of out/archive/ (DIR is replaced whole)
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

/// Arguments of `broadsheet plan`.
#[derive(Debug, clap::Args)]
pub struct PlanArgs {
    /// The volume file, e.g. volumes/012.toml
    pub volume: PathBuf,
    /// The segments to send to (repeatable)
    #[arg(long, value_name = "S", required = true)]
    pub segment: Vec<String>,
    /// Also list each reader who gets the volume and the variant they get
    #[arg(long)]
    pub readers: bool,
    /// Print JSON for scripts
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `broadsheet dispatch`.
#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("count").args(["expect", "at_most"])))]
pub struct DispatchArgs {
    /// The volume file, e.g. volumes/012.toml
    pub volume: PathBuf,
    /// The segments to send to (repeatable). A volume can go to other segments later: nobody
    /// who already has it from an earlier dispatch gets it again. An unfinished dispatch is
    /// resumed with the same segments
    #[arg(long, value_name = "S", required = true)]
    pub segment: Vec<String>,
    /// Do not ask: send if the dispatch covers exactly --expect recipients, or at most
    /// --at-most
    #[arg(long, requires = "count")]
    pub yes: bool,
    /// The number of recipients the operator expects (with --yes): the plan's count, or a
    /// resumed dispatch's frozen total
    #[arg(long, value_name = "N", requires = "yes")]
    pub expect: Option<u64>,
    /// With --yes, for a scheduled job whose count drifts: send if the dispatch covers at
    /// most N recipients, refuse if more
    #[arg(long, value_name = "N", requires = "yes")]
    pub at_most: Option<u64>,
    /// Try the recipients whose messages failed for good once more
    #[arg(long)]
    pub retry_failed: bool,
    /// Send again, with the same Message-ID, the messages whose fate is unknown
    #[arg(long)]
    pub resend_ambiguous: bool,
    /// The ledger (state/ledger.sqlite) was lost for good: start afresh although earlier
    /// dispatches of the volume existed (their readers may get the volume twice)
    #[arg(long)]
    pub ledger_lost: bool,
    /// Send at this hour ("2026-12-10 07:00", or "07:00" for the next one): checks and shows
    /// the plan now, then waits (Ctrl-C cancels, nothing sent)
    #[arg(long, value_name = "TIME")]
    pub at: Option<String>,
    /// The time zone of --at, an IANA name such as Europe/Berlin (default: `zone` in
    /// broadsheet.toml, else the system's)
    #[arg(long, value_name = "ZONE", requires = "at")]
    pub zone: Option<String>,
}

/// Arguments of `broadsheet status`.
#[derive(Debug, clap::Args)]
pub struct StatusArgs {
    /// The volume file, e.g. volumes/012.toml
    pub volume: PathBuf,
    /// Print JSON for scripts
    #[arg(long)]
    pub json: bool,
    /// Show one address's whole history instead
    #[arg(long, value_name = "ADDRESS")]
    pub recipient: Option<String>,
}

/// Arguments of `broadsheet report`.
#[derive(Debug, clap::Args)]
pub struct ReportArgs {
    /// The volume file, e.g. volumes/012.toml
    pub volume: PathBuf,
    /// Print JSON for scripts (keys documented in the README)
    #[arg(long)]
    pub json: bool,
    /// Also write the report as a self-contained web page (no script, no remote asset)
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
}

/// Arguments of `broadsheet recipients`.
#[derive(Debug, clap::Args)]
pub struct RecipientsArgs {
    /// Count only these segments (repeatable); all segments by default
    #[arg(long, value_name = "S")]
    pub segment: Vec<String>,
    /// Say which segments list ADDRESS and whether it would get a volume
    #[arg(long, value_name = "ADDRESS")]
    pub explain: Option<String>,
}

/// Arguments of `broadsheet proof`.
#[derive(Debug, clap::Args)]
pub struct ProofArgs {
    /// The volume file, e.g. volumes/012.toml
    pub volume: PathBuf,
    /// Send to ADDRESS instead of the proof list (repeatable; allowed outside the list)
    #[arg(long, value_name = "ADDRESS")]
    pub to: Vec<String>,
    /// Build the copy that RECIPIENT (an address in recipients.toml) would get
    #[arg(long = "as", value_name = "RECIPIENT")]
    pub as_recipient: Option<String>,
    /// Build the copy for a reader of these topics (comma-separated)
    #[arg(long, value_name = "TOPICS", value_delimiter = ',')]
    pub topics: Vec<String>,
}

/// Arguments of `broadsheet suppress`.
#[derive(Debug, clap::Args)]
pub struct SuppressArgs {
    /// What to do.
    #[command(subcommand)]
    pub action: SuppressAction,
}

/// The `suppress` actions.
#[derive(Debug, Subcommand)]
pub enum SuppressAction {
    /// Suppress ADDRESS... so that no later volume reaches them
    Add {
        /// The addresses
        #[arg(required = true, value_name = "ADDRESS")]
        addresses: Vec<String>,
        /// Why
        #[arg(long, value_enum, default_value = "unsubscribed")]
        reason: crate::audience::Reason,
    },
    /// Take ADDRESS... off the suppression list (only when their owners ask to come back)
    Remove {
        /// The addresses
        #[arg(required = true, value_name = "ADDRESS")]
        addresses: Vec<String>,
    },
    /// Print the suppression list: one address a line with its reason, source and date
    List,
    /// Suppress every address in FILE: one a line, or a CSV file with an `email` column
    Import {
        /// The file, e.g. an ESP's export of unsubscribes
        file: PathBuf,
        /// Why, for rows that do not say (a `reason` column)
        #[arg(long, value_enum, default_value = "unsubscribed")]
        reason: crate::audience::Reason,
    },
    /// Print the suppression list as CSV (email,reason,since,source), which import reads
    Export,
}

/// Arguments of `broadsheet bounces`.
#[derive(Debug, clap::Args)]
pub struct BouncesArgs {
    /// What to do.
    #[command(subcommand)]
    pub action: BouncesAction,
}

/// The `bounces` actions.
#[derive(Debug, Subcommand)]
pub enum BouncesAction {
    /// Read the messages in PATH... (.eml files, Maildir folders, mbox files) and apply them
    Import {
        /// Message files, Maildir folders or mbox files
        #[arg(required = true, value_name = "PATH")]
        paths: Vec<PathBuf>,
        /// Print one JSON record per finding instead of lines for people
        #[arg(long)]
        json: bool,
    },
    /// Read the `[bounces]` IMAP folder, apply its messages and move them to `move_to`
    Fetch {
        /// Print one JSON record per finding instead of lines for people
        #[arg(long)]
        json: bool,
    },
}

/// Arguments of `broadsheet unsubscribe-token`.
#[derive(Debug, clap::Args)]
pub struct TokenArgs {
    /// What to do.
    #[command(subcommand)]
    pub action: TokenAction,
}

/// The `unsubscribe-token` actions.
#[derive(Debug, Subcommand)]
pub enum TokenAction {
    /// Check TOKEN (or a whole unsubscribe URL) and print the address and list it names
    Verify {
        /// The token from an unsubscribe URL, or the URL itself
        #[arg(allow_hyphen_values = true)]
        token: String,
    },
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory as _;

    #[test]
    fn cli_is_well_formed() {
        super::Cli::command().debug_assert();
    }
}
