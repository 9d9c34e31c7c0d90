//! Listing users, roles and counts.

use gpuproxy_proto::gpuproxy::auth::v1 as proto;

use crate::helpers::{Backends, email, spawn_app};

async fn users_are_listed_and_counted_with_their_roles(backends: Backends) {
    let app = spawn_app(backends).await;
    let admin = email();
    app.register(&admin).await;
    app.register(&email()).await;
    app.client
        .clone()
        .set_admin(proto::SetAdminRequest {
            email: admin.clone(),
            is_admin: true,
        })
        .await
        .expect("promoted");
    let user = app.register(&email()).await;
    app.create_key(&user.user_id, "one").await;

    let listed = app
        .client
        .clone()
        .list_users(proto::ListUsersRequest { limit: 2, offset: 0 })
        .await
        .expect("listed")
        .into_inner();
    let stats = app
        .client
        .clone()
        .get_stats(proto::GetStatsRequest {})
        .await
        .expect("counted")
        .into_inner();

    assert_eq!(listed.total_count, 3);
    assert_eq!(listed.users.len(), 2, "the page size holds");
    assert_eq!(listed.users[0].email, admin, "oldest first");
    assert!(listed.users[0].is_admin);
    assert_eq!(
        (
            stats.users,
            stats.admins,
            stats.active_api_keys,
            stats.revoked_api_keys
        ),
        (3, 1, 1, 0)
    );
}

crate::on_both_backends!(users_are_listed_and_counted_with_their_roles);
