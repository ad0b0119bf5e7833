//! What a draft still being written renders as: stand-ins where the copy is not there yet
//! (a hero image whose `src` is a placeholder, picks not yet added), so that the preview
//! shows the email's shape from the first save. `check` lists each as a warning.

use std::borrow::Cow;

use toml::Spanned;

use super::{Pick, Volume, validate};

/// Shown where a draft's hero image is still a placeholder: a grey box saying so, as an SVG
/// data URI so that nothing is fetched.
pub(super) const HERO_STAND_IN: &str = "data:image/svg+xml,%3Csvg%20xmlns='http://www.w3.org/2000/svg'\
%20width='600'%20height='240'%20viewBox='0%200%20600%20240'%3E%3Crect%20width='600'%20height='240'\
%20fill='%23dfe5ea'/%3E%3Ctext%20x='300'%20y='130'%20text-anchor='middle'%20font-family='Helvetica,\
Arial,sans-serif'%20font-size='26'%20fill='%234a5a67'%3EHero%20image:%20TK%3C/text%3E%3C/svg%3E";

/// The most stand-in picks shown before the expert view, whatever its `after` says.
const MAX_STAND_INS: usize = 12;

/// Stand-in picks shown before the expert view when it names no place.
const DEFAULT_STAND_INS: usize = 3;

impl Volume {
    /// The volume as it renders: a draft gets stand-ins where its copy is missing (see the
    /// module's documentation); any other volume is itself.
    pub fn with_stand_ins(&self) -> Cow<'_, Volume> {
        if !self.is_draft() {
            return Cow::Borrowed(self);
        }
        let hero_missing = self
            .hero
            .as_ref()
            .is_some_and(|h| validate::placeholder(h.src.get_ref()).is_some());
        if !hero_missing && !self.picks.is_empty() {
            return Cow::Borrowed(self);
        }
        let mut volume = self.clone();
        if let Some(hero) = volume.hero.as_mut().filter(|_| hero_missing) {
            hero.src = Spanned::new(hero.src.span(), HERO_STAND_IN.to_owned());
        }
        if volume.picks.is_empty() {
            volume.picks = self.stand_in_picks();
        }
        Cow::Owned(volume)
    }

    /// As many stand-in picks as come before the expert view, and one after it.
    fn stand_in_picks(&self) -> Vec<Pick> {
        let after = self.expert_view.as_ref().and_then(|e| e.after.as_ref());
        let before = after
            .map_or(DEFAULT_STAND_INS, |a| *a.get_ref())
            .clamp(1, MAX_STAND_INS);
        let count = before + usize::from(after.is_some());
        let date = self.meta.period.get_ref().from.clone();
        let at = |text: String| Spanned::new(0..0, text);
        (1..=count)
            .map(|n| Pick {
                summary: at(format!(
                    "**TK**: pick {n} goes here. Each `[[picks]]` table added to the volume \
                     takes the place of one of these stand-ins."
                )),
                source: at("TK".to_owned()),
                date: date.clone(),
                url: at("https://example.invalid/TK".to_owned()),
                topics: Vec::new(),
                id: None,
                older: None,
                reuse: false,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use crate::diag::SourceFile;
    use crate::volume::{Volume, read};

    fn volume(text: &str) -> Volume {
        let source = SourceFile::new(std::path::Path::new("012.toml"), text.to_owned());
        read(source).volume.expect("a readable volume")
    }

    const HEAD: &str = "number = 12\ntitle = \"T\"\nheadline = \"TK\"\n\
                        period = { from = 2024-05-10, to = 2024-05-16 }\n";

    #[test]
    fn a_draft_without_picks_gets_stand_ins_around_the_expert_view() {
        let text = format!(
            "{HEAD}draft = true\n[hero]\nsrc = \"TK\"\nalt = \"TK\"\n[expert_view]\n\
             heading = \"H\"\nauthor = \"A\"\nrole = \"R\"\nintro = \"I\"\nbody = \"B\"\nafter = 2\n"
        );
        let draft = volume(&text);
        let shown = draft.with_stand_ins();
        assert_eq!(
            shown.picks.len(),
            3,
            "two before the expert view, one after"
        );
        assert_eq!(shown.expert_view_after(), 2);
        assert!(
            shown.picks[0]
                .summary
                .get_ref()
                .contains("pick 1 goes here")
        );
        let hero = shown.hero.as_ref().expect("a hero");
        assert!(hero.src.get_ref().starts_with("data:image/svg+xml,"));
    }

    #[test]
    fn other_volumes_render_as_they_are() {
        let text = format!("{HEAD}[hero]\nsrc = \"TK\"\nalt = \"x\"\n");
        assert!(matches!(volume(&text).with_stand_ins(), Cow::Borrowed(_)));
    }
}
