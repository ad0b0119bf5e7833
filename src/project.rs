//! The project: the folder holding `broadsheet.toml`, found by walking up from the current
//! directory, and the settings in that file.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};

use crate::diag::SourceFile;
pub use crate::settings::Settings;

/// The settings file's name.
pub const SETTINGS_FILE: &str = "broadsheet.toml";

/// A project on disk.
#[derive(Debug, Clone)]
pub struct Project {
    /// The folder holding `broadsheet.toml`.
    pub root: PathBuf,
    /// The parsed settings.
    pub settings: Settings,
    /// The settings file as read, so that a problem found later (a file a setting names
    /// cannot be read) points at its setting.
    pub source: SourceFile,
}

impl Project {
    /// Finds the project containing `start` (or one of its parents) and reads its settings.
    pub fn discover(start: &Path) -> anyhow::Result<Self> {
        let Some(root) = start
            .ancestors()
            .find(|dir| dir.join(SETTINGS_FILE).is_file())
        else {
            bail!(
                "no {SETTINGS_FILE} in {} or any folder above it; run broadsheet inside a project, or start one with `broadsheet init`",
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
        let settings = crate::settings::parse(&source)?;
        Ok(Self {
            root: root.to_path_buf(),
            settings,
            source,
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

    /// The default output folder for volume `number`: `out/NNN/`.
    pub fn out_dir(&self, number: u32) -> PathBuf {
        self.root.join("out").join(format!("{number:03}"))
    }

    /// The default output folder of `broadsheet archive`: `out/archive/`.
    pub fn archive_dir(&self) -> PathBuf {
        self.root.join("out").join("archive")
    }
}
