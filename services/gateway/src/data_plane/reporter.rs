//! Results of proxied requests on their way to the load balancer, batched: under load one internal
//! call carries hundreds of results, and a proxied request never waits for it.

use gpuproxy_proto::gpuproxy::reservation::v1 as reservation;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::BalancerLink;

/// The most results one call carries.
const BATCH: usize = 1024;
/// How long the flusher lets results gather after the first arrives. Without the pause, under
/// load it woke for almost every request (a hand-off between threads each time); with it, one
/// wake-up carries a millisecond's worth. The balancer sees requests end this much later.
const GATHER: std::time::Duration = std::time::Duration::from_millis(1);

/// Where tickets drop their results. Cheap to clone.
#[derive(Debug, Clone)]
pub struct ResultReporter {
    sender: mpsc::UnboundedSender<reservation::ReportResultRequest>,
}

/// The other end: sends what was reported, in batches, until shutdown.
#[derive(Debug)]
pub struct ResultFlusher {
    receiver: mpsc::UnboundedReceiver<reservation::ReportResultRequest>,
    balancer: BalancerLink,
    timeout: std::time::Duration,
}

/// Returns both ends. The channel is unbounded because a dropped result would leave a request
/// counted in flight forever; the flusher drains it as fast as results arrive.
pub fn result_reporter(
    balancer: BalancerLink,
    timeout: std::time::Duration,
) -> (ResultReporter, ResultFlusher) {
    let (sender, receiver) = mpsc::unbounded_channel();
    (
        ResultReporter { sender },
        ResultFlusher {
            receiver,
            balancer,
            timeout,
        },
    )
}

impl ResultReporter {
    /// Queues one result.
    pub fn report(&self, result: reservation::ReportResultRequest) {
        // Fails only once the flusher has stopped, at shutdown, when results no longer matter.
        let _ = self.sender.send(result);
    }
}

impl ResultFlusher {
    /// Sends results as they come: each call takes everything queued within `GATHER` of the first
    /// (up to `BATCH`).
    pub async fn run(mut self, shutdown: CancellationToken) -> anyhow::Result<()> {
        loop {
            let first = tokio::select! {
                () = shutdown.cancelled() => return Ok(()),
                first = self.receiver.recv() => first,
            };
            let Some(first) = first else {
                return Ok(());
            };
            tokio::select! {
                () = shutdown.cancelled() => {}
                () = tokio::time::sleep(GATHER) => {}
            }
            let mut results = vec![first];
            while results.len() < BATCH {
                match self.receiver.try_recv() {
                    Ok(result) => results.push(result),
                    Err(_) => break,
                }
            }
            let count = results.len();
            let call = self
                .balancer
                .report_results(reservation::ReportResultsRequest { results });
            match tokio::time::timeout(self.timeout, call).await {
                Ok(Ok(_)) => {}
                Ok(Err(status)) => tracing::debug!(%status, count, "reporting proxied results failed"),
                Err(_) => tracing::debug!(count, "reporting proxied results timed out"),
            }
        }
    }
}
