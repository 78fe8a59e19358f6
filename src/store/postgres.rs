//! PostgreSQL, for production and for running many stateless app nodes on one database.

use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Pool, Postgres};
use std::str::FromStr;

use super::sql::impl_store;
use super::staff::impl_staff_store;

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
    pub migrate: bool,
    /// A schema to create and use instead of `public` (tests use one schema each).
    pub schema: Option<String>,
}

impl Default for PostgresOptions {
    fn default() -> Self {
        Self { max_connections: 16, statement_timeout: Duration::from_secs(5), migrate: true, schema: None }
    }
}

impl PostgresStore {
    pub async fn open(url: &str, opts: &PostgresOptions) -> Result<Self, sqlx::Error> {
        let mut connect = PgConnectOptions::from_str(url)?
            .options([("statement_timeout", format!("{}", opts.statement_timeout.as_millis()))]);
        if let Some(schema) = &opts.schema {
            let admin = PgPoolOptions::new().max_connections(1).connect_with(connect.clone()).await?;
            sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA IF NOT EXISTS \"{schema}\"")))
                .execute(&admin)
                .await?;
            admin.close().await;
            connect = connect.options([("search_path", schema.as_str())]);
        }
        let pool = PgPoolOptions::new()
            .max_connections(opts.max_connections)
            .acquire_timeout(Duration::from_secs(5))
            .test_before_acquire(true)
            .connect_with(connect)
            .await?;
        if opts.migrate {
            super::migrations::postgres().run(&pool).await?;
        }
        Ok(Self { read: pool.clone(), write: pool })
    }
}

impl_store!(PostgresStore, Postgres, |s| s.write.begin());
impl_staff_store!(PostgresStore, Postgres, |s| s.write.begin());
