//! A new project for a new newsletter, as `broadsheet init` writes it: a [`Newsroom`] (the
//! answers) in, the project's files out as text ([`files()`]), then written into a folder
//! without ever replacing a file ([`write()`]). The files: `broadsheet.toml` with every setting
//! explained, a layout of the project's own, `volumes/001.toml` as a draft that builds as it
//! is, `recipients.toml` with a staff segment for proofs, and a `.gitignore`.

use std::path::{Path, PathBuf};

use anyhow::Context as _;

use crate::date::Date;
use crate::diag::display_path;
use crate::project::SETTINGS_FILE;

mod content;
mod layouts;
mod settings;

pub(crate) use layouts::Design;

/// What a new project is made from: the answers to `init`'s questions.
#[derive(Debug, Clone)]
pub(crate) struct Newsroom {
    /// The newsletter's name, e.g. "The Weekly Wire".
    pub title: String,
    /// The address it comes from.
    pub from: String,
    /// The domain of Message-IDs, List-Id and the unsubscribe link.
    pub domain: String,
    /// The postal address for the footer; empty when not given yet.
    pub address: String,
    /// The layout to start from.
    pub design: Design,
    /// The day the project is made: the first volume covers its week.
    pub today: Date,
}

impl Newsroom {
    /// A name made of lowercase ASCII letters, digits and `-` from the title, for the
    /// List-Id (`weekly-wire.example.org`); `newsletter` when the title has none. Latin
    /// letters keep their base letter (`L'Écho` gives `l-echo`): the title is decomposed
    /// (Unicode NFKD) and its accents dropped, and the letters that do not decompose are
    /// spelt out (`ß` as `ss`, `Æ` as `ae`).
    pub(crate) fn slug(&self) -> String {
        let mut slug = String::new();
        let decomposed = icu_normalizer::DecomposingNormalizerBorrowed::new_nfkd()
            .normalize(&self.title)
            .to_lowercase();
        for c in decomposed.chars() {
            if c.is_ascii_alphanumeric() {
                slug.push(c);
            } else if let Some(spelt) = spelt_out(c) {
                slug.push_str(spelt);
            } else if is_combining_mark(c) {
                // An accent of the letter before it.
            } else if !slug.is_empty() && !slug.ends_with('-') {
                slug.push('-');
            }
        }
        let slug = slug.trim_end_matches('-');
        if slug.is_empty() {
            "newsletter".to_owned()
        } else {
            slug.to_owned()
        }
    }
}

/// Latin letters that no decomposition reduces to ASCII, spelt as their languages
/// transliterate them.
fn spelt_out(c: char) -> Option<&'static str> {
    Some(match c {
        'ß' => "ss",
        'æ' => "ae",
        'œ' => "oe",
        'ø' => "o",
        'ł' => "l",
        'đ' | 'ð' => "d",
        'þ' => "th",
        'ı' => "i",
        _ => return None,
    })
}

/// Whether `c` is one of the combining diacritical marks that decomposition splits off
/// Latin, Greek and Cyrillic letters (U+0300 to U+036F).
fn is_combining_mark(c: char) -> bool {
    ('\u{300}'..='\u{36F}').contains(&c)
}

/// One file of the new project: its path relative to the project and its text.
#[derive(Debug, Clone)]
pub(crate) struct File {
    /// The path inside the project, with `/` separators.
    pub path: String,
    /// The file's contents.
    pub text: String,
}

/// The `.gitignore` of a new project, which an existing one is never replaced by.
pub(crate) const GITIGNORE: &str = ".gitignore";

/// Every file of a new project for `newsroom`.
pub(crate) fn files(newsroom: &Newsroom) -> Vec<File> {
    let mut files = vec![
        file(SETTINGS_FILE, settings::text(newsroom)),
        file("volumes/001.toml", content::first_volume(newsroom)),
        file(
            crate::audience::RECIPIENTS_FILE,
            content::recipients(newsroom),
        ),
        file(GITIGNORE, content::GITIGNORE_TEXT.to_owned()),
    ];
    files.extend(layouts::files(newsroom));
    files
}

fn file(path: &str, text: String) -> File {
    File {
        path: path.to_owned(),
        text,
    }
}

/// What [`write()`] did.
#[derive(Debug)]
pub(crate) struct Written {
    /// Files that existed and were kept (only a `.gitignore` is allowed to exist).
    pub kept: Vec<String>,
}

/// Writes `files` into `dir` (created if missing) without replacing any file: a folder
/// that holds a project already, or any of the files but `.gitignore`, is refused before
/// anything is written.
pub(crate) fn write(dir: &Path, files: &[File]) -> anyhow::Result<Written> {
    let settings = dir.join(SETTINGS_FILE);
    anyhow::ensure!(
        !settings.exists(),
        "{} already holds a broadsheet project ({SETTINGS_FILE}); nothing was changed",
        folder_name(dir)
    );
    let (kept, clashes): (Vec<&File>, Vec<&File>) = files
        .iter()
        .filter(|f| dir.join(&f.path).symlink_metadata().is_ok())
        .partition(|f| f.path == GITIGNORE);
    if !clashes.is_empty() {
        let names: Vec<String> = clashes
            .iter()
            .map(|f| display_path(&dir.join(&f.path)))
            .collect();
        anyhow::bail!(
            "init never replaces a file, and these exist: {}; nothing was changed (choose an empty folder)",
            names.join(", ")
        );
    }
    for file in files
        .iter()
        .filter(|f| !kept.iter().any(|k| k.path == f.path))
    {
        create(&dir.join(&file.path), &file.text)?;
    }
    Ok(Written {
        kept: kept.iter().map(|f| f.path.clone()).collect(),
    })
}

/// How messages name `dir`: its path from the current folder, or "this folder".
pub(crate) fn folder_name(dir: &Path) -> String {
    match display_path(dir).as_str() {
        "" | "." => "this folder".to_owned(),
        shown => shown.to_owned(),
    }
}

/// Creates `path` with `text`, its folders first; an existing file is an error, never
/// replaced (another process may have made it since the check).
fn create(path: &Path, text: &str) -> anyhow::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let folder: PathBuf = path.parent().map(Path::to_path_buf).unwrap_or_default();
    std::fs::create_dir_all(&folder)
        .with_context(|| format!("cannot create {}", display_path(&folder)))?;
    // The recipients file holds personal data: readable by its owner only, as the files
    // under state/ are.
    let private = path.ends_with(crate::audience::RECIPIENTS_FILE);
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(if private { 0o600 } else { 0o666 })
        .open(path)
        .with_context(|| format!("cannot create {}", display_path(path)))?;
    file.write_all(text.as_bytes())
        .with_context(|| format!("cannot write {}", display_path(path)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn newsroom(title: &str) -> Newsroom {
        Newsroom {
            title: title.to_owned(),
            from: "news@example.org".to_owned(),
            domain: "example.org".to_owned(),
            address: String::new(),
            design: Design::Plain,
            today: Date::new(2026, 5, 6).expect("a date"),
        }
    }

    #[test]
    fn slugs_are_list_id_safe() {
        assert_eq!(newsroom("The Weekly Wire!").slug(), "the-weekly-wire");
        assert_eq!(newsroom("  Ça va  ").slug(), "ca-va");
        assert_eq!(newsroom("L'Écho — Édition").slug(), "l-echo-edition");
        assert_eq!(newsroom("Die Straße, Ærø").slug(), "die-strasse-aero");
        assert_eq!(newsroom("Ｗｉｒｅ ﬁles").slug(), "wire-files");
        assert_eq!(newsroom("周报").slug(), "newsletter");
    }

    #[test]
    fn an_existing_file_stops_everything_and_a_gitignore_is_kept() {
        let dir = tempfile::tempdir().unwrap();
        let files = files(&newsroom("Wire"));
        std::fs::create_dir(dir.path().join("volumes")).unwrap();
        std::fs::write(dir.path().join("volumes/001.toml"), "mine").unwrap();
        let error = write(dir.path(), &files).unwrap_err().to_string();
        assert!(error.contains("volumes/001.toml"), "{error}");
        assert!(!dir.path().join(SETTINGS_FILE).exists(), "nothing written");
        std::fs::remove_file(dir.path().join("volumes/001.toml")).unwrap();
        std::fs::write(dir.path().join(GITIGNORE), "mine\n").unwrap();
        let done = write(dir.path(), &files).unwrap();
        assert_eq!(done.kept, [GITIGNORE]);
        let kept = std::fs::read_to_string(dir.path().join(GITIGNORE)).unwrap();
        assert_eq!(kept, "mine\n");
    }
}
