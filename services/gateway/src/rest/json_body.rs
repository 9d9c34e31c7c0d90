//! A JSON body extractor whose rejections are coded errors.

use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Request};
use gpuproxy_errors::ErrorCode;
use serde::de::DeserializeOwned;

use crate::Error;

/// Like `axum::Json`, but a bad body is answered with `{"error","code","field"}`: 415 for a missing
/// JSON content type, 413 past the size limit, 400 `MALFORMED_REQUEST` for invalid JSON and 400
/// `VALIDATION_FAILED` (naming the field) for a missing or mistyped field.
#[derive(Debug, Clone, Copy, Default)]
pub struct JsonBody<T>(pub T);

impl<S, T> FromRequest<S> for JsonBody<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = Error;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(request, state).await {
            Ok(axum::Json(value)) => Ok(JsonBody(value)),
            Err(rejection) => Err(rejection_error(&rejection)),
        }
    }
}

/// Parses a body already read (a route that must look at the raw bytes first), with the same
/// coded errors as [`JsonBody`].
pub fn parse<T: DeserializeOwned>(headers: &http::HeaderMap, body: &[u8]) -> Result<T, Error> {
    let json = headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| {
            value
                .split(';')
                .next()
                .is_some_and(|mime| mime.trim().ends_with("json"))
        });
    if !json {
        return Err(Error::new(
            ErrorCode::UnsupportedMediaType,
            "expected a body with Content-Type: application/json",
        ));
    }
    axum::Json::<T>::from_bytes(body)
        .map(|axum::Json(value)| value)
        .map_err(|rejection| rejection_error(&rejection))
}

fn rejection_error(rejection: &JsonRejection) -> Error {
    match rejection {
        JsonRejection::MissingJsonContentType(_) => Error::new(
            ErrorCode::UnsupportedMediaType,
            "expected a body with Content-Type: application/json",
        ),
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
            Error::new(
                ErrorCode::PayloadTooLarge,
                "the request body is larger than the limit",
            )
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
    use super::field_in;

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
