//! `PROXY_REQUEST_COST`: a price per proxied request, charged through the one money path
//! (`gpuproxy-spending`) before the request goes out; a refusal is a 402 and nothing is sent.

use gpuproxy_domain::UserId;
use gpuproxy_spending::Charge;

use crate::Error;
use crate::data_plane::DataPlane;

impl DataPlane {
    /// Charges `user_id` for one proxied request; does nothing when requests are free.
    pub async fn charge_request(&self, user_id: UserId, what: &str) -> Result<(), Error> {
        let cost = self.proxy.config.request_cost_micros;
        if cost == 0 {
            return Ok(());
        }
        // Boxed: two gRPC calls' state would otherwise enlarge every proxied request's future,
        // priced or not.
        Box::pin(async move {
            let key = format!("request:{}", uuid::Uuid::now_v7());
            let charge = Charge {
                user_id,
                cost_micros: cost,
                idempotency_key: &key,
                description: what,
                kind: "request",
            };
            Ok(self.spending.charge(charge).await?)
        })
        .await
    }
}
