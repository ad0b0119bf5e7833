//! Where reports are read from: paths in, one item per message out, each with a label for
//! the person reading the summary. A path is a Maildir folder (`cur/` and `new/`), a folder
//! of message files, an mbox file (it starts with `From `), or one message (`.eml`). Items
//! come one at a time, so memory stays flat whatever a folder or an mbox holds; a message
//! larger than the limit is an item of its own, never read whole (a file is judged by its
//! size, an mbox message while it streams by). A file or message that cannot be read is an
//! item of its own too, so it never stops the rest.

use std::fmt;
use std::fs::File;
use std::io::{self, BufReader, Read as _, Seek as _, SeekFrom};
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::mbox::{self, Mbox};

/// One message found, and what reading it gave.
#[derive(Debug)]
pub(crate) struct Item {
    /// The file, with `#N` for the Nth message of an mbox.
    pub label: String,
    /// Its bytes, or why they were not read.
    pub content: Content,
}

/// What reading one message gave.
#[derive(Debug)]
pub(crate) enum Content {
    /// The message's bytes.
    Bytes(Vec<u8>),
    /// Left unread on purpose, and why.
    Skipped(Skip),
    /// The reading error.
    Unreadable(String),
}

/// Why a message was left unread.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "reason", rename_all = "kebab-case")]
pub(crate) enum Skip {
    /// Larger than `[bounces] max_message_size`: bounces are kilobytes.
    TooLarge {
        /// Its size in bytes.
        size: u64,
        /// The limit it is over, in bytes.
        limit: u64,
    },
}

impl fmt::Display for Skip {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::TooLarge { size, limit } => write!(
                f,
                "{}, larger than the {} `[bounces] max_message_size`",
                human_size(size),
                human_size(limit)
            ),
        }
    }
}

/// `size` bytes for people: `512 bytes`, `64 KiB`, `200.0 MiB`.
pub(crate) fn human_size(size: u64) -> String {
    const KIB: u64 = 1024;
    const MIB: u64 = 1024 * KIB;
    let fraction = |unit: u64| size as f64 / unit as f64;
    match size {
        s if s >= MIB && s % MIB == 0 => format!("{} MiB", s / MIB),
        s if s >= MIB => format!("{:.1} MiB", fraction(MIB)),
        s if s >= KIB && s % KIB == 0 => format!("{} KiB", s / KIB),
        s if s >= KIB => format!("{:.1} KiB", fraction(KIB)),
        s => format!("{s} bytes"),
    }
}

/// Every message under `paths`, in a stable order, read as the iterator is advanced;
/// messages over `limit` bytes are skipped.
pub(crate) fn read(paths: &[PathBuf], limit: u64) -> impl Iterator<Item = Item> + '_ {
    paths
        .iter()
        .flat_map(move |path| -> Box<dyn Iterator<Item = Item>> {
            if path.is_dir() {
                let (files, problems) = files_of(path);
                let messages = files.into_iter().flat_map(move |f| of_file(&f, limit));
                Box::new(problems.into_iter().chain(messages))
            } else {
                of_file(path, limit)
            }
        })
}

/// The message files of a folder (a Maildir's `new/` and `cur/`, else its own files), and
/// an item for each folder that cannot be listed.
fn files_of(dir: &Path) -> (Vec<PathBuf>, Vec<Item>) {
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
    let (mut files, mut problems) = (Vec::new(), Vec::new());
    for folder in folders {
        match std::fs::read_dir(folder) {
            Ok(entries) => files.extend(
                entries
                    .filter_map(Result::ok)
                    .map(|e| e.path())
                    .filter(|p| p.is_file() && !is_hidden(p)),
            ),
            Err(e) => problems.push(Item {
                label: folder.display().to_string(),
                content: Content::Unreadable(format!("cannot list the folder: {e}")),
            }),
        }
    }
    files.sort();
    (files, problems)
}

fn is_hidden(path: &Path) -> bool {
    path.file_name()
        .is_some_and(|n| n.to_string_lossy().starts_with('.'))
}

/// The messages of one file: an mbox's, streamed, or the file as one message.
fn of_file(path: &Path, limit: u64) -> Box<dyn Iterator<Item = Item>> {
    let label = path.display().to_string();
    let one = |label, content| Box::new(std::iter::once(Item { label, content }));
    match open(path) {
        Ok((file, _, true)) => Box::new(mbox_items(label, file, limit)),
        Ok((file, size, false)) => one(label, whole(file, size, limit)),
        Err(e) => one(label, Content::Unreadable(format!("cannot read: {e}"))),
    }
}

/// `path` opened, its size, and whether it is an mbox (it starts with `From `).
fn open(path: &Path) -> io::Result<(File, u64, bool)> {
    let mut file = File::open(path)?;
    let size = file.metadata()?.len();
    let mut head = Vec::with_capacity(5);
    (&mut file).take(5).read_to_end(&mut head)?;
    file.seek(SeekFrom::Start(0))?;
    Ok((file, size, head == b"From "))
}

/// The file as one message, unless it is larger than `limit` (by its size on disk, or by
/// what it grew to while read).
fn whole(file: File, size: u64, limit: u64) -> Content {
    let too_large = |size| Content::Skipped(Skip::TooLarge { size, limit });
    if size > limit {
        return too_large(size);
    }
    let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
    match file.take(limit + 1).read_to_end(&mut bytes) {
        Ok(read) if read as u64 > limit => too_large(read as u64),
        Ok(_) => Content::Bytes(bytes),
        Err(e) => Content::Unreadable(format!("cannot read: {e}")),
    }
}

/// The messages of an mbox, labelled `FILE#N`.
fn mbox_items(label: String, file: File, limit: u64) -> impl Iterator<Item = Item> {
    let messages = Mbox::new(BufReader::new(file), limit);
    messages.enumerate().map(move |(n, message)| Item {
        label: format!("{label}#{}", n + 1),
        content: match message {
            Ok(mbox::Message::Bytes(bytes)) => Content::Bytes(bytes),
            Ok(mbox::Message::TooLarge(size)) => Content::Skipped(Skip::TooLarge { size, limit }),
            Err(e) => Content::Unreadable(format!("cannot read the mbox: {e}")),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_all(paths: &[PathBuf], limit: u64) -> Vec<(String, Content)> {
        read(paths, limit)
            .map(|i| (i.label.rsplit('/').next().unwrap().to_owned(), i.content))
            .collect()
    }

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
        let items = read_all(&paths, 1000);
        let labels: Vec<&str> = items.iter().map(|(l, _)| l.as_str()).collect();
        assert_eq!(
            labels,
            ["2:2,S", "1", "box.mbox#1", "box.mbox#2", "missing.eml"]
        );
        let Content::Bytes(third) = &items[2].1 else {
            panic!("{:?}", items[2])
        };
        assert_eq!(third, b"Subject: c\n\nFrom here\n", "unquoted");
        assert!(matches!(&items[4].1, Content::Unreadable(e) if e.starts_with("cannot read: ")));
    }

    #[test]
    fn messages_over_the_limit_are_skipped_by_their_size() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("mail/new")).unwrap();
        // Sparse: the size is known without a byte being written or read.
        let big = File::create(root.join("mail/new/big")).unwrap();
        big.set_len(200 * 1024 * 1024).unwrap();
        std::fs::write(root.join("mail/new/small"), "Subject: s\n\ns\n").unwrap();
        let mbox = format!("From a\n{}\nFrom b\nSubject: t\n", "y".repeat(2000));
        std::fs::write(root.join("box.mbox"), mbox).unwrap();
        let items = read_all(&[root.join("mail"), root.join("box.mbox")], 1024);
        let skip = |size| Content::Skipped(Skip::TooLarge { size, limit: 1024 });
        let shown: Vec<String> = items.iter().map(|i| format!("{i:?}")).collect();
        let expected = [
            ("big", skip(200 * 1024 * 1024)),
            ("small", Content::Bytes(b"Subject: s\n\ns\n".to_vec())),
            ("box.mbox#1", skip(2001)),
            ("box.mbox#2", Content::Bytes(b"Subject: t\n".to_vec())),
        ]
        .map(|(l, c)| format!("{:?}", (l.to_owned(), c)));
        assert_eq!(shown, expected);
    }

    #[test]
    fn sizes_read_as_people_write_them() {
        let shown = [512, 1024, 1536, 10 * 1024 * 1024, 209_715_200 + 104_858].map(human_size);
        assert_eq!(
            shown,
            ["512 bytes", "1 KiB", "1.5 KiB", "10 MiB", "200.1 MiB"]
        );
        let skip = Skip::TooLarge {
            size: 209_715_200,
            limit: 10 * 1024 * 1024,
        };
        assert_eq!(
            skip.to_string(),
            "200 MiB, larger than the 10 MiB `[bounces] max_message_size`"
        );
    }
}
