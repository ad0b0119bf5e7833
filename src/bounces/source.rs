//! Where reports are read from: paths in, one item per message out, each with a label for
//! the person reading the summary. A path is a Maildir folder (`cur/` and `new/`), a folder
//! of message files, an mbox file (it starts with `From `), or one message (`.eml`). A file
//! or message that cannot be read is an item of its own, so it never stops the rest.

use std::io::BufReader;
use std::path::{Path, PathBuf};

use mail_parser::mailbox::mbox::MessageIterator;

/// One message found, or why it could not be read.
#[derive(Debug)]
pub struct Item {
    /// The file, with `#N` for the Nth message of an mbox.
    pub label: String,
    /// Its bytes, or the reading error.
    pub bytes: Result<Vec<u8>, String>,
}

/// Every message under `paths`, in a stable order.
pub fn read(paths: &[PathBuf]) -> Vec<Item> {
    let mut items = Vec::new();
    for path in paths {
        if path.is_dir() {
            for file in files_of(path, &mut items) {
                read_file(&file, &mut items);
            }
        } else {
            read_file(path, &mut items);
        }
    }
    items
}

/// The message files of a folder: a Maildir's `new/` and `cur/`, else its own files.
fn files_of(dir: &Path, items: &mut Vec<Item>) -> Vec<PathBuf> {
    let maildir = ["new", "cur"].map(|d| dir.join(d));
    let folders: Vec<&Path> = if maildir.iter().any(|d| d.is_dir()) {
        maildir
            .iter()
            .filter(|d| d.is_dir())
            .map(PathBuf::as_path)
            .collect()
    } else {
        vec![dir]
    };
    let mut files = Vec::new();
    for folder in folders {
        match std::fs::read_dir(folder) {
            Ok(entries) => files.extend(
                entries
                    .filter_map(Result::ok)
                    .map(|e| e.path())
                    .filter(|p| p.is_file() && !is_hidden(p)),
            ),
            Err(e) => items.push(Item {
                label: folder.display().to_string(),
                bytes: Err(format!("cannot list the folder: {e}")),
            }),
        }
    }
    files.sort();
    files
}

fn is_hidden(path: &Path) -> bool {
    path.file_name()
        .is_some_and(|n| n.to_string_lossy().starts_with('.'))
}

fn read_file(path: &Path, items: &mut Vec<Item>) {
    let label = path.display().to_string();
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) => {
            items.push(Item {
                label,
                bytes: Err(format!("cannot read: {e}")),
            });
            return;
        }
    };
    if !bytes.starts_with(b"From ") {
        items.push(Item {
            label,
            bytes: Ok(bytes),
        });
        return;
    }
    for (n, message) in MessageIterator::new(BufReader::new(&bytes[..])).enumerate() {
        items.push(Item {
            label: format!("{label}#{}", n + 1),
            bytes: message
                .map(|m| m.unwrap_contents())
                .map_err(|e| format!("cannot read the mbox: {e}")),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maildirs_mboxes_and_files_give_one_item_per_message() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("mail/new")).unwrap();
        std::fs::create_dir_all(root.join("mail/cur")).unwrap();
        std::fs::create_dir_all(root.join("mail/tmp")).unwrap();
        std::fs::write(root.join("mail/new/1"), "Subject: a\n\na\n").unwrap();
        std::fs::write(root.join("mail/cur/2:2,S"), "Subject: b\n\nb\n").unwrap();
        std::fs::write(root.join("mail/tmp/3"), "Subject: half written\n").unwrap();
        let mbox = "From a@b Thu Jan  1 00:00:00 2026\nSubject: c\n\n>From here\n\
From a@b Thu Jan  1 00:00:01 2026\nSubject: d\n\nd\n";
        std::fs::write(root.join("box.mbox"), mbox).unwrap();
        let paths = [
            root.join("mail"),
            root.join("box.mbox"),
            root.join("missing.eml"),
        ];
        let items = read(&paths);
        let labels: Vec<String> = items
            .iter()
            .map(|i| i.label.rsplit('/').next().unwrap().to_owned())
            .collect();
        assert_eq!(
            labels,
            ["2:2,S", "1", "box.mbox#1", "box.mbox#2", "missing.eml"]
        );
        let third = String::from_utf8(items[2].bytes.clone().unwrap()).unwrap();
        assert!(third.contains("\nFrom here"), "unquoted: {third}");
        assert!(items[4].bytes.is_err());
    }
}
