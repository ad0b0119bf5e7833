//! Integration tests: the real `broadsheet` binary on a copy of the sample project.

mod support;

mod archive;
mod bounce_corpus;
mod bounce_corpus_classes;
mod bounces;
mod bounces_bounded;
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
mod refusal_classes;
mod sample;
mod schedule;
mod sending;
mod serve;
mod serve_browser;
mod serve_forms;
mod serve_hardening;
mod serve_load;
mod serve_mail;
mod serve_webhooks;
mod topics;
