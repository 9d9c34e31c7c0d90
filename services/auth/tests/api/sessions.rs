//! Logout ends the session in every session mode.

use gpuproxy_auth::SessionMode;
use gpuproxy_errors::ErrorCode;
use gpuproxy_events::names;
use gpuproxy_proto::gpuproxy::auth::v1 as proto;

use crate::helpers::{Backends, assert_code, email, next_event, spawn_app_with};

async fn logout_ends_the_session(backends: Backends, mode: SessionMode) {
    let app = spawn_app_with(backends, mode).await;
    let address = email();
    let user = app.register(&address).await;
    let login = app.login(&address).await;
    let other_login = app.login(&address).await;
    app.authenticate_token(&login.token)
        .await
        .expect("valid before logout");
    let mut events = app
        .bus
        .subscribe("auth.session.revoked")
        .await
        .expect("subscribe");

    app.client
        .clone()
        .logout(proto::LogoutRequest {
            session_id: login.session_id.clone(),
            user_id: user.user_id.clone(),
        })
        .await
        .expect("logged out");

    assert_code(
        app.authenticate_token(&login.token).await,
        ErrorCode::InvalidToken,
    );
    app.authenticate_token(&other_login.token)
        .await
        .expect("other sessions live on");
    let event = next_event(&mut events).await;
    assert_eq!(event.event, names::AUTH_SESSION_REVOKED);
    assert_eq!(event.data["session_id"], login.session_id);
}

macro_rules! session_modes {
    ($($name:ident: $backends:ident, $mode:ident;)*) => {
        $(#[tokio::test] async fn $name() { logout_ends_the_session(Backends::$backends, SessionMode::$mode).await })*
    };
}

session_modes! {
    sql_sessions_end_at_logout_embedded: Embedded, Sql;
    redis_sessions_end_at_logout_embedded: Embedded, Redis;
    balanced_sessions_end_at_logout_embedded: Embedded, Balanced;
    sql_sessions_end_at_logout_fleet: Fleet, Sql;
    redis_sessions_end_at_logout_fleet: Fleet, Redis;
    balanced_sessions_end_at_logout_fleet: Fleet, Balanced;
}
