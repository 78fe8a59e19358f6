//! The `/api/v1` contract of seed 001 (external users) and the workspace administration around it
//! (channels, tiers, external user groups, API keys), which share its auth header, paging and errors.

mod api_keys;
mod channels;
pub mod error;
pub mod external_users;
mod groups;
mod paging;
mod tiers;

use axum::Router;

use super::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .merge(external_users::router())
        .merge(channels::router())
        .merge(tiers::router())
        .merge(groups::router())
        .merge(api_keys::router())
}
