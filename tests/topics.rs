//! Recipient topics through the real binary: a tags cell `"ai,chips"` from another tool's
//! export is the topics `ai` and `chips`; a reader's variant is their set of topics, so
//! the plan is the same whatever order the files list readers in and whatever an
//! unrelated reader ticks on the preferences page; `plan`, `proof --as` and
//! `recipients --explain` agree; undeclared topics warn and topics with a space inside
//! are refused, each once per file with its count of rows.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use broadsheet::audience::Address;
use broadsheet::unsubscribe::Signer;
use serde_json::Value;

use crate::support::dispatching::SECRET;
use crate::support::serve::Serve;
use crate::support::{Project, Run};

/// Readers whose export tags cell is `"ai,chips"`, `"ai; chips"` or `chips,ai`.
const TAGGED: usize = 21;

/// The fixture project with recipients.toml importing `export.csv`, a newsletter tool's
/// export whose `tags` column holds topics.
fn exported(csv: &str) -> Project {
    let project = Project::sample();
    project.write(
        "recipients.toml",
        "[segments.subscribers]\ndescription = \"Readers\"\n\n[segments.staff]\ndescription = \"The newsroom\"\n\n\
         [[recipients]]\nemail = \"unrelated@example.org\"\nsegments = [\"subscribers\"]\n\n\
         [[imports]]\npath = \"export.csv\"\nsegments = [\"subscribers\"]\n\
         columns = { email = \"email\", name = \"name\", topics = \"tags\" }\n",
    );
    project.write("export.csv", csv);
    project
}

/// The export's rows: the tagged readers, written three ways, and two readers of one topic.
fn rows() -> Vec<String> {
    let mut rows: Vec<String> = (0..TAGGED)
        .map(|i| {
            let tags = ["\"ai,chips\"", "\"ai; chips\"", "\"chips,ai\""][i % 3];
            format!(
                "tagged{i}@example.org,Reader {i},{tags},2024-01-0{}",
                i % 9 + 1
            )
        })
        .collect();
    rows.push("ai.only@example.org,Ai Only,ai,2024-02-01".to_owned());
    rows.push("chips.only@example.org,Chips Only,chips,2024-02-01".to_owned());
    rows
}

fn csv(rows: &[String]) -> String {
    let mut csv = String::from("email,name,tags,subscribed_at\n");
    for row in rows {
        writeln!(csv, "{row}").unwrap();
    }
    csv
}

fn run_with_secret(project: &Project, args: &[&str]) -> Run {
    let mut command = project.command(args);
    command.env("BROADSHEET_UNSUBSCRIBE_SECRET", SECRET);
    let run = Run::from(command.output().expect("run broadsheet"));
    assert_eq!(run.status, 0, "broadsheet {args:?} failed:\n{}", run.stderr);
    run
}

/// `plan --readers --json` for the subscribers.
fn plan(project: &Project) -> Value {
    let run = run_with_secret(
        project,
        &[
            "plan",
            "volumes/011.toml",
            "--segment",
            "subscribers",
            "--readers",
            "--json",
        ],
    );
    serde_json::from_str(&run.stdout).expect("plan JSON")
}

/// Each reader's variant in a plan.
fn per_reader(plan: &Value) -> BTreeMap<String, String> {
    plan["readers"]
        .as_array()
        .expect("a readers list")
        .iter()
        .map(|r| {
            let text = |k: &str| r[k].as_str().expect("text").to_owned();
            (text("address"), text("variant"))
        })
        .collect()
}

/// The number of picks a variant of the plan shows.
fn picks(plan: &Value, variant: &str) -> u64 {
    plan["variants"]
        .as_array()
        .expect("variants")
        .iter()
        .find(|v| v["variant"] == variant)
        .unwrap_or_else(|| panic!("no variant {variant} in {plan}"))["picks"]
        .as_u64()
        .expect("a count")
}

/// How many picks of the fixture volume are tagged with one of `topics`.
fn tagged_picks(project: &Project, topics: &[&str]) -> u64 {
    let volume: toml::Value = toml::from_str(&project.read("volumes/011.toml")).expect("TOML");
    let picks = volume["picks"].as_array().expect("picks");
    let tagged = picks.iter().filter(|p| {
        p.get("topics")
            .and_then(|t| t.as_array())
            .is_some_and(|t| t.iter().any(|t| topics.contains(&t.as_str().unwrap())))
    });
    tagged.count() as u64
}

#[test]
fn a_tags_cell_is_a_list_and_the_plan_never_depends_on_load_order() {
    let mut rows = rows();
    let first = exported(&csv(&rows));
    rows.reverse();
    let reversed = exported(&csv(&rows));
    let plan = plan(&first);
    // Each reader's row differs with the file order, nothing else.
    let unsourced = |mut plan: Value| {
        for reader in plan["readers"].as_array_mut().expect("readers") {
            let source = reader["source"].take();
            assert!(
                source.as_str().is_some_and(
                    |s| s.starts_with("export.csv:") || s.starts_with("recipients.toml:")
                ),
                "each reader's file and row: {source}"
            );
        }
        plan
    };
    assert_eq!(
        unsourced(plan.clone()),
        unsourced(self::plan(&reversed)),
        "two file orders, one plan"
    );
    let readers = per_reader(&plan);
    for i in 0..TAGGED {
        let address = format!("tagged{i}@example.org");
        assert_eq!(readers[&address], "topics:ai,chips", "{plan}");
    }
    assert_eq!(readers["ai.only@example.org"], "topics:ai");
    assert_eq!(readers["unrelated@example.org"], "all");
    assert_eq!(
        picks(&plan, "topics:ai,chips"),
        tagged_picks(&first, &["ai", "chips"])
    );
    assert!(
        picks(&plan, "topics:ai,chips") > picks(&plan, "topics:ai"),
        "{plan}"
    );
    assert_eq!(plan["recipients"], TAGGED as u64 + 3, "{plan}");
    assert_eq!(plan["excluded"], Value::Array(Vec::new()), "{plan}");
}

#[test]
fn a_reader_ticking_topics_on_the_preferences_page_changes_no_one_else() {
    // The first tagged row is `"ai,chips"`: when a variant was named by its topics joined
    // with `,`, that one topic `ai,chips` named the variant before the ticked choice did.
    let project = exported(&csv(&rows()));
    let before = plan(&project);
    let serve = Serve::start(&project);
    let signer = Signer::new(SECRET.as_bytes(), "scout.eto.tech").expect("signer");
    let unrelated = Address::parse("unrelated@example.org").expect("address");
    let page = format!("/preferences/{}", signer.token(&unrelated));
    let saved = serve.form(&page, "topics=chips&topics=ai&action=save");
    assert_eq!(saved.status, 303, "{}", saved.body);
    serve.kill();
    let after = plan(&project);
    let (mut was, mut is) = (per_reader(&before), per_reader(&after));
    assert_eq!(was.remove("unrelated@example.org").as_deref(), Some("all"));
    assert_eq!(
        is.remove("unrelated@example.org").as_deref(),
        Some("topics:ai,chips")
    );
    assert_eq!(was, is, "every other reader keeps their variant");
    assert_eq!(
        picks(&before, "topics:ai,chips"),
        picks(&after, "topics:ai,chips")
    );
}

#[test]
fn plan_proof_as_and_explain_agree_on_what_a_tagged_reader_gets() {
    let project = exported(&csv(&rows()));
    let plan = plan(&project);
    for (address, variant) in [
        ("tagged4@example.org", "topics:ai,chips"),
        ("chips.only@example.org", "topics:chips"),
        ("unrelated@example.org", "all"),
    ] {
        assert_eq!(per_reader(&plan)[address], variant);
        let explain = project.ok(&["recipients", "--explain", address]).stdout;
        assert!(
            explain.contains(&format!("(variant `{variant}`)")),
            "{explain}"
        );
        let proof = run_with_secret(
            &project,
            &[
                "proof",
                "volumes/011.toml",
                "--to",
                "editors@eto.tech",
                "--as",
                address,
            ],
        );
        let sent = format!(
            "sent proof (variant {variant}, {} picks,",
            picks(&plan, variant)
        );
        assert!(proof.stdout.contains(&sent), "{sent}\n{}", proof.stdout);
    }
    let explain = project
        .ok(&["recipients", "--explain", "tagged4@example.org"])
        .stdout;
    assert!(
        explain.contains("\n  topics: ai, chips\n")
            && explain.contains("the picks tagged ai or chips"),
        "{explain}"
    );
}

#[test]
fn an_undeclared_topic_warns_once_with_its_place_and_count() {
    let mut rows = rows();
    rows.push("r1@example.org,R1,\"ai, robots\",2024-03-01".to_owned());
    rows.push("r2@example.org,R2,robots,2024-03-01".to_owned());
    rows.push("r3@example.org,R3,robots;robots,2024-03-01".to_owned());
    let project = exported(&csv(&rows));
    project.edit(
        "recipients.toml",
        "email = \"unrelated@example.org\"\nsegments = [\"subscribers\"]",
        "email = \"unrelated@example.org\"\nsegments = [\"subscribers\"]\ntopics = [\"chips,quantum\"]",
    );
    let run = project.ok(&["recipients"]);
    let stderr = &run.stderr;
    assert_eq!(
        stderr
            .matches("warning: topic `robots` is not declared in broadsheet.toml's [topics]")
            .count(),
        1,
        "{stderr}"
    );
    let line = TAGGED + 4;
    assert!(
        stderr.contains(&format!("--> export.csv:{line}:24"))
            && stderr.contains("did you mean `robotics`?")
            && stderr.contains("3 rows of export.csv have it; the first is shown"),
        "{stderr}"
    );
    assert!(
        stderr.contains("warning: topic `quantum` is not declared")
            && stderr.contains("--> recipients.toml:10:18"),
        "{stderr}"
    );
    let unrelated = project
        .ok(&["recipients", "--explain", "unrelated@example.org"])
        .stdout;
    assert!(
        unrelated.contains("\n  topics: chips, quantum\n"),
        "a TOML string is a list too: {unrelated}"
    );
    assert!(!stderr.contains("topic `ai`"), "{stderr}");
    let explain = project
        .ok(&["recipients", "--explain", "r1@example.org"])
        .stdout;
    assert!(explain.contains("\n  topics: ai, robots\n"), "{explain}");
}

#[test]
fn a_topic_with_a_space_inside_is_refused_with_the_separator_to_use() {
    let mut rows = rows();
    rows.push("s1@example.org,S1,ai chips,2024-03-01".to_owned());
    rows.push("s2@example.org,S2,\"policy, ai chips\",2024-03-01".to_owned());
    rows.push("s3@example.org,S3,machine learning,2024-03-01".to_owned());
    let project = exported(&csv(&rows));
    let run = project.run(&["recipients"]);
    assert_eq!(run.status, 1, "{}", run.stderr);
    assert!(run.stdout.is_empty(), "nothing loads: {}", run.stdout);
    let stderr = &run.stderr;
    let spaced = "error: topic `ai chips` has a space inside, and a space does not separate topics";
    assert_eq!(stderr.matches(spaced).count(), 1, "{stderr}");
    let line = TAGGED + 4;
    assert!(
        stderr.contains(&format!("--> export.csv:{line}:19"))
            && stderr.contains("2 rows of export.csv have it")
            && stderr.contains(
                "each word is a topic: to choose them all, separate them with `,` as in `ai, chips`"
            ),
        "{stderr}"
    );
    assert!(
        stderr.contains("error: topic `machine learning` has a space inside")
            && stderr.contains("as in `machine, learning`")
            && stderr.contains("(as in `machine-learning`)"),
        "{stderr}"
    );
    assert!(stderr.ends_with("error: 2 errors\n"), "{stderr}");
}
