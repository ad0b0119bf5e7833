//! Message-building benchmark: the sample volume rendered once into a message template,
//! then one complete message built per recipient for 100,000 recipients (unsubscribe token,
//! Message-ID, headers, both parts spliced), as sending does; then DKIM signing of such
//! messages with RSA-2048 (a key from `openssl genpkey`) and Ed25519, beside a bare SHA-256
//! pass over the same bytes (what a body hash costs). Run with `cargo bench --bench
//! message`; the figures go into BENCHMARKS.md.

use std::hint::black_box;
use std::path::Path;
use std::time::Instant;

use broadsheet::audience::Address;
use broadsheet::audience::VariantKey;
use broadsheet::clock::Timestamp;
use broadsheet::message::dkim::{Key, Signer as DkimSigner};
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
    let composition = pipeline::compose(&project, &root.join("volumes/011.toml")).expect("compose");
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
        .get(&VariantKey::all())
        .expect("renders")
        .expect("has picks")
        .clone();
    let ai_only = variants
        .get(&VariantKey::topics(["ai"]))
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
    let mut buffer = String::with_capacity(64 * 1024);
    let (mut bytes, started) = (0, Instant::now());
    for (i, (to, name)) in people.iter().enumerate() {
        let variant = if i % 4 == 0 { &ai_only } else { &everyone };
        let id = message::message_id(&signer, sender, 11, to);
        let url = unsubscribe::url(unsub, &signer.token(to));
        let personal = Personal {
            to,
            name: name.as_deref(),
            greeting: name.as_deref(),
            message_id: &id,
            unsubscribe_url: &url,
            mailto_token: None,
        };
        buffer.clear();
        variant
            .template(personal.greeting.is_some())
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
    signing(&buffer);
}

/// Per-message DKIM costs on `message` (the last one built).
fn signing(message: &str) {
    const SIGNED: u32 = 2_000;
    let time = |what: &str, work: &dyn Fn() -> usize| {
        let started = Instant::now();
        let mut bytes = 0;
        for _ in 0..SIGNED {
            bytes += black_box(work());
        }
        let each = started.elapsed() / SIGNED;
        println!(
            "{what}: {each:?} per message ({} KB)",
            bytes / SIGNED as usize / 1024
        );
    };
    time(
        "SHA-256 over the whole message (a body hash's work)",
        &|| {
            use sha2::Digest as _;
            sha2::Sha256::digest(message.as_bytes()).len() + message.len()
        },
    );
    for (name, key) in keys() {
        let signer = DkimSigner::new("eto.tech", vec![("bench".to_owned(), key)]);
        time(
            &format!("DKIM {name} signature (body hash included)"),
            &|| signer.sign(message.to_owned()).len(),
        );
    }
}

/// An RSA-2048 key from openssl and an Ed25519 key from ring.
fn keys() -> Vec<(&'static str, Key)> {
    let rsa = std::process::Command::new("openssl")
        .args([
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
        ])
        .output()
        .expect("openssl makes the RSA key");
    let rsa = Key::parse_all(&String::from_utf8_lossy(&rsa.stdout))
        .expect("an RSA key")
        .remove(0);
    let pkcs8 =
        aws_lc_rs::signature::Ed25519KeyPair::generate_pkcs8(&aws_lc_rs::rand::SystemRandom::new())
            .expect("an Ed25519 key");
    let pem = format!(
        "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
        base64::Engine::encode(&base64::engine::general_purpose::STANDARD, pkcs8.as_ref())
    );
    let ed = Key::parse_all(&pem).expect("an Ed25519 key").remove(0);
    vec![("rsa-sha256", rsa), ("ed25519-sha256", ed)]
}
