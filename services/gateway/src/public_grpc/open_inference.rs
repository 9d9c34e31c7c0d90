//! KServe V2 over gRPC (`inference.GRPCInferenceService`) on the public gRPC port, beside
//! `gpuproxy.v1`: the same operations as `/v2` over REST. Inputs come as `raw_input_contents`
//! (what Triton's client sends) or typed `contents`; outputs go back as `raw_output_contents`, as
//! Triton's server answers.

use gpuproxy_errors::ErrorCode;
use gpuproxy_proto::kserve as v2;
use gpuproxy_proto::kserve::grpc_inference_service_server::GrpcInferenceService;
use tonic::{Request, Response, Status};

use crate::Error;
use crate::public_grpc::PublicApi;

#[tonic::async_trait]
impl GrpcInferenceService for PublicApi {
    async fn server_live(
        &self,
        _request: Request<v2::ServerLiveRequest>,
    ) -> Result<Response<v2::ServerLiveResponse>, Status> {
        Ok(Response::new(v2::ServerLiveResponse { live: true }))
    }

    async fn server_ready(
        &self,
        _request: Request<v2::ServerReadyRequest>,
    ) -> Result<Response<v2::ServerReadyResponse>, Status> {
        let ready = self.operations().inference_ready().await.is_ok();
        Ok(Response::new(v2::ServerReadyResponse { ready }))
    }

    async fn server_metadata(
        &self,
        _request: Request<v2::ServerMetadataRequest>,
    ) -> Result<Response<v2::ServerMetadataResponse>, Status> {
        Ok(Response::new(v2::ServerMetadataResponse {
            name: crate::agent_protocols::AGENT_NAME.to_owned(),
            version: self.state.version.to_owned(),
            extensions: Vec::new(),
        }))
    }

    async fn model_ready(
        &self,
        request: Request<v2::ModelReadyRequest>,
    ) -> Result<Response<v2::ModelReadyResponse>, Status> {
        let user = self.principal_of(&request, "").await?;
        let request = request.into_inner();
        let (model, _) = self
            .operations()
            .find_model(&user, &request.name, Some(&request.version))
            .await
            .map_err(Error::into_status)?;
        Ok(Response::new(v2::ModelReadyResponse {
            ready: model.status == "ready",
        }))
    }

    async fn model_metadata(
        &self,
        request: Request<v2::ModelMetadataRequest>,
    ) -> Result<Response<v2::ModelMetadataResponse>, Status> {
        let user = self.principal_of(&request, "").await?;
        let request = request.into_inner();
        let (model, versions) = self
            .operations()
            .find_model(&user, &request.name, Some(&request.version))
            .await
            .map_err(Error::into_status)?;
        let tensors = |specs: Vec<gpuproxy_proto::gpuproxy::inference::v1::TensorSpec>| {
            specs
                .into_iter()
                .map(|spec| v2::model_metadata_response::TensorMetadata {
                    name: spec.name,
                    datatype: spec.datatype,
                    shape: spec.shape,
                })
                .collect()
        };
        Ok(Response::new(v2::ModelMetadataResponse {
            name: model.name,
            versions: versions.iter().map(ToString::to_string).collect(),
            platform: "onnxruntime_onnx".to_owned(),
            inputs: tensors(model.inputs),
            outputs: tensors(model.outputs),
        }))
    }

    async fn model_infer(
        &self,
        request: Request<v2::ModelInferRequest>,
    ) -> Result<Response<v2::ModelInferResponse>, Status> {
        let user = self.principal_of(&request, "").await?;
        let request = request.into_inner();
        let (model, _) = self
            .operations()
            .find_model(&user, &request.model_name, Some(&request.model_version))
            .await
            .map_err(Error::into_status)?;
        let [input] = request.inputs.as_slice() else {
            return Err(invalid("this release takes one input tensor"));
        };
        if input.datatype != "FP32" {
            return Err(invalid(&format!(
                "input {} is {}; this release takes FP32",
                input.name, input.datatype
            )));
        }
        let values: Vec<f32> = match (request.raw_input_contents.first(), &input.contents) {
            (Some(raw), _) => {
                if raw.len() % 4 != 0 {
                    return Err(invalid(&format!(
                        "input {} has {} raw bytes, not whole FP32 values",
                        input.name,
                        raw.len()
                    )));
                }
                raw.chunks_exact(4)
                    .map(|word| f32::from_le_bytes([word[0], word[1], word[2], word[3]]))
                    .collect()
            }
            (None, Some(contents)) => contents.fp32_contents.clone(),
            (None, None) => return Err(invalid(&format!("input {} has no data", input.name))),
        };
        let answer = self
            .operations()
            .predict(&user, &model.model_id, values, input.shape.clone())
            .await
            .map_err(Error::into_status)?;
        let output = v2::model_infer_response::InferOutputTensor {
            name: model
                .outputs
                .first()
                .map(|output| output.name.clone())
                .unwrap_or_default(),
            datatype: "FP32".to_owned(),
            shape: answer.shape,
            parameters: std::collections::HashMap::new(),
            contents: None,
        };
        Ok(Response::new(v2::ModelInferResponse {
            model_name: model.name,
            model_version: model.version.to_string(),
            id: request.id,
            parameters: std::collections::HashMap::new(),
            outputs: vec![output],
            raw_output_contents: vec![
                answer
                    .output
                    .iter()
                    .flat_map(|value| value.to_le_bytes())
                    .collect(),
            ],
        }))
    }
}

fn invalid(message: &str) -> Status {
    Error::new(ErrorCode::ValidationFailed, message).into_status()
}
