//! The success envelope of every REST response.

use serde::{Serialize, Serializer};
use utoipa::ToSchema;

/// `{"data": {...}, "status": "success"}` for one object. The object's fields are also repeated at
/// the top level, so that clients written for the original product (`jq -r '.api_key'`) keep
/// working; DTOs wrapped in it therefore never have fields named `data`, `status` or `count`.
#[derive(Debug, ToSchema)]
pub struct Envelope<T> {
    /// The object.
    pub data: T,
    /// Always `success`.
    #[schema(example = "success")]
    pub status: &'static str,
}

impl<T> Envelope<T> {
    /// Wraps `data`.
    pub fn new(data: T) -> Self {
        Envelope {
            data,
            status: "success",
        }
    }
}

impl<T: Serialize> Serialize for Envelope<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Wire<'a, T> {
            data: &'a T,
            status: &'static str,
            #[serde(flatten)]
            top_level: &'a T,
        }
        Wire {
            data: &self.data,
            status: self.status,
            top_level: &self.data,
        }
        .serialize(serializer)
    }
}

/// `{"data": {...}, "status": "success"}` for one object that has a `status` of its own (an
/// instance), which must not collide with the envelope's: the object is not repeated at the top level.
#[derive(Debug, Serialize, ToSchema)]
pub struct DataEnvelope<T> {
    /// The object.
    pub data: T,
    /// Always `success`.
    #[schema(example = "success")]
    pub status: &'static str,
}

impl<T> DataEnvelope<T> {
    /// Wraps `data`.
    pub fn new(data: T) -> Self {
        DataEnvelope {
            data,
            status: "success",
        }
    }
}

/// `{"data": [...], "count": n, "status": "success"}` for a list.
#[derive(Debug, Serialize, ToSchema)]
pub struct ListEnvelope<T> {
    /// The items.
    pub data: Vec<T>,
    /// How many items `data` holds.
    pub count: usize,
    /// Always `success`.
    #[schema(example = "success")]
    pub status: &'static str,
}

impl<T> ListEnvelope<T> {
    /// Wraps `data`.
    pub fn new(data: Vec<T>) -> Self {
        ListEnvelope {
            count: data.len(),
            data,
            status: "success",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Serialize)]
    struct Key {
        api_key: &'static str,
        name: &'static str,
    }

    #[test]
    fn one_object_is_enveloped_and_also_at_the_top_level() {
        let json = serde_json::to_value(Envelope::new(Key {
            api_key: "gpx_x",
            name: "n",
        }))
        .expect("json");
        assert_eq!(json["status"], "success");
        assert_eq!(json["data"]["api_key"], "gpx_x");
        assert_eq!(json["api_key"], "gpx_x");
    }

    #[test]
    fn lists_are_counted() {
        let json = serde_json::to_value(ListEnvelope::new(vec![1, 2, 3])).expect("json");
        assert_eq!(json["count"], 3);
        assert_eq!(json["data"], serde_json::json!([1, 2, 3]));
    }
}
