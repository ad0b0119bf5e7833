//! The checks against the volume sent before: its hero image and its picks' links were seen
//! by the same readers last time, so repeating one is a mistake unless marked
//! `reuse = true` (on `[hero]`, or on the pick).

use std::collections::HashMap;

use super::Validator;
use crate::diag::Diagnostic;
use crate::volume::Volume;

impl Validator<'_> {
    /// Reports the hero image and each pick link that the previous volume had too.
    pub(super) fn check_reuse(&mut self, volume: &Volume) {
        let Some(previous) = self.checks.previous else {
            return;
        };
        let number = previous.meta.number.get_ref();
        let was = format!("volume {number} ({})", previous.source.path);
        if let (Some(hero), Some(before)) = (&volume.hero, &previous.hero)
            && hero.src.get_ref() == before.src.get_ref()
            && !hero.reuse
        {
            self.push(
                Diagnostic::error(format!("the hero image is the one {was} had"))
                    .note("readers saw it last time: choose a new image")
                    .note("or add `reuse = true` to [hero] if showing it again is deliberate"),
                hero.src.span(),
            );
        }
        let linked: HashMap<&str, usize> = previous
            .picks
            .iter()
            .enumerate()
            .map(|(i, p)| (p.url.get_ref().as_str(), i + 1))
            .collect();
        for (i, pick) in volume.picks.iter().enumerate() {
            if let Some(then) = linked.get(pick.url.get_ref().as_str())
                && !pick.reuse
            {
                self.push(
                    Diagnostic::error(format!(
                        "pick {} links to the same article as pick {then} of {was}",
                        i + 1
                    ))
                    .note("a pick left over from last week? replace it or remove it")
                    .note("or add `reuse = true` to this pick if linking it again is deliberate"),
                    pick.url.span(),
                );
            }
        }
    }
}
