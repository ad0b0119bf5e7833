//! `bounces import` on a corpus of real bounces from many MTAs: the messages Mailman's
//! flufl.bounce ships in its PyPI sdist (Apache-2.0), with the addresses its own tests
//! expect of each. `scripts/test` downloads it into the git-ignored `.corpus/`. Every
//! expected address is a recipient of the project, so a finding mapped to the wrong one of
//! them is a misattribution; there must be none. The figures go to BENCHMARKS.md.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

use crate::support::Project;

const SDIST: &str = "flufl_bounce-6.0.0";

fn corpus() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join(".corpus")
        .join(SDIST);
    assert!(
        dir.join("tests/data").is_dir(),
        "the bounce corpus is missing: scripts/test downloads it (pip download --no-binary :all: flufl.bounce==6.0.0) into .corpus/"
    );
    dir
}

/// File name → (expected addresses, lowercased; temporary), from flufl.bounce's tests.
fn expectations(dir: &PathBuf) -> BTreeMap<String, (BTreeSet<String>, bool)> {
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/support/corpus_expectations.py"
    );
    let output = Command::new("/usr/bin/python3")
        .arg(script)
        .arg(dir)
        .output()
        .expect("python3");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let json: Value = serde_json::from_slice(&output.stdout).expect("JSON");
    json.as_object()
        .expect("an object")
        .iter()
        .map(|(name, e)| {
            let addresses = e["addresses"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| a.as_str().unwrap().to_owned());
            (
                name.clone(),
                (addresses.collect(), e["temporary"].as_bool().unwrap()),
            )
        })
        .collect()
}

#[test]
fn real_bounces_are_recognised_and_never_misattributed() {
    let dir = corpus();
    let expected = expectations(&dir);
    let project = Project::sample();
    let everyone: BTreeSet<&String> = expected.values().flat_map(|(a, _)| a).collect();
    let mut csv = String::from("email,name,segments,topics\n");
    for address in &everyone {
        csv.push_str(&format!("{address},,subscribers,\n"));
    }
    project.write("recipients/corpus.csv", &csv);
    project.write(
        "recipients.toml",
        "[segments.subscribers]\ndescription = \"Everyone\"\n\n[[imports]]\npath = \"recipients/corpus.csv\"\n",
    );
    let files: Vec<String> = expected
        .keys()
        .map(|f| dir.join("tests/data").join(f).display().to_string())
        .collect();
    let mut args = vec!["bounces", "import", "--json"];
    args.extend(files.iter().map(String::as_str));
    let run = project.run(&args);
    assert_eq!(run.status, 0, "every message is readable: {}", run.stderr);
    let records: Vec<Value> = serde_json::from_str(&run.stdout).expect("JSON records");

    let (mut exact, mut partial, mut missed, mut stray, mut misattributed) =
        (0, 0, 0, 0, Vec::new());
    let (mut delays_agree, mut delays, mut classes_agree) = (0, 0, 0);
    let mut by_class: BTreeMap<String, usize> = BTreeMap::new();
    for (name, (addresses, temporary)) in &expected {
        let mine: Vec<&Value> = records
            .iter()
            .filter(|r| {
                // Each file is an mbox of one message: `…/dsn_01.txt#1`.
                let file = r["file"].as_str().unwrap().split('#').next().unwrap();
                file.ends_with(&format!("/{name}")) && r["kind"] == "bounce"
            })
            .collect();
        let found: BTreeSet<String> = mine
            .iter()
            .filter_map(|r| r["address"].as_str())
            .map(str::to_lowercase)
            .collect();
        for r in &mine {
            let address = r["address"].as_str().unwrap_or_default().to_lowercase();
            if !r["mapped_by"].is_null() && !addresses.contains(&address) {
                misattributed.push(format!("{name}: {address}"));
            }
        }
        if !found.is_subset(addresses) {
            stray += 1;
        }
        if addresses.is_empty() {
            continue;
        }
        let hits = found.intersection(addresses).count();
        match hits {
            0 => missed += 1,
            n if n == addresses.len() => exact += 1,
            _ => partial += 1,
        }
        if hits > 0 {
            delays += 1;
            let delayed = mine.iter().any(|r| r["action"] == "delayed");
            delays_agree += usize::from(delayed == *temporary);
            let hard = mine.iter().any(|r| r["class"] == "hard");
            // A temporary failure is never the address being gone.
            classes_agree += usize::from(!(*temporary && hard));
            for r in &mine {
                let class = r["class"].as_str().unwrap_or("-").to_owned();
                *by_class.entry(class).or_default() += 1;
            }
        }
    }
    let with = expected.values().filter(|(a, _)| !a.is_empty()).count();
    println!(
        "corpus {SDIST}: {} messages, {with} with expected addresses: {exact} recognised and mapped exactly, \
         {partial} partly, {missed} missed; {stray} messages also named an address not expected; \
         delay vs failure agrees with flufl.bounce on {delays_agree} of {delays}; \
         no temporary failure read as hard on {classes_agree} of {delays}; findings by class \
         {by_class:?}; misattributed: {}",
        expected.len(),
        misattributed.len()
    );
    assert_eq!(classes_agree, delays, "a temporary failure read as hard");
    assert!(misattributed.is_empty(), "misattributed: {misattributed:?}");
    assert!(exact >= 105, "recognised exactly: {exact} of {with}");
}
