//! KServe V2, the Open Inference Protocol, over REST at `/v2`: server health and metadata, a model's
//! metadata and readiness, and inference with JSON tensors, as KServe's, Triton's and MLServer's
//! clients speak it. A model is named by its name (its latest version, or `/versions/{v}`) or its
//! id, among the caller's models only. Same credentials as every route, but health and the
//! server's metadata, which say nothing of anyone's models.

use axum::Json;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use gpuproxy_domain::Principal;
use gpuproxy_errors::ErrorCode;
use gpuproxy_proto::gpuproxy::inference::v1 as pb;
use http::{HeaderMap, StatusCode};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::ErrorBody;
use crate::operations::Operations;
use crate::rest::json_body::JsonBody;
use crate::rest::principal::AuthUser;
use crate::rest::tensors::flatten;
use crate::{AppState, Error};

/// The routes that need no credentials.
pub fn public_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(live))
        .routes(routes!(ready))
        .routes(routes!(server_metadata))
}

/// The routes of the caller's models.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(model_metadata))
        .routes(routes!(version_metadata))
        .routes(routes!(model_ready))
        .routes(routes!(version_ready))
        .routes(routes!(infer))
        .routes(routes!(version_infer))
}

/// `GET /v2/health/live`.
#[utoipa::path(get, path = "/v2/health/live", tag = "open-inference",
    responses((status = 200, description = "`{\"live\": true}`", body = Value)))]
async fn live() -> Json<Value> {
    Json(json!({ "live": true }))
}

/// `GET /v2/health/ready`: ready when the gateway reaches the inference service.
#[utoipa::path(get, path = "/v2/health/ready", tag = "open-inference",
    responses(
        (status = 200, description = "`{\"ready\": true}`", body = Value),
        (status = 503, description = "The inference service is unreachable", body = ErrorBody),
    ))]
async fn ready(State(operations): State<Operations>) -> Result<Json<Value>, Error> {
    operations.inference_ready().await?;
    Ok(Json(json!({ "ready": true })))
}

/// `GET /v2`: the server's metadata.
#[utoipa::path(get, path = "/v2", tag = "open-inference",
    responses((status = 200, description = "`{name, version, extensions}`", body = Value)))]
async fn server_metadata(State(state): State<AppState>) -> Json<Value> {
    Json(json!({ "name": crate::agent_protocols::AGENT_NAME, "version": state.version, "extensions": [] }))
}

/// A model's metadata (`GET /v2/models/{name}`).
#[utoipa::path(get, path = "/v2/models/{name}", tag = "open-inference", security(("bearer" = []), ("api_key" = [])),
    params(("name" = String, Path, description = "The model's name (its latest version) or id")),
    responses(
        (status = 200, description = "`{name, versions, platform, inputs, outputs}`", body = Value),
        (status = 404, description = "No model of the caller's by that name (NOT_FOUND)", body = ErrorBody),
    ))]
async fn model_metadata(
    State(operations): State<Operations>,
    AuthUser(user): AuthUser,
    Path(name): Path<String>,
) -> Result<Json<Value>, Error> {
    metadata(&operations, &user, &name, None).await
}

/// A version's metadata (`GET /v2/models/{name}/versions/{version}`).
#[utoipa::path(get, path = "/v2/models/{name}/versions/{version}", tag = "open-inference", security(("bearer" = []), ("api_key" = [])),
    params(("name" = String, Path, description = "The model's name"), ("version" = String, Path, description = "Its version")),
    responses(
        (status = 200, description = "`{name, versions, platform, inputs, outputs}`", body = Value),
        (status = 404, description = "No such version of a model of the caller's (NOT_FOUND)", body = ErrorBody),
    ))]
async fn version_metadata(
    State(operations): State<Operations>,
    AuthUser(user): AuthUser,
    Path((name, version)): Path<(String, String)>,
) -> Result<Json<Value>, Error> {
    metadata(&operations, &user, &name, Some(&version)).await
}

/// Whether a model is ready (`GET /v2/models/{name}/ready`).
#[utoipa::path(get, path = "/v2/models/{name}/ready", tag = "open-inference", security(("bearer" = []), ("api_key" = [])),
    params(("name" = String, Path, description = "The model's name or id")),
    responses(
        (status = 200, description = "`{name, ready: true}`", body = Value),
        (status = 404, description = "No model of the caller's by that name (NOT_FOUND)", body = ErrorBody),
    ))]
async fn model_ready(
    State(operations): State<Operations>,
    AuthUser(user): AuthUser,
    Path(name): Path<String>,
) -> Result<Json<Value>, Error> {
    readiness(&operations, &user, &name, None).await
}

/// Whether a version is ready (`GET /v2/models/{name}/versions/{version}/ready`).
#[utoipa::path(get, path = "/v2/models/{name}/versions/{version}/ready", tag = "open-inference", security(("bearer" = []), ("api_key" = [])),
    params(("name" = String, Path, description = "The model's name"), ("version" = String, Path, description = "Its version")),
    responses(
        (status = 200, description = "`{name, ready: true}`", body = Value),
        (status = 404, description = "No such version (NOT_FOUND)", body = ErrorBody),
    ))]
async fn version_ready(
    State(operations): State<Operations>,
    AuthUser(user): AuthUser,
    Path((name, version)): Path<(String, String)>,
) -> Result<Json<Value>, Error> {
    readiness(&operations, &user, &name, Some(&version)).await
}

/// An inference request with JSON tensors.
#[derive(Debug, Deserialize, ToSchema)]
pub struct InferRequest {
    /// Echoed in the answer.
    #[serde(default)]
    pub id: Option<String>,
    /// The input tensors (this release: one, FP32). `outputs` and `parameters` are accepted and
    /// ignored: the first output is answered.
    pub inputs: Vec<InputTensor>,
}

/// One input tensor.
#[derive(Debug, Deserialize, ToSchema)]
pub struct InputTensor {
    /// Its name in the model.
    pub name: String,
    /// Its shape.
    pub shape: Vec<i64>,
    /// `FP32`.
    pub datatype: String,
    /// Its values, row-major: flat or nested.
    #[schema(value_type = Vec<f64>)]
    pub data: Value,
}

/// An inference answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct InferResponse {
    /// The model's name.
    pub model_name: String,
    /// The version that ran.
    pub model_version: String,
    /// The request's id, when it had one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The output tensors, `{name, shape, datatype, data}` with flat data.
    #[schema(value_type = Vec<Object>)]
    pub outputs: Vec<Value>,
}

/// Runs a model (`POST /v2/models/{name}/infer`).
#[utoipa::path(post, path = "/v2/models/{name}/infer", tag = "open-inference", request_body = InferRequest,
    security(("bearer" = []), ("api_key" = [])),
    params(("name" = String, Path, description = "The model's name (its latest version) or id")),
    responses(
        (status = 200, description = "The outputs", body = InferResponse),
        (status = 400, description = "Tensors the model does not take (VALIDATION_FAILED), or binary tensor data, which this release does not take", body = ErrorBody),
        (status = 404, description = "No model of the caller's by that name (NOT_FOUND)", body = ErrorBody),
        (status = 503, description = "ONNX Runtime is not installed; the message says how (SERVICE_UNAVAILABLE)", body = ErrorBody),
    ))]
async fn infer(
    State(operations): State<Operations>,
    AuthUser(user): AuthUser,
    Path(name): Path<String>,
    headers: HeaderMap,
    JsonBody(request): JsonBody<InferRequest>,
) -> Result<Response, Error> {
    run(&operations, &user, &name, None, &headers, request).await
}

/// Runs a version of a model (`POST /v2/models/{name}/versions/{version}/infer`).
#[utoipa::path(post, path = "/v2/models/{name}/versions/{version}/infer", tag = "open-inference", request_body = InferRequest,
    security(("bearer" = []), ("api_key" = [])),
    params(("name" = String, Path, description = "The model's name"), ("version" = String, Path, description = "Its version")),
    responses(
        (status = 200, description = "The outputs", body = InferResponse),
        (status = 400, description = "Tensors the model does not take (VALIDATION_FAILED)", body = ErrorBody),
        (status = 404, description = "No such version (NOT_FOUND)", body = ErrorBody),
        (status = 503, description = "ONNX Runtime is not installed (SERVICE_UNAVAILABLE)", body = ErrorBody),
    ))]
async fn version_infer(
    State(operations): State<Operations>,
    AuthUser(user): AuthUser,
    Path((name, version)): Path<(String, String)>,
    headers: HeaderMap,
    JsonBody(request): JsonBody<InferRequest>,
) -> Result<Response, Error> {
    run(&operations, &user, &name, Some(&version), &headers, request).await
}

/// The caller's model `name` (or id), its latest version or `version`.
async fn find(
    operations: &Operations,
    user: &Principal,
    name: &str,
    version: Option<&str>,
) -> Result<(pb::Model, Vec<i32>), Error> {
    let listed = operations.list_models(user).await?;
    let named: Vec<&pb::Model> = listed
        .models
        .iter()
        .filter(|model| model.name == name || model.model_id == name)
        .collect();
    let versions: Vec<i32> = named.iter().map(|model| model.version).collect();
    let wanted = match version {
        None => named.iter().max_by_key(|model| model.version),
        Some(version) => named.iter().find(|model| model.version.to_string() == version),
    };
    let model = wanted.map(|model| (*model).clone()).ok_or_else(|| {
        Error::new(
            ErrorCode::NotFound,
            match version {
                Some(version) => format!("model {name} has no version {version}"),
                None => format!("model {name} not found"),
            },
        )
    })?;
    Ok((model, versions))
}

fn tensors(specs: &[pb::TensorSpec]) -> Value {
    Value::from(
        specs
            .iter()
            .map(|spec| json!({ "name": spec.name, "datatype": spec.datatype, "shape": spec.shape }))
            .collect::<Vec<_>>(),
    )
}

async fn metadata(
    operations: &Operations,
    user: &Principal,
    name: &str,
    version: Option<&str>,
) -> Result<Json<Value>, Error> {
    let (model, versions) = find(operations, user, name, version).await?;
    Ok(Json(json!({
        "name": model.name,
        "versions": versions.iter().map(ToString::to_string).collect::<Vec<_>>(),
        "platform": "onnxruntime_onnx",
        "inputs": tensors(&model.inputs),
        "outputs": tensors(&model.outputs),
    })))
}

async fn readiness(
    operations: &Operations,
    user: &Principal,
    name: &str,
    version: Option<&str>,
) -> Result<Json<Value>, Error> {
    let (model, _) = find(operations, user, name, version).await?;
    Ok(Json(
        json!({ "name": model.name, "ready": model.status == "ready" }),
    ))
}

async fn run(
    operations: &Operations,
    user: &Principal,
    name: &str,
    version: Option<&str>,
    headers: &HeaderMap,
    request: InferRequest,
) -> Result<Response, Error> {
    if headers.contains_key("inference-header-content-length") {
        return Err(Error::new(
            ErrorCode::ValidationFailed,
            "binary tensor data is not taken yet: send JSON tensors (tritonclient: binary_data=False)",
        ));
    }
    let (model, _) = find(operations, user, name, version).await?;
    let [input] = request.inputs.as_slice() else {
        return Err(
            Error::new(ErrorCode::ValidationFailed, "this release takes one input tensor")
                .with_field("inputs"),
        );
    };
    if input.datatype != "FP32" {
        return Err(Error::new(
            ErrorCode::ValidationFailed,
            format!(
                "input {} is {}; this release takes FP32",
                input.name, input.datatype
            ),
        )
        .with_field("inputs"));
    }
    if let Some(declared) = model.inputs.first()
        && declared.name != input.name
    {
        return Err(Error::new(
            ErrorCode::ValidationFailed,
            format!("the model's input is {:?}, not {:?}", declared.name, input.name),
        )
        .with_field("inputs"));
    }
    let (mut values, mut nested) = (Vec::new(), Vec::new());
    flatten(&input.data, 0, &mut values, &mut nested)?;
    let answer = operations
        .predict(user, &model.model_id, values, input.shape.clone())
        .await?;
    let output_name = model
        .outputs
        .first()
        .map(|output| output.name.clone())
        .unwrap_or_default();
    let response = InferResponse {
        model_name: model.name,
        model_version: model.version.to_string(),
        id: request.id,
        outputs: vec![json!({
            "name": output_name,
            "datatype": "FP32",
            "shape": answer.shape,
            "data": answer.output.iter().map(|value| f64::from(*value)).collect::<Vec<_>>(),
        })],
    };
    Ok((StatusCode::OK, Json(response)).into_response())
}
