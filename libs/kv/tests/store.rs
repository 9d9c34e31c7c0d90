//! Both stores, same behaviour.
#![allow(clippy::expect_used, reason = "a test fails loudly at the step that broke")]

use std::time::Duration;

use gpuproxy_kv::{KvStore, LedgerMode, LedgerWindow, Once};

async fn redis() -> KvStore {
    KvStore::connect(&gpuproxy_testkit::redis_config())
        .await
        .expect("redis is running")
}

async fn values_are_stored_read_and_deleted(store: KvStore) {
    store
        .set("session:1", "alice", Duration::from_secs(60))
        .await
        .expect("set");
    assert_eq!(
        store.get("session:1").await.expect("get"),
        Some("alice".to_owned())
    );
    assert!(store.delete("session:1").await.expect("delete"));
    assert_eq!(store.get("session:1").await.expect("get"), None);
    assert!(!store.delete("session:1").await.expect("delete twice"));
}

async fn window_counts_reach_the_exact_number_under_concurrency(store: KvStore) {
    let mut increments = tokio::task::JoinSet::new();
    for _ in 0..50 {
        let store = store.clone();
        increments.spawn(async move {
            store
                .increment_window("rate:u1", Duration::from_secs(60))
                .await
                .expect("increment")
        });
    }
    let windows = increments.join_all().await;
    let mut counts: Vec<u64> = windows.iter().map(|window| window.count).collect();
    counts.sort_unstable();
    assert_eq!(
        counts,
        (1..=50).collect::<Vec<u64>>(),
        "every increment counted exactly once"
    );
    let next = store
        .increment_window("rate:u1", Duration::from_secs(60))
        .await
        .expect("increment");
    assert_eq!(next.count, 51);
    assert!(next.resets_in <= Duration::from_secs(60) && next.resets_in > Duration::from_secs(50));
}

async fn a_window_starts_again_after_it_closes(store: KvStore) {
    let first = store
        .increment_window("rate:u2", Duration::from_millis(200))
        .await
        .expect("increment");
    assert_eq!(first.count, 1);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let later = store
        .increment_window("rate:u2", Duration::from_millis(200))
        .await
        .expect("increment");
    assert_eq!(later.count, 1, "the closed window was forgotten");
}

#[tokio::test]
async fn memory_values_are_stored_read_and_deleted() {
    values_are_stored_read_and_deleted(KvStore::memory()).await;
}

#[tokio::test]
async fn redis_values_are_stored_read_and_deleted() {
    values_are_stored_read_and_deleted(redis().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn memory_window_counts_are_exact_under_concurrency() {
    window_counts_reach_the_exact_number_under_concurrency(KvStore::memory()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn redis_window_counts_are_exact_under_concurrency() {
    window_counts_reach_the_exact_number_under_concurrency(redis().await).await;
}

#[tokio::test]
async fn memory_windows_start_again_after_they_close() {
    a_window_starts_again_after_it_closes(KvStore::memory()).await;
}

#[tokio::test]
async fn redis_windows_start_again_after_they_close() {
    a_window_starts_again_after_it_closes(redis().await).await;
}

#[tokio::test]
async fn set_if_absent_never_overwrites_a_live_value() {
    for store in [KvStore::memory(), redis().await] {
        assert!(
            store
                .set_if_absent("once", "first", Duration::from_secs(60))
                .await
                .expect("set"),
            "{}",
            store.kind()
        );
        assert!(
            !store
                .set_if_absent("once", "second", Duration::from_secs(60))
                .await
                .expect("set")
        );
        assert_eq!(store.get("once").await.expect("get").as_deref(), Some("first"));
        store
            .set("once", "third", Duration::from_secs(60))
            .await
            .expect("plain set overwrites");
        assert_eq!(store.get("once").await.expect("get").as_deref(), Some("third"));
    }
}

#[tokio::test]
async fn expired_values_are_gone() {
    for store in [KvStore::memory(), redis().await] {
        store
            .set("short", "x", Duration::from_millis(100))
            .await
            .expect("set");
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert_eq!(store.get("short").await.expect("get"), None, "{}", store.kind());
    }
}

#[tokio::test]
async fn two_redis_stores_with_different_prefixes_do_not_see_each_other() {
    let (first, second) = (redis().await, redis().await);
    first
        .set("k", "first", Duration::from_secs(60))
        .await
        .expect("set");
    assert_eq!(second.get("k").await.expect("get"), None);
}

fn windows(limit: i64) -> Vec<LedgerWindow> {
    vec![
        LedgerWindow {
            length: Duration::from_millis(300),
            limit,
        },
        LedgerWindow {
            length: Duration::from_secs(3600),
            limit: 0,
        },
    ]
}

#[tokio::test]
async fn concurrent_reserves_never_push_a_ledger_window_past_its_limit() {
    for store in [KvStore::memory(), redis().await] {
        let mut reserves = tokio::task::JoinSet::new();
        for _ in 0..200 {
            let store = store.clone();
            reserves.spawn(async move {
                store
                    .ledger("spend:u1", 7, &windows(350), LedgerMode::Reserve)
                    .await
                    .expect("ledger")
            });
        }
        let outcomes = reserves.join_all().await;
        let appended = outcomes.iter().filter(|outcome| outcome.appended).count();
        assert_eq!(appended, 50, "exactly the reserves that fit ({})", store.kind());
        assert!(outcomes.iter().all(|outcome| outcome.totals[0] <= 350));
        let check = store
            .ledger("spend:u1", 0, &windows(350), LedgerMode::Check)
            .await
            .expect("ledger");
        assert_eq!((check.appended, check.totals.clone()), (false, vec![350, 350]));
    }
}

#[tokio::test]
async fn ledger_windows_slide_and_forced_amounts_pass_the_limit() {
    for store in [KvStore::memory(), redis().await] {
        let kind = store.kind();
        let first = store
            .ledger("spend:u2", 300, &windows(350), LedgerMode::Reserve)
            .await
            .expect("ledger");
        assert!(first.appended);
        let refused = store
            .ledger("spend:u2", 100, &windows(350), LedgerMode::Reserve)
            .await
            .expect("ledger");
        assert_eq!(
            (refused.appended, refused.totals.clone()),
            (false, vec![300, 300]),
            "{kind}"
        );
        let forced = store
            .ledger("spend:u2", 100, &windows(350), LedgerMode::Force)
            .await
            .expect("ledger");
        assert!(forced.appended);
        tokio::time::sleep(Duration::from_millis(400)).await;
        // The short window has slid past both entries; the hour still holds them.
        let later = store
            .ledger("spend:u2", 100, &windows(350), LedgerMode::Reserve)
            .await
            .expect("ledger");
        assert_eq!(
            (later.appended, later.totals.clone()),
            (true, vec![0, 400]),
            "{kind}"
        );
        assert!(store.delete("spend:u2").await.expect("delete"));
        let reset = store
            .ledger("spend:u2", 0, &windows(350), LedgerMode::Check)
            .await
            .expect("ledger");
        assert_eq!(reset.totals, vec![0, 0], "{kind}");
    }
}

#[tokio::test]
async fn resetting_one_ledger_window_leaves_the_others() {
    for store in [KvStore::memory(), redis().await] {
        let kind = store.kind();
        let key = format!("spend:u3-{kind}");
        store
            .ledger(&key, 300, &windows(350), LedgerMode::Force)
            .await
            .expect("ledger");
        // A reset keeps entries of its own millisecond (they may have come after it): step past it.
        tokio::time::sleep(Duration::from_millis(3)).await;
        store
            .reset_ledger_window(&key, Duration::from_millis(300))
            .await
            .expect("reset");
        let after = store
            .ledger(&key, 40, &windows(350), LedgerMode::Reserve)
            .await
            .expect("ledger");
        assert_eq!(
            (after.appended, after.totals.clone()),
            (true, vec![0, 300]),
            "the short window forgot, the hour kept ({kind})"
        );
        let check = store
            .ledger(&key, 0, &windows(350), LedgerMode::Check)
            .await
            .expect("ledger");
        assert_eq!(check.totals, vec![40, 340], "{kind}");
        store
            .reset_ledger_window("spend:nobody", Duration::from_secs(60))
            .await
            .expect("a reset of an empty ledger is a no-op");
        assert_eq!(store.get("spend:nobody").await.expect("get"), None);
    }
}

#[tokio::test]
async fn of_concurrent_calls_with_one_once_key_exactly_one_appends() {
    for store in [KvStore::memory(), redis().await] {
        let kind = store.kind();
        let ledger = format!("spend:once-{kind}-{}", std::process::id());
        let once_key = format!("once:{ledger}");
        let mut calls = tokio::task::JoinSet::new();
        for _ in 0..100 {
            let (store, ledger, once_key) = (store.clone(), ledger.clone(), once_key.clone());
            calls.spawn(async move {
                let once = Once {
                    key: &once_key,
                    ttl: Duration::from_secs(60),
                };
                store
                    .ledger_once(&ledger, once, 7, &windows(350), LedgerMode::Reserve)
                    .await
                    .expect("ledger")
            });
        }
        let outcomes = calls.join_all().await;
        let first: Vec<_> = outcomes.iter().filter(|outcome| !outcome.replayed).collect();
        assert_eq!(first.len(), 1, "one call decided ({kind})");
        assert!(
            outcomes.iter().all(|outcome| outcome.appended),
            "every answer is the first decision"
        );
        let check = store
            .ledger(&ledger, 0, &windows(350), LedgerMode::Check)
            .await
            .expect("ledger");
        assert_eq!(check.totals, vec![7, 7], "counted once ({kind})");

        // A refusal is remembered as a refusal, even once there is room.
        let refused_key = format!("{once_key}:refused");
        let once = Once {
            key: &refused_key,
            ttl: Duration::from_secs(60),
        };
        let refused = store
            .ledger_once(&ledger, once, 400, &windows(350), LedgerMode::Reserve)
            .await
            .expect("ledger");
        assert_eq!((refused.appended, refused.replayed), (false, false));
        let again = store
            .ledger_once(&ledger, once, 1, &windows(350), LedgerMode::Reserve)
            .await
            .expect("ledger");
        assert_eq!(
            (again.appended, again.replayed, again.totals),
            (false, true, vec![7, 7])
        );
    }
}

/// What a once key appended can be given back, in part or whole, once and no more, and only by
/// the windows still counting it.
#[tokio::test]
async fn a_once_key_gives_back_what_it_appended_and_no_more() {
    for store in [KvStore::memory(), redis().await] {
        let kind = store.kind();
        let ledger = format!("spend:release-{kind}-{}", std::process::id());
        // A short window an amount leaves within the test, and an hour.
        let spans = |limit: i64| {
            vec![
                LedgerWindow {
                    length: Duration::from_secs(2),
                    limit,
                },
                LedgerWindow {
                    length: Duration::from_secs(3600),
                    limit: 0,
                },
            ]
        };
        let lengths: Vec<Duration> = spans(0).iter().map(|window| window.length).collect();
        let once_key = |name: &str| format!("once:{ledger}:{name}");
        let append = |name: String, amount: i64| {
            let (store, ledger) = (store.clone(), ledger.clone());
            async move {
                let once = Once {
                    key: &name,
                    ttl: Duration::from_secs(60),
                };
                store
                    .ledger_once(&ledger, once, amount, &spans(0), LedgerMode::Reserve)
                    .await
                    .expect("ledger")
            }
        };
        let totals = || {
            let (store, ledger) = (store.clone(), ledger.clone());
            async move {
                store
                    .ledger(&ledger, 0, &spans(0), LedgerMode::Check)
                    .await
                    .expect("ledger")
                    .totals
            }
        };
        let release = |name: String, amount: i64| {
            let (store, ledger, lengths) = (store.clone(), ledger.clone(), lengths.clone());
            async move {
                store
                    .ledger_release(&ledger, &name, amount, &lengths)
                    .await
                    .expect("release")
            }
        };

        append(once_key("a"), 100).await;
        append(once_key("b"), 50).await;
        assert_eq!(totals().await, vec![150, 150], "{kind}");
        assert_eq!(release(once_key("a"), 30).await, 30, "part ({kind})");
        assert_eq!(totals().await, vec![120, 120], "{kind}");
        assert_eq!(release(once_key("a"), 0).await, 70, "the rest ({kind})");
        assert_eq!(release(once_key("a"), 0).await, 0, "nothing twice ({kind})");
        assert_eq!(totals().await, vec![50, 50], "{kind}");
        assert_eq!(release(once_key("never"), 0).await, 0, "unknown key ({kind})");
        let refused = once_key("refused");
        let once = Once {
            key: &refused,
            ttl: Duration::from_secs(60),
        };
        store
            .ledger_once(&ledger, once, 500, &spans(100), LedgerMode::Reserve)
            .await
            .expect("ledger");
        assert_eq!(
            release(refused, 0).await,
            0,
            "a refusal appended nothing ({kind})"
        );

        // Racing releases of one key give back its amount exactly once between them.
        let mut releases = tokio::task::JoinSet::new();
        for _ in 0..20 {
            releases.spawn(release(once_key("b"), 10));
        }
        let given: i64 = releases.join_all().await.into_iter().sum();
        assert_eq!(given, 50, "{kind}");
        assert_eq!(totals().await, vec![0, 0], "{kind}");

        // An amount that slid out of the short window is given back only by the long one: the
        // short window keeps what was spent after it.
        append(once_key("c"), 40).await;
        tokio::time::sleep(Duration::from_millis(2_200)).await;
        append(once_key("d"), 5).await;
        assert_eq!(totals().await, vec![5, 45], "{kind}");
        assert_eq!(release(once_key("c"), 0).await, 40, "{kind}");
        assert_eq!(totals().await, vec![5, 5], "{kind}");

        // After a reset, an amount from before it is given back by no window: it takes nothing
        // from what was spent after the reset, though that may sit in the same bucket.
        append(once_key("e"), 30).await;
        store
            .reset_ledger_window(&ledger, Duration::from_secs(3600))
            .await
            .expect("reset");
        append(once_key("f"), 20).await;
        assert_eq!(release(once_key("e"), 0).await, 30, "the key is spent ({kind})");
        assert_eq!(totals().await, vec![55, 20], "{kind}");
        append(once_key("g"), 10).await;
        store.delete(&ledger).await.expect("a whole reset");
        append(once_key("h"), 7).await;
        assert_eq!(release(once_key("g"), 0).await, 10, "{kind}");
        assert_eq!(totals().await, vec![7, 7], "{kind}");
    }
}

/// A ledger's size does not grow with the spending: a user who spends thousands of times holds a
/// window's worth of buckets, so a call costs the same on the ten-thousandth spend as on the first.
#[tokio::test]
async fn a_busy_ledger_stays_small_in_redis() {
    let config = gpuproxy_testkit::redis_config();
    let store = KvStore::connect(&config).await.expect("redis is running");
    let key = "spend:busy";
    let windows = [
        LedgerWindow {
            length: Duration::from_millis(600),
            limit: 0,
        },
        LedgerWindow {
            length: Duration::from_secs(3600),
            limit: 0,
        },
    ];
    let started = std::time::Instant::now();
    let mut appended = 0;
    while started.elapsed() < Duration::from_millis(1_500) {
        store
            .ledger(key, 1, &windows, LedgerMode::Force)
            .await
            .expect("ledger");
        appended += 1;
    }
    let totals = store
        .ledger(key, 0, &windows, LedgerMode::Check)
        .await
        .expect("ledger")
        .totals;
    assert_eq!(totals[1], appended, "the hour holds every amount");
    assert!(
        totals[0] > 0 && totals[0] < appended,
        "the short window slid: {totals:?} of {appended}"
    );
    let fields = hash_length(&format!("{}{key}", config.key_prefix)).await;
    // Per window its total, its oldest index and at most a window and two steps of buckets.
    assert!(
        fields <= 2 * 2 + 62 + 2,
        "{fields} fields after {appended} amounts"
    );
    assert!(store.delete(key).await.expect("delete"));
}

/// `HLEN key` over a plain connection, so the test sees what Redis holds rather than what the store says.
async fn hash_length(key: &str) -> i64 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let servers = gpuproxy_testkit::TestServers::from_env();
    let mut stream = tokio::net::TcpStream::connect((servers.redis_host.as_str(), servers.redis_port))
        .await
        .expect("redis");
    let command = format!("*2\r\n$4\r\nHLEN\r\n${}\r\n{key}\r\n", key.len());
    stream.write_all(command.as_bytes()).await.expect("sent");
    let mut reply = [0u8; 64];
    let read = stream.read(&mut reply).await.expect("read");
    let reply = String::from_utf8_lossy(&reply[..read]);
    reply
        .trim()
        .trim_start_matches(':')
        .parse()
        .expect("an integer reply")
}
