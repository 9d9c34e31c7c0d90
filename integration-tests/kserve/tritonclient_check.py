"""Drives GPU Proxy's KServe V2 fronts with NVIDIA Triton's own clients, unmodified: HTTP (REST, with
binary and JSON tensors) and gRPC.

Run by the integration test `flows::models::tritonclient_*` (both modes) with:
    python tritonclient_check.py <gateway base URL> <gateway gRPC host:port> <API key> <model name>
where the model doubles its FP32 input `x` of shape [-1, 4] into `twice`. It prints one line per
check and exits non-zero at the first one that fails.
"""

import sys

import numpy as np
import tritonclient.grpc as grpcclient
import tritonclient.http as httpclient


def check(condition, what):
    if not condition:
        print(f"FAILED: {what}", flush=True)
        sys.exit(1)
    print(f"ok: {what}", flush=True)


def main(base, grpc_address, key, model):
    url = base.removeprefix("http://")
    # tritonclient adds its binary header to the dict it is given: each call gets its own copy.
    auth = {"X-API-Key": key}
    client = httpclient.InferenceServerClient(url=url)
    check(client.is_server_live(), "the server is live")
    check(client.is_server_ready(), "the server is ready")
    check(client.is_model_ready(model, headers=dict(auth)), "the model is ready")
    metadata = client.get_model_metadata(model, headers=dict(auth))
    check(metadata["inputs"][0]["name"] == "x", f"the model's metadata names its input ({metadata['inputs']})")

    batch = np.array([[1.0, 2.0, 3.0, 4.0], [0.5, -1.5, 1e-3, 8.0]], dtype=np.float32)
    # tritonclient's defaults: the input as binary tensor data, every output asked for as bytes.
    binary = httpclient.InferInput("x", list(batch.shape), "FP32")
    binary.set_data_from_numpy(batch)
    result = client.infer(model, [binary], headers=dict(auth))
    check(np.allclose(result.as_numpy("twice"), batch * 2, atol=1e-5), "binary tensors in and out give 2x")

    # JSON tensors both ways.
    as_json = httpclient.InferInput("x", list(batch.shape), "FP32")
    as_json.set_data_from_numpy(batch, binary_data=False)
    result = client.infer(
        model,
        [as_json],
        outputs=[httpclient.InferRequestedOutput("twice", binary_data=False)],
        headers=dict(auth),
        request_id="r-7",
    )
    check(np.allclose(result.as_numpy("twice"), batch * 2, atol=1e-5), "JSON tensors in and out give 2x")
    check(result.get_response()["id"] == "r-7", "the request id comes back")

    try:
        client.infer("no-such-model", [binary], headers=dict(auth))
        check(False, "an unknown model is an error")
    except Exception as error:  # tritonclient raises InferenceServerException
        check("not found" in str(error).lower(), f"an unknown model is an error ({error})")

    # gRPC, with the API key as metadata (gRPC metadata keys are lowercase).
    grpc = grpcclient.InferenceServerClient(url=grpc_address)
    auth = {"x-api-key": key}
    check(grpc.is_server_live(), "gRPC: the server is live")
    check(grpc.is_server_ready(), "gRPC: the server is ready")
    check(grpc.is_model_ready(model, headers=dict(auth)), "gRPC: the model is ready")
    metadata = grpc.get_model_metadata(model, headers=dict(auth), as_json=True)
    check(metadata["inputs"][0]["name"] == "x", f"gRPC: the metadata names the input ({metadata})")
    tensor = grpcclient.InferInput("x", list(batch.shape), "FP32")
    tensor.set_data_from_numpy(batch)
    result = grpc.infer(model, [tensor], headers=dict(auth), request_id="g-1")
    check(np.allclose(result.as_numpy("twice"), batch * 2, atol=1e-5), "gRPC: raw tensors in and out give 2x")
    try:
        grpc.infer(model, [tensor])
        check(False, "gRPC without credentials is refused")
    except Exception as error:
        check("UNAUTHENTICATED" in str(error).upper(), f"gRPC without credentials is refused ({error})")
    print("all checks passed", flush=True)


if __name__ == "__main__":
    main(sys.argv[1].rstrip("/"), sys.argv[2], sys.argv[3], sys.argv[4])
