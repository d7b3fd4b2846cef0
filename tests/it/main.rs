//! Integration tests: the database layer on SQLite and PostgreSQL, the HTTP router, and the
//! real binary. One test binary keeps linking fast.

mod support;

mod accounts;
mod admin;
mod api;
mod attribution;
mod campaigns;
mod commissions;
mod dashboard;
mod db_campaigns;
mod db_settings;
mod deploy;
mod emails;
mod fraud;
mod health;
mod holds;
mod housekeeping;
mod http;
mod jobs;
mod mail;
mod outbound_webhooks;
mod passwords;
mod permissions;
mod process;
mod proxy;
mod qualification;
mod queue_processes;
mod races;
mod sandbox_doors;
mod sending;
mod stripe_client;
mod stripe_connection;
mod stripe_payments;
mod sync;
mod upgrade;
mod workflow_errors;
