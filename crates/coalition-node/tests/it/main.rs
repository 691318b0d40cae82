//! Integration tests of coalition-node, through its public API.

mod demo;
mod edition;
mod import;
mod reports;
mod sealed;
mod snapshot;
mod support;
mod write_path;
