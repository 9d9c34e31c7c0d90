//! The internal gRPC API: converts messages to use-case calls and back.

use gpuproxy_domain::UserId;
use gpuproxy_proto::gpuproxy::reservation::v1 as pb;
use gpuproxy_proto::gpuproxy::reservation::v1::reservation_service_server::ReservationService;
use tonic::{Request, Response, Status};

use crate::error::Error;
use crate::service::Reservations;

/// The gRPC face of [`Reservations`].
#[derive(Debug, Clone)]
pub struct GrpcReservations {
    service: Reservations,
}

impl GrpcReservations {
    /// Wraps `service`.
    pub fn new(service: Reservations) -> Self {
        GrpcReservations { service }
    }

    /// Runs a use case that rents as a task of its own, so a caller that gives up (a closed
    /// connection, a gateway timeout) does not abandon rents the providers may already be making.
    async fn detached<T: Send + 'static>(
        &self,
        work: impl Future<Output = Result<T, Error>> + Send + 'static,
    ) -> Result<T, Status> {
        self.service
            .inner
            .tracker
            .spawn(work)
            .await
            .map_err(|error| {
                Status::from(Error::Internal(anyhow::anyhow!(
                    "a reservation task ended abnormally: {error}"
                )))
            })?
            .map_err(Status::from)
    }
}

fn user(text: &str) -> Result<UserId, Error> {
    Ok(text.parse()?)
}

#[tonic::async_trait]
impl ReservationService for GrpcReservations {
    async fn create_instance(
        &self,
        request: Request<pb::CreateInstanceRequest>,
    ) -> Result<Response<pb::Instance>, Status> {
        let request = request.into_inner();
        let service = self.service.clone();
        let created = self
            .detached(async move { service.create_instance(request).await })
            .await?;
        Ok(Response::new(created))
    }

    async fn get_instance(
        &self,
        request: Request<pb::GetInstanceRequest>,
    ) -> Result<Response<pb::Instance>, Status> {
        let request = request.into_inner();
        let user_id = user(&request.user_id)?;
        let instance = self
            .service
            .get_instance(user_id, &request.provider, &request.instance_id)
            .await?;
        Ok(Response::new(instance))
    }

    async fn list_instances(
        &self,
        request: Request<pb::ListInstancesRequest>,
    ) -> Result<Response<pb::ListInstancesResponse>, Status> {
        let request = request.into_inner();
        let user_id = user(&request.user_id)?;
        let instances = self
            .service
            .list_instances(user_id, request.include_ended)
            .await?;
        Ok(Response::new(pb::ListInstancesResponse { instances }))
    }

    async fn destroy_instance(
        &self,
        request: Request<pb::DestroyInstanceRequest>,
    ) -> Result<Response<pb::DestroyInstanceResponse>, Status> {
        let request = request.into_inner();
        let user_id = user(&request.user_id)?;
        let service = self.service.clone();
        let terminated = self
            .detached(async move {
                service
                    .destroy_instance(user_id, &request.provider, &request.instance_id)
                    .await
            })
            .await?;
        Ok(Response::new(pb::DestroyInstanceResponse { terminated }))
    }

    async fn reserve(
        &self,
        request: Request<pb::ReserveRequest>,
    ) -> Result<Response<pb::ReserveResponse>, Status> {
        let request = request.into_inner();
        let service = self.service.clone();
        let reserved = self
            .detached(async move { service.reserve(request).await })
            .await?;
        Ok(Response::new(reserved))
    }

    async fn release(
        &self,
        request: Request<pb::ReleaseRequest>,
    ) -> Result<Response<pb::ReleaseResponse>, Status> {
        let request = request.into_inner();
        let user_id = user(&request.user_id)?;
        let service = self.service.clone();
        let released = self
            .detached(async move { service.release(user_id, request.reservation_id.trim()).await })
            .await?;
        Ok(Response::new(pb::ReleaseResponse { released }))
    }

    async fn list_reservations(
        &self,
        request: Request<pb::ListReservationsRequest>,
    ) -> Result<Response<pb::ListReservationsResponse>, Status> {
        let user_id = user(&request.get_ref().user_id)?;
        let reservations = self.service.list_reservations(user_id).await?;
        Ok(Response::new(pb::ListReservationsResponse { reservations }))
    }

    async fn pick_target(
        &self,
        request: Request<pb::PickTargetRequest>,
    ) -> Result<Response<pb::Target>, Status> {
        let user_id = user(&request.get_ref().user_id)?;
        Ok(Response::new(self.service.pick_target(user_id)?))
    }

    async fn report_result(
        &self,
        request: Request<pb::ReportResultRequest>,
    ) -> Result<Response<pb::ReportResultResponse>, Status> {
        let request = request.into_inner();
        self.service.report_result(
            &request.instance_id,
            request.success,
            request.latency_micros,
            request.picked,
        );
        Ok(Response::new(pb::ReportResultResponse {}))
    }

    async fn report_results(
        &self,
        request: Request<pb::ReportResultsRequest>,
    ) -> Result<Response<pb::ReportResultResponse>, Status> {
        for result in request.into_inner().results {
            self.service.report_result(
                &result.instance_id,
                result.success,
                result.latency_micros,
                result.picked,
            );
        }
        Ok(Response::new(pb::ReportResultResponse {}))
    }

    async fn get_strategy(
        &self,
        request: Request<pb::GetStrategyRequest>,
    ) -> Result<Response<pb::Strategy>, Status> {
        let user_id = user(&request.get_ref().user_id)?;
        Ok(Response::new(pb::Strategy {
            strategy: self.service.strategy(user_id).as_str().to_owned(),
        }))
    }

    async fn set_strategy(
        &self,
        request: Request<pb::SetStrategyRequest>,
    ) -> Result<Response<pb::Strategy>, Status> {
        let request = request.into_inner();
        let user_id = user(&request.user_id)?;
        let strategy = self.service.set_strategy(user_id, &request.strategy).await?;
        Ok(Response::new(pb::Strategy {
            strategy: strategy.as_str().to_owned(),
        }))
    }

    async fn get_load_info(
        &self,
        request: Request<pb::GetLoadInfoRequest>,
    ) -> Result<Response<pb::GetLoadInfoResponse>, Status> {
        let request = request.into_inner();
        let user_id = user(&request.user_id)?;
        Ok(Response::new(
            self.service.load_info(user_id, request.instance_id.trim())?,
        ))
    }
}
