//! Shipping log lines to syslog.

use std::io::Write;
use std::sync::mpsc::{Receiver, SyncSender, TrySendError};

use gpuproxy_config::{SyslogConfig, SyslogNetwork};
use syslog::{Facility, Formatter3164, Logger, LoggerBackend};
use tracing::Level;
use tracing_subscriber::fmt::MakeWriter;

/// Lines waiting for the syslog thread; beyond this, lines are dropped rather than block requests.
const QUEUE_LEN: usize = 4096;

/// A [`MakeWriter`] that hands each formatted event, with its level, to a dedicated thread that
/// sends it to syslog (RFC 3164, over the local socket, UDP or TCP).
#[derive(Debug, Clone)]
pub(crate) struct SyslogWriter {
    sender: SyncSender<(Level, Vec<u8>)>,
}

/// Collects one event's text; sends it when dropped, which the fmt layer does after each event.
#[derive(Debug)]
pub(crate) struct SyslogLine {
    sender: SyncSender<(Level, Vec<u8>)>,
    level: Level,
    text: Vec<u8>,
}

impl SyslogWriter {
    /// Connects to the syslog daemon described by `config` and starts the sending thread.
    pub(crate) fn connect(config: &SyslogConfig) -> anyhow::Result<Self> {
        let facility: Facility = config
            .facility
            .parse()
            .map_err(|()| anyhow::anyhow!("SYSLOG_FACILITY {} is not a facility", config.facility))?;
        let formatter = Formatter3164 {
            facility,
            hostname: None,
            process: config.tag.clone(),
            pid: std::process::id(),
        };
        let logger = match (config.network, config.address.as_deref()) {
            (SyslogNetwork::Unix, None) => syslog::unix(formatter),
            (SyslogNetwork::Unix, Some(path)) => syslog::unix_custom(formatter, path),
            (SyslogNetwork::Udp, Some(address)) => syslog::udp(formatter, "0.0.0.0:0", address),
            (SyslogNetwork::Tcp, Some(address)) => syslog::tcp(formatter, address),
            (SyslogNetwork::Udp | SyslogNetwork::Tcp, None) => {
                anyhow::bail!("SYSLOG_ADDRESS is required for SYSLOG_NETWORK=udp or tcp")
            }
        }
        .map_err(|error| anyhow::anyhow!("cannot connect to syslog: {error}"))?;
        let (sender, receiver) = std::sync::mpsc::sync_channel(QUEUE_LEN);
        std::thread::Builder::new()
            .name("syslog".to_owned())
            .spawn(move || send_lines(logger, &receiver))?;
        Ok(SyslogWriter { sender })
    }
}

fn send_lines(mut logger: Logger<LoggerBackend, Formatter3164>, receiver: &Receiver<(Level, Vec<u8>)>) {
    for (level, text) in receiver {
        let line = String::from_utf8_lossy(&text);
        let line = line.trim_end();
        let sent = match level {
            Level::ERROR => logger.err(line),
            Level::WARN => logger.warning(line),
            Level::INFO => logger.info(line),
            Level::DEBUG | Level::TRACE => logger.debug(line),
        };
        if sent.is_err() {
            // Nowhere else to report it: the logger is the reporting channel. Drop the line.
            continue;
        }
    }
}

impl<'writer> MakeWriter<'writer> for SyslogWriter {
    type Writer = SyslogLine;

    fn make_writer(&'writer self) -> Self::Writer {
        self.line(Level::INFO)
    }

    fn make_writer_for(&'writer self, meta: &tracing::Metadata<'_>) -> Self::Writer {
        self.line(*meta.level())
    }
}

impl SyslogWriter {
    fn line(&self, level: Level) -> SyslogLine {
        SyslogLine {
            sender: self.sender.clone(),
            level,
            text: Vec::with_capacity(256),
        }
    }
}

impl Write for SyslogLine {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.text.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for SyslogLine {
    fn drop(&mut self) {
        if self.text.is_empty() {
            return;
        }
        let text = std::mem::take(&mut self.text);
        match self.sender.try_send((self.level, text)) {
            Ok(()) | Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_reach_a_udp_syslog_server_with_priority_and_tag() {
        let server = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind");
        server
            .set_read_timeout(Some(std::time::Duration::from_secs(5)))
            .expect("timeout");
        let config = SyslogConfig {
            network: SyslogNetwork::Udp,
            address: Some(server.local_addr().expect("addr").to_string()),
            tag: "aiserve-gpuproxy".to_owned(),
            facility: "LOG_LOCAL0".to_owned(),
        };
        let writer = SyslogWriter::connect(&config).expect("connected");
        let mut line = writer.line(Level::WARN);
        line.write_all(b"disk almost full\n").expect("buffered");
        drop(line);

        let mut buf = [0u8; 1024];
        let len = server.recv(&mut buf).expect("a datagram");
        let datagram = String::from_utf8_lossy(&buf[..len]);
        // local0 (16) * 8 + warning (4) = 132
        assert!(datagram.starts_with("<132>"), "{datagram}");
        assert!(datagram.contains("aiserve-gpuproxy["), "{datagram}");
        assert!(datagram.ends_with("disk almost full"), "{datagram}");
    }
}
