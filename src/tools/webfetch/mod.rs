//! `webfetch`: fetch an http(s) URL and return its body, optionally as Markdown or plain text.
//! Where it may connect is decided in [`net`]; this file holds the client, the redirect loop,
//! the 5 MB body cap and the formats.

mod net;

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use regex::Regex;
use reqwest::header::{ACCEPT, ACCEPT_LANGUAGE, CONTENT_LENGTH, CONTENT_TYPE, LOCATION};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use std::sync::LazyLock;
use url::Url;

pub use net::{NetPolicy, Refused, is_blocked_ip};

use super::ask::{
    ALL_SCOPES, Action, AskSpec, Assessment, GrantScope, Intent, Resource, Risk, Target,
};
use super::env::ToolEnv;
use super::outcome::ToolOutput;
use super::risk::parse;

const MAX_BODY: usize = 5 * 1024 * 1024;
const MAX_REDIRECTS: usize = 10;
const DEFAULT_TIMEOUT_SECS: f64 = 30.0;
const MAX_TIMEOUT_SECS: f64 = 120.0;
const USER_AGENT: &str = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36";

static TITLE: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"(?is)<title[^>]*>([^<]+)</title>").ok());

/// The HTTP client of `webfetch`: no automatic redirects, no proxy, names resolved through the
/// policy. Build one at start; clones share it.
#[derive(Clone)]
pub struct WebClient {
    http: reqwest::Client,
    policy: Arc<NetPolicy>,
}

impl WebClient {
    pub fn new(policy: NetPolicy) -> Result<Self, reqwest::Error> {
        let policy = Arc::new(policy);
        let resolver = net::VettedResolver {
            policy: Arc::clone(&policy),
        };
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .dns_resolver(Arc::new(resolver))
            .user_agent(USER_AGENT)
            .build()?;
        Ok(Self { http, policy })
    }

    /// GET `url`, following up to ten redirects, each vetted like the first request.
    async fn get(&self, mut url: Url) -> Result<reqwest::Response, String> {
        for _ in 0..=MAX_REDIRECTS {
            self.policy.vet(&url)?;
            let response = self
                .http
                .get(url.clone())
                .header(
                    ACCEPT,
                    "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
                )
                .header(ACCEPT_LANGUAGE, "en-US,en;q=0.5")
                .send()
                .await
                .map_err(|e| net::describe(&e))?;
            let location = response
                .headers()
                .get(LOCATION)
                .and_then(|l| l.to_str().ok());
            match location {
                Some(next) if response.status().is_redirection() => {
                    url = url
                        .join(next)
                        .map_err(|e| format!("Invalid redirect to {next}: {e}"))?;
                }
                _ => return Ok(response),
            }
        }
        Err(format!("Too many redirects (more than {MAX_REDIRECTS})"))
    }
}

#[derive(Deserialize)]
struct Input {
    url: String,
    format: Option<String>,
    timeout: Option<f64>,
}

pub(super) fn assess(input: &Value, env: &ToolEnv) -> Assessment {
    let Ok(input) = parse::<Input>("webfetch", input) else {
        return Assessment::Allow;
    };
    let Ok(url) = Url::parse(&input.url) else {
        return Assessment::Allow;
    };
    if let Err(refusal) = env.web.policy.vet(&url) {
        return Assessment::Refuse(refusal);
    }
    if url.scheme() == "https" {
        return Assessment::Allow;
    }
    Assessment::Ask(Box::new(http_ask(&url)))
}

/// Plain `http:` asks at medium, suggested for the session only.
fn http_ask(url: &Url) -> AskSpec {
    let host = url.host_str().unwrap_or_default().to_owned();
    let mut metadata = Map::new();
    metadata.insert("url".into(), json!(url.as_str()));
    metadata.insert("host".into(), json!(host));
    metadata.insert("isHttp".into(), json!(true));
    AskSpec {
        question: format!("Fetch URL \"{host}\" (unencrypted HTTP) requires approval."),
        description: None,
        risk: Risk::Medium,
        resource: Resource::Network,
        action: Action::Request,
        paths: Vec::new(),
        patterns: vec![host.clone(), url.to_string()],
        duration: GrantScope::Session,
        metadata,
        intents: vec![Intent::new(
            Resource::Network,
            Action::Request,
            vec![Target::exact(host)],
            ALL_SCOPES,
        )],
        allowed_scopes: ALL_SCOPES.to_vec(),
    }
}

pub(super) async fn run(input: &Value, env: &ToolEnv) -> ToolOutput {
    let input = match parse::<Input>("webfetch", input) {
        Ok(i) => i,
        Err(e) => return ToolOutput::fail(e),
    };
    let Ok(url) = Url::parse(&input.url) else {
        return ToolOutput::fail(format!("Invalid URL: {}", input.url));
    };
    let secs = input
        .timeout
        .filter(|t| *t > 0.0)
        .unwrap_or(DEFAULT_TIMEOUT_SECS)
        .min(MAX_TIMEOUT_SECS);
    let fetched = tokio::time::timeout(Duration::from_secs_f64(secs), fetch(&env.web, url)).await;
    let (body, content_type) = match fetched {
        Ok(Ok(done)) => done,
        Ok(Err(e)) => return ToolOutput::fail(e),
        Err(_) => return ToolOutput::fail(format!("Request timed out after {secs} seconds")),
    };
    let title = TITLE
        .as_ref()
        .and_then(|re| re.captures(&body))
        .and_then(|c| c.get(1))
        .map_or_else(|| input.url.clone(), |m| m.as_str().trim().to_owned());
    let is_html = content_type.contains("text/html");
    let content = match input.format.as_deref() {
        Some("markdown") if is_html => htmd::convert(&body).unwrap_or(body),
        Some("text") if is_html => html2text::config::plain_no_decorate()
            .string_from_read(body.as_bytes(), 10_000)
            .unwrap_or(body),
        _ => body,
    };
    let shown: String = input.url.chars().take(77).collect();
    let shown = if input.url.chars().count() > 80 {
        format!("{shown}...")
    } else {
        input.url.clone()
    };
    ToolOutput::ok(
        json!({"content": content, "title": title, "contentType": content_type}),
        json!({"type": "none", "message": format!("Fetched: {shown}")}),
    )
}

/// The body (at most 5 MB) and content type of a 2xx answer.
async fn fetch(web: &WebClient, url: Url) -> Result<(String, String), String> {
    let response = web.get(url).await?;
    if !response.status().is_success() {
        return Err(format!(
            "Request failed with status code: {}",
            response.status().as_u16()
        ));
    }
    let header = |name| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let content_type = header(CONTENT_TYPE).unwrap_or_default();
    if let Some(length) = header(CONTENT_LENGTH).and_then(|l| l.parse::<u64>().ok())
        && length > MAX_BODY as u64
    {
        return Err(format!("Response too large: {length} bytes (max 5MB)"));
    }
    let mut body = Vec::new();
    let mut stream = response.bytes_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| net::describe(&e))?;
        if body.len() + chunk.len() > MAX_BODY {
            return Err(format!(
                "Response too large: more than {MAX_BODY} bytes (max 5MB)"
            ));
        }
        body.extend_from_slice(&chunk);
    }
    Ok((String::from_utf8_lossy(&body).into_owned(), content_type))
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;
