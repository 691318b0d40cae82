//! Integration tests of coalition-store, through its public API only.

mod committer;
mod conformance;
mod corruption;
mod disk_full;
mod durability;
mod properties;
mod redb_store;
mod support;
