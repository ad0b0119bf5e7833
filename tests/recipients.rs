//! `broadsheet recipients` and `suppress` on recipient files: counts after deduplication and
//! suppression, one address explained, and every bad row reported at once with its line.

use std::fmt::Write as _;
use std::os::unix::fs::PermissionsExt as _;

use crate::support::Project;

/// The sample project with `recipients.example.toml` as its recipients file.
pub fn with_recipients() -> Project {
    let project = Project::sample();
    let example = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/recipients.example.toml"
    ))
    .expect("read recipients.example.toml");
    project.write("recipients.toml", &example);
    project
}

fn count_line<'a>(stdout: &'a str, segment: &str) -> Vec<&'a str> {
    let line = stdout
        .lines()
        .find(|l| l.split_whitespace().next() == Some(segment))
        .unwrap_or_else(|| panic!("no {segment} row in:\n{stdout}"));
    line.split_whitespace().take(5).collect()
}

#[test]
fn example_file_loads_and_counts_per_segment() {
    let project = with_recipients();
    let run = project.ok(&["recipients"]);
    assert_eq!(
        count_line(&run.stdout, "subscribers"),
        ["subscribers", "2", "0", "0", "2"]
    );
    assert_eq!(
        count_line(&run.stdout, "total"),
        ["total", "4", "0", "0", "4"]
    );
    let first = run.stdout.lines().nth(1).unwrap();
    assert!(
        first.starts_with("subscribers"),
        "segments keep their written order:\n{}",
        run.stdout
    );
}

#[test]
fn duplicates_merge_across_files_case_insensitively_and_idn_is_normalised() {
    let project = with_recipients();
    let toml = project.read("recipients.toml");
    project.write(
        "recipients.toml",
        &format!("{toml}\n[[imports]]\npath = \"lists/more.csv\"\nsegments = [\"staff\"]\n"),
    );
    project.write(
        "lists/more.csv",
        "email,name,segments,topics\nAna.Lima@EXAMPLE.org,,,\nli@例子.测试,\"Li, Wei\",subscribers,\n小明@example.org,Xiao Ming,,\n",
    );
    let run = project.ok(&["recipients"]);
    assert_eq!(
        count_line(&run.stdout, "staff"),
        ["staff", "4", "0", "1", "3"]
    );
    assert_eq!(
        count_line(&run.stdout, "total"),
        ["total", "6", "0", "1", "5"]
    );
    let explain = project
        .ok(&["recipients", "--explain", "ANA.LIMA@example.org"])
        .stdout;
    assert!(explain.starts_with("ana.lima@example.org\n"), "{explain}");
    assert!(
        explain.contains("listed at recipients.toml:31 in: subscribers"),
        "{explain}"
    );
    assert!(explain.contains("more.csv:2 in: staff"), "{explain}");
    assert!(
        explain.contains("segments: subscribers, staff"),
        "{explain}"
    );
    assert!(
        explain.contains("\n  name: Ana Lima\n  greeting: Ana\n"),
        "{explain}"
    );
    assert!(
        explain.contains("gets a volume with every pick"),
        "{explain}"
    );
    let idn = project
        .ok(&["recipients", "--explain", "li@xn--fsqu00a.xn--0zwm56d"])
        .stdout;
    assert!(idn.contains("name: Li, Wei"), "{idn}");
    let utf8 = project
        .ok(&["recipients", "--explain", "小明@example.org"])
        .stdout;
    assert!(utf8.contains("gets no volume: needs SMTPUTF8"), "{utf8}");
}

#[test]
fn suppressions_are_honoured_and_private() {
    let project = with_recipients();
    project.ok(&[
        "suppress",
        "add",
        "ANA.LIMA@example.org",
        "--reason",
        "bounced",
    ]);
    let mode = std::fs::metadata(project.path("state/audience.sqlite"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    let run = project.ok(&["recipients", "--segment", "subscribers"]);
    assert_eq!(
        count_line(&run.stdout, "subscribers"),
        ["subscribers", "2", "1", "0", "1"]
    );
    assert!(!run.stdout.contains("staff"), "{}", run.stdout);
    let explain = project
        .ok(&["recipients", "--explain", "ana.lima@example.org"])
        .stdout;
    assert!(
        explain.contains(": bounced") && explain.contains("gets no volume: suppressed"),
        "{explain}"
    );
    let list = project.ok(&["suppress", "list"]).stdout;
    assert!(
        list.starts_with("ANA.LIMA@example.org  bounced  suppress  20")
            && list.lines().count() == 1,
        "{list}"
    );
    project.ok(&["suppress", "remove", "ana.lima@example.org"]);
    assert_eq!(project.ok(&["suppress", "list"]).stdout, "");
    let again = project.run(&["suppress", "remove", "ana.lima@example.org"]);
    assert_eq!(again.status, 1);
    assert!(
        again.stderr.contains("not on the suppression list"),
        "{}",
        again.stderr
    );
}

#[test]
fn unknown_segment_on_the_command_line_is_named() {
    let project = with_recipients();
    let run = project.run(&["recipients", "--segment", "subscriber"]);
    assert_eq!(run.status, 1);
    assert!(
        run.stderr.contains(
            "unknown segment `subscriber`; did you mean `subscribers`? recipients.toml defines: subscribers, staff, chips-watch"
        ),
        "{}",
        run.stderr
    );
}

/// A recipients file and a CSV import with 50 faults of every kind, and where each is.
fn fifty_faults() -> (String, String, Vec<String>) {
    let mut toml = String::from(
        "[segments.subscribers]\ndescription = \"Readers\"\n\n[[imports]]\npath = \"list.csv\"\n\n",
    );
    let mut expected = Vec::new();
    for i in 0..25 {
        writeln!(
            toml,
            "[[recipients]]\nemail = \"reader{i}@example.org\"\nsegments = [\"subscribers\"]"
        )
        .unwrap();
        // Each fault's body, and which of its lines the error points at.
        let (fault, at) = match i % 5 {
            0 => (
                format!("email = \"bad{i}.example.org\"\nsegments = [\"subscribers\"]"),
                0,
            ),
            1 => (
                format!("email = \"u{i}@example.org\"\nsegments = [\"subscriberz\"]"),
                1,
            ),
            2 => (
                format!("email = \"READER{i}@example.org\"\nsegments = [\"subscribers\"]"),
                0,
            ),
            3 => (
                format!(
                    "email = \"n{i}@example.org\"\nname = \"Ana\\r\\nBcc: x@evil.test\"\nsegments = [\"subscribers\"]"
                ),
                1,
            ),
            _ => (
                format!("emial = \"t{i}@example.org\"\nsegments = [\"subscribers\"]"),
                0,
            ),
        };
        toml.push_str("[[recipients]]\n");
        expected.push(format!(
            "recipients.toml:{}:",
            toml.lines().count() + 1 + at
        ));
        writeln!(toml, "{fault}").unwrap();
    }
    let mut csv = String::from("email,name,segments\n");
    for i in 0..25 {
        writeln!(csv, "c{i}@example.org,Reader {i},subscribers").unwrap();
        let fault = match i % 5 {
            0 => format!("c{i}@example..org,Bad,subscribers"),
            1 => format!("d{i}@example.org,\"Unclosed {i},subscribers"),
            2 => format!("e{i}@example.org,Say \"hi\",subscribers"),
            3 => format!("C{i}@Example.org,Again,subscribers"),
            _ => format!("f{i}@example.org,Carriage\rReturn,subscribers"),
        };
        csv.push_str(&fault);
        csv.push('\n');
        expected.push(format!("list.csv:{}:", csv.lines().count()));
    }
    (toml, csv, expected)
}

#[test]
fn fifty_faults_are_all_reported_and_nothing_loads() {
    let project = Project::sample();
    let (toml, csv, expected) = fifty_faults();
    assert_eq!(expected.len(), 50);
    project.write("recipients.toml", &toml);
    project.write("list.csv", &csv);
    let run = project.run(&["recipients"]);
    assert_eq!(run.status, 1, "{}", run.stderr);
    assert!(
        run.stdout.is_empty(),
        "nothing partial is printed:\n{}",
        run.stdout
    );
    assert_eq!(run.stderr.matches("error:").count(), 51, "{}", run.stderr);
    assert!(run.stderr.ends_with("error: 50 errors\n"), "{}", run.stderr);
    for place in &expected {
        assert!(
            run.stderr.contains(&format!("--> {place}")),
            "{place} not reported:\n{}",
            run.stderr
        );
    }
    for needle in [
        "has no `@`",
        "unknown segment `subscriberz`",
        "listed twice in this file",
        "control character '\\r'",
        "unknown field `emial`",
        "this quote is never closed",
        "a quote inside an unquoted field",
        "that is not a valid name",
    ] {
        assert!(
            run.stderr.contains(needle),
            "no {needle:?} in:\n{}",
            run.stderr
        );
    }
}

#[test]
fn a_greeting_with_a_control_character_is_an_error_at_its_place() {
    let project = with_recipients();
    project.edit(
        "recipients.toml",
        "greeting = \"Ana\"",
        "greeting = \"Ana\\u0007\"",
    );
    let run = project.run(&["recipients"]);
    assert_eq!(run.status, 1, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("error: the greeting contains the control character '\\u{7}'")
            && run.stderr.contains("--> recipients.toml:33:12"),
        "{}",
        run.stderr
    );
}

/// A right-to-left override (U+202E) or an isolate left open in a name or a greeting would
/// reverse the rest of the To line or of "Hi NAME," in the reader's copy: refused like a
/// control character, at its place, in recipients.toml and in an import.
#[test]
fn a_bidi_control_in_a_name_or_greeting_is_an_error_at_its_place() {
    let project = with_recipients();
    project.edit(
        "recipients.toml",
        "greeting = \"Ana\"",
        "greeting = \"Ana\\u202Eevil\"",
    );
    let run = project.run(&["recipients"]);
    assert_eq!(run.status, 1, "{}", run.stderr);
    assert!(
        run.stderr.contains(
            "error: the greeting contains the bidirectional control character U+202E: left \
             open, it reverses the rest of the line"
        ) && run.stderr.contains("--> recipients.toml:33:12"),
        "{}",
        run.stderr
    );
    import_of(
        &project,
        "",
        "email,name\nana@example.org,Ana Lima\nwei@example.org,\u{2067}evil Wei\n",
    );
    let run = project.run(&["recipients"]);
    assert_eq!(run.status, 1, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("contains the bidirectional control character U+2067")
            && run.stderr.contains("--> list.csv:3:"),
        "{}",
        run.stderr
    );
}

/// recipients.toml with one `subscribers` segment and an import of `list.csv` with these
/// extra lines in its `[[imports]]` table.
fn import_of(project: &Project, extra: &str, csv: &str) {
    project.write(
        "recipients.toml",
        &format!(
            "[segments.subscribers]\ndescription = \"Everyone\"\n\n[[imports]]\npath = \"list.csv\"\nsegments = [\"subscribers\"]\n{extra}"
        ),
    );
    project.write("list.csv", csv);
}

#[test]
fn a_mailchimp_export_is_read_through_a_column_map() {
    let project = Project::sample();
    import_of(
        &project,
        "columns = { email = \"Email Address\", name = [\"First Name\", \"Last Name\"] }\n",
        "Email Address,First Name,Last Name,MEMBER_RATING,OPTIN_TIME\n\
         ana@example.org,Ana,Lima,2,2024-01-01 10:00:00\n\
         wei@example.org,Wei,,5,2024-02-01 10:00:00\n",
    );
    let run = project.ok(&["recipients", "--explain", "ana@example.org"]);
    assert!(run.stdout.contains("Ana Lima"), "{}", run.stdout);
    let counts = project.ok(&["recipients"]);
    assert_eq!(
        count_line(&counts.stdout, "subscribers"),
        ["subscribers", "2", "0", "0", "2"]
    );
}

#[test]
fn a_mapped_column_missing_from_the_header_is_named_at_the_map() {
    let project = Project::sample();
    import_of(
        &project,
        "columns = { email = \"E-mail Address\" }\n",
        "Email Address,First Name\nana@example.org,Ana\n",
    );
    let run = project.run(&["recipients"]);
    assert_eq!(run.status, 1);
    assert!(
        run.stderr
            .contains("list.csv has no column `E-mail Address`")
            && run.stderr.contains("--> recipients.toml:7:")
            && run.stderr.contains("did you mean `Email Address`?"),
        "{}",
        run.stderr
    );
}

#[test]
fn one_person_named_two_ways_in_two_files_is_a_warning_naming_both() {
    let project = Project::sample();
    import_of(
        &project,
        "\n[[recipients]]\nemail = \"ana@example.org\"\nname = \"Ana Lima\"\nsegments = [\"subscribers\"]\ntopics = [\"chips\"]\n",
        "email,name,segments,topics\nANA@example.org,Ana L.,,ai\n",
    );
    let run = project.ok(&["recipients"]);
    assert!(
        run.stderr.contains(
            "warning: `ana@example.org` is named `Ana Lima` in recipients.toml:9 and `Ana L.` here"
        ) && run.stderr.contains("--> list.csv:2:17"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("chose the topics chips in recipients.toml:9 and ai here"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_csv_with_cr_line_endings_is_read_line_by_line() {
    let project = Project::sample();
    import_of(
        &project,
        "",
        "email,name\rana@example.org,Ana\rwei@example.org,Wei\rbad-address,X\r",
    );
    let run = project.run(&["recipients"]);
    assert_eq!(run.status, 1, "{}", run.stderr);
    assert!(
        run.stderr.contains("--> list.csv:4:1") && !run.stderr.contains("unknown column"),
        "the bad row is found on its own line:\n{}",
        run.stderr
    );
    project.write(
        "list.csv",
        "email,name\rana@example.org,Ana\rwei@example.org,Wei\r",
    );
    let counts = project.ok(&["recipients"]);
    assert_eq!(
        count_line(&counts.stdout, "subscribers"),
        ["subscribers", "2", "0", "0", "2"]
    );
}

#[test]
fn suppress_imports_esp_exports_round_trips_and_moves_the_old_csv_in_once() {
    let project = with_recipients();
    project.write(
        "state/suppressions.csv",
        "email,reason,since\nold@example.org,bounced,2024-05-09\n",
    );
    let before = project.ok(&["suppress", "list"]).stdout;
    assert_eq!(
        before, "old@example.org  bounced  migration  2024-05-09\n",
        "read-only commands read the old CSV"
    );
    assert!(project.path("state/suppressions.csv").exists(), "{before}");
    project.write(
        "esp.csv",
        "First Name,Email Address,reason\nAna,ANA.LIMA@example.org,complained\nBo,not-an-address,\nCy,cy@example.org,\nDi,also bad,\n",
    );
    let bad = project.run(&["suppress", "import", "esp.csv"]);
    assert_eq!(bad.status, 1);
    assert!(
        bad.stderr.contains("esp.csv:3:4") && bad.stderr.contains("esp.csv:5:4"),
        "{}",
        bad.stderr
    );
    assert!(
        !project.path("state/audience.sqlite").exists(),
        "nothing written on an error"
    );
    project.edit("esp.csv", "Bo,not-an-address,\n", "");
    project.edit("esp.csv", "Di,also bad,\n", "");
    let imported = project.ok(&["suppress", "import", "esp.csv"]).stdout;
    assert!(
        imported.contains("2 addresses suppressed, 0 changed reason, 0 already"),
        "{imported}"
    );
    assert!(
        !project.path("state/suppressions.csv").exists(),
        "the CSV moved into the store"
    );
    assert!(project.path("state/suppressions.csv.migrated").exists());
    let list = project.ok(&["suppress", "list"]).stdout;
    let lines: Vec<&str> = list.lines().collect();
    assert_eq!(lines.len(), 3, "{list}");
    assert!(
        lines[0].starts_with("ANA.LIMA@example.org  complained  import  "),
        "{list}"
    );
    assert!(
        lines[1].starts_with("cy@example.org  unsubscribed  import  "),
        "{list}"
    );
    assert_eq!(lines[2], "old@example.org  bounced  migration  2024-05-09");
    let export = project.ok(&["suppress", "export"]).stdout;
    assert!(
        export.starts_with("email,reason,since,source\n"),
        "{export}"
    );
    let other = with_recipients();
    other.write("exported.csv", &export);
    other.ok(&["suppress", "import", "exported.csv"]);
    let reasons = |p: &Project| -> Vec<String> {
        let list = p.ok(&["suppress", "list"]).stdout;
        list.lines()
            .map(|l| l.split("  ").take(2).collect::<Vec<_>>().join(" "))
            .collect()
    };
    assert_eq!(
        reasons(&other),
        reasons(&project),
        "export then import keeps every reason"
    );
}
