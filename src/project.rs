//! The project: the folder holding `broadsheet.toml`, found by walking up from the current
//! directory, and the settings in that file.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use serde::Deserialize;
use toml::Spanned;

use crate::diag::{Diagnostic, Diagnostics, SourceFile};

/// The settings file's name.
pub const SETTINGS_FILE: &str = "broadsheet.toml";

/// A project on disk.
#[derive(Debug, Clone)]
pub struct Project {
    /// The folder holding `broadsheet.toml`.
    pub root: PathBuf,
    /// The parsed settings.
    pub settings: Settings,
}

/// The contents of `broadsheet.toml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// The layout volumes use unless they name one (a folder under `layouts/`).
    #[serde(default = "default_layout")]
    pub layout: String,
    /// The public web archive (`[archive]`), when the project publishes one.
    pub archive: Option<ArchiveSettings>,
}

/// The `[archive]` table: where `broadsheet archive`'s output is published.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArchiveSettings {
    /// The public URL of the archive's folder: https, ending with `/`.
    pub base_url: Spanned<String>,
}

impl ArchiveSettings {
    /// The public URL of volume `number`'s web page.
    pub fn page_url(&self, number: u32) -> String {
        format!(
            "{}{}",
            self.base_url.get_ref(),
            crate::archive::page_name(number)
        )
    }

    fn validate(&self, source: &SourceFile, diags: &mut Diagnostics) {
        let url = self.base_url.get_ref();
        let problem = match crate::volume::check_url(url, false) {
            Err(problem) => Some(format!("`base_url` {problem}")),
            Ok(()) if url.contains(['?', '#']) => {
                Some("`base_url` must not have a query or a fragment".to_owned())
            }
            Ok(()) if !url.ends_with('/') => Some(format!(
                "`base_url` must end with `/`, as in `{url}/`: page names are appended to it"
            )),
            Ok(()) => None,
        };
        if let Some(message) = problem {
            diags.push(Diagnostic::error(message).at_span(source, self.base_url.span()));
        }
    }
}

fn default_layout() -> String {
    "scout".to_owned()
}

impl Project {
    /// Finds the project containing `start` (or one of its parents) and reads its settings.
    pub fn discover(start: &Path) -> anyhow::Result<Self> {
        let Some(root) = start
            .ancestors()
            .find(|dir| dir.join(SETTINGS_FILE).is_file())
        else {
            bail!(
                "no {SETTINGS_FILE} in {} or any folder above it; run broadsheet inside a project",
                start.display()
            );
        };
        Self::open(root)
    }

    /// Reads the project whose `broadsheet.toml` is in `root`.
    pub fn open(root: &Path) -> anyhow::Result<Self> {
        let path = root.join(SETTINGS_FILE);
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let source = SourceFile::new(&path, text);
        let mut diags = Diagnostics::default();
        let settings = match toml::from_str::<Settings>(&source.text) {
            Ok(settings) => settings,
            Err(e) => {
                diags.push(crate::volume::toml_diagnostic(&source, &e));
                return Err(diags.into());
            }
        };
        if let Some(archive) = &settings.archive {
            archive.validate(&source, &mut diags);
        }
        if diags.has_errors() {
            return Err(diags.into());
        }
        Ok(Self {
            root: root.to_path_buf(),
            settings,
        })
    }

    /// The folder of the layout called `name`.
    pub fn layout_dir(&self, name: &str) -> PathBuf {
        self.root.join("layouts").join(name)
    }

    /// The folder holding the volume files.
    pub fn volumes_dir(&self) -> PathBuf {
        self.root.join("volumes")
    }

    /// The default output folder of `broadsheet archive`: `out/archive/`.
    pub fn archive_dir(&self) -> PathBuf {
        self.root.join("out").join("archive")
    }

    /// The default output folder for volume `number`: `out/NNN/`.
    pub fn out_dir(&self, number: u32) -> PathBuf {
        self.root.join("out").join(format!("{number:03}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The problems `[archive]` with this `base_url` has, as messages with line:column.
    fn base_url_problems(url: &str) -> Vec<String> {
        let text = format!("layout = \"scout\"\n[archive]\nbase_url = \"{url}\"\n");
        let source = SourceFile::new(Path::new("broadsheet.toml"), text);
        let settings: Settings = toml::from_str(&source.text).expect("valid TOML");
        let mut diags = Diagnostics::default();
        settings
            .archive
            .expect("[archive]")
            .validate(&source, &mut diags);
        diags
            .iter()
            .map(|d| {
                let at = d.location.as_ref().expect("a location");
                format!("{}:{}: {}", at.line, at.column, d.message)
            })
            .collect()
    }

    #[test]
    fn base_url_must_be_https_and_end_with_a_slash() {
        assert!(base_url_problems("https://scout.eto.tech/newsletter/").is_empty());
        let problems = [
            ("http://x.test/", "must use https"),
            ("https://x.test/newsletter", "must end with `/`"),
            ("https://x.test/?a=b/", "query or a fragment"),
            ("javascript:alert(1)/", "`javascript:`"),
        ];
        for (url, expected) in problems {
            let found = base_url_problems(url);
            assert_eq!(found.len(), 1, "{url}: {found:?}");
            assert!(found[0].starts_with("3:12: "), "{found:?}");
            assert!(found[0].contains(expected), "{url}: {found:?}");
        }
    }

    #[test]
    fn page_urls_append_the_page_name() {
        let settings: Settings =
            toml::from_str("[archive]\nbase_url = \"https://x.test/n/\"").expect("valid TOML");
        let archive = settings.archive.expect("[archive]");
        assert_eq!(archive.page_url(7), "https://x.test/n/007.html");
    }
}
