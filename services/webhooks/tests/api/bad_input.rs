//! Bad subscriptions are refused with a code, and nothing is stored.

use gpuproxy_proto::gpuproxy::webhooks::v1 as pb;
use tonic::Code;

use crate::helpers::{Backend, Harness, SECRET, fresh_user};
use crate::on_both_databases;

on_both_databases!(bad_subscriptions_are_refused_with_a_code);

async fn bad_subscriptions_are_refused_with_a_code(backend: Backend) {
    let harness = Harness::start(backend).await;
    let user = fresh_user();
    let cases: &[(&str, &[&str], &str, Code, &str)] = &[
        (
            "http://127.0.0.1/",
            &[],
            SECRET,
            Code::PermissionDenied,
            "TARGET_FORBIDDEN",
        ),
        (
            "http://169.254.169.254/latest/meta-data",
            &[],
            SECRET,
            Code::PermissionDenied,
            "TARGET_FORBIDDEN",
        ),
        (
            "http://[::1]:8080/",
            &[],
            SECRET,
            Code::PermissionDenied,
            "TARGET_FORBIDDEN",
        ),
        (
            "http://10.0.0.1/",
            &[],
            SECRET,
            Code::PermissionDenied,
            "TARGET_FORBIDDEN",
        ),
        (
            "ftp://example.com/",
            &[],
            SECRET,
            Code::InvalidArgument,
            "VALIDATION_FAILED",
        ),
        (
            "not a url",
            &[],
            SECRET,
            Code::InvalidArgument,
            "VALIDATION_FAILED",
        ),
        ("", &[], SECRET, Code::InvalidArgument, "VALIDATION_FAILED"),
        (
            "http://localhost:9/",
            &["instance.exploded"],
            SECRET,
            Code::InvalidArgument,
            "UNKNOWN_EVENT",
        ),
        (
            "http://localhost:9/",
            &["nothing.>"],
            SECRET,
            Code::InvalidArgument,
            "UNKNOWN_EVENT",
        ),
        (
            "http://localhost:9/",
            &[],
            "short",
            Code::InvalidArgument,
            "VALIDATION_FAILED",
        ),
    ];
    for (url, events, secret, code, error_code) in cases {
        let status = harness
            .client
            .clone()
            .create_subscription(pb::CreateSubscriptionRequest {
                user_id: user.clone(),
                url: (*url).to_owned(),
                events: events.iter().map(|name| (*name).to_owned()).collect(),
                secret: (*secret).to_owned(),
                ..Default::default()
            })
            .await
            .expect_err(url);
        assert_eq!(status.code(), *code, "{url} {events:?}: {status:?}");
        assert_eq!(gpuproxy_errors::code_of(&status).as_str(), *error_code, "{url}");
    }
    let billing = harness
        .client
        .clone()
        .create_subscription(pb::CreateSubscriptionRequest {
            user_id: user.clone(),
            url: "http://localhost:9/".to_owned(),
            events: vec!["instance.created".to_owned()],
            kind: "billing".to_owned(),
            ..Default::default()
        })
        .await
        .expect_err("billing webhooks take billing events only");
    assert_eq!(gpuproxy_errors::code_of(&billing).as_str(), "UNKNOWN_EVENT");
    for stranger in ["", "alice"] {
        let refused = harness
            .client
            .clone()
            .create_subscription(pb::CreateSubscriptionRequest {
                user_id: stranger.to_owned(),
                url: "http://localhost:9/".to_owned(),
                ..Default::default()
            })
            .await
            .expect_err("a subscription belongs to a user");
        assert_eq!(refused.code(), Code::InvalidArgument, "{stranger:?}");
        assert_eq!(gpuproxy_errors::field_of(&refused).as_deref(), Some("user_id"));
    }
    let listed = harness
        .client
        .clone()
        .list_subscriptions(pb::ListSubscriptionsRequest {
            user_id: user.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(listed.subscriptions.is_empty(), "nothing was stored");

    let made = harness
        .client
        .clone()
        .create_subscription(pb::CreateSubscriptionRequest {
            user_id: user.clone(),
            url: "http://localhost:9/".to_owned(),
            kind: "billing".to_owned(),
            ..Default::default()
        })
        .await
        .expect("a billing webhook with the defaults")
        .into_inner();
    assert!(
        made.secret.starts_with("whsec_"),
        "a secret is made when none is given"
    );
    assert_eq!(
        made.events,
        [
            "payment.completed",
            "payment.failed",
            "credits.low",
            "subscription.renewed"
        ]
    );
    let other = fresh_user();
    let hidden = harness
        .client
        .clone()
        .get_subscription(pb::GetSubscriptionRequest {
            user_id: other.clone(),
            id: made.id.clone(),
        })
        .await
        .expect_err("another user's webhook");
    assert_eq!(hidden.code(), Code::NotFound);
    let not_deleted = harness
        .client
        .clone()
        .delete_subscription(pb::DeleteSubscriptionRequest {
            user_id: other,
            id: made.id.clone(),
        })
        .await
        .expect_err("another user's webhook");
    assert_eq!(not_deleted.code(), Code::NotFound);
    let bad_filter = harness
        .client
        .clone()
        .list_deliveries(pb::ListDeliveriesRequest {
            user_id: user.clone(),
            subscription_id: made.id.clone(),
            status: "exploded".to_owned(),
            ..Default::default()
        })
        .await
        .expect_err("an unknown status");
    assert_eq!(bad_filter.code(), Code::InvalidArgument);
}
