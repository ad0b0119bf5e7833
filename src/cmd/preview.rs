//! `broadsheet preview VOLUME [--port N] [--open]`: runs the preview server on tokio.

use crate::cli::PreviewArgs;
use crate::preview;
use crate::project::Project;

pub(crate) fn run(project: &Project, args: &PreviewArgs) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(preview::serve(project, &args.volume, args.port, args.open))
}
