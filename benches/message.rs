//! Message-building benchmark: the sample volume rendered once into a message template,
//! then one complete message built per recipient for 100,000 recipients (unsubscribe token,
//! Message-ID, headers, both parts spliced), as sending does. Run with
//! `cargo bench --bench message`; the figure goes into BENCHMARKS.md.

use std::collections::BTreeSet;
use std::hint::black_box;
use std::path::Path;
use std::time::Instant;

use broadsheet::audience::Address;
use broadsheet::clock::Timestamp;
use broadsheet::message::variant::Variants;
use broadsheet::message::{self, Common, Personal};
use broadsheet::pipeline;
use broadsheet::project::Project;
use broadsheet::settings::Sending;
use broadsheet::unsubscribe::{self, Signer};

const RECIPIENTS: usize = 100_000;

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let project = Project::open(root).expect("open the sample project");
    let composition =
        pipeline::compose(&project, &root.join("volumes/011.toml"), None).expect("compose");
    let (volume, layout, origin) = (
        composition
            .volume
            .as_ref()
            .expect("the sample volume parses"),
        composition.layout.as_ref().expect("the layout loads"),
        composition.origin.as_ref().expect("rendered"),
    );
    let sending = Sending::new(&project.settings).expect("[sender] and [unsubscribe]");
    let (sender, unsub) = (&sending.identity, &sending.unsubscribe);
    let signer = Signer::new(b"a benchmark secret of 32 bytes..", &sender.list_id).expect("signer");
    let common = Common {
        identity: sender,
        mailto: unsub.mailto.as_deref(),
        list_name: volume.meta.title.get_ref(),
        subject: volume.subject(),
        date: Timestamp(1_715_250_645),
    };
    let mut variants = Variants::new(volume, layout, origin, common, None);
    let started = Instant::now();
    let everyone = variants
        .get(None)
        .expect("renders")
        .expect("has picks")
        .clone();
    let ai: BTreeSet<&str> = ["ai"].into();
    let ai_only = variants
        .get(Some(&ai))
        .expect("renders")
        .expect("has picks")
        .clone();
    let render_time = started.elapsed();
    let people: Vec<(Address, Option<String>)> = (0..RECIPIENTS)
        .map(|i| {
            let address =
                Address::parse(&format!("reader{i}@example{}.org", i % 97)).expect("valid");
            (address, (i % 2 == 0).then(|| format!("Reader Number {i}")))
        })
        .collect();
    let mut buffer = Vec::with_capacity(64 * 1024);
    let (mut bytes, started) = (0, Instant::now());
    for (i, (to, name)) in people.iter().enumerate() {
        let variant = if i % 4 == 0 { &ai_only } else { &everyone };
        let id = message::message_id(sender, 11, to);
        let url = unsubscribe::url(unsub, &signer.token(to));
        let personal = Personal {
            to,
            name: name.as_deref(),
            message_id: &id,
            unsubscribe_url: &url,
        };
        buffer.clear();
        variant
            .template(name.is_some())
            .write(&personal, &mut buffer);
        bytes += black_box(&buffer).len();
    }
    let elapsed = started.elapsed();
    let rate = RECIPIENTS as f64 / elapsed.as_secs_f64();
    println!("rendered 2 variants (4 templates) in {render_time:?}");
    println!(
        "built {RECIPIENTS} messages ({:.1} KB average) in {elapsed:?}: {rate:.0} messages/s on one core",
        bytes as f64 / RECIPIENTS as f64 / 1024.0
    );
}
