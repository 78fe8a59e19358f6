//! HTTP integration tests: each starts a real server on port 0 against a fresh database.

mod contract;
mod helpers;
mod rows;
mod schema;

mod admin;
mod attacks;
mod browser;
mod cli;
mod cluster;
mod console;
mod counts;
mod crash;
mod credentials;
mod events;
mod external_users;
mod extractors;
mod hostile;
mod idempotency;
mod identities;
mod import_export;
mod isolation;
mod key_order;
mod one_person;
mod openapi;
mod paging;
mod real_clients;
mod request_participants;
mod resilience;
mod service_desk;
mod service_desk_organizations;
mod staff_users;
mod ticket_external_users;
mod tickets;
mod web;
mod webhooks;
