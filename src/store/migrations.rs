//! Each backend's migrations, embedded in the binary so a fresh machine needs no files beside it.

use sqlx::SqlSafeStr;
use sqlx::migrate::{Migration, MigrationType, Migrator};

/// (version, description, SQL) in order.
type Steps = &'static [(i64, &'static str, &'static str)];

const SQLITE: Steps = &[
    (1, "foundation", include_str!("../../migrations/sqlite/0001_foundation.sql")),
    (2, "staff users", include_str!("../../migrations/sqlite/0002_staff_users.sql")),
    (3, "tickets", include_str!("../../migrations/sqlite/0003_tickets.sql")),
    (4, "staff", include_str!("../../migrations/sqlite/0004_staff.sql")),
    (5, "search and bootstrap", include_str!("../../migrations/sqlite/0005_search.sql")),
    (6, "web sessions", include_str!("../../migrations/sqlite/0006_web_sessions.sql")),
    (
        8,
        "ticket types and update order",
        include_str!("../../migrations/sqlite/0008_ticket_types_and_update_order.sql"),
    ),
    (9, "staff role named user", include_str!("../../migrations/sqlite/0009_staff_role_named_user.sql")),
    (10, "events", include_str!("../../migrations/sqlite/0010_events.sql")),
    (12, "identities", include_str!("../../migrations/sqlite/0012_identities.sql")),
    (13, "sign-in attempts", include_str!("../../migrations/sqlite/0013_sign_in_attempts.sql")),
    (14, "webhooks", include_str!("../../migrations/sqlite/0014_webhooks.sql")),
    (15, "idempotency keys", include_str!("../../migrations/sqlite/0015_idempotency_keys.sql")),
    (16, "organizations", include_str!("../../migrations/sqlite/0016_organizations.sql")),
    (17, "external user counts", include_str!("../../migrations/sqlite/0017_external_user_counts.sql")),
    (18, "token issuers and purge", include_str!("../../migrations/sqlite/0018_token_issuers_and_purge.sql")),
    (23, "comment numbers", include_str!("../../migrations/sqlite/0023_comment_numbers.sql")),
    (26, "participants in order", include_str!("../../migrations/sqlite/0026_participants_in_order.sql")),
    (27, "participant activities", include_str!("../../migrations/sqlite/0027_participant_activities.sql")),
    (22, "event retention", include_str!("../../migrations/sqlite/0022_event_retention.sql")),
];

const POSTGRES: Steps = &[
    (1, "foundation", include_str!("../../migrations/postgres/0001_foundation.sql")),
    (2, "staff users", include_str!("../../migrations/postgres/0002_staff_users.sql")),
    (3, "tickets", include_str!("../../migrations/postgres/0003_tickets.sql")),
    (4, "staff", include_str!("../../migrations/postgres/0004_staff.sql")),
    (5, "search and bootstrap", include_str!("../../migrations/postgres/0005_search.sql")),
    (6, "web sessions", include_str!("../../migrations/postgres/0006_web_sessions.sql")),
    (
        8,
        "ticket types and update order",
        include_str!("../../migrations/postgres/0008_ticket_types_and_update_order.sql"),
    ),
    (9, "staff role named user", include_str!("../../migrations/postgres/0009_staff_role_named_user.sql")),
    (10, "events", include_str!("../../migrations/postgres/0010_events.sql")),
    (12, "identities", include_str!("../../migrations/postgres/0012_identities.sql")),
    (13, "sign-in attempts", include_str!("../../migrations/postgres/0013_sign_in_attempts.sql")),
    (14, "webhooks", include_str!("../../migrations/postgres/0014_webhooks.sql")),
    (15, "idempotency keys", include_str!("../../migrations/postgres/0015_idempotency_keys.sql")),
    (16, "organizations", include_str!("../../migrations/postgres/0016_organizations.sql")),
    (17, "external user counts", include_str!("../../migrations/postgres/0017_external_user_counts.sql")),
    (18, "token issuers and purge", include_str!("../../migrations/postgres/0018_token_issuers_and_purge.sql")),
    (23, "comment numbers", include_str!("../../migrations/postgres/0023_comment_numbers.sql")),
    (26, "participants in order", include_str!("../../migrations/postgres/0026_participants_in_order.sql")),
    (27, "participant activities", include_str!("../../migrations/postgres/0027_participant_activities.sql")),
    (22, "event retention", include_str!("../../migrations/postgres/0022_event_retention.sql")),
];

fn migrator(steps: Steps) -> Migrator {
    Migrator::with_migrations(
        steps
            .iter()
            .map(|(version, description, sql)| {
                Migration::new(*version, (*description).into(), MigrationType::Simple, sql.into_sql_str(), false)
            })
            .collect(),
    )
}

pub(super) fn sqlite() -> Migrator {
    migrator(SQLITE)
}

pub(super) fn postgres() -> Migrator {
    migrator(POSTGRES)
}

#[cfg(test)]
mod tests {
    /// Both backends must have the same list of steps: a step missing on one is a schema drift.
    #[test]
    fn both_backends_have_the_same_steps() {
        let names = |steps: super::Steps| steps.iter().map(|(v, d, _)| (*v, *d)).collect::<Vec<_>>();
        assert_eq!(names(super::SQLITE), names(super::POSTGRES));
    }
}
