//! The auth service's configuration.

use std::time::Duration;

use gpuproxy_config::{
    AUTH, ConfigErrors, DatabaseConfig, EnvMap, ExposeSecret, InternalServerConfig, Reader, RedisConfig,
    SecretString,
};

/// The shortest `JWT_SECRET` accepted outside developer mode: 256 bits, HS256's key size.
pub const MIN_JWT_SECRET_BYTES: usize = 32;

/// Where sessions live (`SESSION_MODE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionMode {
    /// In the database only: durable, one query per check.
    Sql,
    /// In Redis only (in process memory when no Redis is configured): fast, lost with the store.
    Redis,
    /// In both: written to both, read from Redis first, the database when Redis misses or fails.
    Balanced,
}

/// How JWTs are signed.
#[derive(Debug, Clone)]
pub struct JwtConfig {
    /// `JWT_SECRET`: the HS256 key.
    pub secret: SecretString,
    /// True when developer mode generated the secret because none was configured: tokens then die
    /// with the process.
    pub generated: bool,
    /// `JWT_EXPIRATION`: how long a login lasts.
    pub expiration: Duration,
    /// `JWT_ISSUER`: the `iss` claim, checked on every token.
    pub issuer: String,
}

/// A first admin to create at start-up when missing (`BOOTSTRAP_ADMIN_EMAIL`, `BOOTSTRAP_ADMIN_PASSWORD`).
#[derive(Debug, Clone)]
pub struct BootstrapAdmin {
    /// The admin's email.
    pub email: String,
    /// The admin's password.
    pub password: SecretString,
}

/// Everything the auth service reads from the environment.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where users, keys and sessions are stored.
    pub database: DatabaseConfig,
    /// Where sessions live in `redis` and `balanced` modes.
    pub redis: RedisConfig,
    /// How tokens are signed.
    pub jwt: JwtConfig,
    /// `SESSION_MODE`.
    pub session_mode: SessionMode,
    /// `PASSWORD_MIN_LENGTH`.
    pub password_min_length: usize,
    /// Where the internal API listens (`INTERNAL_HOST`, `AUTH_GRPC_PORT`, `INTERNAL_API_TOKEN`).
    pub server: InternalServerConfig,
    /// A first admin to create when missing.
    pub bootstrap_admin: Option<BootstrapAdmin>,
    /// `OUTBOX_POLL_INTERVAL`: how often the event relay looks for events written by other processes.
    pub outbox_poll_interval: Duration,
}

impl Config {
    /// Reads the configuration from `env`; `developer_mode` lets a missing `JWT_SECRET` through.
    pub fn from_env_map(env: &EnvMap, developer_mode: bool) -> Result<Self, ConfigErrors> {
        gpuproxy_config::read_all(env, |reader| Self::read(reader, developer_mode))
    }

    /// Reads the configuration, recording problems in `reader`.
    pub fn read(reader: &mut Reader<'_>, developer_mode: bool) -> Self {
        let bootstrap_email = reader.optional_string("BOOTSTRAP_ADMIN_EMAIL");
        let bootstrap_password = reader.secret("BOOTSTRAP_ADMIN_PASSWORD");
        let bootstrap_admin = match (bootstrap_email, bootstrap_password) {
            (Some(email), Some(password)) => Some(BootstrapAdmin { email, password }),
            (None, None) => None,
            _ => {
                reader.invalid(
                    "BOOTSTRAP_ADMIN_EMAIL",
                    None,
                    "set both BOOTSTRAP_ADMIN_EMAIL and BOOTSTRAP_ADMIN_PASSWORD, or neither",
                );
                None
            }
        };
        Config {
            database: DatabaseConfig::read(reader),
            redis: RedisConfig::read(reader),
            jwt: read_jwt(reader, developer_mode),
            session_mode: reader.choice(
                "SESSION_MODE",
                SessionMode::Balanced,
                &[
                    ("sql", SessionMode::Sql),
                    ("redis", SessionMode::Redis),
                    ("balanced", SessionMode::Balanced),
                ],
            ),
            password_min_length: reader.number("PASSWORD_MIN_LENGTH", 8usize, 6..=128),
            server: InternalServerConfig::read(reader, &AUTH, developer_mode),
            bootstrap_admin,
            outbox_poll_interval: reader.duration("OUTBOX_POLL_INTERVAL", Duration::from_millis(500)),
        }
    }
}

fn read_jwt(reader: &mut Reader<'_>, developer_mode: bool) -> JwtConfig {
    let secret = reader.secret("JWT_SECRET");
    let expiration = reader.duration("JWT_EXPIRATION", Duration::from_secs(24 * 3600));
    if expiration < Duration::from_secs(60) {
        reader.invalid("JWT_EXPIRATION", None, "must be at least 1m");
    }
    let issuer = reader.string("JWT_ISSUER", "gpuproxy");
    let long_enough = secret
        .as_ref()
        .is_some_and(|secret| secret.expose_secret().len() >= MIN_JWT_SECRET_BYTES);
    let (secret, generated) = match secret {
        Some(secret) if long_enough || developer_mode => (secret, false),
        None if developer_mode => (generate_secret(), true),
        _ => {
            reader.invalid(
                "JWT_SECRET",
                None,
                format!(
                    "must be set to at least {MIN_JWT_SECRET_BYTES} random bytes outside developer mode; \
                     generate one with: openssl rand -base64 48"
                ),
            );
            (generate_secret(), true)
        }
    };
    JwtConfig {
        secret,
        generated,
        expiration,
        issuer,
    }
}

fn generate_secret() -> SecretString {
    use base64::Engine;
    let mut bytes = [0u8; 48];
    rand::fill(&mut bytes);
    SecretString::from(base64::engine::general_purpose::STANDARD.encode(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "0123456789abcdef0123456789abcdef";

    #[test]
    fn a_missing_jwt_secret_is_refused_with_how_to_generate_one() {
        let errors = Config::from_env_map(&EnvMap::default(), false).expect_err("no secret");
        assert!(errors.names("JWT_SECRET"));
        assert!(errors.to_string().contains("openssl rand -base64 48"), "{errors}");
    }

    #[test]
    fn a_short_jwt_secret_is_refused_without_echoing_it() {
        let env = EnvMap::from_pairs([("JWT_SECRET", "tooshort-secret-value")]);
        let errors = Config::from_env_map(&env, false).expect_err("too short");
        assert!(errors.names("JWT_SECRET"));
        assert!(!errors.to_string().contains("tooshort-secret-value"));
    }

    #[test]
    fn developer_mode_generates_a_secret_when_none_is_set() {
        let config = Config::from_env_map(&EnvMap::default(), true).expect("developer mode");
        assert!(config.jwt.generated);
        assert!(config.jwt.secret.expose_secret().len() >= MIN_JWT_SECRET_BYTES);
    }

    #[test]
    fn a_32_byte_secret_is_accepted() {
        let env = EnvMap::from_pairs([("JWT_SECRET", SECRET)]);
        let config = Config::from_env_map(&env, false).expect("valid");
        assert!(!config.jwt.generated);
        assert_eq!(config.session_mode, SessionMode::Balanced);
        assert_eq!(config.server.listen.map(|addr| addr.port()), Some(9401));
    }

    #[test]
    fn half_a_bootstrap_admin_is_refused() {
        let env = EnvMap::from_pairs([("JWT_SECRET", SECRET), ("BOOTSTRAP_ADMIN_EMAIL", "a@b.co")]);
        assert!(
            Config::from_env_map(&env, false)
                .expect_err("no password")
                .names("BOOTSTRAP_ADMIN_EMAIL")
        );
    }
}
