//! Stored approvals (`PROTOCOL-AGENT.md` §9.2, §9.5): one grant per target of an approved ask,
//! for a session (bound to its top-level session, expiring after 30 minutes unless the answer
//! gave a duration) or for the whole workspace (no expiry). A call is approved by grants only
//! when every target of every intent is covered by a live grant of the same tool, resource and
//! action.

use serde::Serialize;
use serde_json::{Value, json};

pub use crate::store::grants::Grant;
use crate::tools::{AskSpec, GrantScope, Intent, Matcher, Target, target_covered};

/// How long a `session` grant lasts unless the answer says otherwise.
pub const SESSION_GRANT_MS: i64 = 30 * 60 * 1000;

fn name<T: Serialize>(v: &T) -> String {
    match serde_json::to_value(v) {
        Ok(Value::String(s)) => s,
        _ => String::new(),
    }
}

/// Whether `g` is live for `root_session` at `now_ms`.
pub fn live(g: &Grant, root_session: &str, now_ms: i64) -> bool {
    g.allowed
        && g.revoked_at.is_none()
        && g.expires_ms.is_none_or(|e| e > now_ms)
        && (g.scope != "session" || g.bound_root_session_id.as_deref() == Some(root_session))
}

/// Whether `g` covers `target` of `intent` for `tool`.
pub fn covers(g: &Grant, tool: &str, intent: &Intent, target: &Target) -> bool {
    let matcher = if g.matcher == "prefix" {
        Matcher::Prefix
    } else {
        Matcher::Exact
    };
    g.tool_name == tool
        && g.resource == name(&intent.resource)
        && g.action == name(&intent.action)
        && g.patterns
            .iter()
            .any(|p| target_covered(p, matcher, &target.target))
}

/// What a new grant is for.
pub struct NewGrant<'a> {
    pub workspace_id: &'a str,
    pub root_session_id: &'a str,
    pub tool_name: &'a str,
    pub scope: GrantScope,
    /// A `session` grant's lifetime in ms (default [`SESSION_GRANT_MS`]).
    pub duration_ms: Option<i64>,
    pub granted_by: Option<&'a str>,
}

/// The grants an approval with `new.scope` stores for `spec`: none for `once`, or when the scope
/// is not one the ask allows; else one per target of every intent.
pub fn grants_for(spec: &AskSpec, new: &NewGrant<'_>, now_ms: i64) -> Vec<Grant> {
    if new.scope == GrantScope::Once || !spec.allowed_scopes.contains(&new.scope) {
        return Vec::new();
    }
    let session = new.scope == GrantScope::Session;
    let expires_ms = session.then(|| now_ms + new.duration_ms.unwrap_or(SESSION_GRANT_MS));
    let mut out = Vec::new();
    for intent in spec.intents.iter().filter(|i| i.persistable) {
        if !intent.allowed_scopes.contains(&new.scope) {
            continue;
        }
        for t in &intent.targets {
            out.push(Grant {
                id: uuid::Uuid::new_v4().to_string(),
                workspace_id: new.workspace_id.to_owned(),
                tool_name: new.tool_name.to_owned(),
                resource: name(&intent.resource),
                action: name(&intent.action),
                scope: name(&new.scope),
                matcher: name(&t.matcher),
                patterns: vec![t.target.clone()],
                allowed: true,
                granted_at: crate::time::iso_of_ms(now_ms),
                expires_at: expires_ms.map(crate::time::iso_of_ms),
                granted_by: new.granted_by.map(str::to_owned),
                revoked_at: None,
                revoked_by: None,
                metadata: json!({"description": spec.question}),
                bound_root_session_id: session.then(|| new.root_session_id.to_owned()),
                expires_ms,
            });
        }
    }
    out
}
