//! A query string extractor whose rejections are coded errors.

use axum::extract::{FromRequestParts, Query};
use gpuproxy_errors::ErrorCode;
use http::request::Parts;
use serde::de::DeserializeOwned;

use crate::Error;

/// Like `axum::extract::Query`, but a query that does not parse (a number out of range, a value of
/// the wrong type) is answered with `{"error","code":"VALIDATION_FAILED","field"}` in JSON, as every
/// other refusal is, instead of axum's plain-text 400.
#[derive(Debug, Clone, Copy, Default)]
pub struct QueryParams<T>(pub T);

impl<S, T> FromRequestParts<S> for QueryParams<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Query::<T>::try_from_uri(&parts.uri)
            .map(|Query(value)| QueryParams(value))
            .map_err(|rejection| {
                let text = rejection.body_text();
                let detail = text.split_once(": ").map_or(text.as_str(), |(_, detail)| detail);
                let error = Error::new(ErrorCode::ValidationFailed, format!("the query string: {detail}"));
                match field_named(detail) {
                    Some(field) => error.with_field(field),
                    None => error,
                }
            })
    }
}

/// Returns the parameter serde names first in its message (`offset: number too large to fit…`).
fn field_named(detail: &str) -> Option<&str> {
    let (field, _) = detail.split_once(':')?;
    let field = field.trim();
    (!field.is_empty()
        && field
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || byte == b'_'))
    .then_some(field)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    struct Page {
        #[expect(dead_code, reason = "only parsing is tested")]
        offset: Option<i32>,
    }

    #[tokio::test]
    async fn a_query_that_does_not_parse_is_a_coded_validation_error() {
        let (mut parts, ()) = http::Request::get("/x?offset=2147483648")
            .body(())
            .expect("a request")
            .into_parts();
        let refused = QueryParams::<Page>::from_request_parts(&mut parts, &())
            .await
            .expect_err("refused");
        assert_eq!(refused.code(), ErrorCode::ValidationFailed);
        let response = axum::response::IntoResponse::into_response(refused);
        assert_eq!(response.status(), http::StatusCode::BAD_REQUEST);
        assert_eq!(response.headers()[http::header::CONTENT_TYPE], "application/json");
    }
}
