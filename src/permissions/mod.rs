//! Where a tool waits for a person (`PROTOCOL-AGENT.md` §9). Before a call that needs approval
//! runs, [`Permissions::decide`] tries, in order: stored grants that cover every target of the
//! call, the session's `autoApproveSeverity`, and otherwise an `ask.request` to every connection
//! that resumed the session (sessions here are never "controlled", so every participant sees it),
//! waiting for `ask.response` until the tool's deadline or five minutes, whichever comes first.
//! Pending asks are listed in `ask.pending_sync`; grants are listed and revoked through
//! `permission.*`.

pub mod grants;
mod pending;

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::sync::oneshot;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::events::{Audience, Hub, ServerEvent};
use crate::store::Store;
use crate::tools::{AskSpec, GrantScope, Risk};
pub use grants::{Grant, NewGrant};
use pending::{Answer, Pending, PendingAsks};

/// The longest a permission ask waits for an answer.
pub const ASK_TIMEOUT: Duration = Duration::from_secs(5 * 60);

/// Who asks, about what.
#[derive(Debug, Clone)]
pub struct AskContext<'a> {
    /// The top-level session (asks of child sessions go to their root).
    pub root_session_id: &'a str,
    pub workspace_id: &'a str,
    /// The session's `autoApproveSeverity` (`off`, `none`, `low`, `medium`, `high`, or unset).
    pub auto_approve: Option<&'a str>,
    /// The tool part's `callId`: the client shows the ask in that card.
    pub tool_call_id: &'a str,
    pub tool_name: &'a str,
}

/// What became of an ask.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Approved,
    /// The person denied it: the tool fails with `USER_REJECTION`.
    Denied,
    /// Nobody answered before the tool's deadline.
    ToolTimedOut,
    /// Nobody answered within [`ASK_TIMEOUT`].
    AskTimedOut,
    /// The turn was interrupted (or the server is stopping).
    Cancelled,
}

/// Cheap to clone.
#[derive(Clone)]
pub struct Permissions {
    inner: Arc<Inner>,
}

struct Inner {
    hub: Hub,
    store: Store,
    pending: PendingAsks,
}

/// Whether a risk is at or below the session's `autoApproveSeverity` (no `critical` level
/// exists, so a critical ask always asks; `off` or unset never approves).
pub fn auto_approved(level: Option<&str>, risk: Risk) -> bool {
    let max = match level {
        Some("none") => Risk::None,
        Some("low") => Risk::Low,
        Some("medium") => Risk::Medium,
        Some("high") => Risk::High,
        _ => return false,
    };
    risk <= max
}

impl Permissions {
    pub fn new(hub: Hub, store: Store) -> Permissions {
        Permissions {
            inner: Arc::new(Inner {
                hub,
                store,
                pending: PendingAsks::default(),
            }),
        }
    }

    /// Decide whether the call may run; `deadline` is when the tool's own timeout ends.
    pub async fn decide(
        &self,
        cx: &AskContext<'_>,
        spec: &AskSpec,
        deadline: Instant,
        cancel: &CancellationToken,
    ) -> Decision {
        let now = crate::time::now_ms();
        let stored = match self.inner.store.grants(cx.workspace_id, false).await {
            Ok(g) => g,
            Err(e) => {
                tracing::error!(error = %e, "cannot read permission grants; asking instead");
                Vec::new()
            }
        };
        let live: Vec<&Grant> = stored
            .iter()
            .filter(|g| grants::live(g, cx.root_session_id, now))
            .collect();
        let covered =
            spec.covered_by(|i, t| live.iter().any(|g| grants::covers(g, cx.tool_name, i, t)));
        if covered || auto_approved(cx.auto_approve, spec.risk) {
            return Decision::Approved;
        }
        self.ask_person(cx, spec, deadline, cancel).await
    }

    async fn ask_person(
        &self,
        cx: &AskContext<'_>,
        spec: &AskSpec,
        deadline: Instant,
        cancel: &CancellationToken,
    ) -> Decision {
        let (request_id, rx) = self.open_ask(cx, spec).await;
        let ask_deadline = Instant::now() + ASK_TIMEOUT;
        let outcome = tokio::select! {
            answer = rx => answer.ok(),
            () = tokio::time::sleep_until(deadline.min(ask_deadline)) => None,
            () = cancel.cancelled() => None,
        };
        let decision = match outcome {
            Some(answer) => self.record(cx, spec, answer).await,
            None => {
                self.inner.pending.remove(&request_id);
                if cancel.is_cancelled() {
                    Decision::Cancelled
                } else if deadline <= ask_deadline {
                    Decision::ToolTimedOut
                } else {
                    Decision::AskTimedOut
                }
            }
        };
        self.close_ask(cx, &request_id, decision).await;
        decision
    }

    /// Record an ask, send `ask.request` to the session's participants, and hand back the
    /// channel its answer comes on.
    async fn open_ask(
        &self,
        cx: &AskContext<'_>,
        spec: &AskSpec,
    ) -> (String, oneshot::Receiver<Answer>) {
        let request_id = uuid::Uuid::new_v4().to_string();
        let (tx, rx) = oneshot::channel();
        let request = json!({
            "sessionId": cx.root_session_id,
            "toolCallId": cx.tool_call_id,
            "toolName": cx.tool_name,
            "requestId": request_id,
            "authority": {"visibilityScope": "session_participants", "resolutionMode": "first_eligible"},
            "ask": spec.to_json(),
        });
        self.inner.pending.insert(Pending {
            request_id: request_id.clone(),
            session_id: cx.root_session_id.to_owned(),
            tool_call_id: cx.tool_call_id.to_owned(),
            request: request.clone(),
            answer: tx,
        });
        let now = crate::time::now_ms();
        let until = now + i64::try_from(ASK_TIMEOUT.as_millis()).unwrap_or(i64::MAX);
        let (sid, call) = (cx.root_session_id, cx.tool_call_id);
        let stored = self
            .inner
            .store
            .add_pending_ask(&request_id, sid, call, &request, now, until)
            .await;
        if let Err(e) = stored {
            tracing::error!(error = %e, "cannot record a pending ask");
        }
        self.inner
            .hub
            .publish(Audience::Session(sid), &ServerEvent::AskRequest(request));
        (request_id, rx)
    }

    /// Record how an ask ended; an ask that ended unanswered is withdrawn with `ask.timeout`.
    async fn close_ask(&self, cx: &AskContext<'_>, request_id: &str, decision: Decision) {
        let status = match decision {
            Decision::Approved => "approved",
            Decision::Denied => "denied",
            Decision::Cancelled => "cancelled",
            Decision::ToolTimedOut | Decision::AskTimedOut => "expired",
        };
        if let Err(e) = self.inner.store.close_pending_ask(request_id, status).await {
            tracing::error!(error = %e, "cannot close a pending ask");
        }
        if decision != Decision::Approved && decision != Decision::Denied {
            self.inner.hub.publish(
                Audience::Session(cx.root_session_id),
                &ServerEvent::AskTimeout {
                    session_id: cx.root_session_id.to_owned(),
                    tool_call_id: cx.tool_call_id.to_owned(),
                    request_id: Some(request_id.to_owned()),
                },
            );
        }
    }

    /// Store the grants an approval asks for, and say what it was.
    async fn record(&self, cx: &AskContext<'_>, spec: &AskSpec, answer: Answer) -> Decision {
        let Some(scope) = answer.grant else {
            return Decision::Denied;
        };
        let new = NewGrant {
            workspace_id: cx.workspace_id,
            root_session_id: cx.root_session_id,
            tool_name: cx.tool_name,
            scope,
            duration_ms: answer.duration_ms,
            granted_by: None,
        };
        let stored = grants::grants_for(spec, &new, crate::time::now_ms());
        if scope != GrantScope::Once && stored.is_empty() {
            tracing::debug!(
                tool = cx.tool_name,
                "approval stored as once (scope not allowed)"
            );
        }
        if let Err(e) = self.inner.store.add_grants(stored).await {
            // The call is still approved once; only the remembering failed.
            tracing::error!(error = %e, "cannot store permission grants");
        }
        Decision::Approved
    }

    /// An `ask.response`: route it to the waiting tool. `false` when no open ask matches (the
    /// caller stays silent, as upstream).
    pub fn answer(&self, request_id: Option<&str>, tool_call_id: &str, response: &Value) -> bool {
        let Some(answer) = Answer::parse(response) else {
            return false;
        };
        self.inner.pending.resolve(request_id, tool_call_id, answer)
    }

    /// The session of the open ask with this request id (or, without one, this tool call).
    pub fn session_of(&self, request_id: Option<&str>, tool_call_id: &str) -> Option<String> {
        self.inner.pending.session_of(request_id, tool_call_id)
    }

    /// The open asks of a session, for `ask.pending_sync`.
    pub fn pending_for(&self, session_id: &str) -> Vec<Value> {
        self.inner.pending.of_session(session_id)
    }

    /// The request ids of a session's open asks (the interrupt reports them as rejected).
    pub fn pending_ids(&self, session_id: &str) -> Vec<String> {
        self.inner.pending.ids_of_session(session_id)
    }

    /// A workspace's grants, newest first (revoked ones only when asked).
    pub async fn list(
        &self,
        workspace_id: &str,
        include_revoked: bool,
    ) -> Result<Vec<Grant>, crate::store::StoreError> {
        self.inner.store.grants(workspace_id, include_revoked).await
    }

    /// Revoke one grant of a workspace `scope` sees (unknown ids are fine).
    pub async fn revoke(
        &self,
        scope: &crate::store::Scope,
        grant_id: &str,
    ) -> Result<(), crate::store::StoreError> {
        let now = crate::time::now_iso();
        self.inner.store.revoke_grant(scope, grant_id, &now).await
    }

    /// Revoke every live grant of a workspace; returns how many.
    pub async fn revoke_all(&self, workspace_id: &str) -> Result<u64, crate::store::StoreError> {
        let now = crate::time::now_iso();
        self.inner.store.revoke_all_grants(workspace_id, &now).await
    }
}

#[cfg(test)]
mod tests;
