//! PostgreSQL, for production and for running many stateless app nodes on one database.

use std::time::Duration;

use std::str::FromStr;

use sqlx::postgres::{PgConnectOptions, PgConnection, PgPoolOptions};
use sqlx::{Connection, Pool, Postgres, QueryBuilder, Transaction};
use uuid::Uuid;

use super::StoreResult;
use super::dialect::Dialect;
use super::support::contains_pattern;
use crate::domain::{Actor, ExternalUser};

type Db = Postgres;
type Backend = PostgresStore;
// The same code as the other backend's `run`, compiled for this one: see `run/mod.rs`.
#[allow(clippy::duplicate_mod)]
#[path = "run/mod.rs"]
mod run;

#[derive(Clone)]
pub struct PostgresStore {
    read: Pool<Postgres>,
    write: Pool<Postgres>,
}

/// How to reach and use a PostgreSQL database.
#[derive(Debug, Clone)]
pub struct PostgresOptions {
    pub max_connections: u32,
    pub statement_timeout: Duration,
    /// How long a request waits for a connection before it is answered 503.
    pub acquire_timeout: Duration,
    pub migrate: bool,
    /// Shown in `pg_stat_activity`, so an operator can tell Frontdesk's connections apart.
    pub application_name: String,
    /// A schema to create and use instead of `public` (tests use one schema each).
    pub schema: Option<String>,
}

impl Default for PostgresOptions {
    fn default() -> Self {
        Self {
            max_connections: 16,
            statement_timeout: Duration::from_secs(5),
            acquire_timeout: Duration::from_secs(3),
            migrate: true,
            application_name: "frontdesk".into(),
            schema: None,
        }
    }
}

impl PostgresStore {
    pub async fn open(url: &str, opts: &PostgresOptions) -> Result<Self, sqlx::Error> {
        let mut connect = PgConnectOptions::from_str(url)?
            .application_name(&opts.application_name)
            .options([("statement_timeout", format!("{}", opts.statement_timeout.as_millis()))]);
        if let Some(schema) = &opts.schema {
            let admin = PgPoolOptions::new().max_connections(1).connect_with(connect.clone()).await?;
            let created = sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA IF NOT EXISTS \"{schema}\"")))
                .execute(&admin)
                .await;
            // Nodes starting together race on `IF NOT EXISTS`; the loser's duplicate error means "exists".
            if let Err(e) = created
                && e.as_database_error().is_none_or(|d| d.kind() != sqlx::error::ErrorKind::UniqueViolation)
            {
                return Err(e);
            }
            admin.close().await;
            connect = connect.options([("search_path", schema.as_str())]);
        }
        if opts.migrate {
            // The statement timeout guards request traffic, not schema changes: a migration may build an
            // index over millions of rows, and it first waits for the migration lock of any node (or
            // test) migrating the same database at the same moment.
            let mut conn = PgConnection::connect_with(&connect.clone().options([("statement_timeout", "0")])).await?;
            super::migrations::postgres().run(&mut conn).await?;
            conn.close().await?;
        }
        let pool = PgPoolOptions::new()
            .max_connections(opts.max_connections)
            .acquire_timeout(opts.acquire_timeout)
            .test_before_acquire(true)
            .connect_with(connect)
            .await?;
        Ok(Self { read: pool.clone(), write: pool })
    }
}

impl Dialect for PostgresStore {
    type Db = Postgres;
    const LOCK_ROW: &'static str = " FOR UPDATE";
    const SKIP_LOCKED: &'static str = " FOR UPDATE OF d SKIP LOCKED";

    async fn begin_write(&self) -> sqlx::Result<Transaction<'static, Postgres>> {
        self.write.begin().await
    }

    /// Matches the expression of the trigram index of migration 5, so any term uses the index.
    fn push_search(qb: &mut QueryBuilder<Postgres>, workspace_id: Uuid, term: &str) {
        qb.push(" WHERE workspace_id = ").push_bind(workspace_id);
        qb.push(
            " AND lower(coalesce(name, '') || ' ' || coalesce(identifier, '') || ' ' || coalesce(external_id, '')) \
             LIKE ",
        )
        .push_bind(contains_pattern(term))
        .push(" ESCAPE '\\'");
    }

    /// Each create in a transaction of its own: PostgreSQL commits concurrent transactions in parallel.
    async fn insert_external_user(&self, u: &ExternalUser, actor: Actor) -> StoreResult<Uuid> {
        let mut tx = self.begin_write().await?;
        let on_builtin = run::external_users::require_user_refs(&mut tx, u).await?;
        let joined = match run::identities::matching_identity(&mut tx, u).await? {
            Some(found) => found,
            None => {
                run::external_users::insert_super_identity(&mut tx, u).await?;
                u.super_identity_id
            }
        };
        run::external_users::insert_user_row(&mut tx, u, joined).await?;
        let shown = ExternalUser { super_identity_id: joined, ..u.clone() };
        run::external_users::record_user_created(&mut tx, &shown, actor, on_builtin).await?;
        tx.commit().await?;
        Ok(joined)
    }

    /// PostgreSQL's indexes drop dead entries on their own (vacuum); there is no separate copy to purge.
    async fn after_erasure_in(_tx: &mut Transaction<'static, Postgres>) -> StoreResult<()> {
        Ok(())
    }

    /// Old row versions are reclaimed by (auto)vacuum; see docs/privacy.md for what that means.
    async fn after_erasure(&self) -> StoreResult<()> {
        Ok(())
    }
}
