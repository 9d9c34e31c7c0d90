//! Listing with every filter, against both providers' wire protocols.

use gpuproxy_catalog::{Query, SortKey};
use gpuproxy_domain::Provider;
use gpuproxy_proto::gpuproxy::catalog::v1 as pb;

use crate::helpers::Harness;

fn query(provider: Provider, filters: pb::OfferFilters) -> Query {
    let request = pb::ListOffersRequest {
        filters: Some(pb::OfferFilters {
            provider: provider.as_str().to_owned(),
            ..filters
        }),
        limit: 500,
        ..pb::ListOffersRequest::default()
    };
    Query::from_proto(&request).expect("a valid query")
}

async fn each_filter_narrows(provider: Provider) {
    let harness = Harness::start().await;
    let catalog = &harness.catalog;
    let everything = catalog.list(&query(provider, pb::OfferFilters::default())).await;
    assert!(everything.warnings.is_empty(), "{:?}", everything.warnings);
    assert!(
        everything.total > 20,
        "a realistic market, got {}",
        everything.total
    );
    assert!(everything.offers.iter().all(|offer| offer.provider == provider));
    let prices: Vec<i64> = everything
        .offers
        .iter()
        .map(|offer| offer.price_per_hour.micros())
        .collect();
    assert!(prices.windows(2).all(|pair| pair[0] <= pair[1]), "cheapest first");
    assert!(
        everything
            .offers
            .iter()
            .all(|offer| offer.vram_gb > 0 && offer.num_gpus > 0)
    );

    let listed = catalog
        .list(&query(
            provider,
            pb::OfferFilters {
                gpu_model: "4090".into(),
                ..Default::default()
            },
        ))
        .await;
    assert!(listed.total > 0 && listed.total < everything.total);
    assert!(
        listed.offers.iter().all(|offer| offer.gpu_model.contains("4090")),
        "{:?}",
        listed.offers
    );

    let listed = catalog
        .list(&query(
            provider,
            pb::OfferFilters {
                min_vram_gb: 48.0,
                ..Default::default()
            },
        ))
        .await;
    assert!(listed.total > 0 && listed.total < everything.total);
    assert!(listed.offers.iter().all(|offer| offer.vram_gb >= 48));

    let listed = catalog
        .list(&query(
            provider,
            pb::OfferFilters {
                max_price_micros_per_hour: 1_000_000,
                ..Default::default()
            },
        ))
        .await;
    assert!(listed.total > 0 && listed.total < everything.total);
    assert!(
        listed
            .offers
            .iter()
            .all(|offer| offer.price_per_hour.micros() <= 1_000_000)
    );

    let country = everything.offers[0]
        .location
        .rsplit(", ")
        .next()
        .expect("a country")
        .to_owned();
    let listed = catalog
        .list(&query(
            provider,
            pb::OfferFilters {
                location: country.to_lowercase(),
                ..Default::default()
            },
        ))
        .await;
    assert!(listed.total > 0 && listed.total < everything.total, "{country}");
    assert!(
        listed
            .offers
            .iter()
            .all(|offer| offer.location.ends_with(&country))
    );

    let listed = catalog
        .list(&query(
            provider,
            pb::OfferFilters {
                num_gpus: 2,
                ..Default::default()
            },
        ))
        .await;
    assert!(listed.total > 0 && listed.total < everything.total);
    assert!(listed.offers.iter().all(|offer| offer.num_gpus == 2));

    let mut by_vram = query(provider, pb::OfferFilters::default());
    by_vram.sort = SortKey::Vram;
    by_vram.descending = true;
    by_vram.limit = 10;
    by_vram.offset = 5;
    let page = catalog.list(&by_vram).await;
    assert_eq!(page.offers.len(), 10);
    assert_eq!(page.total, everything.total);
    assert!(
        page.offers
            .windows(2)
            .all(|pair| pair[0].vram_gb >= pair[1].vram_gb)
    );
}

#[tokio::test]
async fn vastai_offers_are_filtered_sorted_and_paged() {
    each_filter_narrows(Provider::VastAi).await;
}

#[tokio::test]
async fn ionet_offers_are_filtered_sorted_and_paged() {
    each_filter_narrows(Provider::IoNet).await;
}

#[tokio::test]
async fn all_lists_both_providers_and_one_offer_can_be_looked_up() {
    let harness = Harness::start().await;
    let listing = harness
        .catalog
        .list(&Query {
            limit: 500,
            ..Query::default()
        })
        .await;
    let providers: std::collections::BTreeSet<Provider> =
        listing.offers.iter().map(|offer| offer.provider).collect();
    assert_eq!(providers.len(), 2, "both providers in one listing");
    for provider in Provider::ALL {
        let listed = listing
            .offers
            .iter()
            .find(|offer| offer.provider == provider)
            .expect("an offer of each");
        let found = harness
            .catalog
            .get_offer(provider, &listed.offer_id)
            .await
            .expect("found");
        assert_eq!(&found, listed);
        harness.catalog.clear_cache();
        let fresh = harness
            .catalog
            .get_offer(provider, &listed.offer_id)
            .await
            .expect("found at the provider");
        assert_eq!(fresh.offer_id, listed.offer_id);
        assert_eq!(fresh.price_per_hour, listed.price_per_hour);
    }
    let missing = harness.catalog.get_offer(Provider::VastAi, "999999999999").await;
    assert_eq!(
        missing
            .map(drop)
            .map_err(|error| gpuproxy_errors::ServiceError::code(&error)),
        Err(gpuproxy_errors::ErrorCode::NotFound)
    );
}
