//! A JSON body extractor whose rejections are coded errors.

use axum::body::Bytes;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Request};
use gpuproxy_errors::ErrorCode;
use serde::de::DeserializeOwned;

use crate::Error;

/// Like `axum::Json`, but a bad body is answered with `{"error","code","field"}`: 413 past the size
/// limit, 400 `MALFORMED_REQUEST` for invalid JSON sent as JSON, 415 `UNSUPPORTED_MEDIA_TYPE` for
/// another media type or a body that is not JSON, and 400 `VALIDATION_FAILED` (naming the field) for
/// a missing or mistyped field. A JSON body with no content type, or with the form type `curl -d`
/// puts on whatever it sends (`application/x-www-form-urlencoded`), is read as JSON: the seeds'
/// examples are pasted that way.
#[derive(Debug, Clone, Copy, Default)]
pub struct JsonBody<T>(pub T);

impl<S, T> FromRequest<S> for JsonBody<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = Error;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let headers = request.headers().clone();
        let body =
            Bytes::from_request(request, state)
                .await
                .map_err(|rejection| match rejection.status() {
                    http::StatusCode::PAYLOAD_TOO_LARGE => too_large(),
                    _ => Error::new(ErrorCode::MalformedRequest, rejection.body_text()),
                })?;
        parse(&headers, &body).map(JsonBody)
    }
}

/// Parses a body already read (a route that must look at the raw bytes first), with the same
/// coded errors as [`JsonBody`].
pub fn parse<T: DeserializeOwned>(headers: &http::HeaderMap, body: &[u8]) -> Result<T, Error> {
    let media_type = headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .map(|mime| mime.trim().to_ascii_lowercase());
    let sent_as_json = media_type.as_deref().is_some_and(|mime| mime.ends_with("json"));
    // What `curl -d` labels a body it was given (or no label at all): read it as JSON if it is.
    let unlabelled = matches!(
        media_type.as_deref(),
        None | Some("application/x-www-form-urlencoded")
    );
    if !sent_as_json && !unlabelled {
        return Err(not_json());
    }
    match axum::Json::<T>::from_bytes(body) {
        Ok(axum::Json(value)) => Ok(value),
        // JSON whose fields are wrong is the caller's JSON whatever its label: say which field.
        Err(rejection @ JsonRejection::JsonDataError(_)) => Err(rejection_error(&rejection)),
        Err(rejection) if sent_as_json => Err(rejection_error(&rejection)),
        Err(_) => Err(not_json()),
    }
}

fn not_json() -> Error {
    Error::new(
        ErrorCode::UnsupportedMediaType,
        "expected a JSON body (Content-Type: application/json)",
    )
}

fn too_large() -> Error {
    Error::new(
        ErrorCode::PayloadTooLarge,
        "the request body is larger than the limit",
    )
}

fn rejection_error(rejection: &JsonRejection) -> Error {
    match rejection {
        JsonRejection::MissingJsonContentType(_) => not_json(),
        JsonRejection::JsonSyntaxError(_) => Error::new(
            ErrorCode::MalformedRequest,
            format!("the body is not valid JSON: {}", detail(rejection)),
        ),
        JsonRejection::JsonDataError(_) => {
            let detail = detail(rejection);
            let error = Error::new(ErrorCode::ValidationFailed, detail.clone());
            match field_in(&detail) {
                Some(field) => error.with_field(field),
                None => error,
            }
        }
        JsonRejection::BytesRejection(_) if rejection.status() == http::StatusCode::PAYLOAD_TOO_LARGE => {
            too_large()
        }
        _ => Error::new(ErrorCode::MalformedRequest, detail(rejection)),
    }
}

/// Strips axum's generic preamble, keeping serde's precise message ("missing field `email` at line 1 column 2").
fn detail(rejection: &JsonRejection) -> String {
    let text = rejection.body_text();
    text.split_once(": ")
        .map_or(text.clone(), |(_, detail)| detail.to_owned())
}

/// Returns the field serde names in a message such as "missing field `email`".
fn field_in(detail: &str) -> Option<String> {
    let start = detail.find('`')? + 1;
    let length = detail[start..].find('`')?;
    Some(detail[start..start + length].to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize, PartialEq)]
    struct Strategy {
        strategy: String,
    }

    fn typed(content_type: Option<&str>) -> http::HeaderMap {
        let mut headers = http::HeaderMap::new();
        if let Some(content_type) = content_type {
            headers.insert(http::header::CONTENT_TYPE, content_type.parse().expect("a value"));
        }
        headers
    }

    #[test]
    fn json_is_read_as_json_whatever_content_type_curl_gave_it() {
        let body = br#"{"strategy": "least_connections"}"#;
        for content_type in [
            Some("application/json"),
            Some("application/x-www-form-urlencoded"),
            Some("application/vnd.api+json"),
            None,
        ] {
            let parsed: Strategy = parse(&typed(content_type), body).expect("read as JSON");
            assert_eq!(parsed.strategy, "least_connections", "{content_type:?}");
        }
    }

    #[test]
    fn bodies_that_are_not_json_are_refused_with_a_code() {
        let form = parse::<Strategy>(&typed(Some("application/x-www-form-urlencoded")), b"strategy=x");
        assert_eq!(form.expect_err("refused").code(), ErrorCode::UnsupportedMediaType);
        let broken = parse::<Strategy>(&typed(Some("application/json")), b"{\"strategy\":");
        assert_eq!(broken.expect_err("refused").code(), ErrorCode::MalformedRequest);
        let plain = parse::<Strategy>(&typed(Some("text/plain")), br#"{"strategy": "x"}"#);
        assert_eq!(
            plain.expect_err("refused").code(),
            ErrorCode::UnsupportedMediaType
        );
        let wrong = parse::<Strategy>(&typed(None), br#"{"strategy": 5}"#);
        assert_eq!(wrong.expect_err("refused").code(), ErrorCode::ValidationFailed);
    }

    #[test]
    fn the_field_is_read_from_serde_messages() {
        assert_eq!(
            field_in("missing field `email` at line 1 column 2").as_deref(),
            Some("email")
        );
        assert_eq!(
            field_in("invalid type: integer `5`, expected a string").as_deref(),
            Some("5")
        );
        assert_eq!(field_in("no backticks"), None);
    }
}
