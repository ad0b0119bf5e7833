//! Compiling a layout's templates on every core. Parsing the templates (pest) is the largest
//! part of loading a layout, and of a whole `build`; the templates are independent of one
//! another, and registering them afterwards, in their order, keeps every diagnostic as it was.

use std::num::NonZeroUsize;
use std::sync::atomic::{AtomicUsize, Ordering};

use handlebars::{Template, TemplateError};

use super::templates::TemplateFile;
use crate::parallel;

/// A template's compilation: what `Handlebars::register_template_string` would have made.
pub(super) type Compiled = Result<Template, TemplateError>;

/// Compiles each file under its name, as a registry with default options would (not a
/// partial, indentation kept), and returns each with its result, in the order given.
pub(super) fn compile_all(files: Vec<TemplateFile>) -> Vec<(TemplateFile, Compiled)> {
    let jobs: Vec<(&str, &str)> = files.iter().map(TemplateFile::job).collect();
    // Largest first, handed out one at a time, so that the largest template does not end
    // up last on a thread while the others wait.
    let mut order: Vec<usize> = (0..jobs.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(jobs[i].1.len()));
    let next = AtomicUsize::new(0);
    let work = || {
        let mut done = Vec::new();
        while let Some(&i) = order.get(next.fetch_add(1, Ordering::Relaxed)) {
            let (name, source) = jobs[i];
            done.push((i, Template::compile_with_name(source, name.to_owned())));
        }
        done
    };
    let threads = std::thread::available_parallelism()
        .map_or(1, NonZeroUsize::get)
        .min(jobs.len());
    let mut done = std::thread::scope(|scope| {
        // A helper that cannot be started leaves its share to the others.
        let helpers: Vec<_> = (1..threads)
            .filter_map(|_| parallel::spawn(scope, work))
            .collect();
        let mut done = work();
        for helper in helpers {
            done.extend(parallel::join(helper));
        }
        done
    });
    done.sort_unstable_by_key(|(i, _)| *i);
    files
        .into_iter()
        .zip(done.into_iter().map(|(_, compiled)| compiled))
        .collect()
}
