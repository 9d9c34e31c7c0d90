//! Data export (seed `002`): `GET /api/v1/user/export` (the caller's account: profile, API keys
//! without secrets, quotas, GPU instances and usage, transactions, credit history, webhooks) and
//! admin `GET /api/v1/admin/export/users` (every user with their credits and keys). Both stream
//! one JSON document page by page, so an export of any size holds one page in memory.

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::Response;
use gpuproxy_proto::gpuproxy::{auth::v1 as auth, billing::v1 as billing, guardrails::v1 as guardrails};
use gpuproxy_proto::gpuproxy::{reservation::v1 as reservation, webhooks::v1 as webhooks};
use serde::Serialize;
use serde_json::{Value, json};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::ErrorBody;
use crate::operations::Operations;
use crate::rest::auth::{ApiKeyDto, UserDto};
use crate::rest::billing::transaction_dto;
use crate::rest::credits::{credit_entry_dto, credits_dto, usage_dto};
use crate::rest::guardrails::spending_dto;
use crate::rest::instances::RentedInstanceDto;
use crate::rest::principal::{AdminUser, AuthUser};
use crate::{AppState, Error};

/// Rows fetched per call while streaming.
const PAGE: i32 = 500;

/// The export routes; paths are absolute.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(user_export))
        .routes(routes!(users_export))
}

/// The caller's account data as one JSON document, streamed.
#[utoipa::path(get, path = "/api/v1/user/export", tag = "export", security(("bearer" = []), ("api_key" = [])),
    responses(
        (status = 200, description = "`{exported_at, user, api_keys, quotas, credits, gpu_instances, gpu_usage, transactions, credit_history, webhooks}`", content_type = "application/json"),
        (status = 401, description = "Missing or invalid credentials", body = ErrorBody),
    ))]
async fn user_export(
    State(operations): State<Operations>,
    AuthUser(user): AuthUser,
) -> Result<Response, Error> {
    let user_id = user.user_id.to_string();
    // Everything small comes first and before the answer starts, so that a failing service is a
    // proper error status rather than a document cut short.
    let head = account_head(&operations, &user_id).await?;
    let export = Export {
        operations,
        user_id,
        section: Section::Usage,
        offset: 0,
        first: true,
    };
    Ok(stream(head, export, "account-data.json"))
}

/// Every user, with credits and API keys (no secrets), as one JSON document, streamed.
#[utoipa::path(get, path = "/api/v1/admin/export/users", tag = "export", security(("bearer" = []), ("api_key" = [])),
    responses(
        (status = 200, description = "`{exported_at, users: [{user, credits, api_keys}], count}`", content_type = "application/json"),
        (status = 403, description = "Not an admin (FORBIDDEN)", body = ErrorBody),
    ))]
async fn users_export(
    State(operations): State<Operations>,
    AdminUser(admin): AdminUser,
) -> Result<Response, Error> {
    tracing::info!(admin = %admin.user_id, "admin exports every user");
    let head = format!(
        r#"{{"exported_at":{},"users":["#,
        json!(chrono::Utc::now().to_rfc3339())
    );
    let export = Export {
        operations,
        user_id: String::new(),
        section: Section::Users,
        offset: 0,
        first: true,
    };
    Ok(stream(head, export, "users-export.json"))
}

fn stream(head: String, export: Export, filename: &str) -> Response {
    let rest = futures::stream::try_unfold(export, |mut export| async move {
        let chunk = export.next_chunk().await?;
        Ok::<_, std::io::Error>(chunk.map(|chunk| (chunk, export)))
    });
    let body = futures::StreamExt::chain(
        futures::stream::once(async move { Ok::<_, std::io::Error>(Bytes::from(head)) }),
        rest,
    );
    let mut response = Response::new(Body::from_stream(body));
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    if let Ok(value) = HeaderValue::from_str(&format!("attachment; filename=\"{filename}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    response
}

/// `{"exported_at", "user", "api_keys", "quotas", "credits", "gpu_instances": [...], "gpu_usage": [`
async fn account_head(operations: &Operations, user_id: &str) -> Result<String, Error> {
    let user = operations
        .call(operations.auth.clone().get_user(auth::GetUserRequest {
            selector: Some(auth::get_user_request::Selector::UserId(user_id.to_owned())),
        }))
        .await?;
    let keys = operations
        .call(operations.auth.clone().list_api_keys(auth::ListApiKeysRequest {
            user_id: user_id.to_owned(),
        }))
        .await?;
    let credits = operations
        .call(
            operations
                .billing
                .clone()
                .get_credits(billing::GetCreditsRequest {
                    user_id: user_id.to_owned(),
                }),
        )
        .await?;
    let spending = operations
        .call(
            operations
                .guardrails
                .clone()
                .get_spending_info(guardrails::GetSpendingInfoRequest {
                    user_id: user_id.to_owned(),
                }),
        )
        .await?;
    let instances = operations
        .call(
            operations
                .reservation
                .clone()
                .list_instances(reservation::ListInstancesRequest {
                    user_id: user_id.to_owned(),
                    include_ended: true,
                }),
        )
        .await?;
    let credits = credits_dto(&credits);
    let quotas = json!({
        "credits_cap": credits.credits_cap,
        "guardrails": spending_dto(&spending),
    });
    let keys: Vec<ApiKeyDto> = keys.keys.into_iter().map(ApiKeyDto::from).collect();
    let instances: Vec<RentedInstanceDto> = instances
        .instances
        .into_iter()
        .map(RentedInstanceDto::from)
        .collect();
    Ok(format!(
        r#"{{"exported_at":{},"user":{},"api_keys":{},"quotas":{},"credits":{},"gpu_instances":{},"gpu_usage":["#,
        json!(chrono::Utc::now().to_rfc3339()),
        to_json(&UserDto::from(user)),
        to_json(&keys),
        quotas,
        to_json(&credits),
        to_json(&instances),
    ))
}

fn to_json(value: &impl Serialize) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "null".to_owned())
}

/// Where the streaming stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Section {
    Usage,
    Transactions,
    CreditHistory,
    Webhooks,
    Users,
    Done,
}

struct Export {
    operations: Operations,
    user_id: String,
    section: Section,
    offset: i32,
    /// No item written yet in the current array.
    first: bool,
}

impl Export {
    /// Returns the next piece of the document, `None` after its end.
    async fn next_chunk(&mut self) -> Result<Option<Bytes>, std::io::Error> {
        let (items, next, closing) = match self.section {
            Section::Done => return Ok(None),
            Section::Usage => (self.usage().await, Section::Transactions, r#"],"transactions":["#),
            Section::Transactions => (
                self.transactions().await,
                Section::CreditHistory,
                r#"],"credit_history":["#,
            ),
            Section::CreditHistory => (self.credit_history().await, Section::Webhooks, r#"],"webhooks":"#),
            Section::Webhooks => {
                let webhooks = self.webhooks().await.map_err(broken)?;
                self.section = Section::Done;
                return Ok(Some(Bytes::from(format!("{webhooks}}}"))));
            }
            Section::Users => (self.users().await, Section::Done, "],"),
        };
        let items = items.map_err(broken)?;
        let mut chunk = String::new();
        if items.len() < usize::try_from(PAGE).unwrap_or(usize::MAX) {
            self.append(&mut chunk, &items);
            chunk.push_str(closing);
            if self.section == Section::Users {
                chunk.push_str(&format!(r#""count":{}}}"#, self.offset));
            }
            self.section = next;
            self.offset = 0;
            self.first = true;
        } else {
            self.append(&mut chunk, &items);
        }
        Ok(Some(Bytes::from(chunk)))
    }

    fn append(&mut self, chunk: &mut String, items: &[Value]) {
        for item in items {
            if !self.first {
                chunk.push(',');
            }
            self.first = false;
            chunk.push_str(&item.to_string());
        }
        self.offset = self
            .offset
            .saturating_add(i32::try_from(items.len()).unwrap_or(i32::MAX));
    }

    async fn usage(&self) -> Result<Vec<Value>, Error> {
        let page = self
            .operations
            .call(
                self.operations
                    .billing
                    .clone()
                    .list_usage(billing::ListUsageRequest {
                        user_id: self.user_id.clone(),
                        limit: PAGE,
                        offset: self.offset,
                    }),
            )
            .await?;
        Ok(page
            .usage
            .into_iter()
            .map(|usage| json!(usage_dto(usage)))
            .collect())
    }

    async fn transactions(&self) -> Result<Vec<Value>, Error> {
        let page = self
            .operations
            .call(
                self.operations
                    .billing
                    .clone()
                    .get_transactions(billing::GetTransactionsRequest {
                        user_id: self.user_id.clone(),
                        limit: PAGE,
                        offset: self.offset,
                    }),
            )
            .await?;
        Ok(page
            .transactions
            .into_iter()
            .map(|transaction| json!(transaction_dto(transaction)))
            .collect())
    }

    async fn credit_history(&self) -> Result<Vec<Value>, Error> {
        let page =
            self.operations
                .call(self.operations.billing.clone().list_credit_entries(
                    billing::ListCreditEntriesRequest {
                        user_id: self.user_id.clone(),
                        limit: PAGE,
                        offset: self.offset,
                    },
                ))
                .await?;
        Ok(page
            .entries
            .into_iter()
            .map(|entry| json!(credit_entry_dto(entry)))
            .collect())
    }

    async fn webhooks(&self) -> Result<String, Error> {
        let listed =
            self.operations
                .call(self.operations.webhooks.clone().list_subscriptions(
                    webhooks::ListSubscriptionsRequest {
                        user_id: self.user_id.clone(),
                    },
                ))
                .await?;
        let subscriptions: Vec<Value> = listed
            .subscriptions
            .into_iter()
            .map(|subscription| {
                json!({"id": subscription.id, "url": subscription.url, "events": subscription.events,
                       "kind": subscription.kind, "created_at": crate::rest::timestamps::rfc3339(subscription.created_at_ms)})
            })
            .collect();
        Ok(Value::Array(subscriptions).to_string())
    }

    async fn users(&self) -> Result<Vec<Value>, Error> {
        let page = self
            .operations
            .call(self.operations.auth.clone().list_users(auth::ListUsersRequest {
                limit: PAGE,
                offset: self.offset,
            }))
            .await?;
        let mut users = Vec::with_capacity(page.users.len());
        for user in page.users {
            let credits = self
                .operations
                .call(
                    self.operations
                        .billing
                        .clone()
                        .get_credits(billing::GetCreditsRequest {
                            user_id: user.user_id.clone(),
                        }),
                )
                .await?;
            let keys = self
                .operations
                .call(
                    self.operations
                        .auth
                        .clone()
                        .list_api_keys(auth::ListApiKeysRequest {
                            user_id: user.user_id.clone(),
                        }),
                )
                .await?;
            let keys: Vec<ApiKeyDto> = keys.keys.into_iter().map(ApiKeyDto::from).collect();
            users.push(
                json!({"user": UserDto::from(user), "credits": credits_dto(&credits), "api_keys": keys}),
            );
        }
        Ok(users)
    }
}

/// A failure after the answer started can only cut the document short; the log says why.
fn broken(error: Error) -> std::io::Error {
    tracing::warn!(%error, "an export broke off");
    std::io::Error::other(error.to_string())
}
