//! NATS variables (`NATS_*`).

use std::time::Duration;

use crate::Reader;

/// Where events go. Without `NATS_URL` they travel on an in-process bus: the embedded default.
#[derive(Debug, Clone)]
pub struct NatsConfig {
    /// `None` = in-process bus.
    pub url: Option<String>,
    /// The JetStream stream that keeps events (`NATS_STREAM`).
    pub stream: String,
    /// The first token of every subject (`NATS_SUBJECT_PREFIX`); events are `<prefix>.<domain>.<event>`.
    pub subject_prefix: String,
    /// How long the stream keeps an event (`NATS_STREAM_MAX_AGE`).
    pub max_age: Duration,
    /// How long to wait for the server (`NATS_CONNECT_TIMEOUT`).
    pub connect_timeout: Duration,
}

impl NatsConfig {
    /// Reads the NATS variables.
    pub fn read(reader: &mut Reader<'_>) -> Self {
        let url = reader.optional_string("NATS_URL");
        let stream = reader.string("NATS_STREAM", "GPUPROXY");
        if !stream
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || byte == b'_' || byte == b'-')
        {
            reader.invalid(
                "NATS_STREAM",
                Some(&stream),
                "use letters, digits, '_' and '-' only",
            );
        }
        let subject_prefix = reader.string("NATS_SUBJECT_PREFIX", "gpuproxy");
        if subject_prefix.is_empty() || subject_prefix.contains(['.', '*', '>', ' ']) {
            reader.invalid(
                "NATS_SUBJECT_PREFIX",
                Some(&subject_prefix),
                "use one subject token, without '.', '*' or '>'",
            );
        }
        NatsConfig {
            url,
            stream,
            subject_prefix,
            max_age: reader.duration("NATS_STREAM_MAX_AGE", Duration::from_secs(7 * 86_400)),
            connect_timeout: reader.duration("NATS_CONNECT_TIMEOUT", Duration::from_secs(5)),
        }
    }

    /// Returns a configuration for the in-process bus, for tests.
    pub fn in_process() -> Self {
        NatsConfig {
            url: None,
            stream: "GPUPROXY".to_owned(),
            subject_prefix: "gpuproxy".to_owned(),
            max_age: Duration::from_secs(7 * 86_400),
            connect_timeout: Duration::from_secs(5),
        }
    }
}
