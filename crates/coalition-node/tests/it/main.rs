//! Integration tests of coalition-node, through its public API.

mod demo;
mod support;
mod write_path;
