//! Fault injection in front of each provider's API: latency, hangs, 429s and 500s.
//!
//! Capacity faults (`capacity_exhausted`, `vanish_before_create`) change business answers, so the
//! search and create handlers read them; everything here is transport-level and happens before
//! authentication, as a load balancer or rate limiter in front of the real API would behave.

use std::time::Duration;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::provider::SimProvider;
use crate::state::ProviderContext;

/// How long a hanging request waits: far past any client timeout, but it still ends on shutdown.
const HANG_FOR: Duration = Duration::from_secs(3600);

/// Faults one provider's API shows until they are changed; the default is a healthy API.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Faults {
    /// Milliseconds added before every API response of the provider.
    pub latency_ms: u64,
    /// Probability in 0..=1 that a request answers 500; values outside are clamped.
    pub error_rate: f64,
    /// The next N API requests answer 429; each one counts this down.
    pub rate_limit_next: u32,
    /// `Retry-After` seconds sent with those 429s; `None` sends no header, as vast.ai documents.
    pub retry_after_secs: Option<u64>,
    /// Requests never get an answer (until the simulator shuts down), to exercise client timeouts.
    pub hang: bool,
    /// Searches find nothing and creates fail as if the market were sold out.
    pub capacity_exhausted: bool,
    /// The offer being created disappears just before the create is handled.
    pub vanish_before_create: bool,
    /// Milliseconds between the provider acting on a request and its answer leaving: the rent (or
    /// destroy) has happened, but a client that gives up meanwhile never learns of it.
    pub answer_delay_ms: u64,
}

impl Faults {
    /// Returns the faults with `error_rate` clamped to a probability.
    pub(crate) fn sanitized(mut self) -> Self {
        self.error_rate = if self.error_rate.is_nan() {
            0.0
        } else {
            self.error_rate.clamp(0.0, 1.0)
        };
        self
    }
}

/// Applies the provider's transport faults, then passes the request on.
pub(crate) async fn inject_faults(
    State(context): State<ProviderContext>,
    request: Request,
    next: Next,
) -> Response {
    let faults = context.state.faults(context.provider);
    if faults.latency_ms > 0 {
        context
            .state
            .sleep_unless_shutdown(Duration::from_millis(faults.latency_ms))
            .await;
    }
    if faults.hang {
        context.state.sleep_unless_shutdown(HANG_FOR).await;
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    }
    if context.state.take_rate_limited(context.provider) {
        return too_many_requests(context.provider, faults.retry_after_secs);
    }
    if context.state.roll_server_error(faults.error_rate) {
        return server_error(context.provider);
    }
    let response = next.run(request).await;
    if faults.answer_delay_ms > 0 {
        context
            .state
            .sleep_unless_shutdown(Duration::from_millis(faults.answer_delay_ms))
            .await;
    }
    response
}

fn too_many_requests(provider: SimProvider, retry_after_secs: Option<u64>) -> Response {
    let mut response = match provider {
        // vast.ai usually answers its rate limit in plain text.
        SimProvider::VastAi => (StatusCode::TOO_MANY_REQUESTS, "API requests too frequent").into_response(),
        SimProvider::IoNet => (
            StatusCode::TOO_MANY_REQUESTS,
            axum::Json(json!({"detail": "Too Many Requests"})),
        )
            .into_response(),
    };
    if let Some(seconds) = retry_after_secs {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    }
    response
}

fn server_error(provider: SimProvider) -> Response {
    let body = match provider {
        SimProvider::VastAi => {
            let msg = "Internal server error (simulated fault)";
            json!({"success": false, "error": "server_error", "msg": msg})
        }
        SimProvider::IoNet => json!({"detail": "Internal Server Error"}),
    };
    (StatusCode::INTERNAL_SERVER_ERROR, axum::Json(body)).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_partial_body_fills_the_rest_with_defaults() {
        let faults: Faults = serde_json::from_str(r#"{"rate_limit_next": 2}"#).unwrap();
        assert_eq!(
            faults,
            Faults {
                rate_limit_next: 2,
                ..Faults::default()
            }
        );
    }

    #[test]
    fn unknown_fault_names_are_rejected() {
        assert!(serde_json::from_str::<Faults>(r#"{"latency": 5}"#).is_err());
    }

    #[test]
    fn error_rate_is_clamped_to_a_probability() {
        let faults = Faults {
            error_rate: 3.0,
            ..Faults::default()
        }
        .sanitized();
        assert_eq!(faults.error_rate, 1.0);
    }
}
