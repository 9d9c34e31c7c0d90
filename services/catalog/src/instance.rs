//! A rented instance, normalised across providers.

use std::collections::BTreeMap;

use gpuproxy_domain::Provider;
use gpuproxy_proto::gpuproxy::catalog::v1 as pb;

/// The lifecycle every provider's statuses map onto.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InstanceStatus {
    /// Accepted, not yet scheduled (vast `null`/`scheduling`, io.net `deployment requested`).
    Pending,
    /// Pulling the image or starting.
    Loading,
    /// Serving.
    Running,
    /// Stopped by request; disk kept (vast.ai only).
    Stopped,
    /// Being torn down.
    Stopping,
    /// Gone for good.
    Terminated,
    /// Exited, failed, offline: will not recover on its own.
    Failed,
    /// A status we do not know.
    Unknown,
}

impl InstanceStatus {
    /// Returns the status as the APIs show it.
    pub fn as_str(self) -> &'static str {
        match self {
            InstanceStatus::Pending => "pending",
            InstanceStatus::Loading => "loading",
            InstanceStatus::Running => "running",
            InstanceStatus::Stopped => "stopped",
            InstanceStatus::Stopping => "stopping",
            InstanceStatus::Terminated => "terminated",
            InstanceStatus::Failed => "failed",
            InstanceStatus::Unknown => "unknown",
        }
    }
}

/// What to rent.
#[derive(Debug, Clone, Default)]
pub struct CreateRequest {
    /// The offer.
    pub offer_id: String,
    /// The container image.
    pub image: String,
    /// Environment variables.
    pub env: BTreeMap<String, String>,
    /// Ports to expose; the first is io.net's traffic port. Empty means 8000.
    pub ports: Vec<u16>,
    /// Disk, GB; 0 means the default.
    pub disk_gb: u32,
    /// Written to the provider (vast `label`, io.net `resource_private_name`) so that an instance can
    /// be found again after a crash.
    pub label: String,
}

/// A rented instance.
#[derive(Debug, Clone, PartialEq)]
pub struct Instance {
    /// The provider.
    pub provider: Provider,
    /// The provider's id (vast contract id, io.net deployment UUID).
    pub instance_id: String,
    /// The normalised status.
    pub status: InstanceStatus,
    /// The provider's own status text.
    pub provider_status: String,
    /// The host to reach it on, once running.
    pub public_host: Option<String>,
    /// Internal port → base URL (`http://host:port`), once running.
    pub endpoints: BTreeMap<String, String>,
    /// The label written at creation.
    pub label: String,
}

impl Instance {
    /// Converts to the internal API's message.
    pub fn to_proto(&self) -> pb::ProviderInstance {
        let mut labels = std::collections::HashMap::new();
        if !self.label.is_empty() {
            labels.insert("label".to_owned(), self.label.clone());
        }
        labels.insert("provider_status".to_owned(), self.provider_status.clone());
        pb::ProviderInstance {
            instance_id: self.instance_id.clone(),
            provider: self.provider.as_str().to_owned(),
            offer_id: String::new(),
            status: self.status.as_str().to_owned(),
            public_host: self.public_host.clone().unwrap_or_default(),
            ports: self.endpoints.clone().into_iter().collect(),
            offer: None,
            labels,
        }
    }
}
