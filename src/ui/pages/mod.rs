//! One module per page (or per group of a feature's pages), named after the feature.

pub mod accept_invite;
pub mod activity;
pub mod api_reference;
pub mod builder;
pub mod campaigns;
pub mod dashboard;
pub mod emails;
pub mod health;
pub mod integrations;
pub mod join;
pub mod not_found;
pub mod operations;
pub mod passwords;
pub mod qualification;
pub mod rewards;
pub mod sending;
pub mod sign_in;
pub mod sign_up;
pub mod sync;
pub mod team;
pub mod users;
pub mod welcome;
