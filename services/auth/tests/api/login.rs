//! Logging in and authenticating with the token.

use gpuproxy_errors::ErrorCode;
use gpuproxy_proto::gpuproxy::auth::v1 as proto;

use crate::helpers::{Backends, PASSWORD, assert_code, email, spawn_app};

async fn a_login_token_authenticates_as_its_user(backends: Backends) {
    let app = spawn_app(backends).await;
    let address = email();
    let user = app.register(&address).await;

    let login = app.login(&address).await;
    let principal = app.authenticate_token(&login.token).await.expect("authenticated");

    assert_eq!(principal.user_id, user.user_id);
    assert_eq!(principal.email, address);
    assert_eq!(principal.kind(), proto::CredentialKind::Session);
    assert_eq!(principal.credential_id, login.session_id);
    assert!(login.expires_at_ms > chrono::Utc::now().timestamp_millis());
}

async fn a_wrong_password_and_an_unknown_user_fail_identically(backends: Backends) {
    let app = spawn_app(backends).await;
    let address = email();
    app.register(&address).await;

    let attempt = |address: String, password: &str| {
        let mut client = app.client.clone();
        let password = password.to_owned();
        async move {
            client
                .login(proto::LoginRequest {
                    email: address,
                    password,
                    ..Default::default()
                })
                .await
        }
    };
    let wrong_password = assert_code(
        attempt(address, "wrong password!").await,
        ErrorCode::InvalidCredentials,
    );
    let unknown_user = assert_code(attempt(email(), PASSWORD).await, ErrorCode::InvalidCredentials);

    assert_eq!(wrong_password.message(), unknown_user.message());
    assert_eq!(wrong_password.code(), unknown_user.code());
}

async fn promoting_a_user_shows_in_their_next_authentication(backends: Backends) {
    let app = spawn_app(backends).await;
    let address = email();
    app.register(&address).await;
    let login = app.login(&address).await;

    app.client
        .clone()
        .set_admin(proto::SetAdminRequest {
            email: address.clone(),
            is_admin: true,
        })
        .await
        .expect("promoted");

    assert!(
        app.authenticate_token(&login.token)
            .await
            .expect("authenticated")
            .is_admin
    );
}

async fn garbage_tokens_are_invalid(backends: Backends) {
    let app = spawn_app(backends).await;
    for token in ["", "x.y.z", "eyJhbGciOiJub25lIn0.e30."] {
        assert_code(app.authenticate_token(token).await, ErrorCode::InvalidToken);
    }
    let missing = app
        .client
        .clone()
        .authenticate(proto::AuthenticateRequest { credential: None })
        .await;
    assert_code(missing, ErrorCode::ValidationFailed);
}

crate::on_both_backends!(
    a_login_token_authenticates_as_its_user,
    a_wrong_password_and_an_unknown_user_fail_identically,
    promoting_a_user_shows_in_their_next_authentication,
    garbage_tokens_are_invalid,
);
