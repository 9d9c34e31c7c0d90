//! The answers the front line can give on any route, added to every operation of the OpenAPI
//! document that does not already describe them, so that a generated client accepts every answer
//! it can get: a parameter or body that does not parse, a body too large or not JSON, missing or
//! bad credentials, the rate limit, an admin-only route, an internal service that is down and the
//! request time limit.

use utoipa::openapi::path::Operation;
use utoipa::openapi::{Content, OpenApi, Ref, RefOr, Response, ResponseBuilder};

/// Adds the front line's answers to every operation of `document`.
pub fn add_to(document: &mut OpenApi) {
    for (path, item) in &mut document.paths.paths {
        let path_has_parameters = path.contains('{');
        let operations = [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
        ];
        for operation in operations.into_iter().flatten() {
            add_to_operation(operation, path_has_parameters);
        }
    }
}

fn add_to_operation(operation: &mut Operation, path_has_parameters: bool) {
    let secured = operation
        .security
        .as_ref()
        .is_some_and(|requirements| !requirements.is_empty());
    let admin_only = operation
        .tags
        .as_ref()
        .is_some_and(|tags| tags.iter().any(|tag| tag == "admin"));
    let mut answers = vec![
        (
            "503",
            "An internal service is down or restarting (SERVICE_UNAVAILABLE); see Retry-After",
        ),
        ("504", "No answer within REQUEST_TIMEOUT (TIMEOUT)"),
    ];
    let has_parameters = path_has_parameters
        || operation
            .parameters
            .as_ref()
            .is_some_and(|parameters| !parameters.is_empty());
    if has_parameters && operation.request_body.is_none() {
        answers.push((
            "400",
            "A path or query parameter is wrong (VALIDATION_FAILED, naming it)",
        ));
    }
    if operation.request_body.is_some() {
        answers.extend([
            (
                "400",
                "The body is not valid JSON (MALFORMED_REQUEST) or a field is wrong (VALIDATION_FAILED)",
            ),
            (
                "413",
                "The body is larger than MAX_REQUEST_BODY_BYTES (PAYLOAD_TOO_LARGE)",
            ),
            ("415", "The body is not JSON (UNSUPPORTED_MEDIA_TYPE)"),
        ]);
    }
    if secured {
        answers.extend([
            (
                "401",
                "Missing, invalid or expired credentials (UNAUTHENTICATED, INVALID_TOKEN, TOKEN_EXPIRED)",
            ),
            (
                "429",
                "Over the caller's rate limit (RATE_LIMITED); see Retry-After",
            ),
        ]);
    }
    if admin_only {
        answers.push(("403", "Not an admin (FORBIDDEN)"));
    }
    for (status, description) in answers {
        operation
            .responses
            .responses
            .entry(status.to_owned())
            .or_insert_with(|| error_response(description));
    }
}

fn error_response(description: &str) -> RefOr<Response> {
    RefOr::T(
        ResponseBuilder::new()
            .description(description)
            .content(
                "application/json",
                Content::new(Some(Ref::from_schema_name("ErrorBody"))),
            )
            .build(),
    )
}

#[cfg(test)]
mod tests {
    use utoipa::openapi::path::{OperationBuilder, PathItem};
    use utoipa::openapi::security::SecurityRequirement;
    use utoipa::openapi::{HttpMethod, PathsBuilder, request_body::RequestBody};

    use super::*;

    #[test]
    fn secured_routes_with_bodies_document_every_answer_of_the_front_line() {
        let operation = OperationBuilder::new()
            .security(SecurityRequirement::new("api_key", Vec::<String>::new()))
            .request_body(Some(RequestBody::new()))
            .response("200", ResponseBuilder::new().description("ok").build())
            .response("400", ResponseBuilder::new().description("specific").build())
            .build();
        let mut document = OpenApi::new(
            utoipa::openapi::Info::new("t", "1"),
            PathsBuilder::new().path("/x", PathItem::new(HttpMethod::Post, operation)),
        );
        add_to(&mut document);
        let responses = &document.paths.paths["/x"]
            .post
            .as_ref()
            .expect("the operation")
            .responses
            .responses;
        let statuses: Vec<&str> = responses.keys().map(String::as_str).collect();
        assert_eq!(statuses, ["200", "400", "401", "413", "415", "429", "503", "504"]);
        let RefOr::T(specific) = &responses["400"] else {
            panic!("an inline response");
        };
        assert_eq!(specific.description, "specific", "an existing answer is kept");
    }
}
