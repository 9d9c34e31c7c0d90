//! Registering users.

use gpuproxy_errors::{ErrorCode, field_of};
use gpuproxy_events::names;
use gpuproxy_proto::gpuproxy::auth::v1 as proto;

use crate::helpers::{Backends, PASSWORD, assert_code, email, next_event, spawn_app};

async fn registration_creates_a_user_and_announces_it(backends: Backends) {
    let app = spawn_app(backends).await;
    let mut events = app.bus.subscribe("auth.user.*").await.expect("subscribe");
    let address = email();

    let user = app.register(&address.to_uppercase()).await;

    assert_eq!(user.email, address, "stored lower-cased");
    assert_eq!(user.name, "Test User");
    assert!(!user.is_admin);
    let event = next_event(&mut events).await;
    assert_eq!(event.event, names::AUTH_USER_CREATED);
    assert_eq!(event.data["user_id"], user.user_id);
    assert_eq!(event.data["email"], address);
}

async fn a_taken_email_is_refused_in_any_case(backends: Backends) {
    let app = spawn_app(backends).await;
    let address = email();
    app.register(&address).await;

    let again = app
        .client
        .clone()
        .register(proto::RegisterRequest {
            email: format!("  {}", address.to_uppercase()),
            password: PASSWORD.to_owned(),
            name: "Someone Else".to_owned(),
        })
        .await;

    assert_code(again, ErrorCode::EmailTaken);
}

async fn invalid_registrations_name_the_field_at_fault(backends: Backends) {
    let app = spawn_app(backends).await;
    let cases = [
        ("not-an-email", PASSWORD, "Name", ErrorCode::InvalidEmail, "email"),
        (
            &email() as &str,
            "short",
            "Name",
            ErrorCode::WeakPassword,
            "password",
        ),
        (
            &email() as &str,
            PASSWORD,
            "   ",
            ErrorCode::ValidationFailed,
            "name",
        ),
    ];
    for (address, password, name, code, field) in cases {
        let result = app
            .client
            .clone()
            .register(proto::RegisterRequest {
                email: address.to_owned(),
                password: password.to_owned(),
                name: name.to_owned(),
            })
            .await;
        let status = assert_code(result, code);
        assert_eq!(field_of(&status).as_deref(), Some(field), "{status:?}");
    }
}

crate::on_both_backends!(
    registration_creates_a_user_and_announces_it,
    a_taken_email_is_refused_in_any_case,
    invalid_registrations_name_the_field_at_fault,
);
