//! Integration tests: the real `broadsheet` binary on a copy of the sample project.

mod support;

mod browser;
mod build;
mod check;
mod guards;
mod loader_fuzz;
mod new;
mod recipients;
mod sending;
