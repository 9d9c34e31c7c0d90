//! Unique names for shared servers.

use gpuproxy_config::{NatsConfig, RedisConfig};

use crate::TestServers;

/// Every database, stream and key prefix a test creates starts with this, so the janitor can find them.
pub const TEST_NAME_PREFIX: &str = "gpuproxy_test_";

/// Returns a name no other test uses, e.g. `gpuproxy_test_0192…`.
pub fn unique_name() -> String {
    format!("{TEST_NAME_PREFIX}{}", uuid::Uuid::now_v7().simple())
}

/// Returns a Redis configuration whose keys live under a prefix of this test's own.
pub fn redis_config() -> RedisConfig {
    let servers = TestServers::from_env();
    RedisConfig::server(
        &servers.redis_host,
        servers.redis_port,
        &format!("{}:", unique_name()),
    )
}

/// Returns a NATS configuration with a subject prefix and JetStream stream of this test's own.
pub fn nats_config() -> NatsConfig {
    let servers = TestServers::from_env();
    let name = unique_name();
    NatsConfig {
        url: Some(servers.nats_url),
        stream: name.to_ascii_uppercase(),
        subject_prefix: name,
        max_age: std::time::Duration::from_secs(3600),
        connect_timeout: std::time::Duration::from_secs(5),
    }
}
