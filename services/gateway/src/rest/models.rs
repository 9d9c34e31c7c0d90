//! Users' models (seed 003 "ML Model Serving"): upload (multipart, streamed to the inference
//! service as it arrives), list, get and delete. The format is told from the file's bytes; a format
//! that is not served is refused with what to upload instead.

use axum::Json;
use axum::extract::multipart::MultipartRejection;
use axum::extract::{Multipart, Path, State};
use axum::http::StatusCode;
use gpuproxy_errors::ErrorCode;
use gpuproxy_proto::gpuproxy::inference::v1 as pb;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::ErrorBody;
use crate::operations::Operations;
use crate::rest::envelope::Envelope;
use crate::rest::json_body::JsonBody;
use crate::rest::principal::AuthUser;
use crate::rest::tensors::{flatten, nest};
use crate::rest::timestamps::rfc3339;
use crate::{AppState, Error};

/// The route uploads arrive at: its body limit is `ML_MAX_MODEL_BYTES`, and `REQUEST_TIMEOUT`
/// does not cut it.
pub const UPLOAD_ROUTE: &str = "/api/v1/models/upload";

/// Chunks read ahead of the inference service.
const CHUNKS_AHEAD: usize = 4;
/// The longest text field of the upload form.
const MAX_FIELD_BYTES: usize = 1024;

/// The model routes; paths are absolute.
pub fn router(max_upload_bytes: usize) -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(upload))
        .route_layer(axum::extract::DefaultBodyLimit::max(max_upload_bytes))
        .merge(
            OpenApiRouter::new()
                .routes(routes!(list))
                .routes(routes!(get, delete))
                .routes(routes!(predict)),
        )
}

/// The upload form (`multipart/form-data`), as seed 003's curl sends it.
#[derive(Debug, ToSchema)]
#[allow(dead_code, reason = "documents the form; the handler streams it")]
pub struct ModelUploadForm {
    /// The model file (`-F "model=@my_model.onnx"`).
    #[schema(format = Binary, content_media_type = "application/octet-stream")]
    model: String,
    /// Its name: 1–128 letters, digits, `-`, `_`, `.`. Uploading a name again makes its next version.
    #[schema(example = "my-custom-model")]
    name: String,
    /// Optional: `onnx`, `pytorch`, `sklearn`, …; checked, but the file's bytes decide.
    #[schema(example = "onnx")]
    format: Option<String>,
}

/// A tensor a model takes or gives.
#[derive(Debug, Serialize, ToSchema)]
pub struct TensorDto {
    /// Its name.
    pub name: String,
    /// KServe V2's datatype: `FP32`, `INT64`, `BYTES`, …
    pub datatype: String,
    /// Its shape; -1 for a dimension of any size.
    pub shape: Vec<i64>,
}

/// A model, as seed 003's upload answers it (`model_id`, `status`) and more.
#[derive(Debug, Serialize, ToSchema)]
pub struct ModelDto {
    /// Its id.
    pub model_id: String,
    /// The name its owner gave it.
    pub name: String,
    /// 1 for a name's first upload, then one more each time.
    pub version: i32,
    /// The format told from its bytes.
    pub format: String,
    /// What the file was converted to (`null`: served as uploaded).
    pub converted_to: Option<String>,
    /// What serves it: `onnx`.
    pub runtime: String,
    /// `ready`.
    pub status: String,
    /// Bytes.
    pub size_bytes: i64,
    /// Hex SHA-256 of the file.
    pub sha256: String,
    /// The uploaded file's name.
    pub filename: String,
    /// What it takes.
    pub inputs: Vec<TensorDto>,
    /// What it gives.
    pub outputs: Vec<TensorDto>,
    /// RFC 3339.
    pub created_at: String,
}

/// The caller's models.
#[derive(Debug, Serialize, ToSchema)]
pub struct ModelsDto {
    /// Newest first.
    pub models: Vec<ModelDto>,
    /// Bytes they take.
    pub used_bytes: i64,
    /// The caller's storage quota (`ML_STORAGE_QUOTA_BYTES`).
    pub quota_bytes: i64,
}

fn tensors(specs: Vec<pb::TensorSpec>) -> Vec<TensorDto> {
    specs
        .into_iter()
        .map(|spec| TensorDto {
            name: spec.name,
            datatype: spec.datatype,
            shape: spec.shape,
        })
        .collect()
}

fn model_dto(model: pb::Model) -> ModelDto {
    ModelDto {
        created_at: rfc3339(model.created_at_ms).unwrap_or_default(),
        inputs: tensors(model.inputs),
        outputs: tensors(model.outputs),
        model_id: model.model_id,
        name: model.name,
        version: model.version,
        format: model.format,
        converted_to: None,
        runtime: model.runtime,
        status: model.status,
        size_bytes: model.size_bytes,
        sha256: model.sha256,
        filename: model.filename,
    }
}

/// Uploads a model: streamed to storage as it arrives, its format told from its bytes, validated
/// (an ONNX graph that decodes, with its inputs and outputs), and kept as the next version of its
/// name. Refused uploads leave nothing behind.
#[utoipa::path(post, path = "/api/v1/models/upload", tag = "models",
    security(("bearer" = []), ("api_key" = [])),
    request_body(content = ModelUploadForm, content_type = "multipart/form-data"),
    responses(
        (status = 201, description = "Uploaded and ready", body = ModelDto),
        (status = 400, description = "No file, no name, a bad name or format field, or a body that is not multipart (VALIDATION_FAILED, MALFORMED_REQUEST)", body = ErrorBody),
        (status = 401, description = "Missing or invalid credentials", body = ErrorBody),
        (status = 415, description = "Not a multipart/form-data body (UNSUPPORTED_MEDIA_TYPE)", body = ErrorBody),
        (status = 413, description = "Larger than ML_MAX_MODEL_BYTES (PAYLOAD_TOO_LARGE), or past the storage quota (STORAGE_QUOTA_EXCEEDED)", body = ErrorBody),
        (status = 422, description = "A format that is not served, with what to upload instead (UNSUPPORTED_MODEL_FORMAT), or a corrupt or truncated file (INVALID_MODEL)", body = ErrorBody),
        (status = 429, description = "Too many uploads in the last hour or day (RATE_LIMITED)", body = ErrorBody),
    ))]
async fn upload(
    State(operations): State<Operations>,
    AuthUser(user): AuthUser,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<(StatusCode, Json<ModelDto>), Error> {
    let multipart = multipart.map_err(|rejection| {
        Error::new(
            ErrorCode::UnsupportedMediaType,
            format!(
                "send the model as multipart/form-data (-F \"model=@model.onnx\" -F \"name=…\"): {}",
                rejection.body_text()
            ),
        )
    })?;
    let (parts, received) = mpsc::channel(CHUNKS_AHEAD);
    let call = operations.upload_model(&user, ReceiverStream::new(received));
    tokio::pin!(call);
    let feeding = feed(multipart, parts);
    tokio::pin!(feeding);
    let mut fed = false;
    // A form that breaks off ends the call (dropping it cancels the stream, and the service
    // discards what it stored); a service that refuses early ends the feeding.
    loop {
        tokio::select! {
            answer = &mut call => return Ok((StatusCode::CREATED, Json(model_dto(answer?)))),
            result = &mut feeding, if !fed => {
                result?;
                fed = true;
            }
        }
    }
}

/// Sends the form's fields and the file's chunks, in the order they arrive.
async fn feed(mut multipart: Multipart, parts: mpsc::Sender<pb::UploadRequest>) -> Result<(), Error> {
    let broken = |error: axum::extract::multipart::MultipartError| {
        let code = if error.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ErrorCode::PayloadTooLarge
        } else {
            ErrorCode::MalformedRequest
        };
        Error::new(
            code,
            format!("the multipart form could not be read: {}", error.body_text()),
        )
    };
    let field = |name: &str, value: String| pb::UploadRequest {
        part: Some(pb::upload_request::Part::Field(pb::UploadField {
            name: name.to_owned(),
            value,
        })),
    };
    while let Some(mut part) = multipart.next_field().await.map_err(broken)? {
        let name = part.name().unwrap_or_default().to_owned();
        if name == "model" {
            let filename = part.file_name().unwrap_or_default().to_owned();
            if parts.send(field("filename", filename)).await.is_err() {
                return Ok(());
            }
            while let Some(chunk) = part.chunk().await.map_err(broken)? {
                let message = pb::UploadRequest {
                    part: Some(pb::upload_request::Part::Chunk(chunk.to_vec())),
                };
                if parts.send(message).await.is_err() {
                    return Ok(());
                }
            }
        } else if matches!(name.as_str(), "name" | "format") {
            // A field is a few words: read no more than that of it.
            let mut value = Vec::new();
            while let Some(chunk) = part.chunk().await.map_err(broken)? {
                value.extend_from_slice(&chunk);
                if value.len() > MAX_FIELD_BYTES {
                    return Err(Error::new(
                        ErrorCode::ValidationFailed,
                        format!("{name} is longer than {MAX_FIELD_BYTES} bytes"),
                    )
                    .with_field(name));
                }
            }
            let value = String::from_utf8(value).map_err(|_| {
                Error::new(ErrorCode::ValidationFailed, format!("{name} is not UTF-8"))
                    .with_field(name.clone())
            })?;
            if parts.send(field(&name, value)).await.is_err() {
                return Ok(());
            }
        }
    }
    Ok(())
}

/// The caller's models, newest first, with the storage they take.
#[utoipa::path(get, path = "/api/v1/models", tag = "models", security(("bearer" = []), ("api_key" = [])),
    responses(
        (status = 200, description = "The caller's models", body = Envelope<ModelsDto>),
        (status = 401, description = "Missing or invalid credentials", body = ErrorBody),
    ))]
async fn list(
    State(operations): State<Operations>,
    AuthUser(user): AuthUser,
) -> Result<Json<Envelope<ModelsDto>>, Error> {
    let listed = operations.list_models(&user).await?;
    Ok(Json(Envelope::new(ModelsDto {
        models: listed.models.into_iter().map(model_dto).collect(),
        used_bytes: listed.used_bytes,
        quota_bytes: listed.quota_bytes,
    })))
}

/// One of the caller's models; another user's is 404.
#[utoipa::path(get, path = "/api/v1/models/{id}", tag = "models", security(("bearer" = []), ("api_key" = [])),
    params(("id" = String, Path, description = "The model's id")),
    responses(
        (status = 200, description = "The model", body = ModelDto),
        (status = 401, description = "Missing or invalid credentials", body = ErrorBody),
        (status = 404, description = "No such model of the caller's (NOT_FOUND)", body = ErrorBody),
    ))]
async fn get(
    State(operations): State<Operations>,
    AuthUser(user): AuthUser,
    Path(id): Path<String>,
) -> Result<Json<ModelDto>, Error> {
    Ok(Json(model_dto(operations.get_model(&user, &id).await?)))
}

/// Deletes one of the caller's models and its artifact.
#[utoipa::path(delete, path = "/api/v1/models/{id}", tag = "models", security(("bearer" = []), ("api_key" = [])),
    params(("id" = String, Path, description = "The model's id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "Missing or invalid credentials", body = ErrorBody),
        (status = 404, description = "No such model of the caller's (NOT_FOUND)", body = ErrorBody),
    ))]
async fn delete(
    State(operations): State<Operations>,
    AuthUser(user): AuthUser,
    Path(id): Path<String>,
) -> Result<StatusCode, Error> {
    operations.delete_model(&user, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /api/v1/models/{id}/predict`, as seed 003 sends it.
#[derive(Debug, Deserialize, ToSchema)]
pub struct PredictRequest {
    /// The input: a flat list of numbers (one example), or nested lists (a batch, or any shape).
    #[schema(value_type = Vec<f64>, example = json!([1.0, 2.0, 3.0, 4.0]))]
    #[serde(alias = "inputs")]
    pub input: Value,
    /// Its shape, when the nesting does not say it (`[2, 4]` for eight flat numbers).
    #[serde(default)]
    pub shape: Option<Vec<i64>>,
}

/// What a model gave.
#[derive(Debug, Serialize, ToSchema)]
pub struct PredictResponse {
    /// The first output: flat for a flat input of one example, else nested by its shape.
    #[schema(value_type = Vec<f64>, example = json!([0.92, 0.08]))]
    pub output: Value,
    /// The output's shape.
    pub shape: Vec<i64>,
    /// Time in the runtime, ms.
    pub latency_ms: f64,
    /// `onnx`.
    pub runtime: String,
    /// Whether a GPU ran it.
    pub used_gpu: bool,
}

/// Runs one of the caller's models: the input is read as the model's one FP32 input (a dimension
/// of any size, such as the batch, is read from its length).
#[utoipa::path(post, path = "/api/v1/models/{id}/predict", tag = "models", request_body = PredictRequest,
    security(("bearer" = []), ("api_key" = [])),
    params(("id" = String, Path, description = "The model's id")),
    responses(
        (status = 200, description = "The model's output", body = PredictResponse),
        (status = 400, description = "An input the model does not take; the message gives its signature (VALIDATION_FAILED)", body = ErrorBody),
        (status = 401, description = "Missing or invalid credentials", body = ErrorBody),
        (status = 404, description = "No such model of the caller's (NOT_FOUND)", body = ErrorBody),
        (status = 503, description = "ONNX Runtime is not installed; the message says how (SERVICE_UNAVAILABLE)", body = ErrorBody),
    ))]
async fn predict(
    State(operations): State<Operations>,
    AuthUser(user): AuthUser,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<PredictRequest>,
) -> Result<Json<PredictResponse>, Error> {
    let mut input = Vec::new();
    let mut nested = Vec::new();
    flatten(&body.input, 0, &mut input, &mut nested)?;
    let shape = body
        .shape
        .unwrap_or(if nested.len() > 1 { nested } else { Vec::new() });
    let flat_request = shape.is_empty();
    let answer = operations.predict(&user, &id, input, shape).await?;
    let output = if flat_request && answer.shape.first() == Some(&1) {
        Value::from(
            answer
                .output
                .iter()
                .map(|value| f64::from(*value))
                .collect::<Vec<_>>(),
        )
    } else {
        nest(&answer.output, &answer.shape)
    };
    Ok(Json(PredictResponse {
        output,
        shape: answer.shape,
        latency_ms: answer.latency_ms,
        runtime: answer.runtime,
        used_gpu: answer.used_gpu,
    }))
}
