//! One module per command; each takes the project and its `Args`.

pub(crate) mod archive;
pub(crate) mod bounces;
pub(crate) mod build;
pub(crate) mod check;
pub(crate) mod dispatch;
pub(crate) mod init;
pub(crate) mod left_out;
pub(crate) mod manual;
pub(crate) mod new;
mod output;
pub(crate) mod plan;
pub(crate) mod preview;
pub(crate) mod proof;
pub(crate) mod recipients;
pub(crate) mod report;
pub(crate) mod serve;
pub(crate) mod status;
pub(crate) mod suppress;
pub(crate) mod unsubscribe_token;

pub use output::{RESUMABLE_EXIT, Reported, Resumable, StdoutClosed};
pub(crate) use output::{print, say, say_err, say_json};

use crate::audience::{Address, Audience};
use crate::project::Project;

/// Loads the project's audience and prints the warnings loading found (on stderr, so
/// that reports on stdout stay clean), among them topics that `[topics]` does not declare.
pub(crate) fn audience(project: &Project, trace: Option<&Address>) -> anyhow::Result<Audience> {
    let audience = Audience::load_with_topics(&project.root, trace, &project.settings.topics)?;
    if audience.warnings().iter().next().is_some() {
        say_err(format_args!("{}", audience.warnings()))?;
    }
    Ok(audience)
}
