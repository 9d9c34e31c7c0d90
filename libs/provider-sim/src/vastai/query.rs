//! The vast.ai offer query language: filters with operators, plus the `order`, `type`, `limit` and
//! `allocated_storage` control keys (spec §2.1).

use std::borrow::Cow;
use std::cmp::Ordering;

use serde_json::Value;

use crate::vastai::pricing::{OfferType, Pricing};

/// Offers returned when the query has no `limit`; vast.ai does not document its default.
pub(crate) const DEFAULT_LIMIT: usize = 64;

/// GB of disk priced into `dph_total` when the query has no `allocated_storage` (the SDK's default).
pub(crate) const DEFAULT_ALLOCATED_STORAGE: f64 = 5.0;

/// Control keys that are accepted and have no effect here.
const IGNORED_KEYS: [&str; 2] = ["disable_bundling", "show_incompatible"];

/// Field names the CLI and docs use interchangeably with the offer's own keys.
const FIELD_ALIASES: [(&str, &str); 6] = [
    ("dph", "dph_total"),
    ("cuda_vers", "cuda_max_good"),
    ("dlperf_usd", "dlperf_per_dphtotal"),
    ("flops_usd", "flops_per_dphtotal"),
    ("gpu_totalram", "gpu_total_ram"),
    ("ubuntu_version", "os_version"),
];

/// Read access to an offer's keys, so a query can filter and sort offers that are not JSON yet.
pub(crate) trait OfferFields {
    /// Returns the value of a key of the offer object, if it has the key.
    fn field(&self, name: &str) -> Option<Cow<'_, Value>>;

    /// Returns the offer id, which breaks ties in sorting.
    fn id(&self) -> u64;
}

/// A parsed search: which offers match, in which order, how many and at which price.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct SearchQuery {
    filters: Vec<FieldFilter>,
    order: Vec<SortKey>,
    pub(crate) pricing: Pricing,
    pub(crate) limit: usize,
}

/// Why a query was refused; answered as 400 `invalid_request`.
#[derive(Debug, PartialEq, thiserror::Error)]
pub(crate) enum QueryError {
    #[error("query must be a JSON object")]
    NotAnObject,
    #[error("unsupported operator {operator:?} on field {field:?}")]
    UnknownOperator { field: String, operator: String },
    #[error("invalid {key}: {reason}")]
    InvalidControl { key: &'static str, reason: &'static str },
}

#[derive(Clone, Debug, PartialEq)]
struct FieldFilter {
    field: String,
    conditions: Vec<(Operator, Value)>,
}

#[derive(Clone, Debug, PartialEq)]
struct SortKey {
    field: String,
    descending: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Operator {
    Eq,
    Neq,
    Gt,
    Gte,
    Lt,
    Lte,
    In,
    NotIn,
}

impl Operator {
    /// Parses an operator, including the spellings the CLI rewrites client-side.
    fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "eq" | "==" => Self::Eq,
            "neq" | "ne" | "!=" => Self::Neq,
            "gt" | ">" => Self::Gt,
            "gte" | "ge" | ">=" => Self::Gte,
            "lt" | "<" => Self::Lt,
            "lte" | "le" | "<=" => Self::Lte,
            "in" => Self::In,
            "notin" | "nin" | "not in" | "not_in" => Self::NotIn,
            _ => return None,
        })
    }
}

impl SearchQuery {
    /// Parses a query object as sent in the POST body or the `q` parameter.
    pub(crate) fn parse(query: &Value) -> Result<Self, QueryError> {
        let Value::Object(keys) = query else {
            return Err(QueryError::NotAnObject);
        };
        let mut parsed = Self {
            filters: Vec::new(),
            order: vec![SortKey {
                field: "score".to_owned(),
                descending: true,
            }],
            pricing: Pricing {
                kind: OfferType::OnDemand,
                allocated_storage: DEFAULT_ALLOCATED_STORAGE,
            },
            limit: DEFAULT_LIMIT,
        };
        for (key, value) in keys {
            match key.as_str() {
                "order" => parsed.order = parse_order(value)?,
                "type" => parsed.pricing.kind = parse_type(value)?,
                "limit" => parsed.limit = parse_limit(value)?,
                "allocated_storage" => parsed.pricing.allocated_storage = parse_storage(value)?,
                ignored if IGNORED_KEYS.contains(&ignored) => {}
                field => parsed.filters.push(parse_filter(field, value)?),
            }
        }
        Ok(parsed)
    }

    /// Returns true when the priced offer passes every filter.
    pub(crate) fn matches(&self, offer: &impl OfferFields) -> bool {
        self.filters.iter().all(|filter| {
            filter.conditions.iter().all(|(operator, expected)| {
                let actual = operand(offer, &filter.field, expected);
                holds(&actual, *operator, expected)
            })
        })
    }

    /// Sorts priced offers by the `order` keys; missing values go last and ties go by ascending id.
    /// Each offer's keys are read once, not at every comparison: a priced key is computed per read.
    pub(crate) fn sort<T: OfferFields>(&self, offers: &mut Vec<T>) {
        let mut keyed: Vec<(Vec<Option<Value>>, T)> = offers
            .drain(..)
            .map(|offer| {
                let keys = self
                    .order
                    .iter()
                    .map(|key| sort_value(&offer, &key.field).map(Cow::into_owned))
                    .collect();
                (keys, offer)
            })
            .collect();
        keyed.sort_by(|(left_keys, left), (right_keys, right)| {
            for ((left_value, right_value), key) in left_keys.iter().zip(right_keys).zip(&self.order) {
                let ordering = match (left_value, right_value) {
                    (None, None) => Ordering::Equal,
                    (None, Some(_)) => Ordering::Greater,
                    (Some(_), None) => Ordering::Less,
                    (Some(left), Some(right)) => {
                        let ordering = compare(left, right).unwrap_or(Ordering::Equal);
                        if key.descending {
                            ordering.reverse()
                        } else {
                            ordering
                        }
                    }
                };
                if ordering != Ordering::Equal {
                    return ordering;
                }
            }
            left.id().cmp(&right.id())
        });
        offers.extend(keyed.into_iter().map(|(_, offer)| offer));
    }
}

fn parse_filter(field: &str, value: &Value) -> Result<FieldFilter, QueryError> {
    let field = canonical_field(field).to_owned();
    let conditions = match value {
        Value::Object(operators) => operators
            .iter()
            .map(|(name, operand)| match Operator::parse(name) {
                Some(operator) => Ok((operator, operand.clone())),
                None => Err(QueryError::UnknownOperator {
                    field: field.clone(),
                    operator: name.clone(),
                }),
            })
            .collect::<Result<Vec<_>, _>>()?,
        // A bare value is shorthand for equality.
        bare => vec![(Operator::Eq, bare.clone())],
    };
    Ok(FieldFilter { field, conditions })
}

fn parse_order(value: &Value) -> Result<Vec<SortKey>, QueryError> {
    const INVALID: QueryError = QueryError::InvalidControl {
        key: "order",
        reason: "expected [[field, \"asc\"|\"desc\"], ...]",
    };
    let Value::Array(entries) = value else {
        return Err(INVALID);
    };
    // A single pair without the outer list, e.g. ["dph_total", "asc"], is accepted too.
    if let [Value::String(field), Value::String(direction)] = entries.as_slice()
        && parse_direction(direction).is_some()
    {
        return Ok(vec![SortKey {
            field: canonical_field(field).to_owned(),
            descending: direction == "desc",
        }]);
    }
    entries
        .iter()
        .map(|entry| {
            let (field, direction) = match entry {
                Value::String(field) => (field.as_str(), "asc"),
                Value::Array(pair) => match pair.as_slice() {
                    [Value::String(field)] => (field.as_str(), "asc"),
                    [Value::String(field), Value::String(direction)] => (field.as_str(), direction.as_str()),
                    _ => return Err(INVALID),
                },
                _ => return Err(INVALID),
            };
            let descending = parse_direction(direction).ok_or(INVALID)?;
            Ok(SortKey {
                field: canonical_field(field).to_owned(),
                descending,
            })
        })
        .collect()
}

/// Returns whether a direction sorts descending, or `None` when it is not a direction.
fn parse_direction(direction: &str) -> Option<bool> {
    match direction {
        "asc" | "+" => Some(false),
        "desc" | "-" => Some(true),
        _ => None,
    }
}

fn parse_type(value: &Value) -> Result<OfferType, QueryError> {
    match value {
        Value::Null => Ok(OfferType::OnDemand),
        Value::String(kind) => match kind.as_str() {
            "on-demand" | "ondemand" => Ok(OfferType::OnDemand),
            "bid" | "interruptible" => Ok(OfferType::Bid),
            "reserved" => Ok(OfferType::Reserved),
            _ => Err(QueryError::InvalidControl {
                key: "type",
                reason: "expected on-demand, bid or reserved",
            }),
        },
        _ => Err(QueryError::InvalidControl {
            key: "type",
            reason: "expected a string",
        }),
    }
}

fn parse_limit(value: &Value) -> Result<usize, QueryError> {
    const INVALID: QueryError = QueryError::InvalidControl {
        key: "limit",
        reason: "expected a non-negative integer",
    };
    if value.is_null() {
        return Ok(DEFAULT_LIMIT);
    }
    let limit = as_number(value).ok_or(INVALID)?;
    if limit < 0.0 || limit.fract() != 0.0 {
        return Err(INVALID);
    }
    // Saturates for absurd values, which then just mean "everything".
    Ok(limit as usize)
}

fn parse_storage(value: &Value) -> Result<f64, QueryError> {
    if value.is_null() {
        return Ok(DEFAULT_ALLOCATED_STORAGE);
    }
    match as_number(value) {
        Some(gigabytes) if gigabytes >= 0.0 && gigabytes.is_finite() => Ok(gigabytes),
        _ => Err(QueryError::InvalidControl {
            key: "allocated_storage",
            reason: "expected a non-negative number",
        }),
    }
}

fn canonical_field(field: &str) -> &str {
    FIELD_ALIASES
        .iter()
        .find(|(alias, _)| *alias == field)
        .map_or(field, |(_, canonical)| canonical)
}

/// Returns the value a filter on `field` compares against `expected`.
///
/// Three fields are not plain offer keys: `verified` is derived from `verification`,
/// `geolocation` filters on the country code after the comma, and a numeric `driver_version`
/// filter compares the packed `driver_vers` the CLI sends.
fn operand(offer: &impl OfferFields, field: &str, expected: &Value) -> Value {
    let key = |name: &str| offer.field(name).map_or(Value::Null, Cow::into_owned);
    match field {
        "verified" => Value::Bool(key("verification") == "verified"),
        "geolocation" => match key("geolocation") {
            Value::String(location) => location.rsplit(", ").next().map_or(Value::Null, Value::from),
            _ => Value::Null,
        },
        "driver_version" if list(expected).iter().any(|value| as_number(value).is_some()) => {
            key("driver_vers")
        }
        _ => key(field),
    }
}

fn holds(actual: &Value, operator: Operator, expected: &Value) -> bool {
    match operator {
        Operator::Eq => equal(actual, expected),
        Operator::Neq => !equal(actual, expected),
        Operator::In => list(expected).iter().any(|candidate| equal(actual, candidate)),
        Operator::NotIn => !list(expected).iter().any(|candidate| equal(actual, candidate)),
        Operator::Gt => compare(actual, expected) == Some(Ordering::Greater),
        Operator::Gte => matches!(
            compare(actual, expected),
            Some(Ordering::Greater | Ordering::Equal)
        ),
        Operator::Lt => compare(actual, expected) == Some(Ordering::Less),
        Operator::Lte => matches!(compare(actual, expected), Some(Ordering::Less | Ordering::Equal)),
    }
}

/// Returns the candidates of an `in`/`notin` filter; a bare value is a list of one.
fn list(expected: &Value) -> &[Value] {
    match expected {
        Value::Array(values) => values,
        single => std::slice::from_ref(single),
    }
}

fn equal(actual: &Value, expected: &Value) -> bool {
    match (actual, expected) {
        (Value::Null, Value::Null) => true,
        (Value::Null, _) | (_, Value::Null) => false,
        _ => compare(actual, expected) == Some(Ordering::Equal),
    }
}

/// Compares an offer value with a filter value, coercing the filter to the offer value's type:
/// the CLI sends typed numbers as strings, and booleans sometimes as strings or 0/1.
fn compare(actual: &Value, expected: &Value) -> Option<Ordering> {
    match actual {
        Value::Number(number) => number.as_f64()?.partial_cmp(&as_number(expected)?),
        Value::String(text) => Some(text.as_str().cmp(expected.as_str()?)),
        Value::Bool(flag) => Some(flag.cmp(&as_bool(expected)?)),
        Value::Null | Value::Array(_) | Value::Object(_) => None,
    }
}

fn as_number(value: &Value) -> Option<f64> {
    match value {
        Value::Number(number) => number.as_f64(),
        Value::String(text) => text.trim().parse().ok(),
        _ => None,
    }
}

fn as_bool(value: &Value) -> Option<bool> {
    match value {
        Value::Bool(flag) => Some(*flag),
        Value::String(text) => match text.trim().to_ascii_lowercase().as_str() {
            "true" | "1" => Some(true),
            "false" | "0" => Some(false),
            _ => None,
        },
        Value::Number(number) => match number.as_u64() {
            Some(1) => Some(true),
            Some(0) => Some(false),
            _ => None,
        },
        Value::Null | Value::Array(_) | Value::Object(_) => None,
    }
}

fn sort_value<'a>(offer: &'a impl OfferFields, field: &str) -> Option<Cow<'a, Value>> {
    offer.field(field).filter(|value| !value.is_null())
}

#[cfg(test)]
mod tests;
