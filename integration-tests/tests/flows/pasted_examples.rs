//! Every `curl` example of the product documents (`../shared/seeds/`) and of the README, pasted as
//! written into a shell against the embedded server: only the host and the credential placeholders
//! are substituted. Each must get a 2xx or an error its route documents in `/openapi.json`; an
//! example of a feature that is not built yet must still find no route, so that the list of pending
//! ones is shortened when the feature lands.

use std::path::{Path, PathBuf};

use gpuproxy_integration_tests::{Auth, Mode, TestFleet, expect_status};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// Routes of features still being built, with the issue that builds them.
const PENDING: &[(&str, &str)] = &[("/v2/", "issue 22: model serving")];

/// Seed examples that leave out credentials a route needs: as pasted they get 401, which says how
/// to authenticate; with `-H "X-API-Key: …"` added they work. Nothing else may answer 401.
const SEED_OMITS_CREDENTIALS: &[(&str, &str)] = &[(
    "/api/v1/models/upload",
    "seed 003's upload example has no X-API-Key; uploads are a user's, like every model route",
)];

/// Codes that say the request itself is broken (its form, its credentials, its route), not what it
/// asked for: an example that gets one does not work as pasted, whatever the route documents.
const BROKEN_AS_PASTED: &[&str] = &[
    "MALFORMED_REQUEST",
    "UNSUPPORTED_MEDIA_TYPE",
    "PAYLOAD_TOO_LARGE",
    "UNAUTHENTICATED",
    "INVALID_TOKEN",
    "METHOD_NOT_ALLOWED",
    "RATE_LIMITED",
    "INTERNAL",
];

const ADMIN_EMAIL: &str = "examples-admin@example.com";
const ADMIN_PASSWORD: &str = "examples-admin-password";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_pasted_curl_example_gets_a_documented_answer() {
    let fleet = TestFleet::start_with(
        Mode::Embedded,
        &[
            ("BOOTSTRAP_ADMIN_EMAIL", ADMIN_EMAIL),
            ("BOOTSTRAP_ADMIN_PASSWORD", ADMIN_PASSWORD),
        ],
    )
    .await;
    let rest = &fleet.rest;
    let (_, token) = rest.new_user().await;
    let (_, key) = rest.create_key(&token).await;
    let admin_token = rest.login_as(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let (_, admin_key) = rest.create_key(&admin_token).await;
    let subscription = rest
        .subscribe_webhook(&key, "http://localhost:9/hook", &["payment.completed"])
        .await;
    let openapi = expect_status(rest.get("/openapi.json", Auth::None).await, StatusCode::OK).await;
    let gateway = fleet.gateways[0].http.trim_start_matches("http://").to_owned();
    let simulator = fleet
        .simulator
        .as_ref()
        .map(|simulator| simulator.base_url().trim_start_matches("http://").to_owned())
        .unwrap_or_default();
    let shell = Shell {
        variables: vec![
            ("KEY", key.clone()),
            ("TOKEN", token.clone()),
            ("ADMIN_KEY", admin_key),
            ("ID", subscription["id"].as_str().unwrap_or_default().to_owned()),
        ],
        replacements: vec![
            ("localhost:8080", gateway.clone()),
            ("127.0.0.1:8099", simulator.clone()),
            ("YOUR_API_KEY", key.clone()),
            ("X-API-Key: KEY\"", format!("X-API-Key: {key}\"")),
            ("YOUR_KEY", key),
            ("YOUR_JWT_TOKEN", token.clone()),
            ("Bearer JWT\"", format!("Bearer {token}\"")),
            ("ADMIN_JWT", admin_token),
        ],
    };

    let mut failures = Vec::new();
    let mut run = 0;
    for source in sources() {
        let text = std::fs::read_to_string(&source)
            .unwrap_or_else(|error| panic!("reading {}: {error}", source.display()));
        for example in curl_commands(&text) {
            let command = shell.substitute(&example);
            let Some(request) = Request::of(&command) else {
                continue;
            };
            let answer = tokio::task::spawn_blocking({
                let shell = shell.clone();
                let command = command.clone();
                move || shell.run(&command)
            })
            .await
            .expect("the shell ran");
            run += 1;
            let verdict = if request.host == gateway {
                judge(&openapi, &request, &answer)
            } else if request.host == simulator {
                (200..300)
                    .contains(&answer.status)
                    .then_some(())
                    .ok_or_else(|| "the simulator refused it".to_owned())
            } else {
                continue;
            };
            if let Err(reason) = verdict {
                failures.push(format!(
                    "{}: {example}\n  -> {} {}: {reason}",
                    source.display(),
                    answer.status,
                    answer.body.chars().take(300).collect::<String>()
                ));
            }
        }
    }
    assert!(
        run >= 40,
        "only {run} examples were found: is ../shared/seeds there?"
    );
    assert!(
        failures.is_empty(),
        "{} example(s) broke:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// The seed documents and the README, where the repository sits beside `shared/`.
fn sources() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let seeds = root.join("../shared/seeds");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&seeds)
        .unwrap_or_else(|error| panic!("the seeds are read from {}: {error}", seeds.display()))
        .map(|entry| entry.expect("an entry").path())
        .collect();
    files.sort();
    files.push(root.join("README.md"));
    files
}

/// Returns every `curl …` command in `text`: from `curl` to the end of its shell command (a newline
/// not continued by `\`, a pipe, a redirection, a `)` or `;`), quotes kept as written.
fn curl_commands(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut from = 0;
    while let Some(offset) = text[from..].find("curl ") {
        let at = from + offset;
        let starts_a_command = text[..at]
            .chars()
            .last()
            .is_none_or(|before| matches!(before, ' ' | '\n' | '\t' | '(' | ';' | '`'));
        if !starts_a_command {
            from = at + 5;
            continue;
        }
        let (command, length) = one_command(&text[at..]);
        if command.contains("http://") || command.contains("https://") {
            found.push(command);
        }
        from = at + length.max(5);
    }
    found
}

fn one_command(text: &str) -> (String, usize) {
    let mut command = String::new();
    let mut quote: Option<char> = None;
    let mut chars = text.char_indices().peekable();
    while let Some((at, c)) = chars.next() {
        match (quote, c) {
            (Some(open), c) if c == open => {
                quote = None;
                command.push(c);
            }
            (Some('"'), '\\') => {
                command.push(c);
                if let Some((_, escaped)) = chars.next() {
                    command.push(escaped);
                }
            }
            (Some(_), c) => command.push(c),
            (None, '\'' | '"') => {
                quote = Some(c);
                command.push(c);
            }
            (None, '\\') if chars.peek().is_some_and(|(_, next)| *next == '\n') => {
                chars.next();
                command.push(' ');
            }
            (None, '#') if command.ends_with(' ') => return (command, at),
            (None, '\n' | '|' | ';' | ')' | '>' | '`' | '&') => return (command, at),
            (None, c) => command.push(c),
        }
    }
    (command, text.len())
}

/// How examples are run: the variables they read and the placeholders they hold.
#[derive(Debug, Clone)]
struct Shell {
    variables: Vec<(&'static str, String)>,
    replacements: Vec<(&'static str, String)>,
}

/// What an example's request got.
#[derive(Debug)]
struct Answer {
    status: u16,
    body: String,
}

impl Shell {
    fn substitute(&self, example: &str) -> String {
        self.replacements
            .iter()
            .fold(example.to_owned(), |text, (placeholder, value)| {
                text.replace(placeholder, value)
            })
    }

    /// Runs `command` with bash in a directory of its own, its `curl` told to keep quiet, write the
    /// body to a file and print the status. Files it uploads (`-F model=@model.onnx`) are there.
    fn run(&self, command: &str) -> Answer {
        let dir = tempfile::tempdir().expect("a temp dir");
        for word in shlex::split(command).unwrap_or_default() {
            if let Some((_, file)) = word.split_once('@')
                && !file.is_empty()
                && !file.contains('/')
            {
                std::fs::write(dir.path().join(file), b"pasted example").expect("an upload");
            }
        }
        let body_file = dir.path().join("body");
        let quiet = format!(
            "curl -sS --max-time 30 -o '{}' -w '%{{http_code}}' ",
            body_file.display()
        );
        let command = command.replacen("curl ", &quiet, 1);
        let output = std::process::Command::new("bash")
            .current_dir(dir.path())
            .arg("-c")
            .arg(&command)
            .envs(self.variables.iter().map(|(name, value)| (*name, value)))
            .output()
            .expect("bash runs");
        Answer {
            status: String::from_utf8_lossy(&output.stdout)
                .trim()
                .parse()
                .unwrap_or(0),
            body: std::fs::read_to_string(&body_file)
                .unwrap_or_else(|_| String::from_utf8_lossy(&output.stderr).into_owned()),
        }
    }
}

/// The request an example makes, as far as judging its answer needs.
#[derive(Debug)]
struct Request {
    method: String,
    host: String,
    path: String,
}

impl Request {
    fn of(command: &str) -> Option<Self> {
        let words = shlex::split(command)?;
        let url = words
            .iter()
            .find(|word| word.starts_with("http://") || word.starts_with("https://"))?;
        let after_scheme = url.split_once("://")?.1;
        let (host, rest) = after_scheme.split_at(after_scheme.find('/').unwrap_or(after_scheme.len()));
        let path = rest.split(['?', '#']).next().unwrap_or("/");
        let explicit = words
            .windows(2)
            .find(|pair| pair[0] == "-X" || pair[0] == "--request")
            .map(|pair| pair[1].to_ascii_uppercase());
        let sends_data = words
            .iter()
            .any(|word| word.starts_with("-d") || word.starts_with("--data") || word == "-F");
        let method = explicit.unwrap_or_else(|| if sends_data { "POST" } else { "GET" }.to_owned());
        Some(Request {
            method,
            host: host.to_owned(),
            path: if path.is_empty() {
                "/".to_owned()
            } else {
                path.to_owned()
            },
        })
    }
}

/// A 2xx, or a status the route documents for this method; a pending feature's route must not exist.
fn judge(openapi: &Value, request: &Request, answer: &Answer) -> Result<(), String> {
    if let Some((_, issue)) = PENDING
        .iter()
        .find(|(prefix, _)| request.path.starts_with(prefix))
    {
        return match answer.status {
            404 => Ok(()),
            status => Err(format!(
                "a route of a pending feature ({issue}) answered {status}: remove it from PENDING"
            )),
        };
    }
    let operation = documented_operation(openapi, &request.method, &request.path)
        .ok_or_else(|| format!("{} {} is not a documented route", request.method, request.path))?;
    let code = serde_json::from_str::<Value>(&answer.body)
        .ok()
        .and_then(|body| body["code"].as_str().map(str::to_owned))
        .unwrap_or_default();
    let credentials_left_out = answer.status == 401
        && SEED_OMITS_CREDENTIALS
            .iter()
            .any(|(path, _)| request.path == *path);
    if BROKEN_AS_PASTED.contains(&code.as_str()) && !credentials_left_out {
        return Err(format!("refused as written ({code})"));
    }
    let documented = operation["responses"]
        .as_object()
        .is_some_and(|responses| responses.contains_key(&answer.status.to_string()));
    if (200..300).contains(&answer.status) || (documented && answer.status != 500) {
        Ok(())
    } else {
        Err(format!(
            "{} {} does not document {}",
            request.method, request.path, answer.status
        ))
    }
}

/// Finds the operation whose path template (`/api/v1/gpu/instances/{provider}/{instance_id}`)
/// matches `path`; a final `{path}` takes the rest of it (the route forwards any path).
fn documented_operation<'a>(openapi: &'a Value, method: &str, path: &str) -> Option<&'a Value> {
    let segments: Vec<&str> = path.trim_end_matches('/').split('/').collect();
    openapi["paths"].as_object()?.iter().find_map(|(template, item)| {
        let parts: Vec<&str> = template.trim_end_matches('/').split('/').collect();
        let takes_the_rest = parts.last() == Some(&"{path}") && segments.len() >= parts.len();
        let matches = (parts.len() == segments.len() || takes_the_rest)
            && parts
                .iter()
                .zip(&segments)
                .all(|(part, segment)| part.starts_with('{') || part == segment);
        matches.then(|| item.get(method.to_ascii_lowercase())).flatten()
    })
}

#[test]
fn commands_are_read_whole_and_prose_is_not_a_command() {
    let text = "Say `curl -s http://x/a -H 'A: b'` then\ncurl -X POST \\\n  -d '{\n  \"k\": 1\n}' \\\n  http://x/b | jq .\nwith curl -d the body\n";
    let found = curl_commands(text);
    assert_eq!(found.len(), 2, "{found:#?}");
    assert_eq!(found[0], "curl -s http://x/a -H 'A: b'");
    assert!(
        found[1].contains("\"k\": 1") && found[1].ends_with("http://x/b "),
        "{}",
        found[1]
    );
    let request = Request::of(&found[1]).expect("a request");
    assert_eq!((request.method.as_str(), request.path.as_str()), ("POST", "/b"));
    assert_eq!(
        json!(Request::of("curl http://h:1/x?y=1").map(|r| r.path)),
        json!("/x")
    );
}
