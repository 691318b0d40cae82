//! Integration tests of coalition-node, through its public API.

mod demo;
mod edition;
mod reports;
mod support;
mod write_path;
