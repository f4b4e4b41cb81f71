//! An account's sessions and API tokens: list them and revoke one. Administrators may do so for
//! any account (a lost phone, a leaked script); everyone else only for their own.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use huoyan_core::auth::Permission;
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AuthState;
use super::sessions::{self, TokenInfo};
use super::{Principal, presented_token};
use crate::error::{AppError, AppResult};
use crate::http::{ApiJson, ApiPath, ApiQuery, ListPage, Paging};

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TokenFilter {
    /// Another account's tokens (administrators only); the caller's own when absent.
    pub account_id: Option<i64>,
    pub limit: Option<i64>,
    pub offset: Option<i64>,
}

/// List the active sessions and API tokens of your account, newest first: id, kind and times,
/// never a token or its hash. An administrator may name another account.
#[utoipa::path(get, path = "/api/v1/auth/tokens", tag = "auth", operation_id = "list_auth_tokens",
    params(TokenFilter),
    responses((status = 200, body = ListPage<TokenInfo>),
        (status = 401, body = crate::error::ErrorBody),
        (status = 403, description = "another account's, asked by a non-administrator", body = crate::error::ErrorBody),
        (status = 422, body = crate::error::ErrorBody)))]
async fn list(
    State(state): State<AuthState>,
    p: Principal,
    headers: HeaderMap,
    ApiQuery(f): ApiQuery<TokenFilter>,
) -> AppResult<ApiJson<ListPage<TokenInfo>>> {
    let account = match f.account_id {
        Some(id) if id != p.account_id => {
            p.require(Permission::AccountsManage)?;
            id
        }
        _ => p.account_id,
    };
    let current = presented_token(&headers).map(|(t, _)| t);
    let paging = Paging {
        limit: f.limit,
        offset: f.offset,
    };
    let page = sessions::list(&state.db, account, current.as_deref(), &paging).await?;
    Ok(ApiJson(page))
}

/// Revoke one of your sessions or API tokens by id (an administrator: anyone's). A token that is
/// not yours answers 404, as one that does not exist.
#[utoipa::path(delete, path = "/api/v1/auth/tokens/{id}", tag = "auth", operation_id = "revoke_auth_token",
    params(("id" = i64, Path)),
    responses((status = 204, description = "the token no longer signs anyone in"),
        (status = 401, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody),
        (status = 422, body = crate::error::ErrorBody)))]
async fn revoke(
    State(state): State<AuthState>,
    p: Principal,
    ApiPath(id): ApiPath<i64>,
) -> AppResult<StatusCode> {
    let owner = (!p.role.allows(Permission::AccountsManage)).then_some(p.account_id);
    if sessions::revoke_id(&state.db, id, owner).await? {
        tracing::info!(session = id, by = p.account_id, "session revoked");
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(AppError::NotFound("token"))
    }
}

pub fn api() -> OpenApiRouter<AuthState> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(revoke))
}
