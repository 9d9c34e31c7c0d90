//! Where a subscription may send: the proxy's SSRF rules, checked when it is created (and again,
//! by the egress client, at every delivery and redirect).

use gpuproxy_egress::{EgressClient, EgressError, Lookup, Route, is_forbidden_address};
use reqwest::Url;

use crate::error::Error;

/// Longest URL accepted.
const MAX_URL_LEN: usize = 2048;

/// Returns the URL when it is an http(s) URL that resolves to public addresses only, or to a host
/// the operator allow-listed.
pub async fn check(client: &EgressClient, text: &str) -> Result<Url, Error> {
    let text = text.trim();
    if text.is_empty() {
        return Err(Error::invalid("url", "is required"));
    }
    if text.len() > MAX_URL_LEN {
        return Err(Error::invalid(
            "url",
            format!("is longer than {MAX_URL_LEN} characters"),
        ));
    }
    let url = Url::parse(text).map_err(|error| Error::invalid("url", format!("is not a URL: {error}")))?;
    let route = client.check_url(&url).map_err(refusal)?;
    if route == Route::AllowListed {
        return Ok(url);
    }
    // A literal address was judged by check_url; a name is judged by what it resolves to now (and
    // again at every delivery, since DNS answers change).
    let host = url.host_str().unwrap_or_default().trim_matches(['[', ']']);
    if host.parse::<std::net::IpAddr>().is_ok() {
        return Ok(url);
    }
    let addresses = Lookup::System
        .resolve(host)
        .await
        .map_err(|_| Error::invalid("url", format!("names a host that does not resolve: {host}")))?;
    if let Some(address) = addresses
        .into_iter()
        .find(|address| is_forbidden_address(*address))
    {
        return Err(Error::TargetForbidden(forbidden(
            host,
            &format!("resolves to {address}, which is not a public address"),
        )));
    }
    Ok(url)
}

/// Says why a webhook may not reach `target` (the egress client's own words are the proxy's).
pub(crate) fn forbidden(target: &str, reason: &str) -> String {
    format!("{target} {reason}; webhooks only reach public addresses and allow-listed hosts")
}

fn refusal(error: EgressError) -> Error {
    match error {
        EgressError::Forbidden { target, reason } => Error::TargetForbidden(forbidden(&target, &reason)),
        other => Error::invalid("url", other.to_string()),
    }
}
