//! End-to-end tests of the `coalition` binary: the commands as a person or a script uses them.

mod audit;
mod browser;
mod edition;
mod leak;
mod member;
mod node;
mod offline;
mod public_node;
mod replication;
mod reports;
