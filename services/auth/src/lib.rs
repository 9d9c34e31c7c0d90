//! The auth service: users, passwords (argon2id), login sessions, JWTs and API keys.
//!
//! Layout: [`Config`] and [`App`] build and run the service; [`AuthService`] holds the use cases,
//! one file each (`register.rs`, `login.rs`, `authenticate.rs`, `api_keys.rs`, `users.rs`), with no
//! transport types; `grpc.rs` is the internal gRPC API over them; `domain/` has the value types
//! (password policy, names, the API key format); `passwords.rs` and `tokens.rs` do the cryptography;
//! `session_store.rs` keeps sessions in SQL, Redis or both; `repo/` is the SQL.

mod api_keys;
mod app;
mod authenticate;
mod config;
pub mod domain;
mod error;
mod grpc;
mod login;
mod passwords;
mod register;
mod repo;
mod service;
mod session_store;
mod tokens;
mod users;

pub use app::App;
pub use config::{BootstrapAdmin, Config, JwtConfig, MIN_JWT_SECRET_BYTES, SessionMode};
pub use error::Error;
pub use grpc::{GrpcAuth, api_key_message, user_message};
pub use login::{ClientInfo, LoginOutcome};
pub use register::Registration;
pub use repo::users::UserRecord;
pub use service::{AuthService, OUTBOX_SOURCE};
pub use users::AuthStats;
