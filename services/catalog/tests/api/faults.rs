//! Every fault the simulator injects, and what the catalog makes of it.

use std::time::{Duration, Instant};

use gpuproxy_catalog::{CreateRequest, Query};
use gpuproxy_domain::Provider;
use gpuproxy_errors::{ErrorCode, ServiceError};
use gpuproxy_events::names;
use gpuproxy_provider_sim::{Faults, SimProvider};

use crate::helpers::{Harness, eventually};

fn searches(harness: &Harness) -> usize {
    harness
        .sim
        .requests(SimProvider::VastAi)
        .iter()
        .filter(|request| request.path.contains("/bundles"))
        .count()
}

fn vastai_only() -> Query {
    Query {
        provider: Some(Provider::VastAi),
        ..Query::default()
    }
}

#[tokio::test]
async fn a_429_is_retried_after_its_retry_after() {
    let harness = Harness::start().await.warmed().await;
    harness.catalog.clear_cache();
    harness.sim.clear_requests();
    harness.sim.set_faults(
        SimProvider::VastAi,
        Faults {
            rate_limit_next: 2,
            retry_after_secs: Some(1),
            ..Faults::default()
        },
    );
    let started = Instant::now();
    let listing = harness
        .catalog
        .list(&Query {
            provider: Some(Provider::VastAi),
            ..Query::default()
        })
        .await;
    // The list timeout (1s) is shorter than the two waits: the listing says so, and the refresh
    // carries on in the background and fills the cache.
    assert!(
        listing.warnings.iter().any(|warning| warning.contains("vast.ai")),
        "{:?}",
        listing.warnings
    );
    let catalog = harness.catalog.clone();
    let listing = eventually(Duration::from_secs(5), || {
        let catalog = catalog.clone();
        async move {
            let listing = catalog.list(&vastai_only()).await;
            (listing.total > 0).then_some(listing)
        }
    })
    .await;
    assert!(listing.warnings.is_empty(), "{:?}", listing.warnings);
    assert!(
        started.elapsed() >= Duration::from_millis(1900),
        "waited {:?}",
        started.elapsed()
    );
    assert_eq!(searches(&harness), 3, "two 429s, then the answer");
    let metrics = harness.metrics.render();
    assert!(
        metrics.contains(r#"gpuproxy_provider_requests_total{provider="vast.ai",operation="search_offers",outcome="rate_limited"} 2"#),
        "{metrics}"
    );
}

#[tokio::test]
async fn a_retry_after_longer_than_allowed_is_reported_not_waited() {
    let harness = Harness::start_with(&[("PROVIDER_MAX_RETRY_AFTER", "2s")])
        .await
        .warmed()
        .await;
    harness.catalog.clear_cache();
    harness.sim.clear_requests();
    harness.sim.set_faults(
        SimProvider::VastAi,
        Faults {
            rate_limit_next: 5,
            retry_after_secs: Some(120),
            ..Faults::default()
        },
    );
    let started = Instant::now();
    let listing = harness.catalog.list(&vastai_only()).await;
    assert!(started.elapsed() < Duration::from_secs(1));
    assert_eq!(listing.total, 0);
    assert!(
        listing.warnings[0].contains("rate limiting"),
        "{:?}",
        listing.warnings
    );
    assert_eq!(searches(&harness), 1);

    // Calling again before the Retry-After would only dig the hole deeper: listings say so instead.
    let again = harness.catalog.list(&vastai_only()).await;
    assert!(again.warnings[0].contains("next try in"), "{:?}", again.warnings);
    assert_eq!(searches(&harness), 1);
}

#[tokio::test]
async fn server_errors_are_retried_then_reported_and_the_other_provider_still_lists() {
    let harness = Harness::start_with(&[("PROVIDER_BREAKER_THRESHOLD", "10")])
        .await
        .warmed()
        .await;
    harness.catalog.clear_cache();
    harness.sim.clear_requests();
    harness.sim.set_faults(
        SimProvider::VastAi,
        Faults {
            error_rate: 1.0,
            ..Faults::default()
        },
    );
    let listing = harness.catalog.list(&Query::default()).await;
    assert_eq!(searches(&harness), 3, "PROVIDER_MAX_ATTEMPTS tries");
    assert_eq!(listing.degraded, [Provider::VastAi]);
    assert!(listing.warnings[0].contains("HTTP 500"), "{:?}", listing.warnings);
    assert!(listing.total > 0);
    assert!(
        listing
            .offers
            .iter()
            .all(|offer| offer.provider == Provider::IoNet)
    );
    let health = harness.catalog.health();
    assert_eq!(health[0].state, "degraded");
    assert!(
        health[0]
            .last_error
            .as_deref()
            .unwrap_or_default()
            .contains("500")
    );
}

#[tokio::test]
async fn a_provider_that_hangs_is_named_in_warnings_and_the_other_is_listed() {
    let harness = Harness::start().await.warmed().await;
    harness.catalog.clear_cache();
    harness.sim.set_faults(
        SimProvider::IoNet,
        Faults {
            hang: true,
            ..Faults::default()
        },
    );
    let started = Instant::now();
    let listing = harness.catalog.list(&Query::default()).await;
    let took = started.elapsed();
    assert!(
        took < Duration::from_millis(1800),
        "answered within the list timeout, took {took:?}"
    );
    assert_eq!(listing.degraded, [Provider::IoNet]);
    assert!(
        listing.warnings[0].starts_with("io.net"),
        "{:?}",
        listing.warnings
    );
    assert!(listing.total > 0);
    assert!(
        listing
            .offers
            .iter()
            .all(|offer| offer.provider == Provider::VastAi)
    );

    // The refresh is still hanging: the next listing does not wait for it again.
    let started = Instant::now();
    let again = harness.catalog.list(&Query::default()).await;
    assert!(
        started.elapsed() < Duration::from_millis(300),
        "took {:?}",
        started.elapsed()
    );
    assert_eq!(again.degraded, [Provider::IoNet]);
}

#[tokio::test]
async fn stale_offers_are_served_while_a_provider_is_down() {
    let harness = Harness::start_with(&[("CATALOG_CACHE_TTL", "200ms")])
        .await
        .warmed()
        .await;
    let before = harness.catalog.list(&vastai_only()).await.total;
    harness.sim.set_faults(
        SimProvider::VastAi,
        Faults {
            error_rate: 1.0,
            ..Faults::default()
        },
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    // The first stale read starts a refresh; once it has failed the listing says the offers are old.
    let catalog = harness.catalog.clone();
    let listing = eventually(Duration::from_secs(5), || {
        let catalog = catalog.clone();
        async move {
            let listing = catalog.list(&vastai_only()).await;
            (!listing.warnings.is_empty()).then_some(listing)
        }
    })
    .await;
    assert_eq!(listing.total, before, "the stale offers are still listed");
    assert!(
        listing.warnings[0].contains("showing offers from"),
        "{:?}",
        listing.warnings
    );
}

#[tokio::test]
async fn the_breaker_opens_announces_itself_and_recovers() {
    let harness = Harness::start().await.warmed().await;
    let mut degraded = harness
        .bus
        .subscribe(names::CATALOG_PROVIDER_DEGRADED)
        .await
        .expect("subscribed");
    let mut recovered = harness
        .bus
        .subscribe(names::CATALOG_PROVIDER_RECOVERED)
        .await
        .expect("subscribed");
    harness.catalog.clear_cache();
    harness.sim.set_faults(
        SimProvider::VastAi,
        Faults {
            error_rate: 1.0,
            ..Faults::default()
        },
    );
    // Three failed attempts open it (threshold 3).
    harness.catalog.list(&vastai_only()).await;
    harness.sim.clear_requests();
    let listing = harness.catalog.list(&vastai_only()).await;
    assert!(
        listing.warnings[0].contains("circuit breaker is open"),
        "{:?}",
        listing.warnings
    );
    assert_eq!(
        searches(&harness),
        0,
        "an open breaker does not call the provider"
    );
    let event = tokio::time::timeout(Duration::from_secs(2), degraded.next_event())
        .await
        .expect("degraded in time")
        .expect("an event");
    assert_eq!(event.data["provider"], "vast.ai");
    assert_eq!(harness.catalog.health()[0].breaker, "open");
    assert!(
        harness
            .metrics
            .render()
            .contains(r#"gpuproxy_provider_breaker_state{provider="vast.ai"} 2"#)
    );

    harness.sim.set_faults(SimProvider::VastAi, Faults::default());
    tokio::time::sleep(Duration::from_millis(350)).await;
    let listing = harness.catalog.list(&vastai_only()).await;
    assert!(listing.warnings.is_empty(), "{:?}", listing.warnings);
    assert!(listing.total > 0);
    let event = tokio::time::timeout(Duration::from_secs(2), recovered.next_event())
        .await
        .expect("recovered in time")
        .expect("an event");
    assert_eq!(event.data["provider"], "vast.ai");
    let health = &harness.catalog.health()[0];
    assert_eq!((health.state, health.breaker), ("ok", "closed"));
}

#[tokio::test]
async fn the_ionet_breaker_recovers_through_listings() {
    let harness = Harness::start().await.warmed().await;
    let ionet_only = Query {
        provider: Some(Provider::IoNet),
        ..Query::default()
    };
    harness.catalog.clear_cache();
    harness.sim.set_faults(
        SimProvider::IoNet,
        Faults {
            error_rate: 1.0,
            ..Faults::default()
        },
    );
    harness.catalog.list(&ionet_only).await;
    assert_eq!(harness.catalog.health()[1].breaker, "open");
    harness.sim.set_faults(SimProvider::IoNet, Faults::default());
    tokio::time::sleep(Duration::from_millis(350)).await;
    // One refresh fans out to dozens of calls; the half-open breaker must not refuse them all.
    let listing = harness.catalog.list(&ionet_only).await;
    assert!(listing.warnings.is_empty(), "{:?}", listing.warnings);
    assert!(listing.total > 0);
    assert_eq!(harness.catalog.health()[1].breaker, "closed");
}

#[tokio::test]
async fn exhausted_capacity_and_vanished_offers_are_offer_unavailable() {
    let harness = Harness::start().await.warmed().await;
    for provider in Provider::ALL {
        let sim_provider = match provider {
            Provider::VastAi => SimProvider::VastAi,
            Provider::IoNet => SimProvider::IoNet,
        };
        let offer_id = harness
            .catalog
            .list(&Query {
                provider: Some(provider),
                ..Query::default()
            })
            .await
            .offers[0]
            .offer_id
            .clone();
        let request = CreateRequest {
            offer_id,
            image: "pytorch/pytorch:latest".to_owned(),
            ..CreateRequest::default()
        };
        for faults in [
            Faults {
                capacity_exhausted: true,
                ..Faults::default()
            },
            Faults {
                vanish_before_create: true,
                ..Faults::default()
            },
        ] {
            harness.sim.set_faults(sim_provider, faults.clone());
            let refused = harness.catalog.create_instance(provider, &request).await;
            assert_eq!(
                refused.map(drop).map_err(|error| error.code()),
                Err(ErrorCode::OfferUnavailable),
                "{provider} with {faults:?}"
            );
        }
        harness.sim.set_faults(sim_provider, Faults::default());
        assert_eq!(
            harness.sim.instance_count(sim_provider),
            0,
            "{provider}: nothing was rented"
        );
    }
}

#[tokio::test]
async fn a_rent_is_not_retried_after_a_server_error() {
    let harness = Harness::start().await.warmed().await;
    let offer_id = harness.catalog.list(&vastai_only()).await.offers[0]
        .offer_id
        .clone();
    harness.sim.clear_requests();
    harness.sim.set_faults(
        SimProvider::VastAi,
        Faults {
            error_rate: 1.0,
            ..Faults::default()
        },
    );
    let request = CreateRequest {
        offer_id,
        image: "pytorch/pytorch:latest".to_owned(),
        ..CreateRequest::default()
    };
    let failed = harness.catalog.create_instance(Provider::VastAi, &request).await;
    assert_eq!(
        failed.map(drop).map_err(|error| error.code()),
        Err(ErrorCode::ProviderUnavailable)
    );
    let rents = harness
        .sim
        .requests(SimProvider::VastAi)
        .iter()
        .filter(|request| request.path.contains("/asks/"))
        .count();
    assert_eq!(rents, 1, "a rent that may have landed is never repeated");
}
