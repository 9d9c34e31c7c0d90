//! Where a proxied request goes: one of the caller's instances (picked by the load balancer, or
//! named by URL), or a URL the SSRF checks let through.

use gpuproxy_domain::UserId;
use gpuproxy_errors::ErrorCode;
use gpuproxy_proto::gpuproxy::reservation::v1 as reservation;
use std::time::{Duration, Instant};

use reqwest::Url;

use crate::Error;
use crate::data_plane::DataPlane;
use crate::data_plane::{BalancerLink, ResultReporter};

/// A chosen target.
#[derive(Debug, Clone)]
pub struct Target {
    /// The full URL.
    pub url: Url,
    /// The caller's instance it is, when it is one (its results feed the load balancer).
    pub instance_id: Option<String>,
    /// Whether the load balancer picked it (and counts the request in flight until it ends).
    pub picked: bool,
}

impl Target {
    /// Returns whether the target is one of the caller's instances (sent directly, without SSRF
    /// checks: the provider's address is where the caller's GPU is).
    pub fn is_own_instance(&self) -> bool {
        self.instance_id.is_some()
    }
}

impl DataPlane {
    /// Picks one of `user_id`'s running instances with the user's strategy, and counts a request on
    /// it: the answer names the instance and its endpoint (`base_url`).
    pub async fn pick(&self, user_id: UserId) -> Result<reservation::Target, Error> {
        let request = reservation::PickTargetRequest {
            user_id: user_id.to_string(),
        };
        match &self.balancer {
            // A lock and a few lookups in this process: nothing to time out, and no timer to set
            // on every proxied request.
            BalancerLink::InProcess(api) => api
                .pick_target(tonic::Request::new(request))
                .await
                .map(tonic::Response::into_inner)
                .map_err(Error::from),
            // Boxed so that a caller's future need not carry room for a gRPC call it never makes
            // in this process.
            BalancerLink::Grpc(client) => {
                Box::pin(self.operations.call(client.clone().pick_target(request))).await
            }
        }
    }

    /// Picks one of `user_id`'s running instances as [`DataPlane::pick`] does, with the URL of
    /// `path_and_query` on it.
    pub async fn pick_instance(&self, user_id: UserId, path_and_query: &str) -> Result<Target, Error> {
        let picked = self.pick(user_id).await?;
        let url = join(&picked.base_url, path_and_query)
            .ok_or_else(|| Error::new(ErrorCode::Internal, "an instance's endpoint is not a URL"))?;
        Ok(Target {
            url,
            instance_id: Some(picked.instance_id),
            picked: true,
        })
    }

    /// Resolves the caller's `target_url`: one of their own instances when its origin is one's
    /// endpoint, else an outside URL for the SSRF-checked client. `path` (the caller's or the
    /// protocol's default) is used when the URL names no path of its own.
    pub async fn named_target(
        &self,
        user_id: UserId,
        target_url: &str,
        path: &str,
        path_is_explicit: bool,
    ) -> Result<Target, Error> {
        let invalid = |reason: &str| {
            Error::new(ErrorCode::ValidationFailed, format!("target_url {reason}")).with_field("target_url")
        };
        let parsed =
            Url::parse(target_url.trim()).map_err(|error| invalid(&format!("is not a URL: {error}")))?;
        if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
            return Err(invalid("must be an http:// or https:// URL with a host"));
        }
        if !parsed.username().is_empty() || parsed.password().is_some() {
            return Err(invalid("must not carry credentials"));
        }
        let origin = parsed.origin().ascii_serialization();
        let own = self
            .operations
            .call(
                self.operations
                    .reservation
                    .clone()
                    .list_instances(reservation::ListInstancesRequest {
                        user_id: user_id.to_string(),
                        include_ended: false,
                    }),
            )
            .await?
            .instances
            .into_iter()
            .find(|instance| {
                instance.status == "running"
                    && Url::parse(&instance.endpoint)
                        .is_ok_and(|endpoint| endpoint.origin().ascii_serialization() == origin)
            });
        let has_own_path = parsed.path() != "/" || parsed.query().is_some();
        let url = if has_own_path && !path_is_explicit {
            parsed
        } else {
            join(origin.as_str(), &join_paths(parsed.path(), path))
                .ok_or_else(|| invalid("cannot take this path"))?
        };
        Ok(Target {
            url,
            instance_id: own.map(|instance| instance.instance_id),
            picked: false,
        })
    }

    /// Returns the ticket of a request to `target`, started now.
    pub fn ticket(&self, target: &Target) -> Ticket {
        self.ticket_for(target.instance_id.clone(), target.picked)
    }

    /// Returns the ticket of a request to the instance the balancer picked, started now.
    pub fn picked_ticket(&self, instance_id: String) -> Ticket {
        self.ticket_for(Some(instance_id), true)
    }

    fn ticket_for(&self, instance_id: Option<String>, picked: bool) -> Ticket {
        Ticket {
            results: self.results.clone(),
            instance_id,
            picked,
            started: Instant::now(),
            success: true,
            latency: None,
        }
    }
}

/// A request on its way to one of the caller's instances. It tells the load balancer how the request
/// went exactly once, when dropped, however the request ended: answered, failed, timed out, or
/// abandoned by a caller who went away (which is no fault of the instance). Until then the balancer
/// counts the request in flight.
#[derive(Debug)]
pub struct Ticket {
    results: ResultReporter,
    instance_id: Option<String>,
    picked: bool,
    started: Instant,
    success: bool,
    latency: Option<Duration>,
}

impl Ticket {
    /// Records that the instance answered (a 5xx counts as a failure); the response time is now.
    pub fn answered(&mut self, status: http::StatusCode) {
        self.latency.get_or_insert_with(|| self.started.elapsed());
        self.success &= !status.is_server_error();
    }

    /// Records that the instance failed: no answer, a broken answer, or too late.
    pub fn failed(&mut self) {
        self.latency.get_or_insert_with(|| self.started.elapsed());
        self.success = false;
    }

    /// Returns the caller's instance the request went to, when it was one.
    pub fn instance_id(&self) -> Option<&str> {
        self.instance_id.as_deref()
    }

    /// Returns the time from the start to the answer (or to now, without one).
    pub fn latency(&self) -> Duration {
        self.latency.unwrap_or_else(|| self.started.elapsed())
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        let Some(instance_id) = self.instance_id.take() else {
            return;
        };
        let request = reservation::ReportResultRequest {
            instance_id,
            success: self.success,
            latency_micros: i64::try_from(self.latency().as_micros()).unwrap_or(i64::MAX),
            picked: self.picked,
        };
        // Off the answer's path: batched with others by the reporter.
        self.results.report(request);
    }
}

/// Joins an endpoint (`http://host:port`) and a path with its query.
pub fn join(base: &str, path_and_query: &str) -> Option<Url> {
    let path = path_and_query.trim_start_matches('/');
    Url::parse(&format!("{}/{path}", base.trim_end_matches('/'))).ok()
}

fn join_paths(base: &str, path: &str) -> String {
    let base = base.trim_end_matches('/');
    if path.starts_with('/') {
        format!("{base}{path}")
    } else {
        format!("{base}/{path}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_and_paths_join_with_one_slash() {
        assert_eq!(
            join("http://10.1.2.3:8000", "/v1/chat/completions")
                .expect("url")
                .as_str(),
            "http://10.1.2.3:8000/v1/chat/completions"
        );
        assert_eq!(
            join("http://h:1/", "health?x=1").expect("url").as_str(),
            "http://h:1/health?x=1"
        );
        assert_eq!(join_paths("/", "/infer"), "/infer");
        assert_eq!(join_paths("/api", "infer"), "/api/infer");
    }
}
