//! The problems of one import's rows, grouped: a problem that repeats on many rows (a
//! column mapped to the wrong field, a tag that names no segment) is one diagnostic with the
//! count and the first lines, not one per row. Problems are the same when their messages
//! are, once the row's own values are left out (`` `ana@x` has no `@` `` and
//! `` `li@y` has no `@` `` are one problem). Memory stays bounded whatever the file's size.

use std::collections::HashMap;

use crate::diag::{Diagnostic, Diagnostics};

/// A group is shown as its rows when it has at most this many, else as one diagnostic.
const SHOWN_ONE_BY_ONE: usize = 5;

/// One kind of problem and the rows it is on.
struct Group {
    /// The first few diagnostics, as found.
    first: Vec<Diagnostic>,
    /// How many rows have it.
    count: usize,
}

/// The grouped problems of one import.
#[derive(Default)]
pub(super) struct Grouped {
    groups: Vec<Group>,
    index: HashMap<(bool, String), usize>,
}

impl Grouped {
    /// Adds `diagnostic`, found on a row whose cells are `cells`.
    pub(super) fn add<'c>(
        &mut self,
        diagnostic: Diagnostic,
        cells: impl IntoIterator<Item = &'c str>,
    ) {
        let key = (diagnostic.is_error(), kind(&diagnostic.message, cells));
        let i = *self.index.entry(key).or_insert_with(|| {
            self.groups.push(Group {
                first: Vec::new(),
                count: 0,
            });
            self.groups.len() - 1
        });
        let group = &mut self.groups[i];
        group.count += 1;
        if group.first.len() < SHOWN_ONE_BY_ONE {
            group.first.push(diagnostic);
        }
    }

    /// The diagnostics to show: each group's rows, or one diagnostic for a group of many.
    pub(super) fn finish(self, path: &str, diags: &mut Diagnostics) {
        for group in self.groups {
            if group.count <= SHOWN_ONE_BY_ONE {
                diags.extend(group.first);
                continue;
            }
            let lines: Vec<String> = group
                .first
                .iter()
                .filter_map(|d| d.location.as_ref().map(|l| l.line.to_string()))
                .collect();
            let mut shown = group.first.into_iter().next().expect("a group has a row");
            shown.notes.insert(
                0,
                format!(
                    "the same problem is on {} rows of {path}: lines {} and {} more",
                    group.count,
                    lines.join(", "),
                    group.count - lines.len()
                ),
            );
            diags.push(shown);
        }
    }
}

/// What kind of problem `message` names: the message with the row's own values (quoted
/// with backticks, as every message quotes them) and numbers left out.
fn kind<'c>(message: &str, cells: impl IntoIterator<Item = &'c str>) -> String {
    let mut kind = message.to_owned();
    for cell in cells.into_iter().filter(|c| !c.is_empty()) {
        kind = kind.replace(&format!("`{cell}`"), "`…`");
    }
    let mut out = String::with_capacity(kind.len());
    let mut in_number = false;
    for c in kind.chars() {
        if c.is_ascii_digit() {
            if !in_number {
                out.push('#');
            }
            in_number = true;
        } else {
            out.push(c);
            in_number = false;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diag::Location;

    fn at(line: usize, message: &str) -> Diagnostic {
        Diagnostic::error(message).at(Location {
            path: "list.csv".to_owned(),
            line,
            column: 1,
            line_text: String::new(),
            width: 1,
        })
    }

    #[test]
    fn many_rows_with_one_problem_are_one_diagnostic_and_a_few_stay_apart() {
        let mut grouped = Grouped::default();
        for line in 2..1002 {
            let email = format!("reader{line}");
            grouped.add(
                at(line, &format!("`{email}` has no `@`")),
                [email.as_str(), "Ana"],
            );
        }
        for line in [5, 9] {
            grouped.add(at(line, "unknown segment `subscriber`"), ["x@y.org"]);
        }
        let mut diags = Diagnostics::default();
        grouped.finish("list.csv", &mut diags);
        let shown: Vec<&Diagnostic> = diags.iter().collect();
        assert_eq!(shown.len(), 3, "{diags}");
        assert_eq!(shown[0].message, "`reader2` has no `@`");
        assert_eq!(
            shown[0].notes[0],
            "the same problem is on 1000 rows of list.csv: lines 2, 3, 4, 5, 6 and 995 more"
        );
        assert!(shown[1].notes.is_empty());
    }

    #[test]
    fn kinds_leave_out_the_rows_values_and_numbers() {
        assert_eq!(
            kind(
                "`a@b` is listed twice in this file (already on line 12)",
                ["a@b"]
            ),
            "`…` is listed twice in this file (already on line #)"
        );
        assert_eq!(
            kind("unknown segment `VIP`", ["a@b", "x"]),
            "unknown segment `VIP`"
        );
    }
}
