//! Plain Rust rules shared by the server and the browser. Depends on nothing but serde.

pub mod activity;
pub mod campaigns;
pub mod integrations;
pub mod operations;
pub mod participants;
pub mod permissions;
pub mod team;
pub mod time;
pub mod validate;
