//! API keys: shown once, stored hashed, revoked for good.

use gpuproxy_errors::ErrorCode;
use gpuproxy_events::names;
use gpuproxy_proto::gpuproxy::auth::v1 as proto;

use crate::helpers::{Backends, assert_code, email, next_event, spawn_app};

async fn a_new_key_authenticates_as_its_owner(backends: Backends) {
    let app = spawn_app(backends).await;
    let user = app.register(&email()).await;

    let created = app.create_key(&user.user_id, "Production Key").await;
    let key = created.key.expect("key metadata");
    let principal = app
        .authenticate_key(&created.secret)
        .await
        .expect("authenticated");

    assert!(created.secret.starts_with("gpx_") && created.secret.len() == 47);
    assert!(created.secret.starts_with(&key.prefix));
    assert_eq!(key.name, "Production Key");
    assert_eq!(principal.user_id, user.user_id);
    assert_eq!(principal.kind(), proto::CredentialKind::ApiKey);
    assert_eq!(principal.credential_id, key.key_id);
}

async fn listing_keys_shows_metadata_and_use(backends: Backends) {
    let app = spawn_app(backends).await;
    let user = app.register(&email()).await;
    let first = app.create_key(&user.user_id, "first").await;
    app.create_key(&user.user_id, "second").await;
    app.authenticate_key(&first.secret).await.expect("used once");

    let keys = app
        .client
        .clone()
        .list_api_keys(proto::ListApiKeysRequest {
            user_id: user.user_id.clone(),
        })
        .await
        .expect("listed")
        .into_inner()
        .keys;

    let names: Vec<&str> = keys.iter().map(|key| key.name.as_str()).collect();
    assert_eq!(names, ["second", "first"], "newest first");
    assert!(keys[1].last_used_at_ms > 0, "the use was recorded");
    assert_eq!(keys[0].last_used_at_ms, 0);
}

async fn a_revoked_key_stops_working_and_is_announced(backends: Backends) {
    let app = spawn_app(backends).await;
    let user = app.register(&email()).await;
    let created = app.create_key(&user.user_id, "temporary").await;
    let key_id = created.key.expect("key").key_id;
    let mut events = app.bus.subscribe("auth.apikey.revoked").await.expect("subscribe");

    let revoked = app
        .client
        .clone()
        .revoke_api_key(proto::RevokeApiKeyRequest {
            user_id: user.user_id.clone(),
            key_id: key_id.clone(),
        })
        .await
        .expect("revoked")
        .into_inner();

    assert!(revoked.revoked_at_ms > 0);
    assert_code(
        app.authenticate_key(&created.secret).await,
        ErrorCode::InvalidToken,
    );
    let event = next_event(&mut events).await;
    assert_eq!(event.event, names::AUTH_APIKEY_REVOKED);
    assert_eq!(event.data["key_id"], key_id);
    assert_eq!(event.data["user_id"], user.user_id);
}

async fn another_users_key_cannot_be_revoked(backends: Backends) {
    let app = spawn_app(backends).await;
    let owner = app.register(&email()).await;
    let intruder = app.register(&email()).await;
    let created = app.create_key(&owner.user_id, "mine").await;
    let key_id = created.key.expect("key").key_id;

    let attempt = app
        .client
        .clone()
        .revoke_api_key(proto::RevokeApiKeyRequest {
            user_id: intruder.user_id,
            key_id,
        })
        .await;

    assert_code(attempt, ErrorCode::NotFound);
    app.authenticate_key(&created.secret).await.expect("still works");
}

async fn keys_of_the_right_shape_but_unknown_are_invalid(backends: Backends) {
    let app = spawn_app(backends).await;
    let user = app.register(&email()).await;
    let created = app.create_key(&user.user_id, "real").await;
    // Same prefix, different secret: found by prefix, refused by hash.
    let mut forged = created.secret.clone();
    forged.replace_range(40.., "AAAAAAA");
    for key in [forged.as_str(), "gpx_notakey", "sk_live_123"] {
        assert_code(app.authenticate_key(key).await, ErrorCode::InvalidToken);
    }
}

crate::on_both_backends!(
    a_new_key_authenticates_as_its_owner,
    listing_keys_shows_metadata_and_use,
    a_revoked_key_stops_working_and_is_announced,
    another_users_key_cannot_be_revoked,
    keys_of_the_right_shape_but_unknown_are_invalid,
);
