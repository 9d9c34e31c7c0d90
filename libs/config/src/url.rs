//! Checks shared by the sections that take URLs.

use crate::Reader;

/// Records `name` as invalid unless `url` is an absolute http(s) URL with a host.
pub fn check_http_url(reader: &mut Reader<'_>, name: &str, url: &str) {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"));
    let has_host = rest.is_some_and(|rest| !rest.is_empty() && !rest.starts_with('/'));
    if !has_host {
        reader.invalid(name, Some(url), "expected an absolute http:// or https:// URL");
    }
}
