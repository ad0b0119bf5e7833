//! `broadsheet unsubscribe-token verify TOKEN`: for whoever runs the https unsubscribe
//! endpoint, checks a token (or a whole URL) and prints the address and list it names.

use super::say;
use crate::audience::Audience;
use crate::cli::{TokenAction, TokenArgs};
use crate::project::Project;
use crate::settings::Sending;
use crate::unsubscribe::{self, Signer};

pub(crate) fn run(project: &Project, args: &TokenArgs) -> anyhow::Result<()> {
    let TokenAction::Verify { token } = &args.action;
    let sending = Sending::new(&project.settings)?;
    let unsubscribe = &sending.unsubscribe;
    let signer = Signer::from_env(unsubscribe, &sending.identity.list_id)?;
    let audience = Audience::load(&project.root, None)?;
    let listed: Vec<_> = audience.recipients().iter().map(|r| r.address()).collect();
    let suppressed = audience.suppressions().iter().map(|s| &s.address);
    let token = unsubscribe::token_in(unsubscribe, token);
    let verified = signer
        .verify(token, listed.iter().chain(suppressed))
        .map_err(anyhow::Error::msg)?;
    say(format_args!(
        "valid: {} on list {}",
        verified.address, verified.list_id
    ))?;
    Ok(())
}
