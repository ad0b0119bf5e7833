//! `broadsheet serve [--listen ADDR:PORT]`: runs the subscriber service on tokio.

use crate::cli::ServeArgs;
use crate::project::Project;

pub(crate) fn run(project: &Project, args: &ServeArgs) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(crate::serve::run(project, args.listen))
}
