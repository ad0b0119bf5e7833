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
mod evidence;
mod guards;
mod hostile;
mod http_guard;
mod inbox;
mod loader_fuzz;
mod new;
mod preview;
mod recipients;
mod rules;
mod sample;
mod sending;
mod serve;
mod serve_browser;
mod serve_load;
mod serve_webhooks;
