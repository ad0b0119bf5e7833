//! The reader a path's unsubscribe token names, and the volume whose message carried the
//! link (`?v=12`, see [`crate::unsubscribe::volume_url`]), which the pages keep in their
//! own links so that a change made on them is tied to that volume too.

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

use super::app::App;
use super::respond::{Failure, LinkPath};
use crate::audience::Address;
use crate::unsubscribe::VOLUME_PARAM;

/// The reader whose unsubscribe token is the path's `{token}`: a token that does not
/// verify answers [`Failure::BadLink`] before any handler runs.
pub(super) struct Reader {
    pub(super) address: Address,
    token: String,
    /// The volume whose message carried the link (`?v=12`), when it says.
    pub(super) volume: Option<u32>,
}

impl Reader {
    /// The path of this reader's `page` (`unsubscribe`, `preferences`), keeping the volume
    /// the link came from and adding `extra` (`saved=1`) to its query.
    pub(super) fn link(&self, app: &App, page: &str, extra: Option<&str>) -> String {
        let base = app.serve.base_path();
        let query: Vec<String> = self
            .volume
            .map(|v| format!("{VOLUME_PARAM}={v}"))
            .into_iter()
            .chain(extra.map(str::to_owned))
            .collect();
        let token = &self.token;
        match query.is_empty() {
            true => format!("{base}{page}/{token}"),
            false => format!("{base}{page}/{token}?{}", query.join("&")),
        }
    }
}

/// The volume a link's query names; anything else there (or a malformed number) is ignored,
/// so that old links without it keep working.
fn volume_in(query: Option<&str>) -> Option<u32> {
    query?
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(name, _)| *name == VOLUME_PARAM)
        .and_then(|(_, value)| value.parse().ok())
}

impl FromRequestParts<Arc<App>> for Reader {
    type Rejection = Failure;

    async fn from_request_parts(parts: &mut Parts, app: &Arc<App>) -> Result<Self, Failure> {
        let LinkPath(token) = LinkPath::<String>::from_request_parts(parts, app).await?;
        let volume = volume_in(parts.uri.query());
        let address = app.verify(&token).ok_or(Failure::BadLink)?;
        Ok(Self {
            address,
            token,
            volume,
        })
    }
}
