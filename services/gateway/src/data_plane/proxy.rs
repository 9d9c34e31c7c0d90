//! The two ways out of the data plane: to the caller's own instances and, SSRF-checked, to
//! anything else; and a proxied request's time limit.

use std::time::Duration;

use gpuproxy_egress::EgressClient;
use gpuproxy_errors::ErrorCode;

use super::instance_connections::InstanceConnections;
use crate::Error;
use crate::config::ProxyConfig;

/// The header that bounds a proxied request, in seconds.
pub const TIMELIMIT_HEADER: http::HeaderName = http::HeaderName::from_static("x-timelimit");

/// How long connecting to an instance may take.
const INSTANCE_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The two ways out: to the caller's own instances (the providers' addresses, trusted) and to
/// anything else (checked against SSRF). Cheap to clone.
#[derive(Debug, Clone)]
pub struct Proxy {
    /// User-supplied targets: refuses non-public addresses unless allow-listed, re-checks redirects.
    pub egress: EgressClient,
    /// The caller's own instances, found through the reservation service; follows no redirects.
    pub direct: reqwest::Client,
    /// Kept-alive connections to `http://` instances for the streaming route.
    pub instances: InstanceConnections,
    /// Bounds.
    pub config: ProxyConfig,
}

impl Proxy {
    /// Builds both clients.
    pub fn new(config: ProxyConfig) -> anyhow::Result<Self> {
        let egress = EgressClient::new(config.allowed_hosts.clone())?;
        let direct = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(INSTANCE_CONNECT_TIMEOUT)
            .pool_max_idle_per_host(256)
            .tcp_nodelay(true)
            .build()?;
        Ok(Proxy {
            egress,
            direct,
            instances: InstanceConnections::new(INSTANCE_CONNECT_TIMEOUT),
            config,
        })
    }

    /// The same ways out with connections to instances of its own, for one REST worker.
    pub fn for_worker(&self) -> Self {
        Proxy {
            instances: InstanceConnections::new(INSTANCE_CONNECT_TIMEOUT),
            ..self.clone()
        }
    }

    /// Returns the time limit of a request: the caller's (`timeout` or `X-Timelimit`, the smaller
    /// wins), else `PROXY_TIMEOUT`; at most `PROXY_MAX_TIMEOUT`.
    pub fn time_limit(
        &self,
        body_seconds: Option<u64>,
        header: Option<&http::HeaderValue>,
    ) -> Result<Duration, Error> {
        let header_seconds = match header {
            None => None,
            Some(value) => Some(
                value
                    .to_str()
                    .ok()
                    .and_then(|text| text.trim().parse::<f64>().ok())
                    .filter(|seconds| seconds.is_finite() && *seconds > 0.0)
                    .ok_or_else(|| {
                        Error::new(
                            ErrorCode::ValidationFailed,
                            "X-Timelimit must be a positive number of seconds",
                        )
                        .with_field("X-Timelimit")
                    })?,
            ),
        };
        let body_seconds = body_seconds
            .filter(|seconds| *seconds > 0)
            .map(|seconds| seconds as f64);
        let asked = match (body_seconds, header_seconds) {
            (Some(body), Some(header)) => Some(body.min(header)),
            (one, other) => one.or(other),
        };
        let limit = asked.map_or(self.config.default_timeout, |seconds| {
            Duration::try_from_secs_f64(seconds).unwrap_or(self.config.max_timeout)
        });
        Ok(limit.min(self.config.max_timeout))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn proxy() -> Proxy {
        Proxy::new(ProxyConfig {
            allowed_hosts: gpuproxy_egress::EgressPolicy::default(),
            default_timeout: Duration::from_secs(60),
            max_timeout: Duration::from_secs(600),
            max_response_bytes: 1 << 20,
            request_cost_micros: 0,
        })
        .expect("clients build")
    }

    #[test]
    fn the_smaller_time_limit_wins_within_the_maximum() {
        let proxy = proxy();
        let header = http::HeaderValue::from_static("2.5");
        assert_eq!(
            proxy.time_limit(Some(10), Some(&header)).expect("valid"),
            Duration::from_millis(2500)
        );
        assert_eq!(
            proxy.time_limit(None, None).expect("valid"),
            Duration::from_secs(60)
        );
        assert_eq!(
            proxy.time_limit(Some(100_000), None).expect("valid"),
            Duration::from_secs(600)
        );
        let bad = http::HeaderValue::from_static("soon");
        assert_eq!(
            proxy.time_limit(None, Some(&bad)).expect_err("refused").code(),
            ErrorCode::ValidationFailed
        );
    }
}
