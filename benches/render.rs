//! Render-stage benchmark: the sample volume through Handlebars and mrml in a loop, and
//! mrml alone on the generated MJML (the part the Node `mjml` compiler does), so the two
//! compilers can be compared on the same input; mrml once more with the layout's inlined
//! styles left in a `<style>`, to show what inlining costs. Run with
//! `cargo bench --bench render`; `scripts/bench-render.sh` runs it beside the Node
//! compiler and whole-process timings.

use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};

use broadsheet::diag::Diagnostics;
use broadsheet::layout::Layout;
use broadsheet::project::Project;
use broadsheet::render::{self, MjmlOrigin};
use broadsheet::volume;

/// Runs `f` for at least `budget` (and 20 times at least) and returns the median time.
fn median(budget: Duration, mut f: impl FnMut()) -> Duration {
    let mut samples = Vec::new();
    let start = Instant::now();
    while samples.len() < 20 || start.elapsed() < budget {
        let t = Instant::now();
        f();
        samples.push(t.elapsed());
    }
    samples.sort();
    samples[samples.len() / 2]
}

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let project = Project::open(root).expect("open the sample project");
    let volume = volume::load(&root.join("volumes/011.toml")).expect("load the sample volume");
    let layout = Layout::load(root, &project.layout_dir("scout")).expect("load the layout");
    let origin = MjmlOrigin {
        path: "email.mjml".to_owned(),
        template: "email.mjml.hbs".to_owned(),
    };
    // The same MJML `build` writes, "View in browser" link included.
    let web_url = project.settings.page_url(*volume.meta.number.get_ref());
    let (mjml, _) = render::templates(&volume, &layout, web_url.as_deref());
    let mjml = mjml.expect("the sample renders");
    let budget = Duration::from_secs(3);

    let mrml_only = median(budget, || {
        let html = render::html(black_box(&mjml), &origin, &mut Diagnostics::default());
        black_box(html.expect("compiles"));
    });
    // The same MJML with its inline styles left as a <style>: what inlining costs.
    let not_inlined = render::Mjml(mjml.0.replace("<mj-style inline=\"inline\">", "<mj-style>"));
    let mrml_no_inlining = median(budget, || {
        let html = render::html(
            black_box(&not_inlined),
            &origin,
            &mut Diagnostics::default(),
        );
        black_box(html.expect("compiles"));
    });
    let stage = median(budget, || {
        let (mjml, text) = render::templates(black_box(&volume), &layout, web_url.as_deref());
        let mjml = mjml.expect("renders");
        let html = render::html(&mjml, &origin, &mut Diagnostics::default());
        black_box((html.expect("compiles"), text.expect("renders")));
    });
    println!(
        "mrml compile of email.mjml ({} bytes): {mrml_only:?} median",
        mjml.0.len()
    );
    println!("mrml compile of the same without CSS inlining: {mrml_no_inlining:?} median");
    println!("render stage (Handlebars MJML + text, mrml): {stage:?} median");
}
