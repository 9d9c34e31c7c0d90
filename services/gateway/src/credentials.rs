//! Reading credentials from request headers (REST) or metadata (gRPC, which travels as headers).

use gpuproxy_errors::ErrorCode;
use http::{HeaderMap, HeaderName};

use crate::Error;

/// What a request presented to prove who it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credentials {
    /// `Authorization: Bearer <jwt>`.
    Bearer(String),
    /// `X-API-Key: <key>`, or `Authorization: Bearer gpx_…` as OpenAI-style clients send keys.
    ApiKey(String),
}

/// The header carrying an API key.
pub const API_KEY_HEADER: HeaderName = HeaderName::from_static("x-api-key");

/// Every API key starts with this; a bearer value that does is a key, not a JWT.
const API_KEY_SCHEME: &str = "gpx_";

impl Credentials {
    /// Returns the credentials in `headers`: `None` when there are none, an error when a header is
    /// present but unusable (e.g. `Authorization: Basic …`).
    pub fn from_headers(headers: &HeaderMap) -> Result<Option<Self>, Error> {
        if let Some(value) = headers.get(API_KEY_HEADER) {
            let key = value
                .to_str()
                .map_err(|_| invalid("X-API-Key is not valid text"))?
                .trim();
            if key.is_empty() {
                return Err(invalid("X-API-Key is empty"));
            }
            return Ok(Some(Credentials::ApiKey(key.to_owned())));
        }
        let Some(value) = headers.get(http::header::AUTHORIZATION) else {
            return Ok(None);
        };
        let value = value
            .to_str()
            .map_err(|_| invalid("Authorization is not valid text"))?
            .trim();
        let (scheme, token) = value
            .split_once(' ')
            .ok_or_else(|| invalid("expected Authorization: Bearer <token>"))?;
        if !scheme.eq_ignore_ascii_case("bearer") {
            return Err(invalid("expected Authorization: Bearer <token>"));
        }
        Credentials::from_token(token)
            .map(Some)
            .ok_or_else(|| invalid("the bearer token is empty"))
    }

    /// Returns what a bare token stands for, wherever it came from (a bearer header, a `token`
    /// query parameter, a field of a request): an API key when it starts with `gpx_`, a JWT
    /// otherwise; `None` when it is blank.
    pub fn from_token(token: &str) -> Option<Self> {
        let token = token.trim();
        if token.is_empty() {
            None
        } else if token.starts_with(API_KEY_SCHEME) {
            Some(Credentials::ApiKey(token.to_owned()))
        } else {
            Some(Credentials::Bearer(token.to_owned()))
        }
    }

    /// Returns the credential itself.
    pub fn secret(&self) -> &str {
        match self {
            Credentials::Bearer(secret) | Credentials::ApiKey(secret) => secret,
        }
    }
}

fn invalid(message: &str) -> Error {
    Error::new(ErrorCode::InvalidToken, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        pairs
            .iter()
            .map(|(name, value)| (http::HeaderName::from_static(name), value.parse().expect("value")))
            .collect()
    }

    #[test]
    fn an_api_key_header_is_an_api_key() {
        let found = Credentials::from_headers(&headers(&[("x-api-key", "gpx_abc")])).expect("valid");
        assert_eq!(found, Some(Credentials::ApiKey("gpx_abc".to_owned())));
    }

    #[test]
    fn a_bearer_jwt_is_a_bearer_and_a_bearer_key_is_a_key() {
        let jwt = Credentials::from_headers(&headers(&[("authorization", "Bearer eyJ.x.y")])).expect("valid");
        assert_eq!(jwt, Some(Credentials::Bearer("eyJ.x.y".to_owned())));
        let key = Credentials::from_headers(&headers(&[("authorization", "bearer gpx_abc")])).expect("valid");
        assert_eq!(key, Some(Credentials::ApiKey("gpx_abc".to_owned())));
    }

    #[test]
    fn no_credentials_is_none() {
        assert_eq!(Credentials::from_headers(&HeaderMap::new()).expect("valid"), None);
    }

    #[test]
    fn other_schemes_and_empty_values_are_refused() {
        for (name, value) in [
            ("authorization", "Basic dXNlcjpwYXNz"),
            ("authorization", "Bearer "),
            ("x-api-key", " "),
        ] {
            let error = Credentials::from_headers(&headers(&[(name, value)])).expect_err("refused");
            assert_eq!(error.code(), ErrorCode::InvalidToken, "{name}: {value}");
        }
    }
}
