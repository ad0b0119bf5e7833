//! Readers brought over from the tool a newsroom leaves: each tool's sample export
//! (`tests/fixtures/imports/`, with that tool's own header names) imported with only `from`
//! (and a tag table where the export has tags) gives the right readers, names, topics,
//! segments and suppressions; problems repeating on many rows are one diagnostic; and the
//! hints name the fix for this very file.

use std::fmt::Write as _;

use crate::support::Project;

/// The segments the samples use: `subscribers` for everyone, `staff` and `members` (paying
/// readers) for some.
const SEGMENTS: &str = "[segments.subscribers]\ndescription = \"Everyone\"\n\n\
    [segments.staff]\ndescription = \"The newsroom\"\n\n\
    [segments.members]\ndescription = \"Paying readers\"\n";

/// The sample project with the named fixture exports under `recipients/`, and
/// recipients.toml with [`SEGMENTS`] and `imports` (TOML `[[imports]]` tables).
fn importing(files: &[&str], imports: &str) -> Project {
    let project = Project::sample();
    for file in files {
        let text = std::fs::read_to_string(format!(
            "{}/tests/fixtures/imports/{file}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .expect("read a sample export");
        project.write(&format!("recipients/{file}"), &text);
    }
    project.write("recipients.toml", &format!("{SEGMENTS}\n{imports}"));
    project
}

/// `recipients --explain ADDRESS`, which must succeed.
fn explain(project: &Project, address: &str) -> String {
    project.ok(&["recipients", "--explain", address]).stdout
}

/// The counts row of `segment`: listed, suppressed, unsendable, receiving.
fn counts(project: &Project, segment: &str) -> [usize; 4] {
    let stdout = project.ok(&["recipients"]).stdout;
    let line = stdout
        .lines()
        .find(|l| l.split_whitespace().next() == Some(segment))
        .unwrap_or_else(|| panic!("no {segment} row in:\n{stdout}"));
    let n: Vec<usize> = line
        .split_whitespace()
        .skip(1)
        .take(4)
        .map(|w| w.parse().expect("a count"))
        .collect();
    [n[0], n[1], n[2], n[3]]
}

fn assert_lines(text: &str, lines: &[&str]) {
    for line in lines {
        assert!(text.lines().any(|l| l == *line), "no {line:?} in:\n{text}");
    }
}

#[test]
fn a_mailchimp_export_comes_over_with_its_tags_unsubscribes_and_cleaned_addresses() {
    let project = importing(
        &[
            "mailchimp-subscribed.csv",
            "mailchimp-unsubscribed.csv",
            "mailchimp-cleaned.csv",
        ],
        "[[imports]]\npath = \"recipients/mailchimp-subscribed.csv\"\nfrom = \"mailchimp\"\n\
         segments = [\"subscribers\"]\n\
         tags = { \"AI readers\" = \"ai\", \"Chips\" = \"chips\", \"Staff\" = { segment = \"staff\" } }\n\n\
         [[imports]]\npath = \"recipients/mailchimp-unsubscribed.csv\"\nfrom = \"mailchimp\"\nsegments = [\"subscribers\"]\n\
         tags = { \"AI readers\" = \"ai\" }\n\n\
         [[imports]]\npath = \"recipients/mailchimp-cleaned.csv\"\nfrom = \"mailchimp\"\nsegments = [\"subscribers\"]\n",
    );
    assert_eq!(counts(&project, "subscribers"), [7, 3, 0, 4]);
    assert_eq!(counts(&project, "staff"), [1, 0, 0, 1]);
    let ana = explain(&project, "ana.lima@example.org");
    assert_lines(
        &ana,
        &[
            "  listed at recipients/mailchimp-subscribed.csv:2 (Mailchimp export) in: subscribers",
            "  name: Ana Lima",
            "  greeting: Ana",
            "  topics: ai, chips",
        ],
    );
    let sam = explain(&project, "sam.okafor@example.org");
    assert_lines(
        &sam,
        &[
            "  segments: subscribers, staff",
            "  topics: none chosen (the segments decide)",
        ],
    );
    let gone = explain(&project, "gone@example.org");
    assert_lines(
        &gone,
        &[
            "  listed at recipients/mailchimp-unsubscribed.csv:2 (Mailchimp export, unsubscribed) in: subscribers",
            "  suppressed since 2024-03-05: unsubscribed (source: import, Mailchimp export: unsubscribed, recipients/mailchimp-unsubscribed.csv:2)",
            "  gets no volume: suppressed",
        ],
    );
    let bounced = explain(&project, "bounced@example.org");
    assert!(
        bounced.contains(
            "  suppressed since 2024-02-10: bounced (source: import, Mailchimp export: cleaned"
        ),
        "{bounced}"
    );
    // `plan --readers` names each reader's file, row and tool too.
    let plan = project.ok(&[
        "plan",
        "volumes/011.toml",
        "--segment",
        "subscribers",
        "--readers",
    ]);
    assert!(
        plan.stdout
            .lines()
            .any(|l| l.trim_start().starts_with("ana.lima@example.org")
                && l.ends_with("recipients/mailchimp-subscribed.csv:2 (Mailchimp export)")),
        "{}",
        plan.stdout
    );
    // One warning for the tag no entry maps, with the rows that carry it.
    let warnings = project.ok(&["recipients"]).stderr;
    assert_eq!(warnings.matches("warning:").count(), 1, "{warnings}");
    assert!(
        warnings.contains("1 tag with no entry in the import's `tags` gives no topic or segment: `Old list` (2 rows)"),
        "{warnings}"
    );
}

#[test]
fn a_substack_export_comes_over_with_its_paying_readers_and_disabled_emails() {
    let project = importing(
        &["substack.csv"],
        "[[imports]]\npath = \"recipients/substack.csv\"\nfrom = \"substack\"\n\
         segments = [\"subscribers\"]\npaid_segments = [\"members\"]\n",
    );
    assert_eq!(counts(&project, "subscribers"), [3, 1, 0, 2]);
    assert_eq!(counts(&project, "members"), [1, 0, 0, 1]);
    assert_lines(
        &explain(&project, "patron@example.org"),
        &["  listed at recipients/substack.csv:2 (Substack export, paid) in: subscribers, members"],
    );
    let quiet = explain(&project, "quiet@example.org");
    assert!(quiet.contains(": unsubscribed (source: import, Substack export: email disabled, recipients/substack.csv:4)"), "{quiet}");
}

#[test]
fn a_buttondown_export_comes_over_with_its_types_and_tags() {
    let project = importing(
        &["buttondown.csv"],
        "[[imports]]\npath = \"recipients/buttondown.csv\"\nfrom = \"buttondown\"\n\
         segments = [\"subscribers\"]\npaid_segments = [\"members\"]\n\
         tags = { ai = \"ai\", chips = \"chips\" }\n",
    );
    // Buttondown's types as its API documents them: a reader whose paid subscription
    // ended (`churned`), has yet to start (`upcoming`) or is on hold (`paused`) still
    // gets the newsletter, without the paying readers' segments.
    assert_eq!(counts(&project, "subscribers"), [7, 2, 0, 5]);
    assert_eq!(counts(&project, "members"), [1, 0, 0, 1]);
    for address in ["former.patron", "future.patron", "resting.patron"] {
        assert_lines(
            &explain(&project, &format!("{address}@example.org")),
            &["  segments: subscribers"],
        );
    }
    assert_lines(
        &explain(&project, "ana.lima@example.org"),
        &["  topics: ai, chips", "  segments: subscribers"],
    );
    assert_lines(
        &explain(&project, "patron@example.org"),
        &["  segments: subscribers, members", "  topics: ai"],
    );
    assert!(
        explain(&project, "gone@example.org")
            .contains(": unsubscribed (source: import, Buttondown export: unsubscribed")
    );
    assert!(
        explain(&project, "dead@example.org")
            .contains(": bounced (source: import, Buttondown export: undeliverable")
    );
    assert_lines(
        &explain(&project, "nobody@example.org"),
        &["  gets no volume: not listed in recipients.toml or its imports"],
    );
    let warnings = project.ok(&["recipients"]).stderr;
    assert!(
        warnings.contains(
            "1 row of the Buttondown export is not subscribers and left out (unactivated: 1)"
        ),
        "{warnings}"
    );
}

#[test]
fn a_ghost_export_comes_over_with_names_labels_and_comped_members() {
    let project = importing(
        &["ghost.csv"],
        "[[imports]]\npath = \"recipients/ghost.csv\"\nfrom = \"ghost\"\n\
         segments = [\"subscribers\"]\npaid_segments = [\"members\"]\n\
         tags = { ai = \"ai\", VIP = { segment = \"staff\" } }\n",
    );
    // Paying: a tier (paid or comped) or a gift; a Stripe customer whose subscription
    // ended has no tier left and reads free.
    assert_eq!(counts(&project, "members"), [3, 0, 0, 3]);
    assert!(
        explain(&project, "gifted@example.org")
            .contains("(Ghost export, paid) in: subscribers, members")
    );
    assert_lines(
        &explain(&project, "former.patron@example.org"),
        &["  segments: subscribers"],
    );
    let ana = explain(&project, "ana.lima@example.org");
    assert_lines(
        &ana,
        &[
            "  name: Ana Lima",
            "  greeting: none (the email greets nobody)",
            "  segments: subscribers, staff",
            "  topics: ai",
        ],
    );
    assert!(
        explain(&project, "friend@example.org")
            .contains("(Ghost export, paid) in: subscribers, members")
    );
    assert!(
        explain(&project, "quiet@example.org")
            .contains(": unsubscribed (source: import, Ghost export: not subscribed to emails")
    );
}

#[test]
fn a_beehiiv_export_comes_over_with_its_statuses_and_tiers() {
    let project = importing(
        &["beehiiv.csv"],
        "[[imports]]\npath = \"recipients/beehiiv.csv\"\nfrom = \"beehiiv\"\n\
         segments = [\"subscribers\"]\npaid_segments = [\"members\"]\n\
         tags = { ai = \"ai\", chips = \"chips\" }\n",
    );
    assert_eq!(counts(&project, "subscribers"), [4, 2, 0, 2]);
    assert_eq!(counts(&project, "members"), [1, 0, 0, 1]);
    assert_lines(
        &explain(&project, "reader@example.org"),
        &["  topics: ai, chips"],
    );
    assert!(
        explain(&project, "gone@example.org")
            .contains(": unsubscribed (source: import, beehiiv export: inactive")
    );
    assert!(
        explain(&project, "dead@example.org")
            .contains(": bounced (source: import, beehiiv export: invalid")
    );
    assert!(explain(&project, "pending@example.org").contains("not listed"));
}

#[test]
fn a_kit_export_comes_over_with_first_names_states_and_tags() {
    let project = importing(
        &["convertkit.csv"],
        "[[imports]]\npath = \"recipients/convertkit.csv\"\nfrom = \"convertkit\"\n\
         segments = [\"subscribers\"]\ntags = { \"AI readers\" = \"ai\", Chips = \"chips\" }\n",
    );
    assert_eq!(counts(&project, "subscribers"), [4, 3, 0, 1]);
    assert_lines(
        &explain(&project, "ana.lima@example.org"),
        &["  name: Ana", "  greeting: Ana", "  topics: ai, chips"],
    );
    for (address, reason) in [
        ("gone", "unsubscribed"),
        ("dead", "bounced"),
        ("angry", "complained"),
    ] {
        let story = explain(&project, &format!("{address}@example.org"));
        assert!(
            story.contains(&format!(
                ": {reason} (source: import, Kit (ConvertKit) export"
            )),
            "{story}"
        );
    }
    assert!(explain(&project, "maybe@example.org").contains("not listed"));
}

#[test]
fn mailchimps_non_subscribed_contacts_are_never_brought_over_as_readers() {
    // The file as Mailchimp's zip names it, as an unzip tool renames it, and as a
    // newsroom names its files by tool: the same columns as the subscribed file, so only
    // the name tells its contacts never opted in.
    let file = "nonsubscribed_email_audience_export_5e8c1d2a7b.csv";
    for name in [
        file,
        "Nonsubscribed Email Audience Export 5e8c1d2a7b.csv",
        "mailchimp-nonsubscribed.csv",
        "Mailchimp non-subscribed 2024.csv",
    ] {
        let project = importing(
            &["mailchimp-subscribed.csv", file],
            &format!(
                "[[imports]]\npath = \"recipients/mailchimp-subscribed.csv\"\nfrom = \"mailchimp\"\n\
                 segments = [\"subscribers\"]\ntags = {{ \"Old list\" = [], \"AI readers\" = \"ai\", \"Chips\" = \"chips\", \"Staff\" = {{ segment = \"staff\" }} }}\n\n\
                 [[imports]]\npath = \"recipients/{name}\"\nfrom = \"mailchimp\"\nsegments = [\"subscribers\"]\n\
                 tags = {{ \"Chips\" = \"chips\" }}\n"
            ),
        );
        if name != file {
            std::fs::rename(
                project.path(&format!("recipients/{file}")),
                project.path(&format!("recipients/{name}")),
            )
            .unwrap();
        }
        assert_eq!(counts(&project, "subscribers"), [4, 0, 0, 4], "{name}");
        for address in ["buyer.one@example.org", "buyer.two@example.org"] {
            assert!(
                explain(&project, address).contains("not listed"),
                "{name}: {address}"
            );
        }
        let warnings = project.ok(&["recipients"]).stderr;
        assert!(
            warnings.contains(&format!(
                "warning: recipients/{name}: 2 rows of the Mailchimp export are not subscribers \
                 and left out (non-subscribed contacts, who never opted in: 2)"
            )),
            "{warnings}"
        );
    }
}

#[test]
fn a_column_problem_on_a_thousand_rows_is_one_diagnostic_with_the_count() {
    let mut csv = String::from("Email Address,First Name,Last Name,TAGS\n");
    for i in 0..1000 {
        writeln!(csv, "reader{i}@example.org,Reader{i},Lima,").unwrap();
    }
    let project = importing(
        &[],
        "[[imports]]\npath = \"recipients/export.csv\"\nfrom = \"mailchimp\"\nsegments = [\"subscribers\"]\n\
         columns = { email = \"First Name\" }\n",
    );
    project.write("recipients/export.csv", &csv);
    let run = project.run(&["recipients"]);
    assert_eq!(run.status, 1);
    assert_eq!(run.stderr.matches("error:").count(), 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("error: `Reader0` has no `@`"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("the same problem is on 1000 rows of recipients/export.csv: lines 2, 3, 4, 5, 6 and 995 more"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.ends_with("error: 1 error\n"), "{}", run.stderr);
}

#[test]
fn a_tag_mapped_to_no_segment_is_an_error_at_the_table_not_on_every_row() {
    let project = importing(
        &["mailchimp-subscribed.csv"],
        "[[imports]]\npath = \"recipients/mailchimp-subscribed.csv\"\nfrom = \"mailchimp\"\nsegments = [\"subscribers\"]\n\
         tags = { \"AI readers\" = { segment = \"ai-readers\" }, \"Chips\" = \"Chips and semis\" }\n",
    );
    let run = project.run(&["recipients"]);
    assert_eq!(run.status, 1);
    assert!(
        run.stderr.contains("unknown segment `ai-readers`"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("topic `Chips and semis` must be one word"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("--> recipients.toml:14:"),
        "{}",
        run.stderr
    );
    assert!(
        !run.stderr.contains("mailchimp-subscribed.csv:"),
        "no row is read: {}",
        run.stderr
    );
}

#[test]
fn an_export_read_without_from_names_its_tool() {
    let project = importing(
        &["substack.csv"],
        "[[imports]]\npath = \"recipients/substack.csv\"\nsegments = [\"subscribers\"]\n",
    );
    let run = project.run(&["recipients"]);
    assert_eq!(run.status, 1);
    assert_eq!(
        run.stderr.matches("error:").count(),
        2,
        "one error: {}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("recipients/substack.csv is a Substack export"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("add `from = \"substack\"` to the import"),
        "{}",
        run.stderr
    );
    assert!(
        !run.stderr.contains("Email Address"),
        "no column the file lacks: {}",
        run.stderr
    );
}

#[test]
fn a_mapped_column_the_export_lacks_is_matched_to_the_header_name_holding_it() {
    let project = importing(
        &["mailchimp-subscribed.csv"],
        "[[imports]]\npath = \"recipients/mailchimp-subscribed.csv\"\nsegments = [\"subscribers\"]\n\
         columns = { email = \"Email\", greeting = \"First Name\" }\n",
    );
    let run = project.run(&["recipients"]);
    assert_eq!(run.status, 1);
    assert!(
        run.stderr.contains("has no column `Email`"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("did you mean `Email Address`?"),
        "{}",
        run.stderr
    );
}

#[test]
fn an_unknown_tool_or_a_status_no_tool_writes_is_an_error() {
    let project = importing(
        &["buttondown.csv"],
        "[[imports]]\npath = \"recipients/buttondown.csv\"\nfrom = \"buttondwon\"\nsegments = [\"subscribers\"]\n",
    );
    let run = project.run(&["recipients"]);
    assert!(
        run.stderr.contains("unknown tool `buttondwon`")
            && run.stderr.contains("did you mean `buttondown`?"),
        "{}",
        run.stderr
    );
    project.edit("recipients.toml", "buttondwon", "buttondown");
    project.edit("recipients/buttondown.csv", ",regular,", ",sleepy,");
    let run = project.run(&["recipients"]);
    assert_eq!(run.status, 1);
    assert!(
        run.stderr
            .contains("`sleepy` is not a status a Buttondown export writes"),
        "{}",
        run.stderr
    );
}

/// An export of a tool broadsheet has no `from` for (EmailOctopus's header and statuses):
/// one row of each status it writes.
const OCTOPUS: &str = "Email address,First name,Status,Created at\n\
    sub@example.org,Sue,SUBSCRIBED,2024-01-08\n\
    left@example.org,Lee,UNSUBSCRIBED,2024-01-09\n\
    dead@example.org,,BOUNCED,2024-01-10\n\
    angry@example.org,,COMPLAINED,2024-01-11\n\
    maybe@example.org,,PENDING,2024-01-12\n";

#[test]
fn a_status_column_no_import_reads_stops_the_file_until_status_says_what_it_means() {
    let project = importing(&[], "");
    project.write("recipients/octopus.csv", OCTOPUS);
    let import = "[[imports]]\npath = \"recipients/octopus.csv\"\nsegments = [\"subscribers\"]\n\
         columns = { email = \"Email address\", greeting = \"First name\" }\n";
    project.write("recipients.toml", &format!("{SEGMENTS}\n{import}"));
    // Mapped to its email column only, the file would make everyone a reader.
    let run = project.run(&["recipients"]);
    assert_eq!(run.status, 1, "{}", run.stdout);
    assert!(
        run.stderr
            .contains("`Status` may say which readers left, and the import does not read it"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("recipients/octopus.csv:1:26"),
        "at the column: {}",
        run.stderr
    );
    assert!(run.stderr.contains("status = { column = \"Status\""));

    project.write(
        "recipients.toml",
        &format!(
            "{SEGMENTS}\n{import}status = {{ column = \"Status\", subscribed = \"subscribed\", \
             unsubscribed = \"unsubscribed\", bounced = \"bounced\", complained = \"complained\", \
             left_out = \"pending\" }}\n"
        ),
    );
    // Listed: everyone but the unconfirmed; suppressed: the three who left; receiving: one.
    assert_eq!(counts(&project, "subscribers"), [4, 3, 0, 1]);
    let angry = explain(&project, "angry@example.org");
    assert!(
        angry.contains(
            ": complained (source: import, `status`: complained, recipients/octopus.csv:5)"
        ),
        "{angry}"
    );

    // A value the table does not list is an error on its row, which is not read.
    project.edit(
        "recipients/octopus.csv",
        "SUBSCRIBED,2024-01-08",
        "BLOCKLISTED,2024-01-08",
    );
    let run = project.run(&["recipients"]);
    assert_eq!(run.status, 1);
    assert!(
        run.stderr
            .contains("`BLOCKLISTED` in `Status` is not a value that `status` lists"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_tool_export_without_its_status_column_is_refused_unless_status_says_every_row() {
    let project = importing(&[], "");
    project.write(
        "recipients/members.csv",
        "id,email,name,created_at\n1,ana@example.org,Ana Lima,2024-01-08\n2,quiet@example.org,Q,2024-01-09\n",
    );
    let import = "[[imports]]\npath = \"recipients/members.csv\"\nfrom = \"ghost\"\nsegments = [\"subscribers\"]\n";
    project.write("recipients.toml", &format!("{SEGMENTS}\n{import}"));
    let run = project.run(&["recipients"]);
    assert_eq!(run.status, 1, "{}", run.stdout);
    assert!(
        run.stderr.contains(
            "recipients/members.csv has no status column of a Ghost export (`subscribed_to_emails`): who left cannot be told"
        ),
        "{}",
        run.stderr
    );
    project.write(
        "recipients.toml",
        &format!("{SEGMENTS}\n{import}status = \"subscribed\"\n"),
    );
    assert_eq!(counts(&project, "subscribers"), [2, 0, 0, 2]);

    // Buttondown exports its unsubscribers apart: that file says so by its date column.
    project.write(
        "recipients/unsubscribers.csv",
        "email,unsubscription_date,unsubscription_reason\ngone@example.org,2024-03-02T10:00:00Z,too many emails\n",
    );
    project.write(
        "recipients.toml",
        &format!(
            "{SEGMENTS}\n[[imports]]\npath = \"recipients/unsubscribers.csv\"\nfrom = \"buttondown\"\n\
             segments = [\"subscribers\"]\n"
        ),
    );
    assert_eq!(counts(&project, "subscribers"), [1, 1, 0, 0]);
    let gone = explain(&project, "gone@example.org");
    assert!(
        gone.contains("  suppressed since 2024-03-02: unsubscribed (source: import, Buttondown"),
        "{gone}"
    );
}

#[test]
fn a_header_that_is_not_utf8_stops_the_file_at_line_one() {
    let project = importing(&[], "");
    let mut bytes = b"email,Stra\xdfe\n".to_vec();
    bytes.extend_from_slice(b"bo@example.org,Weg 2\n");
    std::fs::create_dir_all(project.path("recipients")).expect("create recipients/");
    std::fs::write(project.path("recipients/latin1.csv"), bytes).expect("write");
    project.write(
        "recipients.toml",
        &format!(
            "{SEGMENTS}\n[[imports]]\npath = \"recipients/latin1.csv\"\nsegments = [\"subscribers\"]\n"
        ),
    );
    let run = project.run(&["recipients"]);
    assert_eq!(run.status, 1);
    assert_eq!(run.stderr.matches("error:").count(), 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("recipients/latin1.csv:1:1") && run.stderr.contains("not UTF-8"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("bo@example.org"), "{}", run.stderr);
}

#[test]
fn notes_over_several_lines_semicolons_and_empty_spreadsheet_rows_import_as_they_come() {
    let project = importing(&[], "");
    // Ghost's free-text note may hold line breaks inside its quotes.
    project.write(
        "recipients/members.csv",
        "id,email,name,note,subscribed_to_emails\n\
         1,ana@example.org,Ana Lima,\"Met at the fair.\nCall back in May, \"\"maybe\"\".\",true\n\
         2,quiet@example.org,Q,,false\n\
         ,,,,\n\
         3,bo@example.org,Bo,\"one\r\ntwo\",true\n",
    );
    // A European spreadsheet separates its fields with `;`.
    project.write(
        "recipients/staff.csv",
        "email;name;segments\nsam@example.org;\"Sam; Jr\";staff\n;;\n",
    );
    project.write(
        "recipients.toml",
        &format!(
            "{SEGMENTS}\n[[imports]]\npath = \"recipients/members.csv\"\nfrom = \"ghost\"\n\
             segments = [\"subscribers\"]\n\n\
             [[imports]]\npath = \"recipients/staff.csv\"\nsegments = [\"subscribers\"]\n"
        ),
    );
    assert_eq!(counts(&project, "subscribers"), [4, 1, 0, 3]);
    assert_eq!(counts(&project, "staff"), [1, 0, 0, 1]);
    let bo = explain(&project, "bo@example.org");
    assert!(
        bo.contains("listed at recipients/members.csv:6"),
        "the record's first line: {bo}"
    );
    assert!(explain(&project, "sam@example.org").contains("Sam; Jr"));

    // A quote that never closes into a record that reads stays an error on its own line,
    // and the lines after it are rows of their own.
    project.write(
        "recipients/staff.csv",
        "email;name;segments\nsam@example.org;\"Sam;staff\nal@example.org;Al;staff\n",
    );
    let run = project.run(&["recipients"]);
    assert_eq!(run.status, 1);
    assert!(
        run.stderr.contains("recipients/staff.csv:2:17")
            && run.stderr.contains("this quote is never closed"),
        "{}",
        run.stderr
    );
    assert_eq!(run.stderr.matches("error:").count(), 2, "{}", run.stderr);
}

#[test]
fn a_known_tools_file_of_leavers_read_through_columns_asks_for_from() {
    let project = importing(
        &["mailchimp-unsubscribed.csv"],
        "[[imports]]\npath = \"recipients/mailchimp-unsubscribed.csv\"\nsegments = [\"subscribers\"]\n\
         columns = { email = \"Email Address\" }\n",
    );
    let run = project.run(&["recipients"]);
    assert_eq!(run.status, 1, "{}", run.stdout);
    assert!(
        run.stderr.contains(
            "recipients/mailchimp-unsubscribed.csv is a Mailchimp export, whose status only `from` reads"
        ),
        "{}",
        run.stderr
    );
}

#[test]
fn header_names_are_read_without_their_padding_or_case() {
    // A merge field's label as an editor typed it, with a space at its end, comes out of
    // Mailchimp quoted with the space; a hand-saved copy may change its case.
    let project = importing(
        &["mailchimp-subscribed.csv"],
        "[[imports]]\npath = \"recipients/mailchimp-subscribed.csv\"\nfrom = \"mailchimp\"\n\
         segments = [\"subscribers\"]\ntags = { \"AI readers\" = \"ai\", \"Chips\" = \"chips\", \
         \"Staff\" = [], \"Old list\" = [] }\n",
    );
    project.edit(
        "recipients/mailchimp-subscribed.csv",
        "Email Address,First Name,Last Name,",
        "\"Email Address \",\" first name\",\"Last Name  \",",
    );
    assert_eq!(counts(&project, "subscribers"), [4, 0, 0, 4]);
    assert_lines(
        &explain(&project, "ana.lima@example.org"),
        &["  name: Ana Lima", "  greeting: Ana", "  topics: ai, chips"],
    );

    // Without `from`, a padded header name is the field it names.
    project.write(
        "recipients/plain.csv",
        "\"email \",\" Name\"\nbo@example.org,Bo Lima\n",
    );
    project.write(
        "recipients.toml",
        &format!(
            "{SEGMENTS}\n[[imports]]\npath = \"recipients/plain.csv\"\nsegments = [\"subscribers\"]\n"
        ),
    );
    assert_eq!(counts(&project, "subscribers"), [1, 0, 0, 1]);
    assert_lines(&explain(&project, "bo@example.org"), &["  name: Bo Lima"]);
}

/// `text` as Excel's "Unicode text" saves it: UTF-16, little-endian unless `big`, after
/// its byte-order mark.
fn utf16(text: &str, big: bool) -> Vec<u8> {
    let mut bytes = if big {
        vec![0xFE, 0xFF]
    } else {
        vec![0xFF, 0xFE]
    };
    for unit in text.encode_utf16() {
        let pair = if big {
            unit.to_be_bytes()
        } else {
            unit.to_le_bytes()
        };
        bytes.extend_from_slice(&pair);
    }
    bytes
}

#[test]
fn a_list_saved_as_excels_unicode_text_imports_as_it_comes() {
    let project = importing(&[], "");
    // Tab-separated, CRLF, names beyond ASCII and beyond the Basic Multilingual Plane.
    let sheet = "Email Address\tFirst Name\tLast Name\tStatus\r\n\
                 wei.zhang@example.org\t伟\t张\tsubscribed\r\n\
                 ana.lima@example.org\tAna 𝒜\tLima\tunsubscribed\r\n";
    std::fs::create_dir_all(project.path("recipients")).expect("create recipients/");
    for (file, big) in [("sheet.txt", false), ("sheet-be.txt", true)] {
        std::fs::write(
            project.path(&format!("recipients/{file}")),
            utf16(sheet, big),
        )
        .expect("write");
    }
    let import = |file: &str| {
        format!(
            "[[imports]]\npath = \"recipients/{file}\"\nsegments = [\"subscribers\"]\n\
             columns = {{ email = \"Email Address\", name = [\"First Name\", \"Last Name\"], greeting = \"First Name\" }}\n\
             status = {{ column = \"Status\", subscribed = \"subscribed\", unsubscribed = \"unsubscribed\" }}\n"
        )
    };
    for file in ["sheet.txt", "sheet-be.txt"] {
        project.write("recipients.toml", &format!("{SEGMENTS}\n{}", import(file)));
        assert_eq!(counts(&project, "subscribers"), [2, 1, 0, 1], "{file}");
        assert_lines(
            &explain(&project, "wei.zhang@example.org"),
            &["  name: 伟 张", "  greeting: 伟"],
        );
        let ana = explain(&project, "ana.lima@example.org");
        assert!(ana.contains("  name: Ana 𝒜 Lima"), "{ana}");
        assert!(ana.contains(": unsubscribed (source: import"), "{ana}");
    }

    // `suppress import` reads such a file too.
    std::fs::write(
        project.path("recipients/left.txt"),
        utf16(
            "Email Address\tReason\r\nbo@example.org\tbounced\r\n",
            false,
        ),
    )
    .expect("write");
    project.ok(&["suppress", "import", "recipients/left.txt"]);
    assert!(
        project
            .ok(&["suppress", "list"])
            .stdout
            .contains("bo@example.org  bounced  import"),
    );
}

#[test]
fn suppress_import_keeps_mailchimps_leavers_as_exported() {
    let project = importing(&["mailchimp-unsubscribed.csv", "mailchimp-cleaned.csv"], "");
    // The unsubscribed export holds a reader's own words, over two lines.
    project.ok(&[
        "suppress",
        "import",
        "recipients/mailchimp-unsubscribed.csv",
    ]);
    // The cleaned export is addresses that bounced, as `from = "mailchimp"` reads it.
    project.ok(&["suppress", "import", "recipients/mailchimp-cleaned.csv"]);
    let list = project.ok(&["suppress", "list"]).stdout;
    for (address, reason) in [
        ("gone", "unsubscribed"),
        ("left.too", "unsubscribed"),
        ("bounced", "bounced"),
    ] {
        assert!(
            list.lines()
                .any(|l| l.starts_with(&format!("{address}@example.org  {reason}  import"))),
            "{address}: {list}"
        );
    }
    assert_eq!(list.lines().count(), 3, "{list}");

    // An export of readers who stayed, given by mistake, suppresses nobody.
    for (file, message) in [
        (
            "mailchimp-subscribed.csv",
            "4 rows of the Mailchimp export are not readers who left (the first on line 2)",
        ),
        (
            "substack.csv",
            "2 rows of the Substack export are not readers who left (the first on line 2)",
        ),
    ] {
        let text = std::fs::read_to_string(format!(
            "{}/tests/fixtures/imports/{file}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .expect("read a sample export");
        project.write(&format!("recipients/{file}"), &text);
        let run = project.run(&["suppress", "import", &format!("recipients/{file}")]);
        assert_eq!(run.status, 1, "{file}: {}", run.stdout);
        assert!(
            run.stderr.contains(message) && run.stderr.contains("from = \""),
            "{}",
            run.stderr
        );
    }
    // An audience whose email field is labelled `Email` is still Mailchimp's export.
    project.edit(
        "recipients/mailchimp-subscribed.csv",
        "Email Address,",
        "Email,",
    );
    let run = project.run(&["suppress", "import", "recipients/mailchimp-subscribed.csv"]);
    assert_eq!(run.status, 1, "{}", run.stdout);
    assert!(
        run.stderr
            .contains("4 rows of the Mailchimp export are not readers who left"),
        "{}",
        run.stderr
    );
    assert_eq!(project.ok(&["suppress", "list"]).stdout, list);
}

#[test]
fn suppress_import_reads_a_list_whose_lines_end_with_cr_alone() {
    // Excel's "CSV (Macintosh)" ends lines with CR alone: read as one line, the header
    // took every address into its own fields and nobody was suppressed, without a word.
    let project = importing(&[], "");
    project.write(
        "recipients/left.csv",
        "Email Address,First Name\rgone@example.org,Gil\rleft.too@example.org,Lee\r",
    );
    let run = project.ok(&["suppress", "import", "recipients/left.csv"]);
    assert!(
        run.stdout.contains("2 addresses suppressed"),
        "{}",
        run.stdout
    );
    let list = project.ok(&["suppress", "list"]).stdout;
    assert_eq!(list.lines().count(), 2, "{list}");
}

#[test]
fn a_list_without_a_header_is_told_to_get_one_never_to_map_its_first_address() {
    // Mailman 2's `list_members` and many a hand-kept list: one address a line. Mapping
    // `email` to the first address, as the hint said, would read that reader as the
    // header and leave them out.
    let project = importing(&[], "");
    project.write(
        "recipients/members.txt",
        "ana.lima@gmail.example.org\nbo@example.org\n",
    );
    project.write(
        "recipients.toml",
        &format!(
            "{SEGMENTS}\n[[imports]]\npath = \"recipients/members.txt\"\nsegments = [\"subscribers\"]\n"
        ),
    );
    let run = project.run(&["recipients"]);
    assert_eq!(run.status, 1);
    assert_eq!(run.stderr.matches("error:").count(), 2, "{}", run.stderr);
    assert!(
        run.stderr.contains(
            "the first line of recipients/members.txt is an address, not a header naming the columns"
        ) && run.stderr.contains("add a first line `email`"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("email = \"ana.lima"), "{}", run.stderr);
    project.write(
        "recipients/members.txt",
        "email\nana.lima@gmail.example.org\nbo@example.org\n",
    );
    assert_eq!(counts(&project, "subscribers"), [2, 0, 0, 2]);
}

#[test]
fn empty_fields_past_the_header_are_nothing_to_read_and_a_value_there_is_an_error() {
    // Spreadsheets and some exporters end each row with separators the header lacks.
    let project = importing(&[], "");
    project.write(
        "recipients/list.csv",
        "email,name\r\nana@example.org,Ana Lima,,\r\nbo@example.org,Bo,\r\n",
    );
    project.write(
        "recipients.toml",
        &format!(
            "{SEGMENTS}\n[[imports]]\npath = \"recipients/list.csv\"\nsegments = [\"subscribers\"]\n"
        ),
    );
    assert_eq!(counts(&project, "subscribers"), [2, 0, 0, 2]);
    project.edit("recipients/list.csv", "Ana Lima,,", "Lima, Ana,");
    let run = project.run(&["recipients"]);
    assert_eq!(run.status, 1);
    assert!(
        run.stderr
            .contains("this row has 4 fields but the header has 2")
            && run.stderr.contains("recipients/list.csv:2:22"),
        "{}",
        run.stderr
    );
}

#[test]
fn an_export_read_with_another_tools_from_is_told_its_tool_never_to_call_every_row_subscribed() {
    // `status = "subscribed"` on Substack's list would import its disabled emails as
    // readers: the fix for a wrong `from` is the right one.
    let project = importing(&["substack.csv", "beehiiv.csv"], "");
    for (file, from, tool) in [
        ("substack.csv", "ghost", "from = \"substack\""),
        ("beehiiv.csv", "buttondown", "from = \"beehiiv\""),
    ] {
        project.write(
            "recipients.toml",
            &format!(
                "{SEGMENTS}\n[[imports]]\npath = \"recipients/{file}\"\nfrom = \"{from}\"\nsegments = [\"subscribers\"]\n"
            ),
        );
        let run = project.run(&["recipients"]);
        assert_eq!(run.status, 1, "{file}");
        assert!(
            run.stderr.contains("it looks like a") && run.stderr.contains(tool),
            "{file}: {}",
            run.stderr
        );
        assert!(
            !run.stderr.contains("status = \"subscribed\""),
            "{}",
            run.stderr
        );
    }

    // A file no tool wrote, with a column that may say who left: read that column.
    project.write(
        "recipients/members.csv",
        "id,email,name,Status\n1,ana@example.org,Ana,active\n",
    );
    project.write(
        "recipients.toml",
        &format!(
            "{SEGMENTS}\n[[imports]]\npath = \"recipients/members.csv\"\nfrom = \"ghost\"\nsegments = [\"subscribers\"]\n"
        ),
    );
    let run = project.run(&["recipients"]);
    assert_eq!(run.status, 1);
    assert!(
        run.stderr.contains("status = { column = \"Status\""),
        "{}",
        run.stderr
    );
}

#[test]
fn a_mailchimp_audience_with_one_name_field_or_a_first_name_only_keeps_its_names() {
    // An audience whose merge fields are `Name` alone, or `First Name` without
    // `Last Name`, exports those labels.
    let project = importing(&[], "");
    project.write(
        "recipients/named.csv",
        "\"Email Address\",Name,MEMBER_RATING,OPTIN_TIME,OPTIN_IP,CONFIRM_TIME,CONFIRM_IP,LEID,EUID,NOTES,TAGS\n\
         ana@example.org,\"Ana Lima\",2,,,\"2024-01-08 09:13:02\",,101,a1b2c3,,\n",
    );
    project.write(
        "recipients/first.csv",
        "\"Email Address\",\"First Name\",MEMBER_RATING,LEID,EUID,NOTES,TAGS\n\
         bo@example.org,Bo,2,102,d4e5f6,,\n",
    );
    project.write(
        "recipients.toml",
        &format!(
            "{SEGMENTS}\n[[imports]]\npath = \"recipients/named.csv\"\nfrom = \"mailchimp\"\nsegments = [\"subscribers\"]\n\n\
             [[imports]]\npath = \"recipients/first.csv\"\nfrom = \"mailchimp\"\nsegments = [\"subscribers\"]\n"
        ),
    );
    assert_lines(
        &explain(&project, "ana@example.org"),
        &[
            "  name: Ana Lima",
            "  greeting: none (the email greets nobody)",
        ],
    );
    assert_lines(
        &explain(&project, "bo@example.org"),
        &["  name: Bo", "  greeting: Bo"],
    );
}
