//! Unit tests of listing queries: filters, sorting, pages and validation.

use super::*;
use crate::offer::dollars_to_micros;

fn offer(
    provider: Provider,
    id: &str,
    model: &str,
    vram: i32,
    gpus: i32,
    dollars: f64,
    location: &str,
) -> Offer {
    Offer::new(
        provider,
        id.to_owned(),
        model.to_owned(),
        vram,
        gpus,
        dollars_to_micros(dollars),
        location.to_owned(),
    )
}

fn market() -> Vec<Offer> {
    vec![
        offer(Provider::VastAi, "1", "RTX 4090", 24, 1, 0.45, "California, US"),
        offer(Provider::VastAi, "2", "H100 SXM", 80, 8, 22.0, "Moscow, RU"),
        offer(Provider::IoNet, "3-9-1", "RTX 4090", 24, 1, 0.40, "Germany, DE"),
        offer(Provider::IoNet, "4-2-2", "A100 80GB", 80, 2, 3.1, "Australia, AU"),
    ]
}

fn request(filters: pb::OfferFilters) -> pb::ListOffersRequest {
    pb::ListOffersRequest {
        filters: Some(filters),
        ..pb::ListOffersRequest::default()
    }
}

fn ids(query: &Query) -> Vec<String> {
    let market = market();
    let (page, _) = query.apply(market.iter());
    page.into_iter().map(|offer| offer.offer_id.clone()).collect()
}

#[test]
fn the_default_lists_everything_cheapest_first() {
    assert_eq!(ids(&Query::default()), ["3-9-1", "1", "4-2-2", "2"]);
}

#[test]
fn each_filter_narrows_the_listing() {
    let query = |filters| Query::from_proto(&request(filters)).expect("valid");
    assert_eq!(
        ids(&query(pb::OfferFilters {
            provider: "vast.ai".into(),
            ..Default::default()
        })),
        ["1", "2"]
    );
    assert_eq!(
        ids(&query(pb::OfferFilters {
            min_vram_gb: 48.0,
            ..Default::default()
        })),
        ["4-2-2", "2"]
    );
    assert_eq!(
        ids(&query(pb::OfferFilters {
            max_price_micros_per_hour: 3_100_000,
            ..Default::default()
        })),
        ["3-9-1", "1", "4-2-2"]
    );
    assert_eq!(
        ids(&query(pb::OfferFilters {
            gpu_model: "4090".into(),
            ..Default::default()
        })),
        ["3-9-1", "1"]
    );
    assert_eq!(
        ids(&query(pb::OfferFilters {
            location: "us".into(),
            ..Default::default()
        })),
        ["1"],
        "a country code matches the country, not Russia or Australia"
    );
    assert_eq!(
        ids(&query(pb::OfferFilters {
            location: "germ".into(),
            ..Default::default()
        })),
        ["3-9-1"]
    );
    assert_eq!(
        ids(&query(pb::OfferFilters {
            num_gpus: 2,
            ..Default::default()
        })),
        ["4-2-2"]
    );
}

#[test]
fn sorting_and_paging() {
    let mut query = Query {
        sort: SortKey::Vram,
        descending: true,
        limit: 2,
        offset: 1,
        ..Query::default()
    };
    assert_eq!(ids(&query), ["4-2-2", "1"]);
    query.offset = 10;
    let market = market();
    let (page, total) = query.apply(market.iter());
    assert!(page.is_empty());
    assert_eq!(total, 4);
}

#[test]
fn pages_become_offsets_and_say_which_page_they_are() {
    let query = Query::from_proto(&pb::ListOffersRequest {
        limit: 20,
        page: 3,
        ..Default::default()
    })
    .expect("valid");
    assert_eq!((query.limit, query.offset, query.page()), (20, 40, 3));
    let defaults = Query::from_proto(&pb::ListOffersRequest::default()).expect("valid");
    assert_eq!((defaults.limit, defaults.offset, defaults.page()), (50, 0, 1));
    let by_offset = Query::from_proto(&pb::ListOffersRequest {
        limit: 10,
        offset: 25,
        ..Default::default()
    })
    .expect("valid");
    assert_eq!(by_offset.page(), 3);
}

#[test]
fn bad_values_name_their_field() {
    let field = |request: pb::ListOffersRequest| match Query::from_proto(&request) {
        Err(Error::InvalidField { field, .. }) => field,
        other => panic!("expected a validation error, got {other:?}"),
    };
    assert_eq!(
        field(request(pb::OfferFilters {
            min_vram_gb: -1.0,
            ..Default::default()
        })),
        "min_vram"
    );
    assert_eq!(
        field(request(pb::OfferFilters {
            provider: "aws".into(),
            ..Default::default()
        })),
        "provider"
    );
    assert_eq!(
        field(request(pb::OfferFilters {
            max_price_micros_per_hour: -5,
            ..Default::default()
        })),
        "max_price"
    );
    assert_eq!(
        field(pb::ListOffersRequest {
            limit: 100_000,
            ..Default::default()
        }),
        "page_size"
    );
    assert_eq!(
        field(pb::ListOffersRequest {
            limit: -1,
            ..Default::default()
        }),
        "page_size"
    );
    for page in [-1, 100_001] {
        assert_eq!(
            field(pb::ListOffersRequest {
                page,
                ..Default::default()
            }),
            "page"
        );
    }
    assert_eq!(
        field(pb::ListOffersRequest {
            page: 2,
            offset: 5,
            ..Default::default()
        }),
        "page"
    );
    assert_eq!(
        field(pb::ListOffersRequest {
            offset: -1,
            ..Default::default()
        }),
        "offset"
    );
    assert_eq!(
        field(pb::ListOffersRequest {
            sort: "cheapness".into(),
            ..Default::default()
        }),
        "sort"
    );
}
