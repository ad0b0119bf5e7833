//! `[webhooks.ses]` and `[webhooks.postmark]`: the reports relays post to `broadsheet
//! serve`, and the checks on them that need no file (the certificate is read by `check`
//! and at serve start, [`crate::bounces::webhooks::ses_verifier`]).

use serde::Deserialize;
use toml::Spanned;

use super::check::is_env_name;
use crate::diag::{Diagnostic, Diagnostics, SourceFile};

/// `[webhooks]`: which relays may post their reports; a route without its table answers 404.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Webhooks {
    /// Amazon SES, through SNS: `POST webhooks/ses`.
    pub ses: Option<SesWebhook>,
    /// Postmark: `POST webhooks/postmark`.
    pub postmark: Option<PostmarkWebhook>,
}

/// `[webhooks.ses]`: how SNS messages are verified, with nothing fetched at run time.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SesWebhook {
    /// The SNS signing certificate (PEM), relative to the project: the file at a message's
    /// `SigningCertURL`, downloaded once by the operator.
    pub certificate: Spanned<String>,
    /// The ARNs of the SNS topics whose messages are accepted.
    pub topic_arns: Spanned<Vec<Spanned<String>>>,
}

/// `[webhooks.postmark]`: the HTTP basic auth Postmark's webhook URL carries.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PostmarkWebhook {
    /// The user name.
    pub username: Spanned<String>,
    /// The environment variable holding the password.
    pub password_env: Spanned<String>,
}

/// Checks `[webhooks]`, adding problems to `diags`.
pub(super) fn check(source: &SourceFile, webhooks: &Webhooks, diags: &mut Diagnostics) {
    let mut error = |message: &str, span: std::ops::Range<usize>| {
        diags.push(Diagnostic::error(message).at_span(source, span));
    };
    if let Some(ses) = &webhooks.ses {
        let path = ses.certificate.get_ref();
        if path.trim().is_empty() || path.chars().any(char::is_control) {
            error(
                "`certificate` must name a PEM file, relative to the project",
                ses.certificate.span(),
            );
        }
        if ses.topic_arns.get_ref().is_empty() {
            error(
                "`topic_arns` must list the SNS topics to accept, at least one",
                ses.topic_arns.span(),
            );
        }
        for arn in ses.topic_arns.get_ref() {
            if !is_topic_arn(arn.get_ref()) {
                error(
                    "not an SNS topic ARN, like `arn:aws:sns:eu-west-1:123456789012:bounces`",
                    arn.span(),
                );
            }
        }
    }
    if let Some(postmark) = &webhooks.postmark {
        let user = postmark.username.get_ref();
        if user.is_empty() || user.contains(':') || user.chars().any(char::is_control) {
            error(
                "`username` must be non-empty, without `:` or control characters (HTTP basic auth)",
                postmark.username.span(),
            );
        }
        if !is_env_name(postmark.password_env.get_ref()) {
            error(
                "`password_env` must name an environment variable, e.g. `BROADSHEET_POSTMARK_PASSWORD`",
                postmark.password_env.span(),
            );
        }
    }
}

/// Whether `arn` is an SNS topic's ARN: `arn:PARTITION:sns:REGION:ACCOUNT:NAME`.
pub(super) fn is_topic_arn(arn: &str) -> bool {
    let parts: Vec<&str> = arn.split(':').collect();
    let [arn, partition, service, region, account, name] = parts[..] else {
        return false;
    };
    let word = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    };
    let name = name.strip_suffix(".fifo").unwrap_or(name);
    arn == "arn"
        && partition.starts_with("aws")
        && word(partition)
        && service == "sns"
        && word(region)
        && account.len() == 12
        && account.bytes().all(|b| b.is_ascii_digit())
        && (1..=256).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::super::tests::located_problems as problems;
    use super::is_topic_arn;

    #[test]
    fn webhook_settings_are_checked_where_they_are_written() {
        let good = "[webhooks.ses]\ncertificate = \"sns.pem\"\n\
            topic_arns = [\"arn:aws:sns:eu-west-1:123456789012:bounces\"]\n\
            [webhooks.postmark]\nusername = \"postmark\"\npassword_env = \"PM_PASSWORD\"\n";
        assert!(problems(good).is_empty(), "{:?}", problems(good));
        let cases = [
            (
                "[webhooks.ses]\ncertificate = \"\"\ntopic_arns = []\n",
                vec!["2:15: `certificate`", "3:14: `topic_arns`"],
            ),
            (
                "[webhooks.ses]\ncertificate = \"c.pem\"\ntopic_arns = [\"arn:aws:sns:x\"]\n",
                vec!["3:15: not an SNS topic ARN"],
            ),
            (
                "[webhooks.postmark]\nusername = \"a:b\"\npassword_env = \"1X\"\n",
                vec!["2:12: `username`", "3:16: `password_env`"],
            ),
        ];
        for (text, expected) in cases {
            let found = problems(text);
            assert_eq!(found.len(), expected.len(), "{text}: {found:?}");
            for (found, expected) in found.iter().zip(expected) {
                assert!(
                    found.starts_with(expected),
                    "{text}: {found} is not {expected}"
                );
            }
        }
        let typo = problems("[webhooks.ses]\ncertificat = \"c.pem\"\ntopic_arns = []\n");
        assert!(typo[0].contains("certificat"), "{typo:?}");
    }

    #[test]
    fn topic_arns_have_six_parts() {
        assert!(is_topic_arn(
            "arn:aws:sns:eu-west-1:123456789012:broadsheet-bounces"
        ));
        assert!(is_topic_arn(
            "arn:aws-cn:sns:cn-north-1:123456789012:t.fifo"
        ));
        for bad in [
            "arn:aws:sqs:eu-west-1:123456789012:q",
            "arn:aws:sns:eu-west-1:1234:t",
            "arn:aws:sns:eu-west-1:123456789012:",
            "arn:aws:sns:eu-west-1:123456789012:a:b",
            "arn:aws:sns::123456789012:t",
            "broadsheet-bounces",
        ] {
            assert!(!is_topic_arn(bad), "{bad}");
        }
    }
}
