//! The load balancer's two calls on every proxied request: `PickTarget` before it
//! (`AppState::pick`) and `ReportResults` after it. In the fleet they go to the reservation service over gRPC. Embedded,
//! the reservation service runs in this process and its API is called as it is, without encoding
//! the messages into gRPC frames and back: on the streaming route that encoding cost several times
//! the pick itself.

use std::sync::Arc;

use gpuproxy_proto::gpuproxy::reservation::v1 as reservation;
use gpuproxy_proto::gpuproxy::reservation::v1::reservation_service_client::ReservationServiceClient;
use gpuproxy_proto::gpuproxy::reservation::v1::reservation_service_server::ReservationService;
use gpuproxy_server::GrpcChannel;

/// The reservation service's API in this process, handed to the gateway by the embedded server.
#[derive(Clone)]
pub struct InProcessReservations(pub Arc<dyn ReservationService>);

impl std::fmt::Debug for InProcessReservations {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("InProcessReservations")
    }
}

/// How the gateway reaches the load balancer. Cheap to clone.
#[derive(Clone)]
pub enum BalancerLink {
    /// The reservation service, over gRPC.
    Grpc(ReservationServiceClient<GrpcChannel>),
    /// The reservation service's API in this process.
    InProcess(Arc<dyn ReservationService>),
}

impl std::fmt::Debug for BalancerLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            BalancerLink::Grpc(_) => "BalancerLink::Grpc",
            BalancerLink::InProcess(_) => "BalancerLink::InProcess",
        })
    }
}

impl BalancerLink {
    /// Returns the in-process link when `in_process` is given, else the gRPC one.
    pub fn new(
        client: ReservationServiceClient<GrpcChannel>,
        in_process: Option<InProcessReservations>,
    ) -> Self {
        in_process.map_or(BalancerLink::Grpc(client), |api| BalancerLink::InProcess(api.0))
    }

    /// Ends requests counted by picks (or records ones sent by URL).
    pub async fn report_results(
        &self,
        request: reservation::ReportResultsRequest,
    ) -> Result<tonic::Response<reservation::ReportResultResponse>, tonic::Status> {
        match self {
            BalancerLink::Grpc(client) => client.clone().report_results(request).await,
            BalancerLink::InProcess(api) => api.report_results(tonic::Request::new(request)).await,
        }
    }
}
