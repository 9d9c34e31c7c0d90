//! The one table of error codes shared by every service and both public fronts.
//!
//! Layout: [`ErrorCode`] is the table (code string, HTTP status, gRPC code); `status.rs` carries a code
//! across a gRPC hop as a `google.rpc.ErrorInfo` detail, so the gateway answers a REST caller with the
//! same code the service chose; [`ServiceError`] is what each service's `Error` enum implements.

mod code;
mod status;

pub use code::{ErrorCode, UnknownErrorCode};
pub use status::{
    ERROR_DOMAIN, NOTHING_DONE_KEY, ServiceError, answered_by_service, code_of, field_of, mark_nothing_done,
    nothing_done, status, status_for_field,
};
