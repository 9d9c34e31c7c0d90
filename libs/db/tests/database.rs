//! The portable dialect and per-service migrations, on both backends.
#![allow(clippy::expect_used, reason = "a test fails loudly at the step that broke")]

use std::path::Path;

use gpuproxy_db::{Database, Migrations, Row, is_unique_violation};
use gpuproxy_testkit::TestDatabase;
use sqlx::migrate::Migrator;

async fn migrations(dir: &Path, table: &'static str, sql: &[(&str, &str)]) -> Migrations {
    for (file, text) in sql {
        std::fs::write(dir.join(file), text).expect("write migration");
    }
    Migrations::new(table, Migrator::new(dir).await.expect("migrations resolve"))
}

async fn exercise(test_database: TestDatabase) {
    let database = Database::connect(test_database.config()).await.expect("connects");
    assert!(database.ping().await);

    let dir_a = tempfile::tempdir().expect("dir");
    let dir_b = tempfile::tempdir().expect("dir");
    let service_a = migrations(
        dir_a.path(),
        "_a_migrations",
        &[(
            "20260101000000_things.sql",
            "CREATE TABLE things (id TEXT PRIMARY KEY, n BIGINT NOT NULL, flag BIGINT NOT NULL DEFAULT 0);",
        )],
    )
    .await;
    let service_b = migrations(
        dir_b.path(),
        "_b_migrations",
        &[(
            "20260101000000_others.sql",
            "CREATE TABLE others (id TEXT PRIMARY KEY);",
        )],
    )
    .await;
    service_a.run(&database).await.expect("a migrates");
    service_b
        .run(&database)
        .await
        .expect("b migrates next to a, with the same version number");
    service_a.run(&database).await.expect("running again is a no-op");

    sqlx::query("INSERT INTO things (id, n, flag) VALUES ($1, $2, $3)")
        .bind("x")
        .bind(42_i64)
        .bind(1_i64)
        .execute(database.pool())
        .await
        .expect("insert");
    let row = sqlx::query("SELECT n, flag, (SELECT COUNT(*) FROM things) AS total FROM things WHERE id = $1")
        .bind("x")
        .fetch_one(database.pool())
        .await
        .expect("select");
    assert_eq!(row.get::<i64, _>("n"), 42);
    assert_eq!(row.get::<i64, _>("flag"), 1);
    assert_eq!(row.get::<i64, _>("total"), 1);

    let duplicate = sqlx::query("INSERT INTO things (id, n) VALUES ($1, $2)")
        .bind("x")
        .bind(1_i64)
        .execute(database.pool())
        .await
        .expect_err("primary key taken");
    assert!(is_unique_violation(&duplicate), "{duplicate}");
    database.close().await;
}

#[tokio::test]
async fn sqlite_runs_the_portable_dialect_and_separate_migration_tables() {
    exercise(TestDatabase::sqlite()).await;
}

#[tokio::test]
async fn postgres_runs_the_portable_dialect_and_separate_migration_tables() {
    exercise(TestDatabase::postgres().await).await;
}

#[tokio::test]
async fn a_sqlite_file_in_a_missing_directory_is_created() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("data/nested/gpuproxy.db");
    let database = Database::connect(&gpuproxy_config::DatabaseConfig::sqlite(&path))
        .await
        .expect("created");
    assert!(database.ping().await);
    assert!(path.exists());
}
