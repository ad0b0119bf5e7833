//! `broadsheet proof VOLUME [--to ADDRESS ...] [--as RECIPIENT] [--topics ...]`: test copies
//! of a volume for the staff, identical to what a subscriber gets except a `[TEST] ` subject,
//! a harmless unsubscribe link and a fresh Message-ID. Only the proof list (or addresses
//! given with `--to`) can receive them, checked again just before each message leaves, at
//! most `[proof] max` a run. Proofs never touch a send ledger.

use std::collections::BTreeSet;

use anyhow::Context as _;

use super::{say, say_err};
use crate::audience::VariantKey;
use crate::audience::{Address, Audience, RECIPIENTS_FILE};
use crate::cli::ProofArgs;
use crate::clock::Timestamp;
use crate::dispatch::prepare::Prepared;
use crate::message::dkim::Signer as DkimSigner;
use crate::message::outgoing::{Assembly, Outgoing};
use crate::message::size::kilobytes;
use crate::message::variant::Variants;
use crate::message::{self, Personal};
use crate::project::Project;
use crate::settings::Sending;
use crate::transport::{Configured, Transport as _, Unrecorded};
use crate::unsubscribe::{self, PROOF_TOKEN};

/// One test copy to send: to whom, with which content.
struct Copy {
    to: Address,
    name: Option<String>,
    greeting: Option<String>,
    /// The variant: what the recipient it stands for gets, or `--topics`.
    key: VariantKey,
}

pub(crate) fn run(project: &Project, args: &ProofArgs, now: Timestamp) -> anyhow::Result<()> {
    let Prepared { ready, sending } = Prepared::new(project, &args.volume, "no proof sent", true)?;
    let volume = ready.parts().0;
    let settings = &project.settings;
    let sender = &sending.identity;
    let audience = load_audience(project, args)?;
    let allowed = proof_list(project, audience.as_ref(), args)?;
    let copies = copies(audience.as_ref(), args, &allowed)?;
    let max = *settings.proof.max.get_ref();
    anyhow::ensure!(
        copies.len() <= max,
        "{} proof copies exceed `[proof] max = {max}`; name fewer with --to",
        copies.len()
    );
    let subject = format!("[TEST] {}", volume.subject());
    let number = ready.number();
    let mut variants = ready.variants(&sending, &subject, now);
    let url = unsubscribe::url(&sending.unsubscribe, PROOF_TOKEN);
    let dkim = DkimSigner::from_settings(settings.dkim.as_ref(), &project.root)?;
    // Signed like the real messages; the plain return path, since no ledger row stands
    // behind a proof for a bounce to be tied to.
    let assembly = Assembly {
        from: &sender.from,
        dkim: dkim.as_ref(),
        return_path: None,
    };
    let mut outgoing = Vec::new();
    for copy in &copies {
        let id = message::proof_message_id(sender, number, &copy.to)?;
        outgoing.extend(build(&mut variants, &assembly, copy, id, &url)?);
    }
    anyhow::ensure!(!outgoing.is_empty(), "no proof sent");
    send(project, &sending, &allowed, outgoing)
}

/// A built proof, sealed, with what its line reports.
struct Proof {
    sealed: Outgoing,
    picks: usize,
    key: VariantKey,
}

/// Builds one copy, or says why its variant is not sent (no picks).
fn build(
    variants: &mut Variants<'_>,
    assembly: &Assembly<'_>,
    copy: &Copy,
    message_id: String,
    url: &str,
) -> anyhow::Result<Option<Proof>> {
    let Some(variant) = variants.get(&copy.key)? else {
        let list: Vec<&str> = copy
            .key
            .topic_set()
            .unwrap_or_default()
            .into_iter()
            .collect();
        say(format_args!(
            "not sent to {}: no pick of this volume is tagged {}, so readers of those topics get nothing",
            copy.to,
            list.join(", ")
        ))?;
        return Ok(None);
    };
    let personal = Personal {
        to: &copy.to,
        name: copy.name.as_deref(),
        greeting: copy.greeting.as_deref(),
        message_id: &message_id,
        unsubscribe_url: url,
        mailto_token: None,
    };
    Ok(Some(Proof {
        sealed: assembly.seal(&copy.to, &message_id, variant.build(&personal)),
        picks: variant.picks,
        key: copy.key.clone(),
    }))
}

/// The audience, when the proof needs it: to reach the `[proof] segment` (unless `--to`
/// names the addresses), or to build the copy `--as` a recipient. A fresh clone has no
/// `recipients.toml`, and `proof --to` works there.
fn load_audience(project: &Project, args: &ProofArgs) -> anyhow::Result<Option<Audience>> {
    let to_segment = project.settings.proof.segment.is_some() && args.to.is_empty();
    let needed = to_segment || args.as_recipient.is_some();
    if !needed && !project.root.join(RECIPIENTS_FILE).exists() {
        return Ok(None);
    }
    super::audience(project, None).map(Some)
}

/// Who may receive proofs: `[proof] addresses`, the members of `[proof] segment`, and the
/// addresses given with `--to`.
fn proof_list(
    project: &Project,
    audience: Option<&Audience>,
    args: &ProofArgs,
) -> anyhow::Result<BTreeSet<Address>> {
    let proof = &project.settings.proof;
    let mut allowed = BTreeSet::new();
    for address in proof.addresses.iter().map(|a| a.get_ref()).chain(&args.to) {
        allowed.insert(parse(address)?);
    }
    if let (Some(segment), Some(audience)) = (&proof.segment, audience) {
        let selection = audience
            .select(std::slice::from_ref(segment.get_ref()))
            .map_err(|e| anyhow::anyhow!("[proof] segment: {e}"))?;
        allowed.extend(
            audience
                .recipients()
                .iter()
                .filter(|r| selection.includes(r))
                .map(|r| r.address()),
        );
    }
    Ok(allowed)
}

fn parse(address: &str) -> anyhow::Result<Address> {
    Address::parse(address).map_err(|why| anyhow::anyhow!("`{address}` {why}"))
}

/// The copies to send: to `--to` when given, else to the whole proof list; each with the
/// content `--as`/`--topics` ask for, else what that address gets as a recipient.
fn copies(
    audience: Option<&Audience>,
    args: &ProofArgs,
    allowed: &BTreeSet<Address>,
) -> anyhow::Result<Vec<Copy>> {
    let targets: Vec<Address> = if args.to.is_empty() {
        allowed.iter().cloned().collect()
    } else {
        args.to
            .iter()
            .map(|a| parse(a))
            .collect::<anyhow::Result<_>>()?
    };
    if let Some(a) = targets.iter().find(|a| a.needs_smtputf8()) {
        anyhow::bail!(
            "`{a}` needs SMTPUTF8 (a non-ASCII local part), which broadsheet does not use yet"
        );
    }
    anyhow::ensure!(
        !targets.is_empty(),
        "the proof list is empty: set `[proof] addresses` or `segment` in broadsheet.toml, or use --to"
    );
    let persona = match &args.as_recipient {
        Some(a) => Some(
            audience
                .and_then(|au| au.find(&parse(a).ok()?))
                .with_context(|| format!("--as {a}: not listed in {RECIPIENTS_FILE}"))?,
        ),
        None => None,
    };
    let everyone = audience
        .map(|a| a.select(&[]))
        .transpose()
        .map_err(anyhow::Error::msg)?;
    let key_of = |r: &crate::audience::Recipient| everyone.map(|e| e.reader_key(r));
    Ok(targets
        .into_iter()
        .map(|to| {
            let me = persona.or_else(|| audience.and_then(|a| a.find(&to)));
            let key = if args.topics.is_empty() {
                me.and_then(key_of).unwrap_or_else(VariantKey::all)
            } else {
                VariantKey::topics(&args.topics)
            };
            Copy {
                name: me.and_then(|r| r.name().map(str::to_owned)),
                greeting: me.and_then(|r| r.greeting().map(str::to_owned)),
                key,
                to,
            }
        })
        .collect())
}

/// Hands the copies to the configured transport, refusing any address off the proof list.
fn send(
    project: &Project,
    sending: &Sending,
    allowed: &BTreeSet<Address>,
    outgoing: Vec<Proof>,
) -> anyhow::Result<()> {
    let mut transport = Configured::new(&project.root, sending)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let mut failed = 0;
    runtime.block_on(async {
        for Proof {
            sealed: Outgoing { envelope, message },
            picks,
            key,
        } in &outgoing
        {
            // The last guard: nothing leaves for an address off the proof list.
            if !allowed.contains(&envelope.to) {
                say_err(format_args!(
                    "error: refusing {}: not on the proof list",
                    envelope.to
                ))?;
                failed += 1;
                continue;
            }
            // Proofs keep no ledger: nothing to wait for before the body.
            match transport.send(envelope, message, Unrecorded).await {
                Ok(delivery) => say(format_args!(
                    "sent proof (variant {key}, {picks} picks, {}) to {} via {}: {}",
                    kilobytes(message.len()),
                    envelope.to,
                    transport.describe(),
                    delivery.reply
                ))?,
                Err(error) => {
                    say_err(format_args!(
                        "error: proof to {} via {} failed: {error}",
                        envelope.to,
                        transport.describe()
                    ))?;
                    failed += 1;
                }
            }
        }
        transport.close().await;
        anyhow::Ok(())
    })?;
    anyhow::ensure!(
        failed == 0,
        "{failed} of {} proof copies were not sent",
        outgoing.len()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_guard_refuses_addresses_off_the_proof_list() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("broadsheet.toml"),
            "[sender]\nfrom = \"a@eto.tech\"\nlist_id = \"l.eto.tech\"\ndomain = \"eto.tech\"\n\
             [unsubscribe]\nurl = \"https://l.eto.tech/u/{token}\"\nsecret_env = \"S\"\n",
        )
        .unwrap();
        let project = Project::open(dir.path()).unwrap();
        let on_list = Address::parse("staff@example.org").unwrap();
        let outsider = Address::parse("reader@example.org").unwrap();
        let assembly = Assembly {
            from: "a@eto.tech",
            dkim: None,
            return_path: None,
        };
        let outgoing = vec![Proof {
            sealed: assembly.seal(
                &outsider,
                "<x@eto.tech>",
                "Subject: x\r\n\r\nx\r\n".to_owned(),
            ),
            picks: 1,
            key: VariantKey::all(),
        }];
        let sending = Sending::new(&project.settings).unwrap();
        let error = send(&project, &sending, &BTreeSet::from([on_list]), outgoing).unwrap_err();
        assert!(
            error
                .to_string()
                .contains("1 of 1 proof copies were not sent"),
            "{error}"
        );
        assert!(!dir.path().join("outbox").exists(), "nothing was written");
    }
}
