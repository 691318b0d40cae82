//! End-to-end tests of the `coalition` binary: the commands as a person or a script uses them.

mod edition;
mod member;
mod node;
mod offline;
