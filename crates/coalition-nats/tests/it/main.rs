//! Integration tests of coalition-nats against a real nats-server, one per test.

mod cluster;
mod consume;
mod deploy;
mod fixtures;
mod naming;
mod private;
mod publish;
mod replication;
mod restart;
mod server;
mod stream;
