//! Running the catalog's actions: each as the caller, through the owning service's internal API.

mod billing;
mod instances;
mod load;
mod offers;
mod proxy;
mod reservations;
mod spending;

use std::future::Future;
use std::time::Duration;

use gpuproxy_errors::ErrorCode;
use gpuproxy_proto::gpuproxy::billing::v1::billing_service_client::BillingServiceClient;
use gpuproxy_proto::gpuproxy::catalog::v1 as catalog;
use gpuproxy_proto::gpuproxy::catalog::v1::catalog_service_client::CatalogServiceClient;
use gpuproxy_proto::gpuproxy::guardrails::v1::guardrails_service_client::GuardrailsServiceClient;
use gpuproxy_proto::gpuproxy::reservation::v1::reservation_service_client::ReservationServiceClient;
use gpuproxy_server::GrpcChannel;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use tokio::sync::mpsc;

use crate::catalog::CallError;
use crate::{ActionError, Caller, Progress};

pub use billing::{CreditsOutput, NoInput, TransactionsInput, TransactionsOutput};
pub use instances::{
    CreateInstanceInput, DestroyInstanceInput, DestroyedOutput, InstanceOutput, InstancesOutput,
    MyInstancesInput,
};
pub use load::{LoadInput, LoadOutput, StrategyInput, StrategyOutput};
pub use offers::{OffersInput, OffersOutput};
pub use proxy::{ProxyInput, ProxyOutput};
pub use reservations::{ReserveInput, ReservedOutput};
pub use spending::{CheckSpendingInput, CheckSpendingOutput, SpendingOutput};

/// The clients of the owning services and the time each call may take. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Actions {
    catalog: CatalogServiceClient<GrpcChannel>,
    reservation: ReservationServiceClient<GrpcChannel>,
    guardrails: GuardrailsServiceClient<GrpcChannel>,
    billing: BillingServiceClient<GrpcChannel>,
    timeouts: Timeouts,
}

/// How long calls may take.
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    /// Any call that does not rent or destroy.
    pub call: Duration,
    /// A call that rents or destroys: it waits on the providers.
    pub renting: Duration,
    /// How often a reservation reports its progress while its instances start.
    pub progress_interval: Duration,
}

/// Where a long action reports its progress; dropped reports are fine (nobody listens any more).
pub type ProgressSender = mpsc::Sender<Progress>;

impl Actions {
    /// Returns actions that call the services behind these channels.
    pub fn new(
        catalog: GrpcChannel,
        reservation: GrpcChannel,
        guardrails: GrpcChannel,
        billing: GrpcChannel,
        timeouts: Timeouts,
    ) -> Self {
        Actions {
            catalog: CatalogServiceClient::new(catalog),
            reservation: ReservationServiceClient::new(reservation),
            guardrails: GuardrailsServiceClient::new(guardrails),
            billing: BillingServiceClient::new(billing),
            timeouts,
        }
    }

    /// Runs the action `name` with `arguments` as `caller`. The outer error is a call that names no
    /// action or whose arguments its input schema refuses (nothing ran); the inner one an action
    /// that ran and failed.
    pub async fn call(
        &self,
        caller: Caller,
        name: &str,
        arguments: Value,
        idempotency_key: &str,
        progress: &ProgressSender,
    ) -> Result<Result<Value, ActionError>, CallError> {
        match name {
            "list_gpu_instances" => run(arguments, |input| self.list_offers(input)).await,
            "create_gpu_instance" => {
                run(arguments, |input| {
                    self.create_instance(caller, input, idempotency_key)
                })
                .await
            }
            "destroy_gpu_instance" => run(arguments, |input| self.destroy_instance(caller, input)).await,
            "list_my_instances" => run(arguments, |input| self.my_instances(caller, input)).await,
            "reserve_gpus" => {
                run(arguments, |input| {
                    self.reserve(caller, input, idempotency_key, progress)
                })
                .await
            }
            "get_spending_info" => run(arguments, |_: NoInput| self.spending_info(caller)).await,
            "check_spending_limit" => run(arguments, |input| self.check_spending(caller, input)).await,
            "get_billing_transactions" => run(arguments, |input| self.transactions(caller, input)).await,
            "get_credits" => run(arguments, |_: NoInput| self.credits(caller)).await,
            "get_load_info" => run(arguments, |input| self.load_info(caller, input)).await,
            "set_lb_strategy" => run(arguments, |input| self.set_strategy(caller, input)).await,
            "proxy_inference_request" => {
                read::<ProxyInput>(arguments)?;
                Err(CallError::RunsInGateway(name.to_owned()))
            }
            _ => Err(CallError::UnknownAction(name.to_owned())),
        }
    }

    /// Runs a call to an owning service within `limit`.
    async fn within<T>(
        &self,
        limit: Duration,
        call: impl Future<Output = Result<tonic::Response<T>, tonic::Status>>,
    ) -> Result<T, ActionError> {
        match tokio::time::timeout(limit, call).await {
            Ok(answer) => Ok(answer?.into_inner()),
            Err(_) => Err(ActionError::new(
                ErrorCode::Timeout,
                format!("an internal service did not answer within {}s", limit.as_secs()),
            )),
        }
    }

    /// Runs a call that does not rent or destroy.
    async fn call_owner<T>(
        &self,
        call: impl Future<Output = Result<tonic::Response<T>, tonic::Status>>,
    ) -> Result<T, ActionError> {
        self.within(self.timeouts.call, call).await
    }

    /// Runs a call that rents or destroys.
    async fn call_renting<T>(
        &self,
        call: impl Future<Output = Result<tonic::Response<T>, tonic::Status>>,
    ) -> Result<T, ActionError> {
        self.within(self.timeouts.renting.max(self.timeouts.call), call)
            .await
    }
}

/// Reads `arguments` as the action's input (absent arguments read as `{}`), runs it, and answers
/// its output as JSON.
async fn run<I, O, F>(
    arguments: Value,
    action: impl FnOnce(I) -> F,
) -> Result<Result<Value, ActionError>, CallError>
where
    I: DeserializeOwned,
    O: Serialize,
    F: Future<Output = Result<O, ActionError>>,
{
    let input: I = read(arguments)?;
    Ok(action(input).await.and_then(|output| {
        serde_json::to_value(output)
            .map_err(|error| ActionError::new(ErrorCode::Internal, format!("answering failed: {error}")))
    }))
}

/// Reads `arguments` as an action's input; absent arguments read as `{}`.
fn read<I: DeserializeOwned>(arguments: Value) -> Result<I, CallError> {
    let arguments = match arguments {
        Value::Null => Value::Object(serde_json::Map::new()),
        arguments => arguments,
    };
    serde_json::from_value(arguments).map_err(|error| CallError::InvalidArguments(error.to_string()))
}

/// The offer filters `list_gpu_instances` and `reserve_gpus` both take, as their inputs carry them.
pub(crate) struct OfferFilterFields {
    pub provider: Option<String>,
    pub gpu_model: Option<String>,
    pub min_vram_gb: Option<f64>,
    pub max_price_per_hour: Option<f64>,
    pub location: Option<String>,
    pub num_gpus: Option<i32>,
}

/// Converts the filters to the catalog's (unset fields do not filter), refusing a price that is not
/// one; the catalog judges the rest.
fn offer_filters(fields: OfferFilterFields) -> Result<catalog::OfferFilters, ActionError> {
    Ok(catalog::OfferFilters {
        provider: fields.provider.unwrap_or_default(),
        min_vram_gb: fields.min_vram_gb.unwrap_or(0.0),
        max_price_micros_per_hour: match fields.max_price_per_hour {
            Some(price) => micros("max_price_per_hour", price, 1_000_000.0, true)?,
            None => 0,
        },
        gpu_model: fields.gpu_model.unwrap_or_default(),
        location: fields.location.unwrap_or_default(),
        num_gpus: fields.num_gpus.unwrap_or(0),
    })
}

/// Converts micro-dollars to dollars, as every public answer shows money.
fn dollars(micros: i64) -> f64 {
    gpuproxy_domain::UsdMicros::from_micros(micros).to_dollars_f64()
}

/// Converts a caller's amount in dollars to micro-dollars, refusing what is not a positive amount
/// up to `max` (`field` names it); 0 stays 0 when `zero_allowed`.
fn micros(field: &str, dollars: f64, max: f64, zero_allowed: bool) -> Result<i64, ActionError> {
    let ok = dollars.is_finite() && dollars <= max && (dollars > 0.0 || (zero_allowed && dollars == 0.0));
    if !ok {
        return Err(ActionError::new(
            ErrorCode::ValidationFailed,
            format!("{field} must be an amount in USD above 0 and at most {max}"),
        ));
    }
    #[expect(
        clippy::cast_possible_truncation,
        reason = "bounded by `max`, far below i64::MAX micro-dollars"
    )]
    let micros = (dollars * 1_000_000.0).round() as i64;
    Ok(if dollars > 0.0 { micros.max(1) } else { 0 })
}
