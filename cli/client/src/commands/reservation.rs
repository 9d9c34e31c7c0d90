//! `reserve`: a spinner while the server reserves, then a progress bar until the instances run.

use std::{
    collections::{HashMap, HashSet},
    time::Duration,
};

use comfy_table::Table;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use reqwest::Method;
use serde_json::Value;
use tokio::time::{Instant, MissedTickBehavior};

use crate::{
    ApiClient,
    args::ReserveArgs,
    commands::{instance::MY_INSTANCES_PATH, price, text},
};

/// How often the caller's instances are polled while waiting for them to run.
const POLL_INTERVAL: Duration = Duration::from_secs(1);
const SPINNER_TEMPLATE: &str = "{spinner} {msg} ({elapsed})";
const PROGRESS_TEMPLATE: &str = "{spinner} running {pos}/{len} [{bar:30}] {msg} ({elapsed})";

/// Reserves the instances, waits for them unless `--no-wait` or `--json`, and returns what to print.
///
/// Unlike the other commands this renders its own answer, because it draws on standard error
/// between calls; with `--json` it prints the server's body untouched and draws nothing.
pub async fn reserve(client: &ApiClient, reserve: &ReserveArgs, json: bool) -> anyhow::Result<String> {
    let body = reserve.body();
    if json {
        let answer = client.call(Method::POST, reserve.path(), Some(&body)).await?;
        return Ok(answer.to_string());
    }
    let spinner = ProgressBar::with_draw_target(None, draw_target(client))
        .with_style(style(SPINNER_TEMPLATE))
        .with_message(format!("reserving {} instances", reserve.count));
    spinner.enable_steady_tick(Duration::from_millis(100));
    let answer = client.call(Method::POST, reserve.path(), Some(&body)).await;
    // Cleared before the error, if any, is printed on the same terminal.
    spinner.finish_and_clear();
    let answer = answer?;
    let reserved = answer["reserved"].as_array().map_or(&[][..], Vec::as_slice);
    let wait = if reserve.no_wait || reserved.is_empty() {
        None
    } else {
        Some(wait_until_settled(client, reserved, reserve.wait_timeout()).await)
    };
    Ok(render(&answer, wait.as_ref()))
}

/// What waiting for the reserved instances saw.
#[derive(Debug, Default)]
struct Wait {
    /// The last state `instances/mine` reported, per reserved instance id.
    instances: HashMap<String, Value>,
    /// The reserved instances by how far they got when waiting ended.
    tally: Tally,
    /// Why waiting ended while some instances were still starting, if it did.
    stopped: Option<String>,
}

/// Counts of reserved instances by outcome.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Tally {
    /// Running: done and usable.
    running: u64,
    /// Failed or terminated: done, but not usable.
    failed: u64,
    /// Any other status, or not yet listed: still to wait for.
    starting: u64,
}

/// Polls the caller's instances until every reserved one runs, fails or `timeout` passes, showing
/// "running N/M" on standard error; a failed poll ends the wait rather than the command, since the
/// reservation itself succeeded and must still be printed.
async fn wait_until_settled(client: &ApiClient, reserved: &[Value], timeout: Duration) -> Wait {
    let reserved_ids: HashSet<String> = reserved.iter().map(|entry| text(&entry["instance_id"])).collect();
    let total = u64::try_from(reserved.len()).unwrap_or(u64::MAX);
    let bar =
        ProgressBar::with_draw_target(Some(total), draw_target(client)).with_style(style(PROGRESS_TEMPLATE));
    bar.enable_steady_tick(Duration::from_millis(100));
    let deadline = Instant::now() + timeout;
    let mut polls = tokio::time::interval(POLL_INTERVAL);
    polls.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut wait = Wait::default();
    loop {
        polls.tick().await;
        let mine = match client.call(Method::GET, MY_INSTANCES_PATH, None).await {
            Ok(mine) => mine,
            Err(error) => {
                wait.stopped = Some(format!("stopped waiting: {error:#}"));
                break;
            }
        };
        for instance in mine["data"].as_array().into_iter().flatten() {
            let instance_id = text(&instance["instance_id"]);
            if reserved_ids.contains(&instance_id) {
                wait.instances.insert(instance_id, instance.clone());
            }
        }
        wait.tally = tally(reserved, &wait.instances);
        bar.set_position(wait.tally.running);
        if wait.tally.failed > 0 {
            bar.set_message(format!("{} failed", wait.tally.failed));
        }
        if wait.tally.starting == 0 {
            break;
        }
        if Instant::now() >= deadline {
            wait.stopped = Some(format!("stopped waiting after {}s", timeout.as_secs()));
            break;
        }
    }
    bar.finish_and_clear();
    wait
}

/// Returns the newest status of a reserved instance: the polled one, else the reservation's.
fn current_status<'answer>(
    entry: &'answer Value,
    instances: &'answer HashMap<String, Value>,
) -> &'answer Value {
    instances
        .get(&text(&entry["instance_id"]))
        .map_or(&entry["status"], |instance| &instance["status"])
}

fn tally(reserved: &[Value], instances: &HashMap<String, Value>) -> Tally {
    let mut tally = Tally::default();
    for entry in reserved {
        match current_status(entry, instances).as_str().unwrap_or_default() {
            "running" => tally.running += 1,
            "failed" | "terminated" => tally.failed += 1,
            _ => tally.starting += 1,
        }
    }
    tally
}

fn render(answer: &Value, wait: Option<&Wait>) -> String {
    let no_instances = HashMap::new();
    let instances = wait.map_or(&no_instances, |wait| &wait.instances);
    let mut table = Table::new();
    table.set_header([
        "INSTANCE", "PROVIDER", "GPU", "VRAM GB", "USD/HOUR", "STATUS", "ENDPOINT",
    ]);
    for entry in answer["reserved"].as_array().into_iter().flatten() {
        let endpoint = instances
            .get(&text(&entry["instance_id"]))
            .map_or_else(|| "-".to_owned(), |instance| text(&instance["endpoint"]));
        table.add_row([
            text(&entry["instance_id"]),
            text(&entry["provider"]),
            text(&entry["gpu_model"]),
            text(&entry["vram"]),
            price(&entry["price"]),
            text(current_status(entry, instances)),
            endpoint,
        ]);
    }
    let mut output = format!(
        "{table}\nreserved {} of {} instances (reservation {})",
        text(&answer["count"]),
        text(&answer["requested"]),
        text(&answer["reservation_id"])
    );
    if let Some(wait) = wait {
        let Tally {
            running,
            failed,
            starting,
        } = wait.tally;
        output.push_str(&format!(
            "\n{running} running, {failed} failed, {starting} still starting"
        ));
        if let Some(stopped) = &wait.stopped {
            output.push_str(&format!(" ({stopped})"));
        }
    }
    for error in answer["errors"].as_array().into_iter().flatten() {
        output.push_str(&format!("\nerror: {}", text(error)));
    }
    output
}

/// Returns standard error, or nothing while `-dv` traces calls there: the trace lines would tear
/// the bar. indicatif itself draws nothing when standard error is not a terminal.
fn draw_target(client: &ApiClient) -> ProgressDrawTarget {
    if client.traces() {
        ProgressDrawTarget::hidden()
    } else {
        ProgressDrawTarget::stderr()
    }
}

fn style(template: &str) -> ProgressStyle {
    // The templates are constants checked by a test, so the fallback only guards a typo.
    ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_spinner())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn reservation() -> Value {
        json!({
            "reservation_id": "r-1",
            "reserved": [
                {"instance_id": "i-1", "provider": "vast.ai", "gpu_model": "RTX 4090", "vram": 24,
                 "price": 0.4, "status": "starting"},
                {"instance_id": "i-2", "provider": "io.net", "gpu_model": "A100", "vram": 80,
                 "price": 1.2, "status": "starting"},
                {"instance_id": "i-3", "provider": "io.net", "gpu_model": "A100", "vram": 80,
                 "price": 1.2, "status": "starting"},
            ],
            "count": 3,
            "requested": 4,
            "errors": ["slot 3: no offer left"],
            "status": "success",
        })
    }

    fn polled(pairs: &[(&str, &str)]) -> HashMap<String, Value> {
        pairs
            .iter()
            .map(|(id, status)| {
                let endpoint = format!("https://{id}.example.com");
                (
                    id.to_string(),
                    json!({"instance_id": id, "status": status, "endpoint": endpoint}),
                )
            })
            .collect()
    }

    #[test]
    fn the_progress_templates_parse() {
        for template in [SPINNER_TEMPLATE, PROGRESS_TEMPLATE] {
            assert!(ProgressStyle::with_template(template).is_ok(), "{template}");
        }
    }

    #[test]
    fn the_tally_counts_failed_and_terminated_as_done_and_unpolled_as_starting() {
        let answer = reservation();
        let reserved = answer["reserved"].as_array().expect("reserved");
        let instances = polled(&[("i-1", "running"), ("i-2", "terminated")]);
        assert_eq!(
            tally(reserved, &instances),
            Tally {
                running: 1,
                failed: 1,
                starting: 1
            }
        );
    }

    #[test]
    fn the_reservation_shows_polled_statuses_the_summary_and_the_errors() {
        let instances = polled(&[("i-1", "running"), ("i-2", "failed")]);
        let wait = Wait {
            tally: tally(
                reservation()["reserved"].as_array().expect("reserved"),
                &instances,
            ),
            instances,
            stopped: Some("stopped waiting after 600s".to_owned()),
        };
        let output = render(&reservation(), Some(&wait));
        for expected in [
            "https://i-1.example.com",
            "running",
            "failed",
            "0.4000",
            "reserved 3 of 4 instances (reservation r-1)",
            "1 running, 1 failed, 1 still starting (stopped waiting after 600s)",
            "error: slot 3: no offer left",
        ] {
            assert!(output.contains(expected), "{expected} in {output}");
        }
    }

    #[test]
    fn a_reservation_not_waited_for_shows_the_reserved_statuses_without_a_summary() {
        let output = render(&reservation(), None);
        assert!(
            output.contains("starting") && !output.contains("still starting"),
            "{output}"
        );
    }
}
