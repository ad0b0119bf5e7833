//! "Did you mean": the known name closest to a mistyped one, for unknown fields, segments
//! and pick ids, and the list of known names when it is short.

/// The name in `known` closest to `name`, when it is close enough to be a slip (at most
/// one edit, or swap of neighbours, in three characters, ignoring case).
pub fn closest<'k>(name: &str, known: &[&'k str]) -> Option<&'k str> {
    let limit = (name.chars().count() / 3).max(1);
    known
        .iter()
        .map(|k| {
            (
                strsim::osa_distance(&name.to_lowercase(), &k.to_lowercase()),
                *k,
            )
        })
        .filter(|(distance, _)| *distance <= limit)
        .min()
        .map(|(_, k)| k)
}

/// Notes for a `name` that is not among `known`: the closest known name ("did you mean"),
/// and all of them when they are few enough to list.
pub fn unknown_name_notes(name: &str, known: &[&str]) -> Vec<String> {
    let mut notes = Vec::new();
    if let Some(k) = closest(name, known) {
        notes.push(format!("did you mean `{k}`?"));
    }
    match known.len() {
        0 => notes.push("none are defined".to_owned()),
        1..=16 => {
            let list: Vec<String> = known.iter().map(|k| format!("`{k}`")).collect();
            notes.push(format!("known here: {}", list.join(", ")));
        }
        _ => {}
    }
    notes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slips_find_their_name_and_strangers_do_not() {
        let fields = ["email", "name", "segments", "topics"];
        assert_eq!(closest("emial", &fields), Some("email"));
        assert_eq!(closest("Topic", &fields), Some("topics"));
        assert_eq!(closest("address", &fields), None);
        let notes = unknown_name_notes("segment", &fields);
        assert_eq!(notes[0], "did you mean `segments`?");
        assert!(notes[1].starts_with("known here: `email`"), "{notes:?}");
        assert_eq!(unknown_name_notes("x", &[]), ["none are defined"]);
    }
}
