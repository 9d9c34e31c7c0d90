//! KServe V2, the Open Inference Protocol, over REST at `/v2`: server health and metadata, a model's
//! metadata and readiness, and inference with JSON tensors, as KServe's, Triton's and MLServer's
//! clients speak it. A model is named by its name (its latest version, or `/versions/{v}`) or its
//! id, among the caller's models only. Same credentials as every route, but health and the
//! server's metadata, which say nothing of anyone's models.

use axum::Json;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
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

/// An inference request: JSON tensors, or (with `Inference-Header-Content-Length`) this JSON
/// followed by the inputs' bytes, Triton's binary tensor data extension.
#[derive(Debug, Deserialize, ToSchema)]
pub struct InferRequest {
    /// Echoed in the answer.
    #[serde(default)]
    pub id: Option<String>,
    /// The input tensors (this release: one, FP32).
    pub inputs: Vec<InputTensor>,
    /// Outputs asked for; `parameters.binary_data` asks for one as bytes.
    #[serde(default)]
    pub outputs: Vec<RequestedOutput>,
    /// `binary_data_output`: every output as bytes (what `tritonclient` asks when it names none).
    #[serde(default)]
    pub parameters: RequestParameters,
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
    /// Its values, row-major: flat or nested; absent when sent as bytes.
    #[serde(default)]
    #[schema(value_type = Option<Vec<f64>>)]
    pub data: Option<Value>,
    /// `binary_data_size`: its bytes follow the JSON.
    #[serde(default)]
    pub parameters: TensorParameters,
}

/// An input's parameters.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct TensorParameters {
    /// Bytes of the input after the JSON (little-endian FP32).
    #[serde(default)]
    pub binary_data_size: Option<usize>,
}

/// An output asked for.
#[derive(Debug, Deserialize, ToSchema)]
pub struct RequestedOutput {
    /// Its name.
    pub name: String,
    /// `binary_data`: answer it as bytes.
    #[serde(default)]
    pub parameters: OutputParameters,
}

/// An output's parameters.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct OutputParameters {
    /// Answer it as bytes after the JSON.
    #[serde(default)]
    pub binary_data: bool,
}

/// A request's parameters.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct RequestParameters {
    /// Answer every output as bytes after the JSON.
    #[serde(default)]
    pub binary_data_output: bool,
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
        (status = 400, description = "Tensors the model does not take (VALIDATION_FAILED), or a body that is not an inference request (MALFORMED_REQUEST)", body = ErrorBody),
        (status = 404, description = "No model of the caller's by that name (NOT_FOUND)", body = ErrorBody),
        (status = 503, description = "ONNX Runtime is not installed; the message says how (SERVICE_UNAVAILABLE)", body = ErrorBody),
    ))]
async fn infer(
    State(operations): State<Operations>,
    AuthUser(user): AuthUser,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Error> {
    run(&operations, &user, &name, None, &headers, body).await
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
    body: Bytes,
) -> Result<Response, Error> {
    run(&operations, &user, &name, Some(&version), &headers, body).await
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
    let (model, versions) = operations.find_model(user, name, version).await?;
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
    let (model, _) = operations.find_model(user, name, version).await?;
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
    body: Bytes,
) -> Result<Response, Error> {
    let (request, mut binary) = read_request(headers, body)?;
    let (model, _) = operations.find_model(user, name, version).await?;
    let [input] = request.inputs.as_slice() else {
        return Err(invalid("this release takes one input tensor"));
    };
    if input.datatype != "FP32" {
        return Err(invalid(&format!(
            "input {} is {}; this release takes FP32",
            input.name, input.datatype
        )));
    }
    if let Some(declared) = model.inputs.first()
        && declared.name != input.name
    {
        return Err(invalid(&format!(
            "the model's input is {:?}, not {:?}",
            declared.name, input.name
        )));
    }
    let values = match (&input.data, input.parameters.binary_data_size) {
        (Some(data), _) => {
            let (mut values, mut nested) = (Vec::new(), Vec::new());
            flatten(data, 0, &mut values, &mut nested)?;
            values
        }
        (None, Some(size)) => {
            if size % 4 != 0 || size > binary.len() {
                return Err(invalid(&format!(
                    "input {} claims {size} bytes of FP32; {} follow the JSON",
                    input.name,
                    binary.len()
                )));
            }
            let bytes = binary.split_to(size);
            bytes
                .chunks_exact(4)
                .map(|word| f32::from_le_bytes([word[0], word[1], word[2], word[3]]))
                .collect()
        }
        (None, None) => return Err(invalid(&format!("input {} has no data", input.name))),
    };
    let answer = operations
        .predict(user, &model.model_id, values, input.shape.clone())
        .await?;
    let output_name = model
        .outputs
        .first()
        .map(|output| output.name.clone())
        .unwrap_or_default();
    let as_bytes = request.parameters.binary_data_output
        || request
            .outputs
            .iter()
            .any(|output| output.name == output_name && output.parameters.binary_data);
    let mut output = json!({ "name": output_name, "datatype": "FP32", "shape": answer.shape });
    let tail: Vec<u8> = if as_bytes {
        output["parameters"] = json!({ "binary_data_size": answer.output.len() * 4 });
        answer
            .output
            .iter()
            .flat_map(|value| value.to_le_bytes())
            .collect()
    } else {
        output["data"] = Value::from(
            answer
                .output
                .iter()
                .map(|value| f64::from(*value))
                .collect::<Vec<_>>(),
        );
        Vec::new()
    };
    let response = InferResponse {
        model_name: model.name,
        model_version: model.version.to_string(),
        id: request.id,
        outputs: vec![output],
    };
    if !as_bytes {
        return Ok((StatusCode::OK, Json(response)).into_response());
    }
    let header =
        serde_json::to_vec(&response).map_err(|error| Error::new(ErrorCode::Internal, error.to_string()))?;
    let header_length = header.len().to_string();
    let mut body = header;
    body.extend_from_slice(&tail);
    Ok((
        StatusCode::OK,
        [
            (http::header::CONTENT_TYPE, "application/octet-stream".to_owned()),
            (http::HeaderName::from_static(HEADER_LENGTH), header_length),
        ],
        body,
    )
        .into_response())
}

/// The header that says how long the JSON is before the tensors' bytes.
const HEADER_LENGTH: &str = "inference-header-content-length";

/// Reads a request: its JSON, and the bytes after it when `Inference-Header-Content-Length` says
/// where the JSON ends.
fn read_request(headers: &HeaderMap, mut body: Bytes) -> Result<(InferRequest, Bytes), Error> {
    let json_length = match headers.get(HEADER_LENGTH) {
        None => body.len(),
        Some(value) => value
            .to_str()
            .ok()
            .and_then(|value| value.trim().parse::<usize>().ok())
            .filter(|length| *length <= body.len())
            .ok_or_else(|| {
                Error::new(
                    ErrorCode::MalformedRequest,
                    format!("Inference-Header-Content-Length must be the JSON's length, at most the body's {} bytes", body.len()),
                )
            })?,
    };
    let json = body.split_to(json_length);
    let request = serde_json::from_slice(&json).map_err(|error| {
        Error::new(
            ErrorCode::MalformedRequest,
            format!("the body is not a KServe V2 inference request: {error}"),
        )
    })?;
    Ok((request, body))
}

fn invalid(message: &str) -> Error {
    Error::new(ErrorCode::ValidationFailed, message).with_field("inputs")
}
