//! `proxy`: one request through the server to a target or to one of your instances.

use std::convert::Infallible;

use clap::ValueEnum;
use serde_json::{Map, Value};

use crate::args::{pairs::parse_header_pair, present_fields};

/// The REST path of the proxy.
pub const PROXY_PATH: &str = "/api/v1/gpu/proxy";

/// How the server talks to the target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Protocol {
    /// Plain HTTP.
    Http,
    /// HTTP over TLS.
    Https,
    /// Model Context Protocol.
    Mcp,
    /// The OpenInference (OpenAI-compatible) inference API.
    Openinference,
}

impl Protocol {
    /// Returns the protocol's name on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Http => "http",
            Protocol::Https => "https",
            Protocol::Mcp => "mcp",
            Protocol::Openinference => "openinference",
        }
    }
}

/// Sends one request through the proxy: `proxy https https://api.example.com`.
#[derive(Debug, Clone, clap::Args)]
pub struct ProxyArgs {
    /// `http`, `https`, `mcp` or `openinference`.
    #[arg(value_enum)]
    pub protocol: Protocol,
    /// The target's URL; without one, the load balancer picks one of your instances.
    pub target_url: Option<String>,
    /// The HTTP method of the upstream request.
    #[arg(long, default_value = "POST")]
    pub method: String,
    /// The path on the target, e.g. /v1/chat/completions.
    #[arg(long)]
    pub path: Option<String>,
    /// A header of the upstream request (repeatable).
    #[arg(long = "header", value_name = "NAME:VALUE", value_parser = parse_header_pair)]
    pub headers: Vec<(String, String)>,
    /// The upstream body: JSON if it parses as JSON, otherwise sent as a JSON string.
    #[arg(long, value_name = "JSON_OR_TEXT", value_parser = parse_json_or_text)]
    pub data: Option<Value>,
    /// Seconds the server waits for the target.
    #[arg(long, value_name = "SECS")]
    pub timeout: Option<u64>,
}

impl ProxyArgs {
    /// Returns the JSON body of the proxy request, leaving out options that were not given.
    pub fn body(&self) -> Value {
        let headers: Map<String, Value> = self
            .headers
            .iter()
            .map(|(name, value)| (name.clone(), Value::from(value.as_str())))
            .collect();
        present_fields([
            ("protocol", Some(Value::from(self.protocol.as_str()))),
            ("target_url", self.target_url.clone().map(Value::from)),
            ("path", self.path.clone().map(Value::from)),
            ("method", Some(Value::from(self.method.to_uppercase()))),
            ("headers", (!headers.is_empty()).then_some(Value::Object(headers))),
            ("body", self.data.clone()),
            ("timeout", self.timeout.map(Value::from)),
        ])
    }
}

/// Parses `--data`: text that is not JSON is still a valid body, as a JSON string.
fn parse_json_or_text(data: &str) -> Result<Value, Infallible> {
    Ok(serde_json::from_str(data).unwrap_or_else(|_| Value::from(data)))
}

#[cfg(test)]
mod tests {
    use clap::Parser;
    use serde_json::json;

    use crate::{Args, Command};

    fn parse(args: &[&str]) -> Result<Command, clap::Error> {
        Args::try_parse_from([&["aiserve-gpuproxy-client"], args].concat()).map(|args| args.command)
    }

    #[test]
    fn proxy_to_a_target_sends_its_method_path_headers_json_body_and_timeout() {
        let Ok(Command::Proxy(proxy)) = parse(&[
            "proxy",
            "https",
            "https://api.example.com",
            "--method",
            "post",
            "--path",
            "/v1/chat/completions",
            "--header",
            "Content-Type: application/json",
            "--header",
            "X-Trace:1",
            "--data",
            r#"{"model": "llama", "stream": false}"#,
            "--timeout",
            "30",
        ]) else {
            panic!("a proxy command");
        };
        assert_eq!(
            proxy.body(),
            json!({
                "protocol": "https",
                "target_url": "https://api.example.com",
                "path": "/v1/chat/completions",
                "method": "POST",
                "headers": {"Content-Type": "application/json", "X-Trace": "1"},
                "body": {"model": "llama", "stream": false},
                "timeout": 30,
            })
        );
    }

    #[test]
    fn proxy_without_a_target_leaves_the_choice_to_the_load_balancer() {
        let Ok(Command::Proxy(proxy)) = parse(&["proxy", "openinference", "--data", "hello"]) else {
            panic!("a proxy command");
        };
        assert_eq!(
            proxy.body(),
            json!({"protocol": "openinference", "method": "POST", "body": "hello"})
        );
    }

    #[test]
    fn proxy_refuses_a_header_without_a_colon_and_an_unknown_protocol() {
        let error = parse(&["proxy", "http", "--header", "Accept"]).expect_err("malformed header");
        assert!(error.to_string().contains("NAME:VALUE"), "{error}");
        assert!(parse(&["proxy", "ftp"]).is_err());
    }
}
