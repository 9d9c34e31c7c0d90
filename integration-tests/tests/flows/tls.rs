//! Public gRPC over TLS when GRPC_TLS_CERT and GRPC_TLS_KEY are set.

use gpuproxy_integration_tests::{Mode, TestFleet};
use gpuproxy_proto::gpuproxy::v1 as public;
use gpuproxy_proto::gpuproxy::v1::gpu_proxy_service_client::GpuProxyServiceClient;
use tonic::transport::{Certificate, ClientTlsConfig, Endpoint};

async fn grpc_is_served_over_tls_when_a_certificate_is_configured(mode: Mode) {
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).expect("a certificate");
    let dir = tempfile::tempdir().expect("a temp dir");
    let (cert_path, key_path) = (dir.path().join("server.crt"), dir.path().join("server.key"));
    std::fs::write(&cert_path, certified.cert.pem()).expect("write");
    std::fs::write(&key_path, certified.signing_key.serialize_pem()).expect("write");
    let fleet = TestFleet::start_with(
        mode,
        &[
            ("GRPC_TLS_CERT", cert_path.to_str().expect("path")),
            ("GRPC_TLS_KEY", key_path.to_str().expect("path")),
        ],
    )
    .await;
    let port = fleet.gateways[0].grpc_addr.port();
    assert!(fleet.gateways[0].grpc.starts_with("https://"));

    let tls = ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(certified.cert.pem()))
        .domain_name("localhost");
    let channel = Endpoint::from_shared(format!("https://localhost:{port}"))
        .expect("endpoint")
        .tls_config(tls)
        .expect("tls")
        .connect()
        .await
        .expect("a TLS connection");
    let health = GpuProxyServiceClient::new(channel)
        .health_check(public::HealthCheckRequest {})
        .await
        .expect("answered");
    assert_eq!(health.into_inner().status, "ok");

    let plaintext = Endpoint::from_shared(format!("http://127.0.0.1:{port}"))
        .expect("endpoint")
        .connect()
        .await;
    let refused = match plaintext {
        Err(_) => true,
        Ok(channel) => GpuProxyServiceClient::new(channel)
            .health_check(public::HealthCheckRequest {})
            .await
            .is_err(),
    };
    assert!(refused, "a plaintext client gets nothing from a TLS server");
}

crate::in_both_modes!(grpc_is_served_over_tls_when_a_certificate_is_configured);
