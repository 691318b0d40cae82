//! Integration tests of coalition-server: the router in-process (`tower::ServiceExt::oneshot`)
//! over in-memory nodes, and the blocking client against a server on a loopback port.

mod api;
mod client;
mod editions;
mod fixtures;
mod http;
mod limits;
mod member;
mod openapi;
mod public;
mod reports;
mod sealed;
mod site;
mod status;
mod token;
