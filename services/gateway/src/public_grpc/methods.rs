//! The methods of the public API, for metric labels.

/// The gRPC service of the public API.
const SERVICE: &str = "/gpuproxy.v1.GPUProxyService/";

/// Every method of `gpuproxy.v1.GPUProxyService`; a test keeps this in step with the proto.
pub const METHODS: [&str; 16] = [
    "Login",
    "CreateAPIKey",
    "ListGPUInstances",
    "CreateGPUInstance",
    "DestroyGPUInstance",
    "GetGPUInstance",
    "ProxyRequest",
    "StreamProxyRequest",
    "CreatePayment",
    "GetTransactions",
    "GetSpendingInfo",
    "CheckSpendingLimit",
    "SetLoadBalancerStrategy",
    "GetLoadInfo",
    "ReserveGPUs",
    "HealthCheck",
];

/// KServe V2's gRPC service, served beside it.
const OPEN_INFERENCE: &str = "/inference.GRPCInferenceService/";

/// The methods of `inference.GRPCInferenceService` this server serves.
pub const OPEN_INFERENCE_METHODS: [&str; 6] = [
    "ServerLive",
    "ServerReady",
    "ModelReady",
    "ServerMetadata",
    "ModelMetadata",
    "ModelInfer",
];

/// Returns the metric label of the call at `path`: the path of a known method, `unknown` otherwise,
/// so that callers inventing method names cannot create new series.
pub fn route_label(path: &str) -> &str {
    if let Some(method) = path.strip_prefix(OPEN_INFERENCE)
        && OPEN_INFERENCE_METHODS.contains(&method)
    {
        return path;
    }
    match path.strip_prefix(SERVICE) {
        Some(method) if METHODS.contains(&method) => path,
        _ => "unknown",
    }
}

#[cfg(test)]
mod tests {
    use prost::Message;

    use super::*;

    #[test]
    fn the_list_matches_the_public_proto() {
        let set = prost_types::FileDescriptorSet::decode(gpuproxy_proto::PUBLIC_FILE_DESCRIPTOR_SET)
            .expect("descriptors");
        let mut in_proto: Vec<String> = set
            .file
            .iter()
            .flat_map(|file| &file.service)
            .filter(|service| service.name() == "GPUProxyService")
            .flat_map(|service| &service.method)
            .map(|method| method.name().to_owned())
            .collect();
        let mut listed: Vec<String> = METHODS.iter().map(|method| (*method).to_owned()).collect();
        in_proto.sort();
        listed.sort();
        assert_eq!(listed, in_proto);
    }

    #[test]
    fn invented_methods_share_one_label() {
        assert_eq!(
            route_label("/gpuproxy.v1.GPUProxyService/Login"),
            "/gpuproxy.v1.GPUProxyService/Login"
        );
        assert_eq!(route_label("/gpuproxy.v1.GPUProxyService/Whatever123"), "unknown");
        assert_eq!(route_label("/other.Service/Login"), "unknown");
    }
}
