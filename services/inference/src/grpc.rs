//! The internal gRPC API.

use futures::StreamExt;
use gpuproxy_domain::UserId;
use gpuproxy_proto::gpuproxy::inference::v1 as pb;
use gpuproxy_proto::gpuproxy::inference::v1::inference_service_server::InferenceService;
use serde_json::Value;
use tokio_util::task::TaskTracker;
use tonic::{Request, Response, Status, Streaming};

use crate::error::Error;
use crate::models::{Models, UploadPart};
use crate::store::ModelRow;

/// Serves [`Models`] over gRPC.
#[derive(Debug, Clone)]
pub struct GrpcInference {
    models: Models,
    running: TaskTracker,
}

impl GrpcInference {
    /// Wraps `models`; uploads run under `running`, which shutdown waits for.
    pub fn new(models: Models, running: TaskTracker) -> Self {
        GrpcInference { models, running }
    }
}

#[tonic::async_trait]
impl InferenceService for GrpcInference {
    /// The first message names the user; the rest are the file's chunks and the form's fields.
    async fn upload(
        &self,
        request: Request<Streaming<pb::UploadRequest>>,
    ) -> Result<Response<pb::Model>, Status> {
        let mut parts = request.into_inner();
        let start = match parts.next().await {
            Some(Ok(pb::UploadRequest {
                part: Some(pb::upload_request::Part::Start(start)),
            })) => start,
            Some(Err(status)) => return Err(status),
            _ => {
                return Err(Error::InvalidField {
                    field: "start",
                    reason: "must be the upload's first message".to_owned(),
                }
                .into());
            }
        };
        let user_id = user_id(&start.user_id)?;
        let parts = parts.filter_map(|message| {
            futures::future::ready(match message {
                Ok(pb::UploadRequest {
                    part: Some(pb::upload_request::Part::Chunk(chunk)),
                }) => Some(Ok(UploadPart::Chunk(bytes::Bytes::from(chunk)))),
                Ok(pb::UploadRequest {
                    part: Some(pb::upload_request::Part::Field(field)),
                }) => Some(Ok(UploadPart::Field(field.name, field.value))),
                Ok(_) => None,
                Err(status) => Some(Err(status.message().to_owned())),
            })
        });
        // On a task of its own: a client that goes away mid-upload drops this handler, and the
        // upload must still see its stream end in an error and discard what it stored.
        let models = self.models.clone();
        let uploading = self
            .running
            .spawn(async move { models.upload(user_id, Box::pin(parts)).await });
        let row = uploading
            .await
            .map_err(|error| Error::Internal(format!("an upload panicked: {error}")))??;
        Ok(Response::new(model_message(row)))
    }

    async fn list(&self, request: Request<pb::ListRequest>) -> Result<Response<pb::ListResponse>, Status> {
        let (rows, used, quota) = self.models.list(user_id(&request.into_inner().user_id)?).await?;
        Ok(Response::new(pb::ListResponse {
            models: rows.into_iter().map(model_message).collect(),
            used_bytes: i64::try_from(used).unwrap_or(i64::MAX),
            quota_bytes: i64::try_from(quota).unwrap_or(i64::MAX),
        }))
    }

    async fn get(&self, request: Request<pb::GetRequest>) -> Result<Response<pb::Model>, Status> {
        let request = request.into_inner();
        let row = self
            .models
            .get(user_id(&request.user_id)?, &request.model_id)
            .await?;
        Ok(Response::new(model_message(row)))
    }

    async fn delete(
        &self,
        request: Request<pb::DeleteRequest>,
    ) -> Result<Response<pb::DeleteResponse>, Status> {
        let request = request.into_inner();
        self.models
            .delete(user_id(&request.user_id)?, &request.model_id)
            .await?;
        Ok(Response::new(pb::DeleteResponse {}))
    }

    async fn infer(&self, request: Request<pb::InferRequest>) -> Result<Response<pb::InferResponse>, Status> {
        let request = request.into_inner();
        let outcome = self
            .models
            .infer(
                user_id(&request.user_id)?,
                &request.model_id,
                request.input,
                request.shape,
            )
            .await?;
        Ok(Response::new(pb::InferResponse {
            output: outcome.output,
            shape: outcome.shape,
            latency_ms: outcome.latency_ms,
            runtime: "onnx".to_owned(),
            // The CPU execution provider: this build registers no GPU provider.
            used_gpu: false,
        }))
    }
}

fn user_id(text: &str) -> Result<UserId, Error> {
    Ok(text.parse::<UserId>()?)
}

/// A model as the API answers it.
fn model_message(row: ModelRow) -> pb::Model {
    let signature: Value = serde_json::from_str(&row.signature).unwrap_or(Value::Null);
    let tensors = |key: &str| -> Vec<pb::TensorSpec> {
        signature[key]
            .as_array()
            .map(|tensors| {
                tensors
                    .iter()
                    .map(|tensor| pb::TensorSpec {
                        name: tensor["name"].as_str().unwrap_or_default().to_owned(),
                        datatype: tensor["datatype"].as_str().unwrap_or_default().to_owned(),
                        shape: tensor["shape"]
                            .as_array()
                            .map(|shape| shape.iter().filter_map(Value::as_i64).collect())
                            .unwrap_or_default(),
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    pb::Model {
        inputs: tensors("inputs"),
        outputs: tensors("outputs"),
        model_id: row.id,
        user_id: row.user_id,
        name: row.name,
        format: row.format,
        runtime: row.runtime,
        status: row.status,
        size_bytes: row.size_bytes,
        created_at_ms: row.created_at,
        version: i32::try_from(row.version).unwrap_or(i32::MAX),
        sha256: row.sha256,
        filename: row.filename,
    }
}
