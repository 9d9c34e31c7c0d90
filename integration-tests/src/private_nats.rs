//! A NATS server of the test's own, which the test may stop and start again (the shared one on
//! 4222 must keep running for the other tests).

#![allow(
    clippy::expect_used,
    clippy::panic,
    reason = "test fixtures fail the test that uses them, loudly"
)]

use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A `nats-server -js` on a free loopback port, keeping its JetStream store in a temp dir across
/// restarts.
#[derive(Debug)]
pub struct PrivateNats {
    /// `nats://127.0.0.1:<port>`.
    pub url: String,
    port: u16,
    store: tempfile::TempDir,
    child: Option<Child>,
}

impl Drop for PrivateNats {
    fn drop(&mut self) {
        self.stop();
    }
}

fn binary() -> String {
    for candidate in [
        "/usr/sbin/nats-server",
        "/usr/bin/nats-server",
        "/usr/local/bin/nats-server",
    ] {
        if std::path::Path::new(candidate).exists() {
            return candidate.to_owned();
        }
    }
    "nats-server".to_owned()
}

impl PrivateNats {
    /// Starts the server and waits until it accepts connections.
    pub async fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a free port")
            .port();
        let mut nats = PrivateNats {
            url: format!("nats://127.0.0.1:{port}"),
            port,
            store: tempfile::tempdir().expect("a temp dir"),
            child: None,
        };
        nats.resume().await;
        nats
    }

    /// Stops the server (SIGKILL: as abrupt as an outage).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same port and store.
    pub async fn resume(&mut self) {
        assert!(self.child.is_none(), "already running");
        let child = Command::new(binary())
            .args(["-a", "127.0.0.1", "-p", &self.port.to_string(), "-js", "-sd"])
            .arg(self.store.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|error| panic!("starting nats-server (scripts/test.sh installs it): {error}"));
        self.child = Some(child);
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while tokio::net::TcpStream::connect(("127.0.0.1", self.port))
            .await
            .is_err()
        {
            assert!(
                tokio::time::Instant::now() < deadline,
                "nats-server listens within 10 s"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}
