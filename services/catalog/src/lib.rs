//! The provider catalog: one normalised, cached view of the vast.ai and io.net marketplaces, and
//! the calls that rent, inspect and destroy instances there.
//!
//! Layout: `providers/` holds the HTTP transport (retries, breaker, metrics) and one client per
//! provider with its wire shapes; `cache.rs` keeps each provider's offers; `query.rs` validates and
//! applies listing filters; `catalog.rs` holds the use cases; `grpc.rs` is the internal API;
//! `app.rs` builds and runs the service.

mod app;
mod cache;
mod catalog;
mod config;
mod error;
mod grpc;
mod instance;
mod offer;
mod providers;
mod query;

pub use app::App;
pub use catalog::{Catalog, Listing, ProviderHealth};
pub use config::{BreakerSettings, Config, MarketplaceConfig, RetryPolicy};
pub use error::{Error, ProviderError};
pub use instance::{CreateRequest, Instance, InstanceStatus};
pub use offer::{MetaValue, Offer};
pub use query::{DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, Query, SortKey, parse_provider};
