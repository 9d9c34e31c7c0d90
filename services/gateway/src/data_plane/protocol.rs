//! The four protocols of `POST /gpu/proxy`, and how each shapes the upstream request.

use gpuproxy_errors::ErrorCode;
use serde_json::{Value, json};

use crate::Error;

/// What the caller speaks to the target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// Plain HTTP: method, headers and body as given.
    Http,
    /// The same over TLS (the target URL says `https://`).
    Https,
    /// JSON-RPC 2.0 to an MCP server: `{"method", "params"}` becomes a JSON-RPC request.
    Mcp,
    /// Open Inference (KServe V2) or OpenAI-compatible inference.
    OpenInference,
}

impl Protocol {
    /// Parses the request's `protocol`.
    pub fn parse(text: &str) -> Result<Self, Error> {
        match text.trim().to_ascii_lowercase().as_str() {
            "http" => Ok(Protocol::Http),
            "https" => Ok(Protocol::Https),
            "mcp" => Ok(Protocol::Mcp),
            "openinference" | "open_inference" | "kserve" => Ok(Protocol::OpenInference),
            _ => Err(Error::new(
                ErrorCode::ValidationFailed,
                "protocol must be http, https, mcp or openinference",
            )
            .with_field("protocol")),
        }
    }
}

/// An upstream request's shape before a target is chosen.
#[derive(Debug, Clone, PartialEq)]
pub struct Shaped {
    /// The HTTP method.
    pub method: http::Method,
    /// The path (and query) to append to a target with no path of its own.
    pub default_path: String,
    /// The body.
    pub body: Option<Vec<u8>>,
    /// The content type of the body, when the protocol fixes one.
    pub content_type: Option<&'static str>,
}

/// Shapes a request: `method` and `path` are the caller's, when given.
pub fn shape(
    protocol: Protocol,
    method: Option<&str>,
    path: Option<&str>,
    body: Option<Value>,
    raw: Option<Vec<u8>>,
) -> Result<Shaped, Error> {
    let method = match method.map(str::trim).filter(|method| !method.is_empty()) {
        Some(method) => http::Method::from_bytes(method.to_ascii_uppercase().as_bytes()).map_err(|_| {
            Error::new(ErrorCode::ValidationFailed, "method is not an HTTP method").with_field("method")
        })?,
        None if body.is_some()
            || raw.is_some()
            || protocol != Protocol::Http && protocol != Protocol::Https =>
        {
            http::Method::POST
        }
        None => http::Method::GET,
    };
    let path = path.map(str::trim).filter(|path| !path.is_empty()).map(|path| {
        if path.starts_with('/') {
            path.to_owned()
        } else {
            format!("/{path}")
        }
    });
    match protocol {
        Protocol::Http | Protocol::Https => {
            let (body, content_type) = match (body, raw) {
                (_, Some(raw)) => (Some(raw), None),
                (Some(Value::String(text)), None) => {
                    (Some(text.into_bytes()), Some("text/plain; charset=utf-8"))
                }
                (Some(value), None) => (Some(value.to_string().into_bytes()), Some("application/json")),
                (None, None) => (None, None),
            };
            Ok(Shaped {
                method,
                default_path: path.unwrap_or_else(|| "/".to_owned()),
                body,
                content_type,
            })
        }
        Protocol::Mcp => {
            let body = json_body(body, raw)?;
            let rpc = match &body {
                Value::Object(object) if object.contains_key("jsonrpc") => body,
                Value::Object(object) => {
                    let Some(rpc_method) = object.get("method").and_then(Value::as_str) else {
                        return Err(Error::new(
                            ErrorCode::ValidationFailed,
                            "an MCP body needs a method (a JSON-RPC method name)",
                        )
                        .with_field("body.method"));
                    };
                    let mut rpc = json!({"jsonrpc": "2.0", "id": uuid::Uuid::now_v7().to_string(), "method": rpc_method});
                    if let Some(params) = object.get("params") {
                        rpc["params"] = params.clone();
                    }
                    rpc
                }
                _ => {
                    return Err(
                        Error::new(ErrorCode::ValidationFailed, "an MCP body must be a JSON object")
                            .with_field("body"),
                    );
                }
            };
            Ok(Shaped {
                method,
                default_path: path.unwrap_or_else(|| "/".to_owned()),
                body: Some(rpc.to_string().into_bytes()),
                content_type: Some("application/json"),
            })
        }
        Protocol::OpenInference => {
            let mut body = json_body(body, raw)?;
            let Some(object) = body.as_object_mut() else {
                return Err(Error::new(
                    ErrorCode::ValidationFailed,
                    "an inference body must be a JSON object",
                )
                .with_field("body"));
            };
            let model = object.get("model").and_then(Value::as_str).map(str::to_owned);
            let default_path = if object.contains_key("inputs") {
                // A KServe V2 tensor request: the model is in the path, not the body.
                let Some(model) = model else {
                    return Err(Error::new(
                        ErrorCode::ValidationFailed,
                        "an Open Inference request needs a model",
                    )
                    .with_field("body.model"));
                };
                object.remove("model");
                format!("/v2/models/{}/infer", urlencode(&model))
            } else if object.contains_key("messages") {
                "/v1/chat/completions".to_owned()
            } else {
                "/v1/completions".to_owned()
            };
            Ok(Shaped {
                method,
                default_path: path.unwrap_or(default_path),
                body: Some(body.to_string().into_bytes()),
                content_type: Some("application/json"),
            })
        }
    }
}

fn json_body(body: Option<Value>, raw: Option<Vec<u8>>) -> Result<Value, Error> {
    match (body, raw) {
        (Some(value), _) => Ok(value),
        (None, Some(raw)) => serde_json::from_slice(&raw).map_err(|error| {
            Error::new(
                ErrorCode::ValidationFailed,
                format!("the body is not JSON: {error}"),
            )
            .with_field("body")
        }),
        (None, None) => {
            Err(Error::new(ErrorCode::ValidationFailed, "this protocol needs a JSON body").with_field("body"))
        }
    }
}

fn urlencode(segment: &str) -> String {
    segment
        .bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                char::from(byte).to_string()
            }
            _ => format!("%{byte:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mcp_bodies_become_json_rpc_requests() {
        let shaped = shape(
            Protocol::Mcp,
            None,
            None,
            Some(json!({"method": "tools/list", "params": {"a": 1}})),
            None,
        )
        .expect("valid");
        let rpc: Value = serde_json::from_slice(shaped.body.as_deref().expect("a body")).expect("json");
        assert_eq!(
            (rpc["jsonrpc"].as_str(), rpc["method"].as_str()),
            (Some("2.0"), Some("tools/list"))
        );
        assert_eq!(rpc["params"]["a"], 1);
        assert!(rpc["id"].is_string());
        assert_eq!(shaped.method, http::Method::POST);
        let refused =
            shape(Protocol::Mcp, None, None, Some(json!({"params": {}})), None).expect_err("no method");
        assert_eq!(refused.code(), ErrorCode::ValidationFailed);
    }

    #[test]
    fn open_inference_picks_the_v2_or_openai_path() {
        let v2 = shape(
            Protocol::OpenInference,
            None,
            None,
            Some(json!({"model": "iris/v1", "inputs": []})),
            None,
        )
        .expect("valid");
        assert_eq!(v2.default_path, "/v2/models/iris%2Fv1/infer");
        let body: Value = serde_json::from_slice(v2.body.as_deref().expect("a body")).expect("json");
        assert!(body.get("model").is_none(), "the model moves to the path");
        let chat = shape(
            Protocol::OpenInference,
            None,
            None,
            Some(json!({"model": "m", "messages": []})),
            None,
        )
        .expect("valid");
        assert_eq!(chat.default_path, "/v1/chat/completions");
        let prompt = shape(
            Protocol::OpenInference,
            None,
            None,
            Some(json!({"model": "gpt-4", "prompt": "Hello"})),
            None,
        )
        .expect("valid");
        assert_eq!(prompt.default_path, "/v1/completions");
    }

    #[test]
    fn http_defaults_to_get_without_a_body_and_names_bad_methods() {
        assert_eq!(
            shape(Protocol::Http, None, Some("health"), None, None)
                .expect("valid")
                .default_path,
            "/health"
        );
        assert_eq!(
            shape(Protocol::Https, None, None, None, None)
                .expect("valid")
                .method,
            http::Method::GET
        );
        let error = shape(Protocol::Http, Some("NOT A METHOD"), None, None, None).expect_err("refused");
        assert_eq!(error.code(), ErrorCode::ValidationFailed);
        assert!(Protocol::parse("gopher").is_err());
    }
}
