//! Sessions end for good, whatever a racing check read.

use std::time::Duration;

use gpuproxy_db::Database;
use gpuproxy_kv::KvStore;
use gpuproxy_testkit::TestDatabase;

use super::*;

async fn store(mode: SessionMode, database: &TestDatabase) -> (SessionStore, SessionRecord) {
    let database = Database::connect(database.config()).await.expect("connect");
    database
        .migrate(<crate::App as gpuproxy_server::HostedService>::migrations())
        .await
        .expect("migrate");
    let now = now_ms();
    let user_id = UserId::from_u128(1);
    sqlx::query("INSERT INTO users (id, email, name, password_hash, is_admin, created_at, updated_at) VALUES ($2, 'a@b.co', 'A', 'x', 0, $1, $1)")
        .bind(now)
        .bind(user_id.to_string())
        .execute(database.pool())
        .await
        .expect("a user");
    let store = SessionStore::new(mode, database, KvStore::memory(), Duration::from_secs(3600));
    let session = SessionRecord {
        id: "s1".to_owned(),
        user_id,
        created_at: now,
        expires_at: now + 3_600_000,
        revoked_at: None,
        client_ip: String::new(),
        user_agent: String::new(),
    };
    let mut transaction = store.database.pool().begin().await.expect("begin");
    store.create(&mut transaction, &session).await.expect("create");
    transaction.commit().await.expect("commit");
    store.publish(&session).await.expect("publish");
    (store, session)
}

#[tokio::test]
async fn a_check_racing_a_logout_cannot_bring_the_session_back() {
    let database = TestDatabase::sqlite();
    let (store, session) = store(SessionMode::Balanced, &database).await;
    // The cache misses (evicted, or the store restarted) just as the user logs out.
    store.kv.delete(&kv_key(&session.id)).await.expect("evict");
    let mut transaction = store.database.pool().begin().await.expect("begin");
    assert!(
        store
            .revoke(&mut transaction, &session.id, session.user_id)
            .await
            .expect("revoke")
    );

    // A check before the commit still sees the active row, and refills the cache with it.
    assert!(store.find(&session.id).await.expect("find").is_some());
    transaction.commit().await.expect("commit");
    store.bury(&session.id).await.expect("bury");

    assert_eq!(
        store.find(&session.id).await.expect("find"),
        None,
        "ended for good"
    );
}

#[tokio::test]
async fn a_refill_never_replaces_a_tombstone() {
    let database = TestDatabase::sqlite();
    let (store, session) = store(SessionMode::Balanced, &database).await;
    store.bury(&session.id).await.expect("bury");

    // Even with the row still active (the commit not yet visible), the tombstone stands.
    assert_eq!(store.find(&session.id).await.expect("find"), None);
    assert_eq!(
        store.kv.get(&kv_key(&session.id)).await.expect("get").as_deref(),
        Some(TOMBSTONE)
    );
}

#[tokio::test]
async fn in_redis_mode_logout_reports_whether_the_session_was_active() {
    let database = TestDatabase::sqlite();
    let (store, session) = store(SessionMode::Redis, &database).await;
    let mut transaction = store.database.pool().begin().await.expect("begin");

    assert!(
        !store
            .revoke(&mut transaction, &session.id, UserId::from_u128(2))
            .await
            .expect("revoke")
    );
    assert!(
        store
            .revoke(&mut transaction, &session.id, session.user_id)
            .await
            .expect("revoke")
    );
    store.bury(&session.id).await.expect("bury");
    assert!(
        !store
            .revoke(&mut transaction, &session.id, session.user_id)
            .await
            .expect("revoke"),
        "already ended"
    );
    assert_eq!(store.find(&session.id).await.expect("find"), None);
}
