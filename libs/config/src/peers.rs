//! Where the other services of the fleet are (`<SERVICE>_SERVICE_URL`).

use secrecy::SecretString;

use crate::{Reader, SERVICES, ServiceSpec, read_internal_token};

/// The URL of every internal service, and the token sent to them.
#[derive(Debug, Clone)]
pub struct PeersConfig {
    /// Each service of the table with its URL (`http://host:port`), in the table's order.
    pub urls: Vec<(&'static ServiceSpec, String)>,
    /// `INTERNAL_API_TOKEN`: sent with every call.
    pub internal_token: Option<SecretString>,
}

impl PeersConfig {
    /// Reads every service's URL variable; a service whose variable is not set is looked for on its
    /// default port on loopback.
    pub fn read(reader: &mut Reader<'_>) -> Self {
        let urls = SERVICES
            .into_iter()
            .map(|spec| {
                let url = reader.string(spec.url_variable, &spec.default_url());
                crate::check_http_url(reader, spec.url_variable, &url);
                (spec, url)
            })
            .collect();
        PeersConfig {
            urls,
            internal_token: read_internal_token(reader),
        }
    }

    /// Returns the URL of `service`.
    pub fn url(&self, service: &ServiceSpec) -> Option<&str> {
        self.urls
            .iter()
            .find(|(spec, _)| *spec == service)
            .map(|(_, url)| url.as_str())
    }
}
