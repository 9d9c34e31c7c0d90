//! The provider clients behind one interface.

pub mod breaker;
pub mod http;
pub mod ionet;
pub mod metrics;
pub mod stats;
pub mod vastai;

use gpuproxy_domain::Provider;

use crate::error::ProviderError;
use crate::instance::{CreateRequest, Instance};
use crate::offer::Offer;
use crate::providers::http::ProviderHttp;
use crate::providers::ionet::IoNetClient;
use crate::providers::vastai::VastAiClient;

/// A configured provider's client.
#[derive(Debug, Clone)]
pub enum ProviderClient {
    /// vast.ai.
    VastAi(VastAiClient),
    /// io.net.
    IoNet(IoNetClient),
}

impl ProviderClient {
    /// Returns the provider.
    pub fn provider(&self) -> Provider {
        self.http().provider()
    }

    /// Returns the transport (breaker, figures).
    pub fn http(&self) -> &ProviderHttp {
        match self {
            ProviderClient::VastAi(client) => client.http(),
            ProviderClient::IoNet(client) => client.http(),
        }
    }

    /// Lists every offer the provider has.
    pub async fn search_offers(&self) -> Result<Vec<Offer>, ProviderError> {
        match self {
            ProviderClient::VastAi(client) => client.search_offers().await,
            ProviderClient::IoNet(client) => client.search_offers().await,
        }
    }

    /// Looks one offer up at the provider.
    pub async fn find_offer(&self, offer_id: &str) -> Result<Option<Offer>, ProviderError> {
        match self {
            ProviderClient::VastAi(client) => client.find_offer(offer_id).await,
            ProviderClient::IoNet(client) => client.find_offer(offer_id).await,
        }
    }

    /// Rents an offer; returns the instance id.
    pub async fn create_instance(&self, request: &CreateRequest) -> Result<String, ProviderError> {
        match self {
            ProviderClient::VastAi(client) => client.create_instance(request).await,
            ProviderClient::IoNet(client) => client.create_instance(request).await,
        }
    }

    /// Returns one instance.
    pub async fn get_instance(&self, instance_id: &str) -> Result<Instance, ProviderError> {
        match self {
            ProviderClient::VastAi(client) => client.get_instance(instance_id).await,
            ProviderClient::IoNet(client) => client.get_instance(instance_id).await,
        }
    }

    /// Lists our instances at the provider.
    pub async fn list_instances(&self) -> Result<Vec<Instance>, ProviderError> {
        match self {
            ProviderClient::VastAi(client) => client.list_instances().await,
            ProviderClient::IoNet(client) => client.list_instances().await,
        }
    }

    /// Destroys an instance (already gone counts as destroyed).
    pub async fn destroy_instance(&self, instance_id: &str) -> Result<(), ProviderError> {
        match self {
            ProviderClient::VastAi(client) => client.destroy_instance(instance_id).await,
            ProviderClient::IoNet(client) => client.destroy_instance(instance_id).await,
        }
    }
}
