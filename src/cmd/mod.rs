//! One module per command; each takes the project and its `Args`.

pub(crate) mod archive;
pub(crate) mod bounces;
pub(crate) mod build;
pub(crate) mod check;
pub(crate) mod dispatch;
pub(crate) mod new;
pub(crate) mod plan;
pub(crate) mod preview;
pub(crate) mod proof;
pub(crate) mod recipients;
pub(crate) mod serve;
pub(crate) mod status;
pub(crate) mod suppress;
pub(crate) mod unsubscribe_token;
