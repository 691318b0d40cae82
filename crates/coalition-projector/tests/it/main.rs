//! Integration tests of coalition-projector, through its public API only.

mod api;
mod convergence;
mod edition;
mod history;
mod scenarios;
mod snapshot;
mod support;
