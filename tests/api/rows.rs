//! The rows a server keeps, read straight from its database: a fingerprint of every table (to show
//! that a request changed nothing) and plain counting queries (to show that what was written is whole).

use std::collections::BTreeMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::str::FromStr;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};
use sqlx::{AssertSqlSafe, PgPool, SqlitePool};

use crate::helpers::TestDatabase;

/// Columns that a request may change without changing what it is about: a key's "last used" time
/// moves on every authenticated request, accepted or not.
const BOOKKEEPING_COLUMNS: &[&str] = &["last_used_at"];

pub enum Rows {
    Sqlite { pool: SqlitePool, fingerprint: String },
    Postgres { pool: PgPool, fingerprint: String },
}

/// Per table: (row count, hash of every row's text).
pub type Fingerprint = BTreeMap<String, (i64, u64)>;

impl Rows {
    pub async fn open(db: &TestDatabase) -> Self {
        if let Some(schema) = &db.schema {
            let options =
                PgConnectOptions::from_str(&db.url).expect("postgres url").options([("search_path", schema.as_str())]);
            let pool = PgPoolOptions::new().max_connections(2).connect_with(options).await.expect("postgres");
            let fingerprint = postgres_fingerprint_query(&pool, schema).await;
            Self::Postgres { pool, fingerprint }
        } else {
            let path = db.url.trim_start_matches("sqlite://");
            let options = SqliteConnectOptions::new().filename(path).read_only(true);
            let pool = SqlitePoolOptions::new().max_connections(1).connect_with(options).await.expect("sqlite");
            let fingerprint = sqlite_fingerprint_query(&pool).await;
            Self::Sqlite { pool, fingerprint }
        }
    }

    /// Every table's rows, reduced to a count and a hash (rows sorted, so their order does not matter).
    pub async fn fingerprint(&self) -> Fingerprint {
        let rows: Vec<(String, String)> = match self {
            Self::Sqlite { pool, fingerprint } => {
                sqlx::query_as(AssertSqlSafe(fingerprint.as_str())).fetch_all(pool).await.expect("fingerprint")
            }
            Self::Postgres { pool, fingerprint } => {
                sqlx::query_as(AssertSqlSafe(fingerprint.as_str())).fetch_all(pool).await.expect("fingerprint")
            }
        };
        let mut tables: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (table, row) in rows {
            tables.entry(table).or_default().push(row);
        }
        tables
            .into_iter()
            .map(|(table, mut rows)| {
                rows.retain(|r| !r.is_empty());
                rows.sort_unstable();
                let mut h = DefaultHasher::new();
                rows.hash(&mut h);
                (table, (rows.len() as i64, h.finish()))
            })
            .collect()
    }

    /// The single integer `sql` answers (written with `$1`-free standard SQL both databases accept).
    pub async fn count(&self, sql: &str) -> i64 {
        match self {
            Self::Sqlite { pool, .. } => sqlx::query_scalar(AssertSqlSafe(sql)).fetch_one(pool).await,
            Self::Postgres { pool, .. } => sqlx::query_scalar(AssertSqlSafe(sql)).fetch_one(pool).await,
        }
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
    }

    pub async fn close(self) {
        match self {
            Self::Sqlite { pool, .. } => pool.close().await,
            Self::Postgres { pool, .. } => pool.close().await,
        }
    }
}

/// The tables that differ between two fingerprints, with their counts before and after.
pub fn changed(before: &Fingerprint, after: &Fingerprint) -> Vec<String> {
    let names: std::collections::BTreeSet<&String> = before.keys().chain(after.keys()).collect();
    names
        .into_iter()
        .filter(|t| before.get(*t) != after.get(*t))
        .map(|t| {
            let count = |f: &Fingerprint| f.get(t).map_or(0, |(n, _)| *n);
            format!("{t} ({} rows → {})", count(before), count(after))
        })
        .collect()
}

/// One `UNION ALL` over every table, each row as one text. A table with no rows still answers one
/// empty row, so that it appears in the fingerprint.
async fn sqlite_fingerprint_query(pool: &SqlitePool) -> String {
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' \
         AND name NOT LIKE '\\_sqlx%' ESCAPE '\\' AND sql NOT LIKE 'CREATE VIRTUAL%' \
         AND name NOT LIKE 'external\\_user\\_search%' ESCAPE '\\' ORDER BY name",
    )
    .fetch_all(pool)
    .await
    .expect("tables");
    let mut parts = Vec::new();
    for table in tables {
        let columns: Vec<String> =
            sqlx::query_scalar(AssertSqlSafe(format!("SELECT name FROM pragma_table_info('{table}') ORDER BY cid")))
                .fetch_all(pool)
                .await
                .expect("columns");
        let row = columns
            .iter()
            .filter(|c| !BOOKKEEPING_COLUMNS.contains(&c.as_str()))
            .map(|c| format!("quote(\"{c}\")"))
            .collect::<Vec<_>>()
            .join(" || ',' || ");
        parts.push(format!("SELECT '{table}', {row} FROM \"{table}\""));
        parts.push(format!("SELECT '{table}', ''"));
    }
    parts.join(" UNION ALL ")
}

async fn postgres_fingerprint_query(pool: &PgPool, schema: &str) -> String {
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT table_name::text FROM information_schema.tables WHERE table_schema = $1 \
         AND table_type = 'BASE TABLE' AND table_name NOT LIKE '\\_sqlx%' ORDER BY 1",
    )
    .bind(schema)
    .fetch_all(pool)
    .await
    .expect("tables");
    let drop: String = BOOKKEEPING_COLUMNS.iter().map(|c| format!(" - '{c}'")).collect();
    tables
        .iter()
        .flat_map(|t| {
            [
                format!("SELECT '{t}'::text, (to_jsonb(r){drop})::text FROM \"{t}\" r"),
                format!("SELECT '{t}'::text, ''::text"),
            ]
        })
        .collect::<Vec<_>>()
        .join(" UNION ALL ")
}
