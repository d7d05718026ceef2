//! Workspace settings are checked as the original checks them (issue 13, item 8): a wrong type
//! or a value outside an enum is a 400 `bad_request` naming the field, and nothing is stored.

use reqwest::Method;
use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn patching_bad_workspace_settings_is_a_400_naming_the_field() {
    let app = spawn_app().await;
    let w = app.create_workspace("W").await;
    let path = format!("/api/workspaces/{}", w["id"].as_str().unwrap());
    for (settings, field) in [
        (
            json!({"memory": {"enabled": "yes"}}),
            "settings.memory.enabled",
        ),
        (
            json!({"memory": {"permissionRisk": "extreme"}}),
            "settings.memory.permissionRisk",
        ),
        (
            json!({"sessionSearch": {"includeToolResults": 1}}),
            "settings.sessionSearch.includeToolResults",
        ),
        (
            json!({"autoApproveSeverity": "always"}),
            "settings.autoApproveSeverity",
        ),
    ] {
        let (status, body) = app
            .call(Method::PATCH, &path, Some(&json!({"settings": settings})))
            .await;
        assert_eq!(status, 400, "{field}: {body}");
        assert_eq!(body["error"], "bad_request");
        assert_eq!(body["details"][0]["path"], field, "{body}");
    }
    let (status, body) = app
        .call(
            Method::PATCH,
            &path,
            Some(&json!({"settings": {"memory": {"enabled": true, "permissionRisk": "high"}}})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["workspace"]["settings"]["memory"]["permissionRisk"],
        "high"
    );
}
