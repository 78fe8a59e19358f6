//! HTTP integration tests: each starts a real server on port 0 against a fresh database.

mod helpers;

mod admin;
mod browser;
mod cli;
mod cluster;
mod credentials;
mod external_users;
mod isolation;
mod openapi;
mod request_participants;
mod resilience;
mod service_desk;
mod staff_users;
mod ticket_external_users;
mod tickets;
mod web;
