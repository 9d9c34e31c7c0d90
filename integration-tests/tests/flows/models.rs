//! Users' models over REST: an ONNX model built here uploaded as seed 003's curl sends it, read
//! back with its inputs and outputs, versioned by name, hidden from other users and deleted with
//! its artifact; and every refusal (formats not served, corrupt files, limits) said with its code,
//! leaving nothing in storage.

use gpuproxy_inference::onnx::{ModelProto, one_node_model, value_info};
use gpuproxy_integration_tests::{Auth, Mode, TestFleet, expect_status, run_script};
use prost::Message;
use reqwest::multipart::{Form, Part};
use reqwest::{Method, StatusCode};
use sha2::{Digest, Sha256};

use crate::in_both_modes;
use crate::rentals::{credit, fleet_with_admin, user_key};

in_both_modes!(
    an_onnx_model_is_uploaded_versioned_listed_and_deleted_by_its_owner_only,
    refused_uploads_say_why_and_leave_nothing_behind,
    a_model_predicts_what_onnx_runtime_computes,
    without_onnx_runtime_the_server_starts_and_says_how_to_install_it,
    kserve_v2_clients_find_and_run_a_model_by_name,
    tritonclient_runs_a_model_unmodified,
    inferences_are_paid_for_before_they_run,
);

/// Sends `file` as `-F "model=@<filename>" -F "name=<name>"` would.
async fn upload(
    fleet: &TestFleet,
    key: &str,
    file: Vec<u8>,
    filename: &str,
    name: Option<&str>,
) -> reqwest::Response {
    let mut form = Form::new().part("model", Part::bytes(file).file_name(filename.to_owned()));
    if let Some(name) = name {
        form = form.text("name", name.to_owned());
    }
    fleet
        .rest
        .request(Method::POST, "/api/v1/models/upload", Auth::Key(key))
        .multipart(form)
        .send()
        .await
        .expect("answered")
}

async fn refused(
    fleet: &TestFleet,
    key: &str,
    file: Vec<u8>,
    filename: &str,
    status: StatusCode,
    code: &str,
) -> String {
    let body = expect_status(upload(fleet, key, file, filename, Some("refused")).await, status).await;
    assert_eq!(body["code"], code, "{body}");
    body["error"]
        .as_str()
        .or_else(|| body["message"].as_str())
        .unwrap_or_default()
        .to_owned()
}

/// Artifacts the fleet keeps: objects in its bucket, or files under its `DATA_DIR`.
async fn stored_files(fleet: &TestFleet) -> usize {
    if let Some(bucket) = &fleet.model_bucket {
        return bucket.keys().await.len();
    }
    fn count(dir: &std::path::Path) -> usize {
        std::fs::read_dir(dir).map_or(0, |entries| {
            entries
                .flatten()
                .map(|entry| {
                    if entry.path().is_dir() {
                        count(&entry.path())
                    } else {
                        1
                    }
                })
                .sum()
        })
    }
    count(&fleet.data_dir().join("models"))
}

async fn an_onnx_model_is_uploaded_versioned_listed_and_deleted_by_its_owner_only(mode: Mode) {
    let fleet = TestFleet::start(mode).await;
    let (owner, stranger) = (user_key(&fleet).await, user_key(&fleet).await);
    let model = doubling_model();

    let first = expect_status(
        upload(&fleet, &owner, model.clone(), "adder.onnx", Some("adder")).await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(
        (
            first["status"].as_str(),
            first["format"].as_str(),
            first["runtime"].as_str(),
            first["version"].as_i64()
        ),
        (Some("ready"), Some("onnx"), Some("onnx"), Some(1)),
        "{first}"
    );
    assert_eq!(first["sha256"], hex::encode(Sha256::digest(&model)));
    assert_eq!(first["size_bytes"].as_u64(), Some(model.len() as u64));
    assert_eq!(first["filename"], "adder.onnx");
    assert_eq!(
        first["inputs"],
        serde_json::json!([{"name": "x", "datatype": "FP32", "shape": [-1, 4]}])
    );
    assert_eq!(first["outputs"][0]["name"], "twice");
    // The name says nothing about the format: the bytes do.
    let second = expect_status(
        upload(&fleet, &owner, model.clone(), "adder.pt", Some("adder")).await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(
        (second["version"].as_i64(), second["format"].as_str()),
        (Some(2), Some("onnx"))
    );
    assert_eq!(stored_files(&fleet).await, 2);

    let listed = expect_status(
        fleet
            .rest
            .request(Method::GET, "/api/v1/models", Auth::Key(&owner))
            .send()
            .await
            .expect("answered"),
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        listed["data"]["models"].as_array().map(Vec::len),
        Some(2),
        "{listed}"
    );
    assert_eq!(
        listed["data"]["used_bytes"].as_u64(),
        Some(2 * model.len() as u64)
    );
    let id = first["model_id"].as_str().expect("an id");
    let path = format!("/api/v1/models/{id}");
    let got = expect_status(
        fleet
            .rest
            .request(Method::GET, &path, Auth::Key(&owner))
            .send()
            .await
            .expect("answered"),
        StatusCode::OK,
    )
    .await;
    assert_eq!(got["model_id"], id);

    // Another user sees nothing and deletes nothing.
    for method in [Method::GET, Method::DELETE] {
        let hidden = fleet
            .rest
            .request(method, &path, Auth::Key(&stranger))
            .send()
            .await
            .expect("answered");
        assert_eq!(
            expect_status(hidden, StatusCode::NOT_FOUND).await["code"],
            "NOT_FOUND"
        );
    }
    let theirs = expect_status(
        fleet
            .rest
            .request(Method::GET, "/api/v1/models", Auth::Key(&stranger))
            .send()
            .await
            .expect("answered"),
        StatusCode::OK,
    )
    .await;
    assert_eq!(theirs["data"]["models"], serde_json::json!([]));

    let deleted = fleet
        .rest
        .request(Method::DELETE, &path, Auth::Key(&owner))
        .send()
        .await
        .expect("answered");
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    let gone = fleet
        .rest
        .request(Method::GET, &path, Auth::Key(&owner))
        .send()
        .await
        .expect("answered");
    assert_eq!(gone.status(), StatusCode::NOT_FOUND);
    assert_eq!(stored_files(&fleet).await, 1, "the artifact went with its model");
}

/// A zip archive of one empty stored entry, as torch.save writes its `data.pkl`.
fn pytorch_checkpoint() -> Vec<u8> {
    let name = b"archive/data.pkl";
    let mut file = Vec::new();
    file.extend_from_slice(&[0x50, 0x4b, 0x03, 0x04]);
    file.extend_from_slice(&[0; 22]);
    file.extend_from_slice(&(name.len() as u16).to_le_bytes());
    file.extend_from_slice(&[0, 0]);
    file.extend_from_slice(name);
    let directory_offset = file.len() as u32;
    file.extend_from_slice(&[0x50, 0x4b, 0x01, 0x02]);
    file.extend_from_slice(&[0; 24]);
    file.extend_from_slice(&(name.len() as u16).to_le_bytes());
    file.extend_from_slice(&[0; 16]);
    file.extend_from_slice(name);
    let directory_size = file.len() as u32 - directory_offset;
    file.extend_from_slice(&[0x50, 0x4b, 0x05, 0x06, 0, 0, 0, 0, 1, 0, 1, 0]);
    file.extend_from_slice(&directory_size.to_le_bytes());
    file.extend_from_slice(&directory_offset.to_le_bytes());
    file.extend_from_slice(&[0, 0]);
    file
}

async fn refused_uploads_say_why_and_leave_nothing_behind(mode: Mode) {
    let fleet = TestFleet::start_with(
        mode,
        &[
            ("ML_MAX_MODEL_BYTES", "4096"),
            ("ML_STORAGE_QUOTA_BYTES", "1000"),
            ("ML_UPLOADS_PER_HOUR", "9"),
        ],
    )
    .await;
    let key = user_key(&fleet).await;
    let model = doubling_model();
    expect_status(
        upload(&fleet, &key, model.clone(), "m.onnx", Some("kept")).await,
        StatusCode::CREATED,
    )
    .await;

    let pickle = refused(
        &fleet,
        &key,
        b"\x80\x04\x95\x10\x00\x00\x00\x00\x00\x00\x00\x8c\x08builtins".to_vec(),
        "m.pkl",
        StatusCode::UNPROCESSABLE_ENTITY,
        "UNSUPPORTED_MODEL_FORMAT",
    )
    .await;
    assert!(
        pickle.contains("uploader's code") && pickle.contains("skl2onnx"),
        "{pickle}"
    );
    let torch = refused(
        &fleet,
        &key,
        pytorch_checkpoint(),
        "m.pt",
        StatusCode::UNPROCESSABLE_ENTITY,
        "UNSUPPORTED_MODEL_FORMAT",
    )
    .await;
    assert!(torch.contains("torch.onnx.export"), "{torch}");
    let truncated = refused(
        &fleet,
        &key,
        model[..model.len() - 9].to_vec(),
        "m.onnx",
        StatusCode::UNPROCESSABLE_ENTITY,
        "INVALID_MODEL",
    )
    .await;
    assert!(truncated.contains("ONNX"), "{truncated}");
    refused(
        &fleet,
        &key,
        b"just some text".to_vec(),
        "m.onnx",
        StatusCode::UNPROCESSABLE_ENTITY,
        "UNSUPPORTED_MODEL_FORMAT",
    )
    .await;
    refused(
        &fleet,
        &key,
        vec![0x08; 5000],
        "big.onnx",
        StatusCode::PAYLOAD_TOO_LARGE,
        "PAYLOAD_TOO_LARGE",
    )
    .await;
    refused(
        &fleet,
        &key,
        vec![0x08; 900],
        "m.onnx",
        StatusCode::PAYLOAD_TOO_LARGE,
        "STORAGE_QUOTA_EXCEEDED",
    )
    .await;
    let mut unloadable = ModelProto::decode(model.as_slice()).expect("a model");
    unloadable.graph.as_mut().expect("a graph").node[0].op_type = "NoSuchOperator".to_owned();
    let unknown_op = refused(
        &fleet,
        &key,
        unloadable.encode_to_vec(),
        "m.onnx",
        StatusCode::UNPROCESSABLE_ENTITY,
        "INVALID_MODEL",
    )
    .await;
    assert!(unknown_op.contains("ONNX Runtime cannot load"), "{unknown_op}");
    let nameless = expect_status(
        upload(&fleet, &key, model.clone(), "m.onnx", None).await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert_eq!(nameless["code"], "VALIDATION_FAILED", "{nameless}");
    // Nine uploads started this hour: the tenth waits.
    refused(
        &fleet,
        &key,
        model.clone(),
        "m.onnx",
        StatusCode::TOO_MANY_REQUESTS,
        "RATE_LIMITED",
    )
    .await;

    assert_eq!(stored_files(&fleet).await, 1, "only the accepted model is stored");
    let listed = expect_status(
        fleet
            .rest
            .request(Method::GET, "/api/v1/models", Auth::Key(&key))
            .send()
            .await
            .expect("answered"),
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        listed["data"]["models"].as_array().map(Vec::len),
        Some(1),
        "{listed}"
    );
}

/// `twice = x + x`: takes `x` (float, [batch, 4]), gives `2x`.
fn doubling_model() -> Vec<u8> {
    one_node_model(
        "Add",
        &["x", "x"],
        &[],
        vec![value_info("x", 1, &[-1, 4])],
        vec![value_info("twice", 1, &[-1, 4])],
    )
    .encode_to_vec()
}

/// Uploads [`doubling_model`] as `twice` for `key`; answers its id.
async fn uploaded_doubling_model(fleet: &TestFleet, key: &str) -> String {
    let uploaded = expect_status(
        upload(fleet, key, doubling_model(), "twice.onnx", Some("twice")).await,
        StatusCode::CREATED,
    )
    .await;
    uploaded["model_id"].as_str().expect("an id").to_owned()
}

async fn predict(fleet: &TestFleet, key: &str, id: &str, body: serde_json::Value) -> reqwest::Response {
    fleet
        .rest
        .request(
            Method::POST,
            &format!("/api/v1/models/{id}/predict"),
            Auth::Key(key),
        )
        .json(&body)
        .send()
        .await
        .expect("answered")
}

fn close(got: &serde_json::Value, want: &[f64]) -> bool {
    got.as_array().is_some_and(|got| {
        got.len() == want.len()
            && got
                .iter()
                .zip(want)
                .all(|(got, want)| got.as_f64().is_some_and(|got| (got - want).abs() < 1e-5))
    })
}

async fn a_model_predicts_what_onnx_runtime_computes(mode: Mode) {
    let fleet = TestFleet::start(mode).await;
    let (owner, stranger) = (user_key(&fleet).await, user_key(&fleet).await);
    let model = uploaded_doubling_model(&fleet, &owner).await;
    let id = model.as_str();

    // Seed 003's body: one example, flat.
    let one = expect_status(
        predict(
            &fleet,
            &owner,
            id,
            serde_json::json!({"input": [1.0, 2.0, 3.0, 4.0]}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert!(close(&one["output"], &[2.0, 4.0, 6.0, 8.0]), "{one}");
    assert_eq!(
        (one["runtime"].as_str(), one["used_gpu"].as_bool()),
        (Some("onnx"), Some(false))
    );
    assert!(one["latency_ms"].as_f64().is_some_and(|ms| ms >= 0.0));
    // A batch, nested.
    let batch = expect_status(
        predict(
            &fleet,
            &owner,
            id,
            serde_json::json!({"input": [[1.0, 2.0, 3.0, 4.0], [0.5, -1.0, 1e-3, 8.0]]}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(batch["shape"], serde_json::json!([2, 4]));
    assert!(close(&batch["output"][1], &[1.0, -2.0, 2e-3, 16.0]), "{batch}");

    let wrong = expect_status(
        predict(&fleet, &owner, id, serde_json::json!({"input": [1.0, 2.0, 3.0]})).await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert_eq!(wrong["code"], "VALIDATION_FAILED");
    assert!(
        wrong["error"].as_str().is_some_and(|why| why.contains("x: FP32")),
        "the expected signature: {wrong}"
    );
    let ragged = expect_status(
        predict(
            &fleet,
            &owner,
            id,
            serde_json::json!({"input": [[1.0, 2.0], [3.0]]}),
        )
        .await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert_eq!(ragged["code"], "VALIDATION_FAILED");
    let hidden = predict(
        &fleet,
        &stranger,
        id,
        serde_json::json!({"input": [1.0, 2.0, 3.0, 4.0]}),
    )
    .await;
    assert_eq!(
        expect_status(hidden, StatusCode::NOT_FOUND).await["code"],
        "NOT_FOUND"
    );
}

async fn without_onnx_runtime_the_server_starts_and_says_how_to_install_it(mode: Mode) {
    let fleet = TestFleet::start_with(
        mode,
        &[
            ("ORT_DYLIB_PATH", "/nonexistent/libonnxruntime.so"),
            ("ML_RUNTIME_AUTO_INSTALL", "false"),
        ],
    )
    .await;
    let key = user_key(&fleet).await;
    let model = uploaded_doubling_model(&fleet, &key).await;
    let id = model.as_str();
    let refused = expect_status(
        predict(
            &fleet,
            &key,
            id,
            serde_json::json!({"input": [1.0, 2.0, 3.0, 4.0]}),
        )
        .await,
        StatusCode::SERVICE_UNAVAILABLE,
    )
    .await;
    assert_eq!(refused["code"], "SERVICE_UNAVAILABLE");
    assert!(
        refused["error"].as_str().is_some_and(
            |why| why.contains("pip install onnxruntime==1.31.1") && why.contains("ORT_DYLIB_PATH")
        ),
        "{refused}"
    );
}

async fn kserve_v2_clients_find_and_run_a_model_by_name(mode: Mode) {
    let fleet = TestFleet::start(mode).await;
    let (owner, stranger) = (user_key(&fleet).await, user_key(&fleet).await);
    uploaded_doubling_model(&fleet, &owner).await;
    let get = |path: &str, key: Option<&str>| {
        let auth = key.map_or(Auth::None, Auth::Key);
        fleet.rest.request(Method::GET, path, auth).send()
    };

    // Health and the server's metadata need no credentials.
    let live = expect_status(
        get("/v2/health/live", None).await.expect("answered"),
        StatusCode::OK,
    )
    .await;
    assert_eq!(live["live"], true);
    let ready = expect_status(
        get("/v2/health/ready", None).await.expect("answered"),
        StatusCode::OK,
    )
    .await;
    assert_eq!(ready["ready"], true);
    let server = expect_status(get("/v2", None).await.expect("answered"), StatusCode::OK).await;
    assert!(server["version"].is_string(), "{server}");

    let metadata = expect_status(
        get("/v2/models/twice", Some(&owner)).await.expect("answered"),
        StatusCode::OK,
    )
    .await;
    assert_eq!(metadata["versions"], serde_json::json!(["1"]), "{metadata}");
    assert_eq!(
        metadata["inputs"],
        serde_json::json!([{"name": "x", "datatype": "FP32", "shape": [-1, 4]}])
    );
    assert_eq!(metadata["platform"], "onnxruntime_onnx");
    let ready = expect_status(
        get("/v2/models/twice/versions/1/ready", Some(&owner))
            .await
            .expect("answered"),
        StatusCode::OK,
    )
    .await;
    assert_eq!(ready["ready"], true);
    assert_eq!(
        get("/v2/models/twice/versions/2", Some(&owner))
            .await
            .expect("answered")
            .status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        get("/v2/models/twice", Some(&stranger))
            .await
            .expect("answered")
            .status(),
        StatusCode::NOT_FOUND
    );

    let infer = |key: &str, body: serde_json::Value, binary: bool| {
        let mut request = fleet
            .rest
            .request(Method::POST, "/v2/models/twice/infer", Auth::Key(key))
            .json(&body);
        if binary {
            request = request.header("Inference-Header-Content-Length", "100");
        }
        request.send()
    };
    let request = serde_json::json!({"id": "r-1", "inputs": [{"name": "x", "shape": [2, 4], "datatype": "FP32",
        "data": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]}]});
    let answer = expect_status(
        infer(&owner, request.clone(), false).await.expect("answered"),
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        (
            answer["model_name"].as_str(),
            answer["model_version"].as_str(),
            answer["id"].as_str()
        ),
        (Some("twice"), Some("1"), Some("r-1"))
    );
    let output = &answer["outputs"][0];
    assert_eq!(
        (output["name"].as_str(), output["datatype"].as_str()),
        (Some("twice"), Some("FP32"))
    );
    assert_eq!(output["shape"], serde_json::json!([2, 4]));
    assert!(
        close(&output["data"], &[2.0, 4.0, 6.0, 8.0, 10.0, 12.0, 14.0, 16.0]),
        "{answer}"
    );

    let int64 = serde_json::json!({"inputs": [{"name": "x", "shape": [1, 4], "datatype": "INT64", "data": [1, 2, 3, 4]}]});
    assert_eq!(
        expect_status(
            infer(&owner, int64, false).await.expect("answered"),
            StatusCode::BAD_REQUEST
        )
        .await["code"],
        "VALIDATION_FAILED"
    );
    let misshapen = serde_json::json!({"inputs": [{"name": "x", "shape": [1, 3], "datatype": "FP32", "data": [1.0, 2.0, 3.0]}]});
    assert_eq!(
        expect_status(
            infer(&owner, misshapen, false).await.expect("answered"),
            StatusCode::BAD_REQUEST
        )
        .await["code"],
        "VALIDATION_FAILED"
    );
    assert_eq!(
        infer(&owner, request.clone(), true)
            .await
            .expect("answered")
            .status(),
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        infer(&stranger, request, false).await.expect("answered").status(),
        StatusCode::NOT_FOUND
    );
}

async fn tritonclient_runs_a_model_unmodified(mode: Mode) {
    let fleet = TestFleet::start(mode).await;
    let key = user_key(&fleet).await;
    uploaded_doubling_model(&fleet, &key).await;
    let base = fleet.gateways[0].http.clone();
    let grpc = fleet.gateways[0].grpc_addr.to_string();
    run_script(
        "kserve/tritonclient_check.py",
        vec![base, grpc, key, "twice".to_owned()],
    )
    .await;
}

async fn inferences_are_paid_for_before_they_run(mode: Mode) {
    let (fleet, admin, email, key) = fleet_with_admin(
        mode,
        &[
            ("INFERENCE_REQUEST_COST", "0.5"),
            ("GUARDRAILS_ENABLED", "true"),
            ("GUARDRAILS_MAX_60MIN_RATE", "1.0"),
        ],
    )
    .await;
    let model = uploaded_doubling_model(&fleet, &key).await;
    let id = model.as_str();
    let body = serde_json::json!({"input": [1.0, 2.0, 3.0, 4.0]});

    let broke = expect_status(
        predict(&fleet, &key, id, body.clone()).await,
        StatusCode::PAYMENT_REQUIRED,
    )
    .await;
    assert_eq!(broke["code"], "CREDITS_EXHAUSTED", "no credits: {broke}");
    credit(&fleet, &admin, &email, 10.0).await;
    // A misfit input is refused before it is charged.
    expect_status(
        predict(&fleet, &key, id, serde_json::json!({"input": [1.0]})).await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    for _ in 0..2 {
        expect_status(predict(&fleet, &key, id, body.clone()).await, StatusCode::OK).await;
    }
    let limited = expect_status(
        predict(&fleet, &key, id, body).await,
        StatusCode::PAYMENT_REQUIRED,
    )
    .await;
    assert_eq!(limited["code"], "SPENDING_LIMIT_EXCEEDED", "{limited}");
    assert!(
        limited["error"].as_str().is_some_and(|why| why.contains("60min")),
        "names the window: {limited}"
    );

    let credits = expect_status(
        fleet.rest.get("/api/v1/user/credits", Auth::Key(&key)).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        credits["data"]["credits_remaining"], 9.0,
        "two inferences were paid: {credits}"
    );
    let usage = expect_status(
        fleet.rest.get("/api/v1/user/usage", Auth::Key(&key)).await,
        StatusCode::OK,
    )
    .await;
    let inferences = usage["data"]["usage"]
        .as_array()
        .expect("usage")
        .iter()
        .filter(|record| record["kind"] == "inference")
        .count();
    assert_eq!(inferences, 2, "{usage}");
}
