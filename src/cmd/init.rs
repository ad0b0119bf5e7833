//! `broadsheet init [DIR]`: a new project for a new newsletter. What the flags leave out is
//! asked on a terminal (each question with its default) or, with `--yes` or without a
//! terminal, takes its default; the project is then written by [`crate::scaffold`], which
//! never replaces a file, and the next steps are printed.

use std::io::{BufRead as _, IsTerminal as _, Write as _};
use std::path::{Path, PathBuf};

use super::say;
use crate::audience::Address;
use crate::cli::InitArgs;
use crate::clock::Timestamp;
use crate::scaffold::{self, Design, Newsroom};

pub(crate) fn run(cwd: &Path, args: &InitArgs, now: Timestamp) -> anyhow::Result<()> {
    let dir = args.dir.clone().unwrap_or_else(|| PathBuf::from("."));
    let folder = cwd.join(&dir);
    let asker = Asker::new(args.yes);
    let newsroom = answers(&asker, args, &folder, now)?;
    let files = scaffold::files(&newsroom);
    let done = scaffold::write(&folder, &files)?;
    next_steps(&dir, &newsroom, &done)
}

/// Asks for each answer the flags do not give (or takes its default), checking each.
fn answers(
    asker: &Asker,
    args: &InitArgs,
    folder: &Path,
    now: Timestamp,
) -> anyhow::Result<Newsroom> {
    let title = asker.ask(
        "The newsletter's name",
        args.title.as_deref(),
        &default_title(folder),
        check_title,
    )?;
    // `--domain` suggests the From address and `--from` the domain, whichever is given.
    let from_default = format!(
        "newsletter@{}",
        args.domain.as_deref().unwrap_or("example.org")
    );
    let from = asker.ask(
        "The address it comes from",
        args.from.as_deref(),
        &from_default,
        // Written as the settings will read it: the domain in lowercase ASCII (punycode).
        |a| Address::parse(a).map(|address| address.as_str().to_owned()),
    )?;
    let domain_default = from.rsplit_once('@').map_or("example.org", |(_, d)| d);
    let domain = asker.ask(
        "Its domain (Message-IDs, List-Id, the unsubscribe link)",
        args.domain.as_deref(),
        &domain_default.to_ascii_lowercase(),
        check_domain,
    )?;
    let design = match args.layout {
        Some(design) => design,
        None => asker.ask("The layout: plain or scout", None, "plain", |d| {
            <Design as clap::ValueEnum>::from_str(d, true)
                .map_err(|_| "is neither `plain` nor `scout`".to_owned())
        })?,
    };
    let address = asker.ask(
        "The newsroom's postal address (the footer shows it; the law asks for it)",
        args.address.as_deref(),
        "",
        |a| check_line(a).map(|()| a.trim().to_owned()),
    )?;
    Ok(Newsroom {
        title,
        from,
        domain,
        address,
        design,
        today: now.date(),
    })
}

/// The folder's name as a title: `weekly-wire` becomes "Weekly Wire".
fn default_title(folder: &Path) -> String {
    let name = std::fs::canonicalize(folder)
        .ok()
        .or_else(|| Some(folder.to_path_buf()))
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_default();
    let words: Vec<String> = name
        .split(['-', '_', ' ', '.'])
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut chars = w.chars();
            chars.next().map_or_else(String::new, |first| {
                first.to_uppercase().chain(chars).collect()
            })
        })
        .collect();
    if words.is_empty() {
        "Our Newsletter".to_owned()
    } else {
        words.join(" ")
    }
}

fn check_line(text: &str) -> Result<(), String> {
    match text.chars().find(|c| c.is_control()) {
        Some(c) => Err(format!("contains the control character {c:?}")),
        None => Ok(()),
    }
}

fn check_title(title: &str) -> Result<String, String> {
    check_line(title)?;
    let title = title.trim();
    if title.is_empty() {
        return Err("is empty".to_owned());
    }
    Ok(title.to_owned())
}

/// The domain in lowercase ASCII, an international name in punycode (`bücher.example`
/// becomes `xn--bcher-kva.example`).
fn check_domain(domain: &str) -> Result<String, String> {
    crate::audience::address::ascii_domain(domain.trim())
        .map(std::borrow::Cow::into_owned)
        .map_err(|_| "is not a domain name such as `example.org`".to_owned())
}

/// Asks questions on a terminal, or answers them with their defaults.
struct Asker {
    interactive: bool,
}

impl Asker {
    fn new(yes: bool) -> Self {
        let terminal = std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
        Self {
            interactive: terminal && !yes,
        }
    }

    /// The checked answer: `given` when a flag gave it (an error if it does not pass), else
    /// what the user types (asked again until it passes; an empty line or the end of input
    /// takes `default`), else `default`.
    fn ask<T>(
        &self,
        question: &str,
        given: Option<&str>,
        default: &str,
        check: impl Fn(&str) -> Result<T, String>,
    ) -> anyhow::Result<T> {
        if let Some(value) = given {
            return check(value).map_err(|why| anyhow::anyhow!("`{value}` {why}"));
        }
        if !self.interactive {
            return check(default).map_err(|why| anyhow::anyhow!("`{default}` {why}"));
        }
        loop {
            let mut err = std::io::stderr().lock();
            write!(err, "{question} [{default}]: ")?;
            err.flush()?;
            let mut line = String::new();
            let read = std::io::stdin().lock().read_line(&mut line)?;
            let answer = match line.trim() {
                "" => default,
                typed => typed,
            };
            match check(answer) {
                Ok(value) => return Ok(value),
                Err(_) if read == 0 => {
                    return check(default).map_err(|why| anyhow::anyhow!("`{default}` {why}"));
                }
                Err(why) => writeln!(err, "`{answer}` {why}; try again")?,
            }
        }
    }
}

fn next_steps(dir: &Path, newsroom: &Newsroom, done: &scaffold::Written) -> anyhow::Result<()> {
    let shown = scaffold::folder_name(dir);
    say(format_args!(
        "created a broadsheet project for {} in {shown}: broadsheet.toml, layouts/{}/, volumes/001.toml (a draft), recipients.toml",
        newsroom.title,
        newsroom.design.name(),
    ))?;
    if done.kept.iter().any(|k| k == scaffold::GITIGNORE) {
        say(format_args!(
            "kept your .gitignore: make sure it leaves out state/, out/, outbox/ and recipients.toml"
        ))?;
    }
    say(format_args!("\nnext steps:"))?;
    if shown != "this folder" {
        say(format_args!("  cd {shown}"))?;
    }
    say(format_args!(
        "  broadsheet preview volumes/001.toml   write the first volume with a live preview\n  \
         broadsheet proof volumes/001.toml     a test copy to the staff segment (into outbox/)\n  \
         then add your readers to recipients.toml, set [transport] in broadsheet.toml to your\n  \
         SMTP relay, and put a secret in BROADSHEET_UNSUBSCRIBE_SECRET before `broadsheet dispatch`"
    ))?;
    if newsroom.address.is_empty() {
        say(format_args!(
            "  fill in the postal address in layouts/{}/layout.toml ([footer] address)",
            newsroom.design.name()
        ))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles_come_from_folder_names() {
        assert_eq!(default_title(Path::new("/x/weekly-wire")), "Weekly Wire");
        assert_eq!(
            default_title(Path::new("/x/the_daily.brief")),
            "The Daily Brief"
        );
        assert_eq!(default_title(Path::new("/")), "Our Newsletter");
    }

    #[test]
    fn answers_are_checked() {
        assert!(check_title("  ").is_err());
        assert!(check_title("A\nB").is_err());
        assert_eq!(check_domain("Example.ORG").unwrap(), "example.org");
        assert!(check_domain("localhost").is_err());
    }
}
