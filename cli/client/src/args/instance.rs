//! `create`, `destroy` and the instance configuration `reserve` shares.

use serde_json::{Map, Value};

use crate::args::{pairs::parse_env_pair, present_fields, rest_path};

/// What a rented instance runs.
#[derive(Debug, Clone, clap::Args)]
pub struct InstanceConfigArgs {
    /// The container image (default: the reservation service's, `nvidia/cuda:12.0.0-base-ubuntu22.04`).
    #[arg(long)]
    pub image: Option<String>,
    /// An environment variable of the container (repeatable).
    #[arg(long = "env", value_name = "NAME=VALUE", value_parser = parse_env_pair)]
    pub env: Vec<(String, String)>,
    /// A container port to expose (repeatable).
    #[arg(long = "port", value_name = "PORT")]
    pub ports: Vec<u16>,
    /// Disk size, GB.
    #[arg(long)]
    pub disk_gb: Option<u32>,
    /// Minutes of idleness after which the provider stops the instance.
    #[arg(long)]
    pub autostop_minutes: Option<u32>,
}

impl InstanceConfigArgs {
    /// Returns the configuration as the server's JSON, leaving out options that were not given.
    pub fn body(&self) -> Value {
        let env: Map<String, Value> = self
            .env
            .iter()
            .map(|(name, value)| (name.clone(), Value::from(value.as_str())))
            .collect();
        present_fields([
            ("image", self.image.as_deref().map(Value::from)),
            ("env", (!env.is_empty()).then_some(Value::Object(env))),
            (
                "ports",
                (!self.ports.is_empty()).then(|| Value::from(self.ports.clone())),
            ),
            ("disk_gb", self.disk_gb.map(Value::from)),
            ("autostop_minutes", self.autostop_minutes.map(Value::from)),
        ])
    }
}

/// Rents one offer: `create vast.ai 12345`.
#[derive(Debug, Clone, clap::Args)]
pub struct CreateArgs {
    /// `vast.ai` or `io.net`.
    pub provider: String,
    /// The offer's id, as `list` shows it.
    pub offer_id: String,
    /// What the instance runs.
    #[command(flatten)]
    pub config: InstanceConfigArgs,
    /// Makes a retried `create` return the first instance instead of renting a second one.
    #[arg(long)]
    pub idempotency_key: Option<String>,
}

impl CreateArgs {
    /// Returns the REST path of the offer to rent.
    pub fn path(&self) -> String {
        rest_path(&["api", "v1", "gpu", "instances", &self.provider, &self.offer_id])
    }

    /// Returns the JSON body of the rent request.
    pub fn body(&self) -> Value {
        self.config.body()
    }

    /// Returns the request's extra headers: the idempotency key, when one was given.
    pub fn headers(&self) -> Vec<(&'static str, &str)> {
        self.idempotency_key
            .iter()
            .map(|key| ("Idempotency-Key", key.as_str()))
            .collect()
    }
}

/// Terminates one rented instance: `destroy vast.ai 12345`.
#[derive(Debug, Clone, clap::Args)]
pub struct DestroyArgs {
    /// The provider the instance runs at.
    pub provider: String,
    /// The instance's id, as `instances` shows it.
    pub instance_id: String,
}

impl DestroyArgs {
    /// Returns the REST path of the instance to terminate.
    pub fn path(&self) -> String {
        rest_path(&["api", "v1", "gpu", "instances", &self.provider, &self.instance_id])
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;
    use serde_json::json;

    use crate::{Args, Command};

    fn parse(args: &[&str]) -> Command {
        let args = [&["aiserve-gpuproxy-client"], args].concat();
        Args::try_parse_from(args).expect("valid").command
    }

    #[test]
    fn create_sends_only_the_options_given_and_leaves_the_image_to_the_server() {
        let Command::Create(create) = parse(&["create", "vast.ai", "12345"]) else {
            panic!("a create command");
        };
        assert_eq!(create.path(), "/api/v1/gpu/instances/vast.ai/12345");
        assert_eq!(create.body(), json!({}));
        assert!(create.headers().is_empty());
    }

    #[test]
    fn create_takes_env_ports_disk_autostop_and_an_idempotency_key() {
        let Command::Create(create) = parse(&[
            "create",
            "io.net",
            "abc",
            "--image",
            "vllm/vllm-openai",
            "--env",
            "MODEL=llama",
            "--env",
            "HF_TOKEN=x=y",
            "--port",
            "8000",
            "--port",
            "22",
            "--disk-gb",
            "40",
            "--autostop-minutes",
            "30",
            "--idempotency-key",
            "retry-1",
        ]) else {
            panic!("a create command");
        };
        assert_eq!(
            create.body(),
            json!({
                "image": "vllm/vllm-openai",
                "env": {"MODEL": "llama", "HF_TOKEN": "x=y"},
                "ports": [8000, 22],
                "disk_gb": 40,
                "autostop_minutes": 30,
            })
        );
        assert_eq!(create.headers(), [("Idempotency-Key", "retry-1")]);
    }

    #[test]
    fn create_refuses_an_env_without_an_equals_sign() {
        let args = [
            "aiserve-gpuproxy-client",
            "create",
            "vast.ai",
            "1",
            "--env",
            "MODEL",
        ];
        let error = Args::try_parse_from(args).expect_err("malformed env");
        assert!(error.to_string().contains("NAME=VALUE"), "{error}");
    }

    #[test]
    fn destroy_escapes_the_ids_into_the_path() {
        let Command::Destroy(destroy) = parse(&["destroy", "vast.ai", "a/b c"]) else {
            panic!("a destroy command");
        };
        assert_eq!(destroy.path(), "/api/v1/gpu/instances/vast.ai/a%2Fb%20c");
    }
}
