//! Fresh planner statistics on PostgreSQL servers that run without autovacuum.
//!
//! PostgreSQL plans from statistics that `ANALYZE` gathers, which autovacuum runs as tables change.
//! Where an operator has turned autovacuum off, a table filled after its last `ANALYZE` is planned
//! as if it were empty: an import's lookup of 500 external ids by `(channel_id, external_id)` then
//! reads the channel's every row (50 ms at 80,000 users, and past the statement timeout later), and
//! searches and filtered lists fall over the same way. So on such a server each node's store does
//! what autovacuum's analyze would have done, with its thresholds: a table of the schema with more
//! than `50 + 10 %` of its rows changed since its last `ANALYZE` is analyzed again. One node at a
//! time does it (an advisory lock per schema); where autovacuum runs, this does nothing.

use std::time::Duration;

use sqlx::{Pool, Postgres};
use tokio::sync::oneshot;

/// How often a node looks for tables whose statistics are behind.
const INTERVAL: Duration = Duration::from_secs(10);

/// The schema's tables that autovacuum would analyze now, when autovacuum is off.
const BEHIND: &str = "SELECT s.relname::text FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid \
     WHERE current_setting('autovacuum') = 'off' AND s.schemaname = current_schema() \
     AND s.n_mod_since_analyze > 50 + 0.1 * greatest(c.reltuples, 0) ORDER BY s.relname";

/// Keeps the statistics fresh until `stop`'s sender is dropped (with the last handle to the store).
pub(super) async fn keep_fresh(pool: Pool<Postgres>, mut stop: oneshot::Receiver<()>) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(INTERVAL) => {}
            _ = &mut stop => return,
        }
        match analyze_behind(&pool).await {
            Ok(tables) if !tables.is_empty() => tracing::debug!(?tables, "refreshed planner statistics"),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "could not refresh planner statistics"),
        }
    }
}

/// Analyzes the tables that are behind; answers which.
pub(super) async fn analyze_behind(pool: &Pool<Postgres>) -> sqlx::Result<Vec<String>> {
    let tables: Vec<String> = sqlx::query_scalar(BEHIND).fetch_all(pool).await?;
    if tables.is_empty() {
        return Ok(tables);
    }
    let mut tx = pool.begin().await?;
    let mine: bool =
        sqlx::query_scalar("SELECT pg_try_advisory_xact_lock(hashtext('frontdesk.analyze.' || current_schema()))")
            .fetch_one(&mut *tx)
            .await?;
    if !mine {
        return Ok(Vec::new());
    }
    // Sampling a large table may take longer than a request may.
    sqlx::query("SET LOCAL statement_timeout = 0").execute(&mut *tx).await?;
    for table in &tables {
        let sql = format!("ANALYZE \"{}\"", table.replace('"', "\"\""));
        sqlx::query(sqlx::AssertSqlSafe(sql)).execute(&mut *tx).await?;
    }
    tx.commit().await?;
    Ok(tables)
}

#[cfg(test)]
mod tests {
    use sqlx::postgres::PgPoolOptions;

    use super::*;

    /// A pool on a fresh schema of the test server, or `None` where none is configured.
    async fn fresh_schema() -> Option<(Pool<Postgres>, String)> {
        let url = std::env::var("FRONTDESK_TEST_DATABASE_URL").ok().filter(|u| !u.is_empty())?;
        let schema = format!("stats_{}", uuid::Uuid::new_v4().simple());
        let admin = PgPoolOptions::new().max_connections(1).connect(&url).await.expect("connect");
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}"))).execute(&admin).await.expect("schema");
        let path = schema.clone();
        let pool = PgPoolOptions::new()
            .max_connections(2)
            .after_connect(move |conn, _| {
                let sql = format!("SET search_path TO {path}");
                Box::pin(async move {
                    use sqlx::Executor;
                    conn.execute(sqlx::AssertSqlSafe(sql)).await.map(|_| ())
                })
            })
            .connect(&url)
            .await
            .expect("connect");
        Some((pool, schema))
    }

    #[tokio::test]
    async fn a_filled_table_is_analyzed_once_where_autovacuum_is_off() {
        let Some((pool, schema)) = fresh_schema().await else { return };
        sqlx::query("CREATE TABLE filled (n INTEGER)").execute(&pool).await.unwrap();
        sqlx::query("INSERT INTO filled SELECT generate_series(1, 1000)").execute(&pool).await.unwrap();
        let autovacuum: String = sqlx::query_scalar("SHOW autovacuum").fetch_one(&pool).await.unwrap();
        // The changes reach the statistics views when the inserting session reports them.
        let started = std::time::Instant::now();
        let mut analyzed = analyze_behind(&pool).await.unwrap();
        while autovacuum == "off" && analyzed.is_empty() && started.elapsed() < Duration::from_secs(30) {
            tokio::time::sleep(Duration::from_millis(200)).await;
            analyzed = analyze_behind(&pool).await.unwrap();
        }
        if autovacuum == "off" {
            assert_eq!(analyzed, ["filled"]);
            let planned: f32 = sqlx::query_scalar("SELECT reltuples FROM pg_class WHERE oid = 'filled'::regclass")
                .fetch_one(&pool)
                .await
                .unwrap();
            assert_eq!(planned, 1000.0, "the planner knows the table's size");
        } else {
            assert!(analyzed.is_empty(), "autovacuum's own analyze is left to it");
        }
        assert!(analyze_behind(&pool).await.unwrap().is_empty(), "nothing changed since");
        sqlx::query(sqlx::AssertSqlSafe(format!("DROP SCHEMA {schema} CASCADE"))).execute(&pool).await.unwrap();
    }
}
