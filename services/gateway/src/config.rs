//! The gateway's configuration.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use gpuproxy_config::{ConfigErrors, EnvMap, Reader, RedisConfig};

/// A certificate and key for the public gRPC server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    /// `GRPC_TLS_CERT`: PEM certificate chain.
    pub cert: PathBuf,
    /// `GRPC_TLS_KEY`: PEM private key.
    pub key: PathBuf,
}

/// Per-user and per-address request limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimitConfig {
    /// `RATE_LIMIT_ENABLED`.
    pub enabled: bool,
    /// `RATE_LIMIT_PER_MINUTE`: requests per user per minute.
    pub per_minute: u32,
    /// `RATE_LIMIT_ANONYMOUS_PER_MINUTE`: register and login attempts per client address per minute.
    pub anonymous_per_minute: u32,
}

/// Which browser origins may call the API (`CORS_ALLOWED_ORIGINS`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CorsOrigins {
    /// `*`: any origin (credentials travel in headers, never cookies, so this is safe for an API).
    Any,
    /// A comma-separated list of exact origins.
    List(Vec<String>),
}

/// The `/ws` event stream's bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WsConfig {
    /// `WS_BUFFER`: events one connection may fall behind by before it is dropped (close 1013).
    pub buffer: usize,
    /// `WS_PING_INTERVAL`: how often the server pings; a connection silent for two is closed.
    pub ping_interval: Duration,
    /// `WS_MAX_CONNECTIONS`: connections one gateway holds at most.
    pub max_connections: usize,
}

/// What the proxy may reach, and its bounds.
#[derive(Debug, Clone)]
pub struct ProxyConfig {
    /// `PROXY_ALLOWED_HOSTS`: hosts (`name`, `name:port`, `*.suffix`, IPs, CIDRs) the proxy may reach
    /// even when they resolve to private, loopback or link-local addresses. The caller's own
    /// instances are always reachable; every other target must resolve to public addresses only.
    pub allowed_hosts: gpuproxy_egress::EgressPolicy,
    /// `PROXY_TIMEOUT`: a proxied request's time limit when the caller sets none.
    pub default_timeout: Duration,
    /// `PROXY_MAX_TIMEOUT`: the most a caller may ask for with `timeout` or `X-Timelimit`.
    pub max_timeout: Duration,
    /// `PROXY_MAX_RESPONSE_BYTES`: the largest upstream answer `POST /gpu/proxy` buffers (the
    /// streaming route buffers nothing).
    pub max_response_bytes: usize,
    /// `PROXY_REQUEST_COST` (USD, 0 = free): what each proxied request costs, debited from the
    /// caller's credits (refused at the cap) and counted by the guard rails before it is sent.
    pub request_cost_micros: i64,
}

impl ProxyConfig {
    /// Reads the `PROXY_*` variables.
    pub fn read(reader: &mut Reader<'_>) -> Self {
        let listed = reader.string("PROXY_ALLOWED_HOSTS", "");
        let allowed_hosts = match gpuproxy_egress::EgressPolicy::parse_list(&listed) {
            Ok(policy) => policy,
            Err(error) => {
                reader.invalid("PROXY_ALLOWED_HOSTS", Some(&listed), error.to_string());
                gpuproxy_egress::EgressPolicy::default()
            }
        };
        let default_timeout = reader.duration("PROXY_TIMEOUT", Duration::from_secs(60));
        let max_timeout = reader.duration("PROXY_MAX_TIMEOUT", Duration::from_secs(3600));
        if default_timeout.is_zero() || default_timeout > max_timeout {
            reader.invalid(
                "PROXY_TIMEOUT",
                None,
                "must be more than 0s and at most PROXY_MAX_TIMEOUT",
            );
        }
        let cost = reader.string("PROXY_REQUEST_COST", "0");
        let request_cost_micros = match gpuproxy_domain::UsdMicros::parse_dollars(&cost) {
            Ok(amount) if amount.micros() >= 0 => amount.micros(),
            Ok(_) => {
                reader.invalid("PROXY_REQUEST_COST", Some(&cost), "must not be negative");
                0
            }
            Err(error) => {
                reader.invalid("PROXY_REQUEST_COST", Some(&cost), error.to_string());
                0
            }
        };
        ProxyConfig {
            allowed_hosts,
            request_cost_micros,
            default_timeout,
            max_timeout,
            max_response_bytes: reader.number(
                "PROXY_MAX_RESPONSE_BYTES",
                16_777_216usize,
                1024..=1_073_741_824,
            ),
        }
    }
}

/// Everything the gateway reads from the environment.
#[derive(Debug, Clone)]
pub struct Config {
    /// REST listens here (`SERVER_HOST`, `SERVER_PORT`).
    pub http_listen: SocketAddr,
    /// Public gRPC listens here (`SERVER_HOST`, `GRPC_PORT`).
    pub grpc_listen: SocketAddr,
    /// TLS for public gRPC, when both files are set.
    pub grpc_tls: Option<TlsFiles>,
    /// Where rate-limit windows live.
    pub redis: RedisConfig,
    /// `PROXY_*`: where the proxy may go and for how long.
    pub proxy: ProxyConfig,
    /// `SERVICE_CALL_TIMEOUT`: the longest call to an internal service.
    pub service_call_timeout: Duration,
    /// Request limits.
    pub rate_limit: RateLimitConfig,
    /// `CORS_ALLOWED_ORIGINS`.
    pub cors_origins: CorsOrigins,
    /// `MCP_ALLOWED_ORIGINS`: the browser origins that may call MCP (comma-separated, exact, such as
    /// `https://inspector.example.com`); a request with any other `Origin` is refused (DNS
    /// rebinding). Requests without an `Origin` (every non-browser client) are not affected.
    pub mcp_allowed_origins: Vec<String>,
    /// `PUBLIC_URL`: where clients reach this gateway (`https://gpu.example.com`), as the A2A
    /// agent card names it; unset, the card names the host each request was sent to.
    pub public_url: Option<String>,
    /// `MAX_REQUEST_BODY_BYTES`.
    pub max_body_bytes: usize,
    /// `ML_MAX_MODEL_BYTES` (the inference service reads it too) plus 1 MiB for the form around
    /// the file: the body limit of `POST /api/v1/models/upload`.
    pub max_upload_bytes: usize,
    /// `REQUEST_TIMEOUT`: the longest a request may take.
    pub request_timeout: Duration,
    /// `AUTH_CACHE_TTL`: how long a verified credential is trusted without asking the auth service.
    /// Revocations and logouts invalidate the cache at once through events; this bounds staleness
    /// when events cannot arrive.
    pub auth_cache_ttl: Duration,
    /// `TRUST_FORWARDED_FOR`: take the client's address from `X-Forwarded-For` (the address the
    /// nearest proxy appended) instead of the connection. Only behind a proxy that sets the header:
    /// otherwise any client could pick its own address and dodge per-address limits.
    pub trust_forwarded_for: bool,
    /// `WS_*`.
    pub ws: WsConfig,
    /// `HTTP_WORKERS`: threads serving REST, each with its connections and their requests (default:
    /// the cores this process may use).
    pub http_workers: usize,
}

impl Config {
    /// Reads the configuration from `env`.
    pub fn from_env_map(env: &EnvMap) -> Result<Self, ConfigErrors> {
        gpuproxy_config::read_all(env, Self::read)
    }

    /// Reads the configuration, recording problems in `reader`.
    pub fn read(reader: &mut Reader<'_>) -> Self {
        let host = reader.parse::<IpAddr>("SERVER_HOST", IpAddr::from([0, 0, 0, 0]));
        let http_port = reader.number("SERVER_PORT", 8080u16, 0..=u16::MAX);
        let grpc_port = reader.number("GRPC_PORT", 9090u16, 0..=u16::MAX);
        let cert = reader.optional_string("GRPC_TLS_CERT");
        let key = reader.optional_string("GRPC_TLS_KEY");
        let grpc_tls = match (cert, key) {
            (Some(cert), Some(key)) => Some(TlsFiles {
                cert: cert.into(),
                key: key.into(),
            }),
            (None, None) => None,
            (Some(_), None) => {
                reader.invalid("GRPC_TLS_KEY", None, "required when GRPC_TLS_CERT is set");
                None
            }
            (None, Some(_)) => {
                reader.invalid("GRPC_TLS_CERT", None, "required when GRPC_TLS_KEY is set");
                None
            }
        };
        let origins = reader.string("CORS_ALLOWED_ORIGINS", "*");
        let cors_origins = if origins.trim() == "*" {
            CorsOrigins::Any
        } else {
            let list: Vec<String> = origins
                .split(',')
                .map(str::trim)
                .filter(|origin| !origin.is_empty())
                .map(str::to_owned)
                .collect();
            if let Some(bad) = list.iter().find(|origin| !origin.starts_with("http")) {
                reader.invalid(
                    "CORS_ALLOWED_ORIGINS",
                    Some(bad),
                    "expected * or origins such as https://app.example.com",
                );
            }
            CorsOrigins::List(list)
        };
        let mcp_allowed_origins: Vec<String> = reader
            .string("MCP_ALLOWED_ORIGINS", "")
            .split(',')
            .map(|origin| origin.trim().trim_end_matches('/'))
            .filter(|origin| !origin.is_empty())
            .map(str::to_owned)
            .collect();
        if let Some(bad) = mcp_allowed_origins
            .iter()
            .find(|origin| !origin.starts_with("http"))
        {
            reader.invalid(
                "MCP_ALLOWED_ORIGINS",
                Some(bad),
                "expected origins such as https://app.example.com",
            );
        }
        let public_url = Some(reader.string("PUBLIC_URL", ""))
            .map(|url| url.trim().trim_end_matches('/').to_owned())
            .filter(|url| !url.is_empty());
        if let Some(url) = &public_url
            && !(url.starts_with("http://") || url.starts_with("https://"))
        {
            reader.invalid(
                "PUBLIC_URL",
                Some(url),
                "expected a URL such as https://gpu.example.com",
            );
        }
        Config {
            http_listen: SocketAddr::new(host, http_port),
            grpc_listen: SocketAddr::new(host, grpc_port),
            grpc_tls,
            redis: RedisConfig::read(reader),
            proxy: ProxyConfig::read(reader),
            service_call_timeout: reader.duration("SERVICE_CALL_TIMEOUT", Duration::from_secs(10)),
            rate_limit: RateLimitConfig {
                enabled: reader.bool("RATE_LIMIT_ENABLED", true),
                per_minute: reader.number("RATE_LIMIT_PER_MINUTE", 100u32, 1..=1_000_000),
                anonymous_per_minute: reader.number("RATE_LIMIT_ANONYMOUS_PER_MINUTE", 30u32, 1..=1_000_000),
            },
            cors_origins,
            mcp_allowed_origins,
            public_url,
            max_body_bytes: reader.number("MAX_REQUEST_BODY_BYTES", 1_048_576usize, 1024..=1_073_741_824),
            max_upload_bytes: reader
                .number("ML_MAX_MODEL_BYTES", 2usize << 30, 1024..=64usize << 30)
                .saturating_add(1 << 20),
            request_timeout: reader.duration("REQUEST_TIMEOUT", Duration::from_secs(30)),
            auth_cache_ttl: reader.duration("AUTH_CACHE_TTL", Duration::from_secs(60)),
            ws: WsConfig {
                buffer: reader.number("WS_BUFFER", 256usize, 1..=65_536),
                ping_interval: reader.duration("WS_PING_INTERVAL", Duration::from_secs(30)),
                max_connections: reader.number("WS_MAX_CONNECTIONS", 10_000usize, 1..=1_000_000),
            },
            trust_forwarded_for: reader.bool("TRUST_FORWARDED_FOR", false),
            http_workers: reader.number("HTTP_WORKERS", default_http_workers(), 1..=1024),
        }
    }
}

/// One REST worker per core this process may use (its CPU quota counts, in a container).
fn default_http_workers() -> usize {
    std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_the_seeds() {
        let config = Config::from_env_map(&EnvMap::default()).expect("defaults are valid");
        assert_eq!(config.http_listen.port(), 8080);
        assert_eq!(config.grpc_listen.port(), 9090);
        assert_eq!(config.rate_limit.per_minute, 100);
        assert_eq!(config.grpc_tls, None);
        assert_eq!(config.cors_origins, CorsOrigins::Any);
        assert_eq!(config.http_workers, default_http_workers());
        assert!(config.http_workers >= 1);
    }

    #[test]
    fn rest_workers_are_at_least_one() {
        let env = EnvMap::from_pairs([("HTTP_WORKERS", "4")]);
        assert_eq!(Config::from_env_map(&env).expect("valid").http_workers, 4);
        for bad in ["0", "many"] {
            let env = EnvMap::from_pairs([("HTTP_WORKERS", bad)]);
            let errors = Config::from_env_map(&env).expect_err("refused");
            assert!(errors.to_string().contains("HTTP_WORKERS"), "{errors}");
        }
    }

    #[test]
    fn a_certificate_without_a_key_is_refused() {
        let env = EnvMap::from_pairs([("GRPC_TLS_CERT", "/etc/tls/server.crt")]);
        assert!(
            Config::from_env_map(&env)
                .expect_err("no key")
                .names("GRPC_TLS_KEY")
        );
    }

    #[test]
    fn origins_are_a_comma_separated_list() {
        let env = EnvMap::from_pairs([(
            "CORS_ALLOWED_ORIGINS",
            "https://a.example.com, https://b.example.com",
        )]);
        let config = Config::from_env_map(&env).expect("valid");
        assert_eq!(
            config.cors_origins,
            CorsOrigins::List(vec![
                "https://a.example.com".to_owned(),
                "https://b.example.com".to_owned()
            ])
        );
    }
}
