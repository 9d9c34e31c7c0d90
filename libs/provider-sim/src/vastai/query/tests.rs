use serde_json::{Map, json};

use super::*;

impl OfferFields for Map<String, Value> {
    fn field(&self, name: &str) -> Option<Cow<'_, Value>> {
        self.get(name).map(Cow::Borrowed)
    }

    fn id(&self) -> u64 {
        self.get("id").and_then(Value::as_u64).unwrap_or(0)
    }
}

fn offer(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

fn matches(query: Value, candidate: Value) -> bool {
    SearchQuery::parse(&query).unwrap().matches(&offer(candidate))
}

#[test]
fn numeric_strings_compare_as_numbers() {
    let candidate = json!({"num_gpus": 4, "dph_total": 0.5});
    assert!(matches(json!({"num_gpus": {"eq": "4"}}), candidate.clone()));
    assert!(matches(
        json!({"num_gpus": {"gte": "2", "lte": "8"}}),
        candidate.clone()
    ));
    assert!(!matches(json!({"dph_total": {"lt": "0.25"}}), candidate));
}

#[test]
fn several_operators_on_one_field_must_all_hold() {
    let candidate = json!({"dph_total": 0.5});
    assert!(matches(
        json!({"dph_total": {"gte": 0.1, "lte": 0.5}}),
        candidate.clone()
    ));
    assert!(!matches(json!({"dph_total": {"gte": 0.1, "lt": 0.5}}), candidate));
}

#[test]
fn in_and_notin_test_membership() {
    let candidate = json!({"gpu_name": "RTX 4090"});
    assert!(matches(
        json!({"gpu_name": {"in": ["RTX 3090", "RTX 4090"]}}),
        candidate.clone()
    ));
    assert!(!matches(
        json!({"gpu_name": {"notin": ["RTX 4090"]}}),
        candidate.clone()
    ));
    assert!(matches(json!({"gpu_name": {"nin": ["H100 SXM"]}}), candidate));
}

#[test]
fn null_matches_only_missing_or_null_values() {
    assert!(matches(
        json!({"cluster_id": {"eq": null}}),
        json!({"cluster_id": null})
    ));
    assert!(matches(
        json!({"cluster_id": {"neq": null}}),
        json!({"cluster_id": 3})
    ));
    assert!(!matches(
        json!({"cluster_id": {"gt": null}}),
        json!({"cluster_id": 3})
    ));
}

#[test]
fn booleans_accept_string_spellings() {
    assert!(matches(
        json!({"rentable": {"eq": "true"}}),
        json!({"rentable": true})
    ));
    assert!(matches(
        json!({"external": {"eq": false}}),
        json!({"external": false})
    ));
}

#[test]
fn geolocation_filters_on_the_country_code() {
    let candidate = json!({"geolocation": "California, US"});
    assert!(matches(
        json!({"geolocation": {"in": ["US", "CA"]}}),
        candidate.clone()
    ));
    assert!(!matches(json!({"geolocation": {"eq": "DE"}}), candidate));
}

#[test]
fn verified_is_derived_from_verification() {
    assert!(matches(
        json!({"verified": {"eq": true}}),
        json!({"verification": "verified"})
    ));
    assert!(!matches(
        json!({"verified": {"eq": true}}),
        json!({"verification": "deverified"})
    ));
}

#[test]
fn numeric_driver_versions_compare_packed() {
    let candidate = json!({"driver_version": "550.54.14", "driver_vers": 550_054_014});
    assert!(matches(
        json!({"driver_version": {"gte": 535_086_005}}),
        candidate.clone()
    ));
    assert!(matches(json!({"driver_version": {"eq": "550.54.14"}}), candidate));
}

#[test]
fn control_keys_are_parsed() {
    let query = SearchQuery::parse(&json!({
        "order": [["dph_total", "asc"], ["reliability", "desc"]],
        "type": "bid",
        "limit": "10",
        "allocated_storage": 20,
    }))
    .unwrap();
    assert_eq!(query.limit, 10);
    assert_eq!(
        query.pricing,
        Pricing {
            kind: OfferType::Bid,
            allocated_storage: 20.0
        }
    );
    assert_eq!(query.order.len(), 2);
    assert!(query.filters.is_empty());
}

#[test]
fn defaults_apply_when_control_keys_are_missing() {
    let query = SearchQuery::parse(&json!({})).unwrap();
    assert_eq!(query.limit, DEFAULT_LIMIT);
    assert_eq!(query.pricing.allocated_storage, DEFAULT_ALLOCATED_STORAGE);
    assert_eq!(
        query.order,
        vec![SortKey {
            field: "score".to_owned(),
            descending: true
        }]
    );
}

#[test]
fn unknown_operators_and_bad_controls_are_refused() {
    assert!(matches!(
        SearchQuery::parse(&json!({"num_gpus": {"like": 1}})),
        Err(QueryError::UnknownOperator { .. })
    ));
    assert!(SearchQuery::parse(&json!({"type": "spot"})).is_err());
    assert!(SearchQuery::parse(&json!({"limit": -1})).is_err());
    assert!(SearchQuery::parse(&json!([1])).is_err());
}

#[test]
fn sorting_puts_missing_values_last_and_breaks_ties_by_id() {
    let query = SearchQuery::parse(&json!({"order": [["dph_total", "desc"]]})).unwrap();
    let mut offers = vec![
        offer(json!({"id": 3, "dph_total": 1.0})),
        offer(json!({"id": 1})),
        offer(json!({"id": 2, "dph_total": 1.0})),
        offer(json!({"id": 4, "dph_total": 2.0})),
    ];
    query.sort(&mut offers);
    let ids: Vec<u64> = offers.iter().map(|offer| offer["id"].as_u64().unwrap()).collect();
    assert_eq!(ids, vec![4, 2, 3, 1]);
}
