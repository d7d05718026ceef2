//! What a tool call needs before it may run: allowed, refused, or a person's approval. An
//! [`AskSpec`] is the `ask` object of an `ask.request` (§9.1) plus the grant key material: its
//! [`Intent`]s name the resource, the action and the targets that stored grants are matched
//! against and, when the person chooses `session` or `workspace`, stored for.

use serde::Serialize;
use serde_json::{Map, Value};

/// How much could go wrong (§9.4), in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Risk {
    None,
    Low,
    Medium,
    High,
    Critical,
}

/// How long an approval lasts (§9.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum GrantScope {
    Once,
    Session,
    Workspace,
}

/// What kind of thing a call reaches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Resource {
    File,
    Network,
    ShellCommand,
}

/// What the call does to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Read,
    Write,
    Delete,
    Request,
    Execute,
}

/// How a stored pattern covers a target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Matcher {
    /// The same text.
    Exact,
    /// The target starts with the pattern (a folder pattern ends in `/`).
    Prefix,
}

/// One thing a call touches: a resolved path, a host, or a whole command line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Target {
    pub target: String,
    pub matcher: Matcher,
}

impl Target {
    pub fn exact(target: impl Into<String>) -> Self {
        Self {
            target: target.into(),
            matcher: Matcher::Exact,
        }
    }
}

/// One effect of a call, as `ask.intents[]` carries it (§9.1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Intent {
    pub resource: Resource,
    pub action: Action,
    pub targets: Vec<Target>,
    /// Whether `session`/`workspace` approvals of it may be stored.
    pub persistable: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub non_persistable_reason: Option<String>,
    pub allowed_scopes: Vec<GrantScope>,
}

impl Intent {
    /// A persistable intent on `targets` with the given scopes.
    pub fn new(
        resource: Resource,
        action: Action,
        targets: Vec<Target>,
        scopes: &[GrantScope],
    ) -> Self {
        Self {
            resource,
            action,
            targets,
            persistable: true,
            non_persistable_reason: None,
            allowed_scopes: scopes.to_vec(),
        }
    }

    /// An intent that is approved once at a time, for `reason`.
    pub fn once_only(resource: Resource, action: Action, target: Target, reason: &str) -> Self {
        Self {
            resource,
            action,
            targets: vec![target],
            persistable: false,
            non_persistable_reason: Some(reason.to_owned()),
            allowed_scopes: vec![GrantScope::Once],
        }
    }
}

/// The scopes of reads and writes of files and of network requests.
pub const ALL_SCOPES: &[GrantScope] =
    &[GrantScope::Once, GrantScope::Session, GrantScope::Workspace];
/// The scopes of deletions and of whole shell commands: never for the whole workspace.
pub const SESSION_SCOPES: &[GrantScope] = &[GrantScope::Once, GrantScope::Session];

/// A permission ask: the `ask` object of `ask.request` (serialize it, `type` included) and the
/// intents grants are matched against.
///
/// Matching, for the permission module: a call is approved by stored grants when **every**
/// target of every intent is covered by a live grant with the same tool name, resource and
/// action ([`target_covered`]); upstream lets one matching target approve the whole call.
/// Storing: for `session`/`workspace`, when that scope is in [`AskSpec::allowed_scopes`], one
/// grant per target of every intent (pattern = the target, matcher = its matcher).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename = "permission", rename_all = "camelCase")]
pub struct AskSpec {
    pub question: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub risk: Risk,
    pub resource: Resource,
    pub action: Action,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub paths: Vec<String>,
    pub patterns: Vec<String>,
    /// The suggested scope.
    pub duration: GrantScope,
    pub metadata: Map<String, Value>,
    pub intents: Vec<Intent>,
    /// The buttons the client offers besides Deny: the scopes every intent allows.
    pub allowed_scopes: Vec<GrantScope>,
}

impl AskSpec {
    /// The `ask` object for `ask.request` and `ask.pending_sync`.
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }

    /// Whether stored grants approve this call: `covered(intent, target)` answers for one target.
    pub fn covered_by(&self, mut covered: impl FnMut(&Intent, &Target) -> bool) -> bool {
        !self.intents.is_empty()
            && self
                .intents
                .iter()
                .all(|i| i.targets.iter().all(|t| covered(i, t)))
    }
}

/// Whether a stored grant pattern covers a target. A `prefix` pattern of a folder ends in `/`,
/// so `/a/b/` covers `/a/b/c` but not `/a/bc`.
pub fn target_covered(pattern: &str, matcher: Matcher, target: &str) -> bool {
    match matcher {
        Matcher::Exact => pattern == target,
        Matcher::Prefix => target.starts_with(pattern),
    }
}

/// The scopes allowed by every intent, in the order once, session, workspace.
pub fn common_scopes(intents: &[Intent]) -> Vec<GrantScope> {
    ALL_SCOPES
        .iter()
        .copied()
        .filter(|s| intents.iter().all(|i| i.allowed_scopes.contains(s)))
        .collect()
}

/// What the server does with a call before running it.
#[derive(Debug, Clone, PartialEq)]
pub enum Assessment {
    /// Run it.
    Allow,
    /// Fail the call with this message, without asking anyone.
    Refuse(String),
    /// Run it only after approval (a stored grant, the session's severity, or a person).
    Ask(Box<AskSpec>),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(intents: Vec<Intent>) -> AskSpec {
        AskSpec {
            question: "q".into(),
            description: None,
            risk: Risk::Medium,
            resource: Resource::File,
            action: Action::Read,
            paths: vec!["/tmp/x".into()],
            patterns: vec!["file:/tmp/x".into()],
            duration: GrantScope::Workspace,
            metadata: Map::new(),
            allowed_scopes: common_scopes(&intents),
            intents,
        }
    }

    #[test]
    fn the_ask_object_has_the_wire_field_names() {
        let intent = Intent::new(
            Resource::File,
            Action::Read,
            vec![Target::exact("/tmp/x")],
            ALL_SCOPES,
        );
        let json = spec(vec![intent]).to_json();
        assert_eq!(json["type"], "permission");
        assert_eq!(json["risk"], "medium");
        assert_eq!(
            json["allowedScopes"],
            serde_json::json!(["once", "session", "workspace"])
        );
        assert_eq!(json["intents"][0]["targets"][0]["matcher"], "exact");
        assert_eq!(json["intents"][0]["allowedScopes"][2], "workspace");
        assert!(json.get("description").is_none());
    }

    #[test]
    fn risk_levels_are_ordered() {
        assert!(Risk::None < Risk::Low && Risk::Low < Risk::Medium);
        assert!(Risk::Medium < Risk::High && Risk::High < Risk::Critical);
    }

    #[test]
    fn a_call_is_covered_only_when_every_target_is() {
        let targets = vec![Target::exact("/a"), Target::exact("/b")];
        let ask = spec(vec![Intent::new(
            Resource::File,
            Action::Write,
            targets,
            ALL_SCOPES,
        )]);
        assert!(!ask.covered_by(|_, t| t.target == "/a"));
        assert!(ask.covered_by(|_, _| true));
    }

    #[test]
    fn prefix_patterns_cover_whole_folders_only() {
        assert!(target_covered("/a/b/", Matcher::Prefix, "/a/b/c"));
        assert!(!target_covered("/a/b/", Matcher::Prefix, "/a/bc"));
        assert!(!target_covered("/a/b", Matcher::Exact, "/a/b/c"));
    }

    #[test]
    fn common_scopes_are_what_every_intent_allows() {
        let read = Intent::new(Resource::File, Action::Read, vec![], ALL_SCOPES);
        let delete = Intent::new(Resource::File, Action::Delete, vec![], SESSION_SCOPES);
        assert_eq!(common_scopes(&[read, delete]), SESSION_SCOPES);
    }
}
