//! Generated code for every `.proto` under `proto/`, and the descriptor sets that gRPC reflection serves.
//!
//! Layout: modules mirror proto packages (`gpuproxy::v1` is the public API, `gpuproxy::<service>::v1` the
//! internal ones, `gpuproxy::events::v1` the event payloads). The public and internal descriptor sets are
//! kept apart so that the public server's reflection never lists internal services.

/// Descriptor set of the public API (`gpuproxy.v1` and KServe V2's `inference`), for the public
/// server's reflection.
pub const PUBLIC_FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/public_descriptor.bin"));

/// Descriptor set of the internal services and event payloads, for the internal servers' reflection.
pub const INTERNAL_FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/internal_descriptor.bin"));

/// Generated modules, one per proto package.
#[allow(
    clippy::all,
    clippy::pedantic,
    missing_debug_implementations,
    reason = "generated code"
)]
pub mod gpuproxy {
    /// The public API served by the gateway.
    pub mod v1 {
        tonic::include_proto!("gpuproxy.v1");
    }
    /// Internal API of the auth service.
    pub mod auth {
        pub mod v1 {
            tonic::include_proto!("gpuproxy.auth.v1");
        }
    }
    /// Internal API of the provider catalog.
    pub mod catalog {
        pub mod v1 {
            tonic::include_proto!("gpuproxy.catalog.v1");
        }
    }
    /// Internal API of the reservation service and load balancer.
    pub mod reservation {
        pub mod v1 {
            tonic::include_proto!("gpuproxy.reservation.v1");
        }
    }
    /// Internal API of the billing service.
    pub mod billing {
        pub mod v1 {
            tonic::include_proto!("gpuproxy.billing.v1");
        }
    }
    /// Internal API of the guard rails.
    pub mod guardrails {
        pub mod v1 {
            tonic::include_proto!("gpuproxy.guardrails.v1");
        }
    }
    /// Internal API of the webhooks service.
    pub mod webhooks {
        pub mod v1 {
            tonic::include_proto!("gpuproxy.webhooks.v1");
        }
    }
    /// Internal API of the agents service.
    pub mod agents {
        pub mod v1 {
            tonic::include_proto!("gpuproxy.agents.v1");
        }
    }
    /// Internal API of the ML inference service.
    pub mod inference {
        pub mod v1 {
            tonic::include_proto!("gpuproxy.inference.v1");
        }
    }
    /// Domain event payloads, serialised as JSON on the bus.
    pub mod events {
        pub mod v1 {
            tonic::include_proto!("gpuproxy.events.v1");
        }
    }
}

/// KServe V2, the Open Inference Protocol over gRPC (package `inference`), served by the gateway.
#[allow(
    clippy::all,
    clippy::pedantic,
    missing_debug_implementations,
    reason = "generated code"
)]
pub mod kserve {
    tonic::include_proto!("inference");
}
