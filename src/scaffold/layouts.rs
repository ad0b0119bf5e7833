//! The layouts `init` can start a project from, built into the binary from the repository's
//! `layouts/` folder: their templates as they are, and a `layout.toml` written for the
//! newsroom (its name, website and postal address, the design's colours, no logo until it
//! adds one).

use super::settings::quoted;
use super::{File, Newsroom};

/// A design a new project's layout starts from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Design {
    /// A clean single column: the newsletter's name as a text masthead, neutral colours.
    Plain,
    /// The sample project's design: a bolder masthead, an accent colour, a blue-grey page.
    Scout,
}

impl Design {
    /// The layout's folder name under `layouts/`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Plain => "plain",
            Self::Scout => "scout",
        }
    }

    /// The design's templates (every file but `layout.toml`), by path in its folder.
    fn templates(self) -> &'static [(&'static str, &'static str)] {
        match self {
            Self::Plain => PLAIN,
            Self::Scout => SCOUT,
        }
    }

    /// The repository's `layout.toml` of the design, whose colours a new layout takes.
    fn sample_settings(self) -> &'static str {
        match self {
            Self::Plain => include_str!("../../layouts/plain/layout.toml"),
            Self::Scout => include_str!("../../layouts/scout/layout.toml"),
        }
    }
}

/// Embeds the named files of `layouts/DIR/` as `(path, text)` pairs.
macro_rules! embed {
    ($dir:literal: $($path:literal),* $(,)?) => {
        &[$(($path, include_str!(concat!("../../layouts/", $dir, "/", $path)))),*]
    };
}

/// The files both designs have: the email's templates, the web archive's and the subscriber
/// service's pages.
macro_rules! shared {
    ($dir:literal: $($path:literal),* $(,)?) => {
        embed!($dir: "web.html.hbs", "index.html.hbs",
            "pages/confirm.html.hbs", "pages/confirm.txt.hbs", "pages/preferences.html.hbs",
            "pages/problem.html.hbs", "pages/subscribe.html.hbs", "pages/unsubscribe.html.hbs",
            "pages/welcome.txt.hbs",
            "partials/page_footer.html.hbs", "partials/page_head.html.hbs",
            "partials/page_header.html.hbs", "partials/page_picks.html.hbs",
            "partials/service_style.html.hbs", "partials/dateline.html.hbs",
            "email.mjml.hbs", "email.txt.hbs", "partials/expert_view.mjml.hbs",
            "partials/expert_view.txt.hbs", "partials/footer.mjml.hbs",
            "partials/picks.mjml.hbs", "partials/picks.txt.hbs", $($path),*)
    };
}

const PLAIN: &[(&str, &str)] = shared!("plain":
    "partials/masthead.mjml.hbs", "partials/preheader.mjml.hbs", "partials/dateline.txt.hbs");

const SCOUT: &[(&str, &str)] = shared!("scout":);

/// The files of the new project's layout, under `layouts/NAME/`.
pub(super) fn files(n: &Newsroom) -> Vec<File> {
    let folder = format!("layouts/{}", n.design.name());
    let mut files = vec![File {
        path: format!("{folder}/layout.toml"),
        text: layout_settings(n),
    }];
    files.extend(n.design.templates().iter().map(|(path, text)| File {
        path: format!("{folder}/{path}"),
        text: (*text).to_owned(),
    }));
    files
}

/// The `[colors]` table of a design's sample `layout.toml`, with its comments: from the
/// header to the first blank line.
fn colors(sample: &str) -> &str {
    let start = sample.find("[colors]").unwrap_or(sample.len());
    let rest = &sample[start..];
    &rest[..rest.find("\n\n").map_or(rest.len(), |end| end + 1)]
}

/// The newsroom's `layout.toml`.
fn layout_settings(n: &Newsroom) -> String {
    let design = n.design.name();
    let address_note = if n.address.is_empty() {
        "# Fill in the postal address: anti-spam laws (CAN-SPAM, CASL) require one in every\n\
         # newsletter, and the footer shows it."
    } else {
        "# The postal address that anti-spam laws (CAN-SPAM, CASL) require in every newsletter."
    };
    format!(
        "# The {design} layout of {title}, written by `broadsheet init`. Templates see this file\n\
         # as `layout`: `layout.name`, `layout.colors.link`, `layout.footer.links`, ... Edit the\n\
         # templates beside it freely: the folder is this project's own.\n\n\
         # The newsroom's name: the footer and the web archive show it, and the Atom feed names\n\
         # it as the author.\n\
         name = {name}\n\n\
         {colors}\n\
         # A logo (optional; https URLs): above the masthead and in the footer.\n\
         # [logo]\n\
         # src = \"https://{domain}/logo.png\"\n\
         # alt = {name}\n\
         # href = \"https://{domain}/\"\n\n\
         [footer]\n\
         heading = {name}\n\
         {address_note}\n\
         address = {address}\n\n\
         [[footer.links]]\n\
         label = \"Website\"\n\
         url = \"https://{domain}/\"\n",
        title = n.title,
        name = quoted(&n.title),
        colors = colors(n.design.sample_settings()),
        domain = n.domain,
        address = quoted(&n.address),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::date::Date;

    /// Every file of a layout folder, relative to it, but `layout.toml`.
    fn on_disk(design: Design) -> Vec<String> {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("layouts")
            .join(design.name());
        let mut found = Vec::new();
        let mut folders = vec![root.clone()];
        while let Some(folder) = folders.pop() {
            for entry in std::fs::read_dir(folder).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    folders.push(path);
                } else {
                    let relative = path.strip_prefix(&root).unwrap().to_string_lossy();
                    found.push(relative.into_owned());
                }
            }
        }
        found.retain(|f| f != "layout.toml");
        found.sort();
        found
    }

    #[test]
    fn every_template_of_each_design_is_built_in() {
        for design in [Design::Plain, Design::Scout] {
            let mut embedded: Vec<String> = design
                .templates()
                .iter()
                .map(|(p, _)| (*p).to_owned())
                .collect();
            embedded.sort();
            assert_eq!(embedded, on_disk(design), "{design:?}");
        }
    }

    #[test]
    fn the_layout_settings_are_the_newsrooms_with_the_designs_colours() {
        for design in [Design::Plain, Design::Scout] {
            let newsroom = Newsroom {
                title: "The Wire".to_owned(),
                from: "news@wire.example".to_owned(),
                domain: "wire.example".to_owned(),
                address: "1 Main St".to_owned(),
                design,
                today: Date::new(2026, 5, 6).unwrap(),
            };
            let text = layout_settings(&newsroom);
            let table: toml::Table = text.parse().expect("valid TOML");
            let sample: toml::Table = design.sample_settings().parse().unwrap();
            assert_eq!(table["colors"], sample["colors"], "{design:?}");
            assert_eq!(table["name"].as_str(), Some("The Wire"));
            assert_eq!(table["footer"]["address"].as_str(), Some("1 Main St"));
            assert!(!table.contains_key("logo"));
        }
    }
}
