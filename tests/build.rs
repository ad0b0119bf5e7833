//! `broadsheet build` on the sample volume: every pick of the seed issue arrives, in the
//! seed's order, in both parts; the output is deterministic, compact and safe.

use crate::support::{Project, collapse, html_text, seed_picks};

fn built(project: &Project) -> (String, String) {
    project.ok(&["build", "volumes/011.toml"]);
    (
        project.read("out/011/email.html"),
        project.read("out/011/email.txt"),
    )
}

/// "summary (Outlet, MM/DD/YY)" as the seed prints each pick.
fn seed_lines() -> Vec<String> {
    seed_picks()
        .iter()
        .map(|p| format!("{} ({}, {})", p.summary, p.source, p.date))
        .collect()
}

fn positions(haystack: &str, needles: &[String]) -> Vec<usize> {
    needles
        .iter()
        .map(|n| {
            haystack
                .find(n.as_str())
                .unwrap_or_else(|| panic!("missing {n:?}"))
        })
        .collect()
}

#[test]
fn every_seed_pick_appears_in_order_in_html_and_text() {
    let project = Project::sample();
    let (html, text) = built(&project);
    let lines = seed_lines();
    assert_eq!(lines.len(), 21, "the seed has 21 picks");
    for part in [html_text(&html), collapse(&text)] {
        let at = positions(&part, &lines);
        assert!(at.windows(2).all(|w| w[0] < w[1]), "picks out of order");
    }
}

#[test]
fn expert_view_sits_between_pick_six_and_seven() {
    let project = Project::sample();
    let (html, text) = built(&project);
    let lines = seed_lines();
    for part in [html_text(&html), collapse(&text)] {
        let sixth = part.find(&lines[5][..40]).expect("pick 6");
        let seventh = part.find(&lines[6][..40]).expect("pick 7");
        let heading = part.find("CSET Expert View").expect("expert view heading");
        let quote = part
            .find("Reporting like this highlights the need to assess the quality")
            .expect("expert view body");
        assert!(sixth < heading && heading < quote && quote < seventh);
        assert!(
            part.contains("Today's viewpoint is from CSET Senior Research Analyst Ngor Luong.")
        );
    }
}

#[test]
fn header_hero_intro_and_footer_follow_the_seed() {
    let project = Project::sample();
    let (html, text) = built(&project);
    let visible = html_text(&html);
    let title = "Editors' picks from ETO Scout: volume 11 (4/12/24-5/9/24)";
    let headline = "Farming robots, synthetic video, Nvidia salesmen and Chinese photolithography - plus, a CSET expert take on China's chip subsidies";
    let intro = "Scout is ETO's discovery tool for Chinese-language news and commentary on technology issues. See the latest editors’ picks, browse the feed by topic, or sign up for customized e-mail alerts at 🔭";
    let order = [title, headline, intro, "Keep in touch"].map(str::to_owned);
    let at = positions(&visible, &order);
    assert!(at.windows(2).all(|w| w[0] < w[1]), "header out of order");
    assert!(html.contains(r#"alt="A computer chip viewed through a circular lens.""#));
    assert!(html.contains(r#"alt="ETO Logo""#));
    assert!(text.starts_with(title));
    assert!(collapse(&text).contains(headline));
}

#[test]
fn text_part_carries_every_link_and_short_lines() {
    let project = Project::sample();
    let (html, text) = built(&project);
    let hrefs: Vec<&str> = html
        .split("href=\"")
        .skip(1)
        .map(|rest| rest.split('"').next().expect("closing quote"))
        .collect();
    assert!(hrefs.len() > 21);
    for href in hrefs {
        assert!(text.contains(href), "text part lacks {href}");
    }
    assert!(
        !text.contains('<') || text.contains(" <https://"),
        "no tags in text"
    );
    assert!(
        !text.contains("&amp;") && !text.contains("&#"),
        "no entities in text"
    );
    for line in text.lines() {
        let long_word = line.split_whitespace().any(|w| w.chars().count() > 60);
        assert!(
            line.chars().count() <= 76 || long_word,
            "long line: {line:?}"
        );
    }
}

/// A pick in Chinese (no spaces) and one in Japanese are wrapped like English ones: lines
/// of at most 76 columns, an ideograph taking two, never starting with closing
/// punctuation nor ending with an opening bracket, and the text reads as written.
#[test]
fn text_part_wraps_chinese_and_japanese_in_display_columns() {
    let project = Project::sample();
    let chinese = "新华社报道人工智能芯片出口管制新规对行业的影响，专家认为冲击有限。".repeat(12);
    let japanese = "東京都は「デジタル・トランスフォーメーション」推進計画を発表した。".repeat(8);
    project.edit(
        "volumes/011.toml",
        "summary = \"A state media report explains that China's agricultural machinery industry lags behind the global cutting edge, but aims to catch up.\"",
        &format!("summary = \"{chinese}\""),
    );
    project.edit(
        "volumes/011.toml",
        "summary = \"Shengshu Technology and Tsinghua University's new Vidu model generates high-resolution video reportedly on par with OpenAI Sora.\"",
        &format!("summary = \"{japanese}\""),
    );
    let (_, text) = built(&project);
    let columns = |line: &str| -> usize {
        line.chars()
            .map(|c| if c >= '\u{2E80}' { 2 } else { 1 })
            .sum()
    };
    for line in text.lines() {
        assert!(columns(line) <= 76, "{} columns: {line:?}", columns(line));
        let body = line.trim_start_matches(|c: char| !c.is_alphanumeric() && c < '\u{2E80}');
        assert!(
            !body.starts_with(['，', '。', '」', '・', 'ー']),
            "{line:?}"
        );
        assert!(!line.ends_with('「'), "{line:?}");
    }
    let joined: String = text.lines().map(str::trim_start).collect();
    for summary in [&chinese, &japanese] {
        assert!(
            joined.contains(summary.as_str()),
            "{summary} is cut or changed"
        );
    }
}

#[test]
fn html_follows_the_rendering_rules() {
    let project = Project::sample();
    let (html, _) = built(&project);
    assert!(html.contains(r#"<html lang="en""#));
    for forbidden in ["fonts.googleapis", "<script", "<form", "<link"] {
        assert!(!html.contains(forbidden), "HTML contains {forbidden}");
    }
    let images: Vec<&str> = html.split("<img").skip(1).collect();
    assert_eq!(images.len(), 3, "logo, hero, footer logo");
    for img in images {
        let tag = img.split('>').next().unwrap();
        assert!(tag.contains(" alt=\""), "image without alt: {tag}");
    }
    assert!(html.contains("https://unsubscribe.invalid/BROADSHEET-PLACEHOLDER"));
    let sent = broadsheet::encoding::encode(&html).body.len();
    assert!(sent <= 60 * 1024, "HTML part is {sent} bytes as sent");
}

#[test]
fn output_is_deterministic_and_summary_names_sizes() {
    let project = Project::sample();
    let first = project.ok(&["build", "volumes/011.toml", "--out", "a"]);
    project.ok(&["build", "volumes/011.toml", "--out", "b"]);
    for file in ["email.mjml", "email.html", "email.txt"] {
        assert_eq!(
            project.read(&format!("a/{file}")),
            project.read(&format!("b/{file}")),
            "{file} differs between builds"
        );
    }
    let summary = first.stdout.trim();
    assert_eq!(summary.lines().count(), 1, "{summary}");
    assert!(
        summary.starts_with("built volume 11 into a: email.html "),
        "{summary}"
    );
    assert!(
        summary.contains("as sent") && !summary.contains("warning"),
        "{summary}"
    );
    project.edit(
        "volumes/011.toml",
        "date = 2021-05-28\nolder = true",
        "date = 2021-05-28",
    );
    let warned = project.ok(&["build", "volumes/011.toml", "--out", "c"]);
    assert!(
        warned
            .stdout
            .trim_end()
            .ends_with("; 1 warning (see `broadsheet check volumes/011.toml`)"),
        "{}",
        warned.stdout
    );
}

#[test]
fn escaping_is_handlebars_job() {
    let project = Project::sample();
    project.edit(
        "volumes/011.toml",
        r#"source = "S&T Daily""#,
        r#"source = "Tom & Jerry <b>""#,
    );
    project.edit(
        "volumes/011.toml",
        "Shengshu Technology",
        "Shengshu <script>alert(1)</script> Technology",
    );
    let (html, text) = built(&project);
    assert!(html.contains("Tom &amp; Jerry &lt;b&gt;"));
    assert!(!html.contains("<script>alert"));
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(collapse(&text).contains("(Tom & Jerry <b>, 05/04/24)"));
}

#[test]
fn snapshot_html() {
    let project = Project::sample();
    let (html, _) = built(&project);
    insta::assert_snapshot!("email.html", html);
}

#[test]
fn snapshot_text() {
    let project = Project::sample();
    let (_, text) = built(&project);
    insta::assert_snapshot!("email.txt", text);
}

#[test]
fn a_failed_build_leaves_the_last_good_outputs_as_they_were() {
    let project = Project::sample();
    project.ok(&["build", "volumes/011.toml"]);
    let good = project.files();
    project.edit(
        "layouts/scout/email.mjml.hbs",
        "</h1></mj-text>",
        "</h1></mj-text",
    );
    let run = project.run(&["build", "volumes/011.toml"]);
    assert_eq!(run.status, 1, "{}", run.stderr);
    for (path, contents) in good.iter().filter(|(p, _)| p.starts_with("out/")) {
        assert_eq!(
            project.files().get(path),
            Some(contents),
            "{path} changed by a failed build"
        );
    }
    let failed = project.read("out/011/email.failed.mjml");
    assert!(
        failed.contains("</h1></mj-text\n"),
        "the broken render, for inspection"
    );
    assert!(
        run.stderr.contains("--> out/011/email.failed.mjml:")
            && run
                .stderr
                .contains("note: the generated MJML is in out/011/email.failed.mjml"),
        "{}",
        run.stderr
    );
    let out: Vec<String> = project
        .files()
        .into_keys()
        .filter(|p| p.starts_with("out/"))
        .collect();
    assert_eq!(
        out,
        [
            "out/011/email.failed.mjml",
            "out/011/email.html",
            "out/011/email.mjml",
            "out/011/email.txt"
        ],
        "no temporary file left"
    );
    project.edit(
        "layouts/scout/email.mjml.hbs",
        "</h1></mj-text",
        "</h1></mj-text>",
    );
    project.ok(&["build", "volumes/011.toml"]);
    assert!(
        !project.path("out/011/email.failed.mjml").exists(),
        "a good build removes the copy of a failed one"
    );
}

/// The places `build` gives for `error: image without an `alt` attribute`, as the text of
/// the generated MJML (`out/011/email.failed.mjml`) from each place on.
fn images_without_alt(project: &Project) -> Vec<String> {
    let run = project.run(&["build", "volumes/011.toml"]);
    let failed = project.read("out/011/email.failed.mjml");
    let lines: Vec<&str> = failed.lines().collect();
    let mut places = Vec::new();
    let said = run
        .stderr
        .split("error: image without an `alt` attribute\n")
        .skip(1);
    for next in said {
        let place = next
            .trim_start()
            .strip_prefix("--> out/011/email.failed.mjml:")
            .unwrap_or_else(|| panic!("a place in the generated MJML:\n{}", run.stderr));
        let mut numbers = place.split([':', '\n']).map(|n| n.parse::<usize>().ok());
        let (Some(Some(line)), Some(Some(column))) = (numbers.next(), numbers.next()) else {
            panic!("line and column:\n{}", run.stderr);
        };
        places.push(lines[line - 1].chars().skip(column - 1).collect());
    }
    places
}

#[test]
fn every_image_without_alt_is_an_error_at_the_mjml_that_wrote_it() {
    let project = Project::sample();
    project.edit(
        "layouts/scout/email.mjml.hbs",
        "</mj-body>",
        r#"<mj-section><mj-column>
<mj-social mode="horizontal"><mj-social-element name="github" href="https://github.com/">GitHub</mj-social-element><mj-social-element name="x-noshare" href="https://x.com/" alt="X">X</mj-social-element></mj-social>
<mj-text>See <img src="https://example.org/a.png?x=1&amp;y=2" width="10"> here</mj-text>
<mj-raw><img src="https://example.org/raw.png"></mj-raw>
<mj-image src="https://example.org/image.png" /><mj-image src="https://example.org/given.png" alt="" />
</mj-column></mj-section></mj-body>"#,
    );
    let places = images_without_alt(&project);
    let starts: Vec<&str> = places
        .iter()
        .map(|p| &p[..p.find(' ').unwrap_or(p.len())])
        .collect();
    assert_eq!(
        starts,
        ["<mj-social-element", "<img", "<img", "<mj-image"],
        "{places:#?}"
    );
    assert!(places[0].starts_with(r#"<mj-social-element name="github""#));
    assert!(places[3].starts_with(r#"<mj-image src="https://example.org/image.png""#));
}

#[test]
fn an_alt_given_to_every_image_in_mj_attributes_counts() {
    let project = Project::sample();
    project.edit(
        "layouts/scout/email.mjml.hbs",
        "</mj-attributes>",
        r#"<mj-social-element alt="" /></mj-attributes>"#,
    );
    project.edit(
        "layouts/scout/email.mjml.hbs",
        "</mj-body>",
        r#"<mj-section><mj-column><mj-social><mj-social-element name="github" href="https://github.com/">GitHub</mj-social-element></mj-social></mj-column></mj-section></mj-body>"#,
    );
    let (html, _) = built(&project);
    let icon = html
        .split("<img")
        .find(|tag| tag.contains("ico-social/github.png"))
        .and_then(|tag| tag.split('>').next())
        .expect("the GitHub icon");
    assert!(icon.contains(r#" alt="""#), "{icon}");
}
