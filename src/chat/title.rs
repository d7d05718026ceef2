//! Session titles: after a reply in a session still titled "New Session" (or "New"), ask the
//! same provider for a short title and send `session.renamed` to the participants. A failure
//! is logged and reported as `error title_generation_error`; it never touches the chat.
//! `session.generate_title` regenerates one on demand ([`regenerate`]).

use super::Chat;
use super::plan::Plan;
use crate::events::{Audience, ConnId, ServerEvent};
use crate::llm::registry::{Registry, ResolvedModel};
use crate::llm::{ChatMessage, ChatRequest, Delta, LlmError};
use crate::store::messages::TRANSCRIPT_PAGE;
use crate::store::parts::texts_of;
use crate::store::sessions::SessionPatch;
use crate::store::{Role, Scope, Session};
use crate::time::now_iso;

/// The most conversation text a regenerated title is asked from.
const CONVERSATION_CHARS: usize = 12_000;

/// The system prompt of a title request (the fake provider in the tests recognises "title").
pub const TITLE_PROMPT: &str = "You write a short title for a conversation. Answer with the title \
only: at most 6 words, no quotes, no trailing punctuation.";

/// Upstream's default titles (case-insensitive): only these are replaced.
pub fn is_default_title(title: &str) -> bool {
    let t = title.trim();
    t.is_empty() || t.eq_ignore_ascii_case("new session") || t.eq_ignore_ascii_case("new")
}

/// Generate and store a title for `plan.session` from its first exchange. Runs detached.
pub async fn generate(chat: Chat, plan: Plan, user_text: String, reply_text: String) {
    let sid = plan.session.id.clone();
    let attempt = tokio::select! {
        r = try_generate(&chat, &plan, &user_text, &reply_text) => r,
        // A title is not worth delaying shutdown for.
        _ = chat.shutdown_token().cancelled() => Ok(None),
    };
    match attempt {
        Ok(Some(session)) => {
            chat.hub().publish(
                Audience::Session(&sid),
                &ServerEvent::SessionRenamed {
                    session: Box::new(session),
                },
            );
        }
        Ok(None) => {}
        Err(message) => {
            tracing::warn!(session.id = %sid, error = %message, "title generation failed");
            chat.hub().publish(
                Audience::Session(&sid),
                &ServerEvent::session_error(
                    "title_generation_error",
                    format!("Could not generate a title: {message}"),
                    &sid,
                ),
            );
        }
    }
}

async fn try_generate(
    chat: &Chat,
    plan: &Plan,
    user_text: &str,
    reply_text: &str,
) -> Result<Option<crate::store::Session>, String> {
    let clip = |s: &str| s.chars().take(2000).collect::<String>();
    let exchange = format!(
        "User: {}\n\nAssistant: {}",
        clip(user_text),
        clip(reply_text)
    );
    let title = ask(chat, &plan.model, &exchange).await?;
    // The user may have renamed the session meanwhile: the write happens only while the title
    // is still a default one, in the same statement that checks it.
    chat.store()
        .set_title_if_default(&plan.session.id, &title, &now_iso())
        .await
        .map_err(|e| e.to_string())
}

/// A title for `conversation` (`User: …` / `Assistant: …` lines) from `model`.
async fn ask(chat: &Chat, model: &ResolvedModel, conversation: &str) -> Result<String, String> {
    let mut request = ChatRequest::new(
        &model.base_url,
        Some(model.api_key.clone()),
        &model.model_id,
    );
    request.temperature = Some(0.3);
    request.messages = vec![
        ChatMessage::new("system", TITLE_PROMPT),
        ChatMessage::new("user", format!("{conversation}\n\nTitle:")),
    ];
    let raw = complete(chat, &request).await.map_err(|e| e.message)?;
    let title = clean(&raw);
    if title.is_empty() {
        return Err("the model answered with an empty title".into());
    }
    Ok(title)
}

/// `session.generate_title` (`PROTOCOL-AGENT.md` §11.4): a title from the conversation so far,
/// written even over one set by hand (a hand-set title is only safe from automatic titles).
/// `session.renamed` goes to the participants and `origin`; a failure is
/// `error title_generation_error` with the `sessionId`, to `origin`.
pub async fn regenerate(chat: Chat, origin: ConnId, session: Session) {
    let sid = session.id.clone();
    let attempt = tokio::select! {
        r = try_regenerate(&chat, &session) => r,
        _ = chat.shutdown_token().cancelled() => return,
    };
    let event = match attempt {
        Ok(session) => {
            let event = ServerEvent::SessionRenamed {
                session: Box::new(session),
            };
            return chat.hub().publish_to_session_and(&sid, origin, &event);
        }
        Err(message) => ServerEvent::session_error("title_generation_error", message, &sid),
    };
    chat.hub().publish(Audience::Conn(origin), &event);
}

async fn try_regenerate(chat: &Chat, session: &Session) -> Result<Session, String> {
    let page = chat
        .store()
        .newest_messages(&session.id, TRANSCRIPT_PAGE)
        .await
        .map_err(|e| format!("Title generation failed: {e}"))?;
    let mut conversation = String::new();
    for m in &page.messages {
        let text = texts_of(&m.parts);
        if text.trim().is_empty() || conversation.len() > CONVERSATION_CHARS {
            continue;
        }
        let who = if m.message.role == Role::User {
            "User"
        } else {
            "Assistant"
        };
        let text: String = text.chars().take(2000).collect();
        conversation.push_str(&format!("{who}: {text}\n\n"));
    }
    if conversation.is_empty() {
        return Err("Could not generate a title from the conversation.".into());
    }
    let registry = Registry::load(chat.data_dir()).await;
    let preferred = session
        .selected_model
        .as_deref()
        .zip(session.selected_provider.as_deref());
    let model = registry
        .usable_model(&chat.llm_settings(), preferred)
        .ok_or("Title generation failed: no model with an API key is configured")?;
    let title = ask(chat, &model, conversation.trim_end())
        .await
        .map_err(|e| format!("Title generation failed: {e}"))?;
    let patch = SessionPatch {
        title: Some(title),
        ..SessionPatch::default()
    };
    chat.store()
        .update_session(&Scope::All, &session.id, patch, &now_iso())
        .await
        .map_err(|e| format!("Title generation failed: {e}"))
}

/// The whole content of a (streamed) reply, without retries: a title is not worth a wait.
async fn complete(chat: &Chat, request: &ChatRequest) -> Result<String, LlmError> {
    let mut stream = chat.llm().stream_once(request).await?;
    let mut out = String::new();
    while let Some(d) = stream.next().await? {
        if let Delta::Content(t) = d {
            out.push_str(&t);
        }
    }
    Ok(out)
}

/// First non-empty line, without quotes, `Title:` or trailing dots; at most 80 characters.
fn clean(raw: &str) -> String {
    let line = raw
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("");
    let line = line
        .strip_prefix("Title:")
        .or_else(|| line.strip_prefix("title:"))
        .unwrap_or(line);
    let quote = |c: char| matches!(c, '"' | '\'' | '*' | '`' | '“' | '”');
    let t = line
        .trim()
        .trim_start_matches(quote)
        .trim_end_matches(|c: char| quote(c) || c == '.' || c == '!')
        .trim();
    t.chars().take(80).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles_are_cleaned() {
        let cases = [
            ("plain", "Rust ownership basics", "Rust ownership basics"),
            ("quoted", "\"Trip to Lyon\".", "Trip to Lyon"),
            (
                "prefixed, multi-line",
                "\nTitle: Sorting in Go\nextra",
                "Sorting in Go",
            ),
        ];
        for (label, raw, want) in cases {
            assert_eq!(clean(raw), want, "{label}");
        }
    }

    #[test]
    fn default_titles_are_recognised() {
        for t in ["New Session", "new session", "New", " new ", ""] {
            assert!(is_default_title(t), "{t:?}");
        }
        assert!(!is_default_title("My chat"));
    }
}
