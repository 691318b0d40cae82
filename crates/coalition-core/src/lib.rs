//! The protocol core of coalition-ledger: what an event is, how it is written down, signed,
//! identified and verified, and what a coalition's constitution (the genesis) says.
//!
//! Everything here is pure: no I/O, no clock, no async runtime. Callers hand in bytes and get
//! back typed values or typed errors, so a node, an auditor's laptop and a test all reach the
//! same verdict on the same bytes.

pub mod body;
pub mod bundle;
pub mod canonical;
pub mod edition;
pub mod event;
pub mod genesis;
pub mod id;
pub mod keys;
pub mod limits;
pub mod merkle;
pub mod note;
pub mod seal;
pub mod strict;
pub mod time;
pub mod verify;
