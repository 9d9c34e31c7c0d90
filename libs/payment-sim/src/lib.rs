//! Local fake payment processors for tests: Stripe (cards), NOWPayments (crypto) and AfterDark
//! (our generic billing API), each speaking its real wire format over real HTTP on
//! `127.0.0.1:<ephemeral port>` until dropped, so billing code is tested against the protocol
//! rather than a mock of its own client.
//!
//! Stripe and NOWPayments follow `shared/specs/payments-api.md` (Parts A and B); the spec is
//! binding and the comments cite its sections. AfterDark has no public spec: its contract is the
//! one below, and this crate is its reference.
//!
//! Layout: `stripe/`, `nowpayments/` and `afterdark/` each hold one fake (router, handlers and
//! their test hooks, a file per endpoint); `idempotency` is the replay store Stripe and AfterDark
//! share; `signature` and `canonical_json` are the webhook signing schemes; `fail_next` is the
//! failure-injection hook; `serve`, `ids` and `clock` are the small plumbing every fake uses. All
//! state lives in memory behind a `Mutex` and is read through the fake's methods.
//!
//! # Stripe ([`FakeStripe`])
//!
//! `POST /v1/payment_intents`, `GET /v1/payment_intents/{id}`,
//! `POST /v1/payment_intents/{id}/cancel`. Where the spec leaves a choice, the fake is strict, as
//! real Stripe is: unknown parameters are `400 parameter_unknown`; `confirm=true` with automatic
//! payment methods that may redirect needs a `return_url` (send `payment_method_types[]=card` or
//! `automatic_payment_methods[allow_redirects]=never`); the $0.50 minimum applies to every
//! currency. Events are sent only by [`FakeStripe::complete`] and [`FakeStripe::send_event`],
//! never as a side effect of an API call, so each test decides what its receiver sees.
//!
//! # NOWPayments ([`FakeNowPayments`])
//!
//! `GET /v1/status`, `POST /v1/payment`, `GET /v1/payment/{id}`, `POST /v1/invoice`. Coins:
//! `btc`, `eth`, `usdttrc20`, `usdc`, `sol`, `ltc` at fixed rates (60 000, 3 000, 1, 1, 150 and
//! 80 USD); prices in `usd` or `eur`, at least 1.0. The create answer carries `payment_id` and
//! `purchase_id` as strings, `GET` and IPNs as numbers; IPN bodies carry `updated_at` in epoch
//! milliseconds, and invoices carry `price_amount` as a string, as the real service does.
//!
//! # AfterDark ([`FakeAfterDark`]) — the contract
//!
//! Every request sends `Authorization: Bearer <api key>`; without it, or with another key, the
//! answer is `401 {"error": {"code": "unauthorized", "message": ".."}}`. Every error body is
//! `{"error": {"code", "message"}}`.
//!
//! `POST /v1/charges` requires an `Idempotency-Key` header (1 to 255 characters; without one,
//! `400 idempotency_key_missing`) and a JSON body:
//!
//! ```json
//! {"amount": 1250, "currency": "usd", "customer": "user-42", "reference": "topup-7",
//!  "description": "GPU credits"}
//! ```
//!
//! `amount` is an integer number of cents from 1 to 99 999 999; `currency` a lowercase ISO-4217
//! code; `customer` and `reference` non-empty strings of at most 255 characters; `description`
//! an optional string. Anything else (a missing or mistyped field, an unknown field, a body that
//! is not a JSON object) is `400 invalid_request` and is not stored, so the key may be retried.
//! A valid request answers `201`:
//!
//! ```json
//! {"id": "adch_<24 hex>", "object": "charge", "status": "succeeded", "amount": 1250,
//!  "currency": "usd", "customer": "user-42", "reference": "topup-7",
//!  "description": "GPU credits", "failure_code": null, "failure_message": null,
//!  "created": 1721948530}
//! ```
//!
//! A declined charge is still created and still `201`, with `"status": "failed"`,
//! `"failure_code": "card_declined"` and a `failure_message`. The same key with the same body
//! (compared as JSON, so spacing and key order do not matter) replays the first answer with header
//! `Idempotent-Replayed: true`; with a different body it is `409 idempotency_conflict`; while the
//! first request is still running, `409 idempotency_key_in_use`. A `429` (`rate_limited`) or `5xx`
//! (`internal_error`) means nothing was executed: retry with the same key.
//!
//! `GET /v1/charges/{id}` answers the charge object, or `404 not_found`.

mod afterdark;
mod canonical_json;
mod clock;
mod fail_next;
mod idempotency;
mod ids;
mod nowpayments;
mod serve;
mod signature;
mod stripe;

pub use crate::afterdark::FakeAfterDark;
pub use crate::nowpayments::FakeNowPayments;
pub use crate::signature::{nowpayments_signature, stripe_signature};
pub use crate::stripe::{ExecutionHold, FakeStripe, SendOptions};
