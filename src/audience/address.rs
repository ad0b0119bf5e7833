//! Email addresses: a raw `local@domain` string in, a normalised [`Address`] out (domain
//! lowercased, IDN domains in punycode), or the reason it cannot be used.

use std::borrow::Cow;
use std::fmt;

/// The longest address SMTP carries (RFC 5321 §4.5.3.1.3, less the angle brackets).
const MAX_ADDRESS: usize = 254;
/// The longest local part (RFC 5321 §4.5.3.1.1).
const MAX_LOCAL: usize = 64;

/// A validated, normalised address: the local part as written, the domain in lowercase
/// ASCII (punycode for international domains).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Address(Box<str>);

impl Address {
    /// Validates and normalises `raw`; the error says what is wrong, for a diagnostic.
    pub fn parse(raw: &str) -> Result<Self, String> {
        if let Some(c) = raw.chars().find(|c| c.is_control() || c.is_whitespace()) {
            return Err(format!("contains the character {c:?}"));
        }
        let Some((local, domain)) = raw.rsplit_once('@') else {
            return Err("has no `@`".to_owned());
        };
        check_local(local)?;
        let domain = ascii_domain(domain)?;
        let address = format!("{local}@{domain}");
        if address.len() > MAX_ADDRESS {
            return Err(format!("is longer than {MAX_ADDRESS} octets"));
        }
        Ok(Self(address.into_boxed_str()))
    }

    /// An address already normalised (one that [`Address::parse`] returned before).
    pub(crate) fn normalised(address: &str) -> Self {
        Self(address.into())
    }

    /// The address, e.g. `ana@example.org`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The domain, e.g. `example.org`.
    pub fn domain(&self) -> &str {
        self.0.rsplit_once('@').map_or("", |(_, d)| d)
    }

    /// True when the local part is not ASCII, so the server must offer SMTPUTF8.
    pub fn needs_smtputf8(&self) -> bool {
        !self.0.is_ascii()
    }

    /// The key that identifies a person: the whole address in lowercase, so that
    /// `Ana@Example.org` and `ana@example.org` are one recipient.
    pub fn key(&self) -> Box<str> {
        lowercase_key(&self.0)
    }
}

/// The deduplication key of an already normalised address string.
pub(crate) fn lowercase_key(address: &str) -> Box<str> {
    if address.is_ascii() {
        address.to_ascii_lowercase().into_boxed_str()
    } else {
        address.to_lowercase().into_boxed_str()
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn check_local(local: &str) -> Result<(), String> {
    if local.is_empty() {
        return Err("has nothing before the `@`".to_owned());
    }
    if local.starts_with('"') {
        return Err("has a quoted local part, which broadsheet does not send to".to_owned());
    }
    if local.len() > MAX_LOCAL {
        return Err(format!("has a local part longer than {MAX_LOCAL} octets"));
    }
    if local.starts_with('.') || local.ends_with('.') || local.contains("..") {
        return Err("has a misplaced `.` before the `@`".to_owned());
    }
    let atext = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+/=?^_`{|}~-.".contains(c);
    match local.chars().find(|&c| c.is_ascii() && !atext(c)) {
        Some(c) => Err(format!("has `{c}` before the `@`")),
        None => Ok(()),
    }
}

/// The domain in lowercase ASCII: international names become punycode (`xn--`).
pub(crate) fn ascii_domain(domain: &str) -> Result<Cow<'_, str>, String> {
    if domain.is_empty() {
        return Err("has no domain after the `@`".to_owned());
    }
    let ascii: Cow<'_, str> = if domain.is_ascii() {
        if domain.bytes().any(|b| b.is_ascii_uppercase()) {
            Cow::Owned(domain.to_ascii_lowercase())
        } else {
            Cow::Borrowed(domain)
        }
    } else {
        Cow::Owned(
            idna::domain_to_ascii(domain)
                .map_err(|_| format!("has a domain `{domain}` that is not a valid name"))?,
        )
    };
    check_domain(&ascii)?;
    Ok(ascii)
}

/// Checks an ASCII domain name: letters, digits and hyphens in dot-separated labels of at
/// most 63 octets, at least two labels, and a top-level label that is not all digits.
pub(crate) fn check_domain(domain: &str) -> Result<(), String> {
    let bad = || Err(format!("has a domain `{domain}` that is not a valid name"));
    if domain.len() > 253 || domain.ends_with('.') {
        return bad();
    }
    let labels: Vec<&str> = domain.split('.').collect();
    let label_ok = |l: &&str| {
        (1..=63).contains(&l.len())
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    };
    let tld_ok = labels
        .last()
        .is_some_and(|t| !t.bytes().all(|b| b.is_ascii_digit()));
    if labels.len() < 2 || !labels.iter().all(label_ok) || !tld_ok {
        return bad();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_domains() {
        let a = Address::parse("Ana.Lima@Example.ORG").unwrap();
        assert_eq!(a.as_str(), "Ana.Lima@example.org");
        assert_eq!(&*a.key(), "ana.lima@example.org");
        let idn = Address::parse("li@例子.测试").unwrap();
        assert_eq!(idn.as_str(), "li@xn--fsqu00a.xn--0zwm56d");
        assert!(!idn.needs_smtputf8());
        let utf8 = Address::parse("小明@example.org").unwrap();
        assert!(utf8.needs_smtputf8());
    }

    #[test]
    fn rejects_what_cannot_be_sent() {
        for bad in [
            "",
            "ana",
            "@example.org",
            "ana@",
            "ana @example.org",
            "ana@example",
            "ana@exa_mple.org",
            "a..b@example.org",
            ".a@example.org",
            "\"a b\"@example.org",
            "ana@example.org\r\nBcc: x@evil.test",
            "a(b)@example.org",
            "ana@-x.org",
            "ana@x.123",
        ] {
            assert!(Address::parse(bad).is_err(), "{bad:?} was accepted");
        }
        let long = format!("{}@example.org", "a".repeat(65));
        assert!(Address::parse(&long).unwrap_err().contains("64"));
    }
}
