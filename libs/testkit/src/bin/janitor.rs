//! Removes databases and NATS streams that interrupted test runs left behind.

use futures::TryStreamExt;
use gpuproxy_testkit::{TEST_NAME_PREFIX, TestServers};
use sqlx::{Connection, PgConnection, Row};

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let servers = TestServers::from_env();
    let databases = drop_test_databases(&servers.postgres_admin_url).await?;
    let streams = delete_test_streams(&servers.nats_url).await?;
    eprintln!("janitor: dropped {databases} test database(s) and {streams} test stream(s)");
    Ok(())
}

async fn drop_test_databases(admin_url: &str) -> anyhow::Result<usize> {
    let mut admin = PgConnection::connect(admin_url).await?;
    let pattern = format!("{TEST_NAME_PREFIX}%");
    let names: Vec<String> = sqlx::query("SELECT datname FROM pg_database WHERE datname LIKE $1")
        .bind(pattern)
        .fetch_all(&mut admin)
        .await?
        .into_iter()
        .map(|row| row.get::<String, _>(0))
        .collect();
    for name in &names {
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
        )))
        .execute(&mut admin)
        .await?;
    }
    Ok(names.len())
}

async fn delete_test_streams(nats_url: &str) -> anyhow::Result<usize> {
    let client = async_nats::connect(nats_url).await?;
    let jetstream = async_nats::jetstream::new(client);
    let prefix = TEST_NAME_PREFIX.to_ascii_uppercase();
    let names: Vec<String> = jetstream.stream_names().try_collect().await?;
    let mut deleted = 0;
    for name in names.iter().filter(|name| name.starts_with(&prefix)) {
        jetstream.delete_stream(name).await?;
        deleted += 1;
    }
    Ok(deleted)
}
