//! Where an internal service listens, and the fleet's shared secret (`INTERNAL_HOST`,
//! `<SERVICE>_GRPC_PORT`, `INTERNAL_API_TOKEN`).

use std::net::{IpAddr, SocketAddr};

use secrecy::{ExposeSecret, SecretString};

use crate::{Reader, ServiceSpec};

/// The shortest token accepted: 256 bits.
pub const MIN_INTERNAL_TOKEN_BYTES: usize = 32;

/// How one internal service serves its gRPC API.
#[derive(Debug, Clone)]
pub struct InternalServerConfig {
    /// `INTERNAL_HOST` and the service's port variable; `None` when it is reached in-process only.
    pub listen: Option<SocketAddr>,
    /// `INTERNAL_API_TOKEN`: callers over the network must send it.
    pub internal_token: Option<SecretString>,
    /// Developer mode: the API may listen beyond loopback without a token.
    pub developer_mode: bool,
}

impl InternalServerConfig {
    /// Reads where `service` listens.
    pub fn read(reader: &mut Reader<'_>, service: &ServiceSpec, developer_mode: bool) -> Self {
        let host = read_internal_host(reader);
        let port = reader.number(service.port_variable, service.default_port, 0..=u16::MAX);
        InternalServerConfig {
            listen: Some(SocketAddr::new(host, port)),
            internal_token: read_internal_token(reader),
            developer_mode,
        }
    }

    /// Returns a configuration that binds nothing: the service is called in-process only.
    pub fn in_process() -> Self {
        InternalServerConfig {
            listen: None,
            internal_token: None,
            developer_mode: false,
        }
    }
}

/// Reads `INTERNAL_HOST`: the address internal services listen on (loopback unless set).
pub fn read_internal_host(reader: &mut Reader<'_>) -> IpAddr {
    reader.parse::<IpAddr>("INTERNAL_HOST", IpAddr::from([127, 0, 0, 1]))
}

/// Reads `INTERNAL_API_TOKEN`, the secret every service of a fleet sends and checks on internal
/// gRPC calls. Services that call and services that are called read the same variable.
pub fn read_internal_token(reader: &mut Reader<'_>) -> Option<SecretString> {
    let token = reader.secret("INTERNAL_API_TOKEN")?;
    let text = token.expose_secret();
    if text.len() < MIN_INTERNAL_TOKEN_BYTES || !text.bytes().all(|byte| byte.is_ascii_graphic()) {
        reader.invalid(
            "INTERNAL_API_TOKEN",
            None,
            format!(
                "must be at least {MIN_INTERNAL_TOKEN_BYTES} printable characters; generate one with: openssl rand -base64 48"
            ),
        );
    }
    Some(token)
}
