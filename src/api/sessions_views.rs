//! Session views across a workspace: `GET /api/sessions/tags?workspaceId=` (the distinct tags
//! of its sessions, sorted) and `GET /api/sessions/grouped` (the Overview: several workspaces'
//! sessions at once, `PROTOCOL-AGENT.md` §11.6).

use crate::routes::Routes;
use axum::extract::State;
use axum::routing::get;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::Caller;
use super::paging::{encode_cursor, parse_flag, parse_status};
use crate::app::AppState;
use crate::error::{ApiJson, ApiQuery, AppError};
use crate::store::sessions::SessionQuery;

pub fn router() -> Routes {
    Routes::new()
        .route("/api/sessions/tags", get(tags))
        .route("/api/sessions/grouped", get(grouped))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct TagsQuery {
    workspace_id: Option<String>,
}

async fn tags(
    State(app): State<AppState>,
    Caller(scope): Caller,
    ApiQuery(q): ApiQuery<TagsQuery>,
) -> Result<ApiJson<Value>, AppError> {
    let Some(id) = q.workspace_id.filter(|id| !id.is_empty()) else {
        return Err(AppError::BadRequest(
            "workspaceId query parameter is required".into(),
        ));
    };
    let tags = app.store.session_tags(&scope, &id).await?;
    Ok(ApiJson(json!({ "tags": tags })))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct GroupedQuery {
    workspace_ids: Option<String>,
    status: Option<String>,
    root_only: Option<String>,
    limit_per_workspace: Option<String>,
}

fn parse_limit_per_workspace(raw: Option<&str>) -> Result<Option<u32>, AppError> {
    let Some(raw) = raw else { return Ok(None) };
    match raw.trim().parse::<u32>() {
        Ok(n) if (1..=100).contains(&n) => Ok(Some(n)),
        _ => Err(AppError::BadRequest(
            "limitPerWorkspace must be an integer between 1 and 100".into(),
        )),
    }
}

async fn grouped(
    State(app): State<AppState>,
    Caller(scope): Caller,
    ApiQuery(q): ApiQuery<GroupedQuery>,
) -> Result<ApiJson<Value>, AppError> {
    let Some(raw) = q.workspace_ids else {
        return Err(AppError::BadRequest(
            "workspaceIds query parameter is required".into(),
        ));
    };
    let ids: Vec<&str> = raw
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    if ids.is_empty() {
        return Err(AppError::BadRequest(
            "At least one workspaceId is required".into(),
        ));
    }
    let limit = parse_limit_per_workspace(q.limit_per_workspace.as_deref())?;
    let root_only = parse_flag("rootOnly", q.root_only.as_deref())?;
    let status = parse_status(q.status.as_deref())?;
    let (mut sessions, mut pagination) = (Map::new(), Map::new());
    for id in ids {
        let query = SessionQuery {
            workspace_id: Some(id.to_owned()),
            root_only,
            status,
            limit,
            after: None,
        };
        let mut page = app.store.list_sessions(&scope, &query).await?;
        if limit.is_none() && root_only {
            // Without a page size, rootOnly only filters: no children are added (§11.6).
            page.sessions.retain(|s| s.parent_id.is_none());
        }
        if let Some(limit) = limit {
            let next = page.next.as_ref().map(|(u, i)| encode_cursor(u, i));
            pagination.insert(
                id.to_owned(),
                json!({"nextCursor": next, "hasMore": page.next.is_some(), "limit": limit}),
            );
        }
        sessions.insert(
            id.to_owned(),
            serde_json::to_value(&page.sessions).map_err(AppError::internal)?,
        );
    }
    let mut body = json!({ "sessions": sessions });
    if limit.is_some() {
        body["pagination"] = Value::Object(pagination);
    }
    Ok(ApiJson(body))
}
