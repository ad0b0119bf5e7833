//! Integration tests: the real `broadsheet` binary on a copy of the sample project.

mod support;

mod archive;
mod bounce_corpus;
mod bounces;
mod browser;
mod build;
mod check;
mod dispatch;
mod dispatch_faults;
mod dispatch_guards;
mod dkim;
mod drafts;
mod guards;
mod hostile;
mod http_guard;
mod imports;
mod inbox;
mod init;
mod loader_fuzz;
mod manual;
mod new;
mod preview;
mod recipients;
mod sample;
mod sending;
mod serve;
mod serve_browser;
mod serve_load;
mod serve_webhooks;
