//! The attribute types of mjml-core (`mjml-core/lib/types/*.js`): whether a value is one
//! that mjml's validator accepts, by the same rules as its regular expressions, and what the
//! type takes, in words, for the message when it is not.

use super::rules::COLOR_NAMES;

/// `None` when `value` is valid for the mjml type `kind` (`unit(px,%){1,4}`, `color`,
/// `enum(left,right)`, ...), else what the type takes. Unknown kinds accept everything.
pub(super) fn check(kind: &str, value: &str) -> Option<String> {
    let (base, params) = kind.split_once('(').unwrap_or((kind, ""));
    let list = params.split(')').next().unwrap_or_default();
    let valid = match base {
        "boolean" => matches!(value, "true" | "false"),
        "integer" => value.bytes().any(|b| b.is_ascii_digit()),
        "color" => is_color(value),
        "enum" => list.split(',').any(|option| option == value),
        "unit" | "unitWithNegative" => Unit::new(base, list, kind).accepts(value),
        _ => true,
    };
    (!valid).then(|| match base {
        "boolean" => "`true` or `false`".to_owned(),
        "integer" => "a whole number".to_owned(),
        "color" => "a colour: #rgb, #rrggbb, rgb(r,g,b), rgba(r,g,b,a) or a CSS name".to_owned(),
        "enum" => {
            let options: Vec<String> = list
                .split(',')
                .map(|o| match o {
                    "" => "nothing".to_owned(),
                    o => format!("`{o}`"),
                })
                .collect();
            format!("one of {}", options.join(", "))
        }
        _ => Unit::new(base, list, kind).describe(),
    })
}

/// `^#([0-9a-f]{3}){1,2}$` (any case), a CSS colour name, or `rgb(...)`/`rgba(...)`
/// anywhere in the value (mjml's patterns for these are not anchored).
fn is_color(value: &str) -> bool {
    let hex = value.strip_prefix('#').is_some_and(|digits| {
        matches!(digits.len(), 3 | 6) && digits.bytes().all(|b| b.is_ascii_hexdigit())
    });
    let lower = value.to_ascii_lowercase();
    let functional = lower.match_indices("rgb").any(|(at, _)| {
        let rest = &lower.as_bytes()[at + 3..];
        match rest.strip_prefix(b"a(") {
            Some(args) => rgb_args(args, true),
            None => rest
                .strip_prefix(b"(")
                .is_some_and(|args| rgb_args(args, false)),
        }
    });
    hex || functional || COLOR_NAMES.binary_search(&value).is_ok()
}

/// `\d{1,3},\s?\d{1,3},\s?\d{1,3}` then, with `alpha`, `,\s?\d(\.\d{1,3})?`, then `)`.
fn rgb_args(args: &[u8], alpha: bool) -> bool {
    let mut at = 0;
    let digits = |at: &mut usize, max: usize| {
        let n = args[*at..]
            .iter()
            .take(max)
            .take_while(|b| b.is_ascii_digit())
            .count();
        *at += n;
        n > 0
    };
    let comma = |at: &mut usize| {
        if args.get(*at) != Some(&b',') {
            return false;
        }
        *at += 1;
        if args.get(*at).is_some_and(u8::is_ascii_whitespace) {
            *at += 1;
        }
        true
    };
    let channels = digits(&mut at, 3)
        && comma(&mut at)
        && digits(&mut at, 3)
        && comma(&mut at)
        && digits(&mut at, 3);
    let alpha_ok = !alpha
        || (comma(&mut at) && digits(&mut at, 1) && {
            if args.get(at) == Some(&b'.') && args.get(at + 1).is_some_and(u8::is_ascii_digit) {
                at += 1;
                digits(&mut at, 3);
            }
            true
        });
    channels && alpha_ok && args.get(at) == Some(&b')')
}

/// mjml's `unit(...)` and `unitWithNegative(...)` types, optionally with a count of values
/// (`{1,4}`): `^(((-|\d|,|\.){1,}(units)|0|auto)( )?){min,max}$`.
struct Unit<'a> {
    negative: bool,
    units: Vec<&'a str>,
    auto: bool,
    min: usize,
    max: usize,
}

impl<'a> Unit<'a> {
    fn new(base: &str, list: &'a str, kind: &str) -> Self {
        let counts = kind
            .split_once('{')
            .and_then(|(_, c)| c.strip_suffix('}'))
            .unwrap_or("1");
        let (min, max) = counts.split_once(',').unwrap_or((counts, counts));
        let units: Vec<&str> = list.split(',').collect();
        Self {
            negative: base == "unitWithNegative",
            auto: units.contains(&"auto"),
            units: units.into_iter().filter(|u| *u != "auto").collect(),
            min: min.parse().unwrap_or(1),
            max: max.parse().unwrap_or(1),
        }
    }

    /// Whether the whole of `value` is `min` to `max` values, each optionally followed by
    /// one space: the positions reachable after each value, as the regular expression
    /// would backtrack through them.
    fn accepts(&self, value: &str) -> bool {
        let bytes = value.as_bytes();
        let mut reachable = vec![0];
        for count in 1..=self.max {
            let mut next: Vec<usize> = reachable
                .iter()
                .flat_map(|&at| self.one_value(bytes, at))
                .flat_map(|end| {
                    let spaced = (bytes.get(end) == Some(&b' ')).then_some(end + 1);
                    std::iter::once(end).chain(spaced)
                })
                .collect();
            next.sort_unstable();
            next.dedup();
            if count >= self.min && next.contains(&bytes.len()) {
                return true;
            }
            if next.is_empty() {
                return false;
            }
            reachable = next;
        }
        false
    }

    /// Where one value starting at `at` can end: `0`, `auto` when allowed, or a run of
    /// digits, commas, dots (and minus signs) followed by one of the units.
    fn one_value(&self, bytes: &[u8], at: usize) -> Vec<usize> {
        let rest = &bytes[at..];
        let mut ends = Vec::new();
        if rest.starts_with(b"0") {
            ends.push(at + 1);
        }
        if self.auto && rest.starts_with(b"auto") {
            ends.push(at + 4);
        }
        let run = rest
            .iter()
            .take_while(|&&b| {
                b.is_ascii_digit() || b == b',' || b == b'.' || (self.negative && b == b'-')
            })
            .count();
        for len in 1..=run {
            for unit in &self.units {
                if rest[len..].starts_with(unit.as_bytes()) {
                    ends.push(at + len + unit.len());
                }
            }
        }
        ends
    }

    /// What the type takes, in words.
    fn describe(&self) -> String {
        let mut units: Vec<String> = self
            .units
            .iter()
            .map(|u| match *u {
                "" => "no unit".to_owned(),
                u => u.to_owned(),
            })
            .collect();
        if self.auto {
            units.push("`auto`".to_owned());
        }
        let units = units.join(" or ");
        let sign = if self.negative {
            ", negative allowed"
        } else {
            ""
        };
        if self.max == 1 {
            format!("one value in {units}{sign}")
        } else {
            format!(
                "{} to {} values in {units}{sign}, separated by single spaces",
                self.min, self.max
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::check;

    #[test]
    fn units_follow_mjml_patterns() {
        assert_eq!(check("unit(px)", "22px"), None);
        assert!(check("unit(px)", "big").is_some());
        assert!(check("unit(px)", "1.5").is_some());
        assert_eq!(check("unit(px,%,)", "1.5"), None);
        assert_eq!(check("unit(px,%){1,4}", "0 32px 4px"), None);
        assert_eq!(check("unit(px,%){1,4}", "28px 0 0"), None);
        assert!(check("unit(px,%){1,4}", "1px 2px 3px 4px 5px").is_some());
        assert!(check("unit(px,%){1,4}", "1px  2px").is_some());
        assert!(check("unit(px,%)", "-4px").is_some());
        assert_eq!(check("unitWithNegative(px,em)", "-0.5px"), None);
        assert_eq!(check("unit(px,auto)", "auto"), None);
        assert!(check("unit(px)", "auto").is_some());
    }

    #[test]
    fn colors_follow_mjml_patterns() {
        for good in [
            "#fff",
            "#A0b1C2",
            "red",
            "transparent",
            "rgb(1,2,3)",
            "rgba(1, 2, 3, 0.5)",
        ] {
            assert_eq!(check("color", good), None, "{good}");
        }
        for bad in [
            "#ffff",
            "reddish",
            "Red",
            "rgb(1,2)",
            "rgba(1,2,3,.5)",
            "#ggg",
        ] {
            assert!(check("color", bad).is_some(), "{bad}");
        }
    }

    #[test]
    fn enums_booleans_and_integers() {
        assert_eq!(check("enum(left,right,center)", "center"), None);
        assert!(check("enum(left,right,center)", "middle").is_some());
        assert_eq!(check("enum(full-width,false,)", ""), None);
        assert_eq!(check("boolean", "true"), None);
        assert!(check("boolean", "yes").is_some());
        assert_eq!(check("integer", "3"), None);
        assert!(check("integer", "none").is_some());
        assert_eq!(check("string", "anything"), None);
    }
}
