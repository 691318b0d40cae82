//! Integration tests of coalition-core, through its public surface only.

mod body;
mod bundle;
mod canonical;
mod event;
mod fixtures;
mod genesis;
mod keys;
mod merkle;
mod note;
mod seal;
mod strict;
mod verify;
