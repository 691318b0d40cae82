//! Integration tests of coalition-nats against a real nats-server, one per test.

mod consume;
mod fixtures;
mod naming;
mod publish;
mod replication;
mod restart;
mod server;
mod stream;
