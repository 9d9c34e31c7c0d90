//! Issuing and checking JWTs.

use gpuproxy_domain::UserId;
use std::time::Duration;

use gpuproxy_config::ExposeSecret;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::Error;
use crate::config::JwtConfig;

/// The claims of our JWTs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// The user id.
    pub sub: UserId,
    /// The session id; logout ends the session and with it every copy of the token.
    pub sid: String,
    /// Issuer, checked on every token.
    pub iss: String,
    /// Issued at, Unix seconds.
    pub iat: i64,
    /// Expires at, Unix seconds.
    pub exp: i64,
}

/// Signs and verifies HS256 tokens. Only HS256 is accepted: a token claiming `alg: none` or any
/// other algorithm is refused before its signature is even looked at.
#[derive(Clone)]
pub struct Tokens {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    issuer: String,
    expiration: Duration,
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokens")
            .field("issuer", &self.issuer)
            .field("expiration", &self.expiration)
            .finish()
    }
}

impl Tokens {
    /// Returns a signer and verifier for `config`.
    pub fn new(config: &JwtConfig) -> Self {
        let secret = config.secret.expose_secret().as_bytes();
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[&config.issuer]);
        validation.set_required_spec_claims(&["exp", "iss", "sub"]);
        validation.leeway = 5;
        Tokens {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
            issuer: config.issuer.clone(),
            expiration: config.expiration,
        }
    }

    /// Returns a signed token for `user_id`'s session `session_id`, issued at `now` (Unix seconds).
    pub fn issue(&self, user_id: UserId, session_id: &str, now: i64) -> Result<(String, Claims), Error> {
        let lifetime = i64::try_from(self.expiration.as_secs()).unwrap_or(i64::MAX);
        let claims = Claims {
            sub: user_id,
            sid: session_id.to_owned(),
            iss: self.issuer.clone(),
            iat: now,
            exp: now.saturating_add(lifetime),
        };
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|error| anyhow::anyhow!("signing a token: {error}"))?;
        Ok((token, claims))
    }

    /// Returns the claims of a token we signed that has not expired.
    pub fn verify(&self, token: &str) -> Result<Claims, Error> {
        match jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation) {
            Ok(data) => Ok(data.claims),
            Err(error) if matches!(error.kind(), ErrorKind::ExpiredSignature) => Err(Error::TokenExpired),
            Err(_) => Err(Error::InvalidToken),
        }
    }
}

#[cfg(test)]
mod tests {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use gpuproxy_config::SecretString;

    use super::*;

    fn tokens(secret: &str) -> Tokens {
        Tokens::new(&JwtConfig {
            secret: SecretString::from(secret.to_owned()),
            generated: false,
            expiration: Duration::from_secs(3600),
            issuer: "gpuproxy".to_owned(),
        })
    }

    fn now() -> i64 {
        chrono::Utc::now().timestamp()
    }

    #[test]
    fn an_issued_token_verifies_with_its_claims() {
        let tokens = tokens("0123456789abcdef0123456789abcdef");
        let (token, claims) = tokens
            .issue(UserId::from_u128(1), "session-1", now())
            .expect("signed");
        assert_eq!(tokens.verify(&token).expect("valid"), claims);
        assert_eq!(claims.exp - claims.iat, 3600);
    }

    #[test]
    fn an_expired_token_is_reported_as_expired() {
        let tokens = tokens("0123456789abcdef0123456789abcdef");
        let (token, _) = tokens
            .issue(UserId::from_u128(1), "session-1", now() - 7200)
            .expect("signed");
        assert!(matches!(tokens.verify(&token), Err(Error::TokenExpired)));
    }

    #[test]
    fn a_token_signed_with_another_secret_is_invalid() {
        let (token, _) = tokens("another-secret-another-secret-xx")
            .issue(UserId::from_u128(1), "session-1", now())
            .expect("signed");
        assert!(matches!(
            tokens("0123456789abcdef0123456789abcdef").verify(&token),
            Err(Error::InvalidToken)
        ));
    }

    #[test]
    fn an_unsigned_alg_none_token_is_invalid() {
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
        let claims = URL_SAFE_NO_PAD.encode(
            format!(
                r#"{{"sub":"00000000-0000-0000-0000-000000000001","sid":"s","iss":"gpuproxy","iat":{0},"exp":{1}}}"#,
                now(),
                now() + 600
            )
            .as_bytes(),
        );
        for token in [format!("{header}.{claims}."), format!("{header}.{claims}")] {
            assert!(matches!(
                tokens("0123456789abcdef0123456789abcdef").verify(&token),
                Err(Error::InvalidToken)
            ));
        }
    }

    #[test]
    fn garbage_is_invalid() {
        for token in ["", "not.a.jwt", "a.b", "Bearer x"] {
            assert!(matches!(
                tokens("0123456789abcdef0123456789abcdef").verify(token),
                Err(Error::InvalidToken)
            ));
        }
    }
}
