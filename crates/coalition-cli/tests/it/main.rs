//! End-to-end tests of the `coalition` binary: the commands as a person or a script uses them.

mod member;
mod node;
mod offline;
mod replication;
