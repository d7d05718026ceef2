//! `jean2 users|apps|keys`: OAuth administration. Runs in its own short-lived process straight on
//! the configured database. A command that takes rights away also replaces the revocation
//! marker next to the database ([`crate::auth::revocation`]): a running server checks it before
//! trusting a cached answer and closes the WebSockets concerned, so the change holds from the
//! next request on. The functions taking a [`Store`] are what the commands do; tests call them.
//! Secrets are printed once and stored only as hashes; passwords come from standard input.

use std::io::BufRead as _;
use std::process::ExitCode;

use anyhow::{Context as _, anyhow, bail};
use serde::Serialize;

use crate::auth::oauth::{jwt, passwords, secrets};
mod commands;
mod revoke;

use crate::config::{CliOverrides, Settings};
use crate::store::Store;
use crate::store::apps::NewApp;
use crate::store::users::User;
pub use commands::{AppsCommand, KeysCommand, UsersCommand};
pub use revoke::{revoke_app, revoke_key, set_user_disabled};
use revoke::{set_host, tell_servers};

/// Scopes an application may be given.
pub const KNOWN_SCOPES: &[&str] = &["read", "write"];

/// What `apps create` prints (`--json`).
#[derive(Debug, Serialize)]
pub struct CreatedApp {
    pub client_id: String,
    pub client_secret: Option<String>,
    pub api_key: String,
}

/// The options of `apps create`.
#[derive(Debug, Clone, Default)]
pub struct AppSpec {
    pub name: String,
    pub redirect_uris: Vec<String>,
    pub confidential: bool,
    pub scopes: Vec<String>,
}

fn run<F: std::future::Future<Output = anyhow::Result<()>>>(
    f: impl FnOnce(Store, std::path::PathBuf) -> F,
) -> anyhow::Result<ExitCode> {
    let (settings, _) = Settings::load(&CliOverrides::default())?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async move {
        let store = match &settings.database_url {
            Some(url) => Store::connect(url, 2).await?,
            None => Store::open_unlocked(&settings.database_path).await?,
        };
        let result = f(store.clone(), settings.database_path.clone()).await;
        store.close().await;
        result
    })?;
    Ok(ExitCode::SUCCESS)
}

fn read_password(from_stdin: bool) -> anyhow::Result<String> {
    if !from_stdin {
        bail!(
            "pass the password on standard input with --password-stdin (a password on the command line would show in process listings), e.g. `printf '%s' \"$PW\" | jean2 users add --email you@example.com --password-stdin`"
        );
    }
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("cannot read the password from standard input")?;
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}

/// Add a user with a password (checked, then hashed with argon2id).
pub async fn add_user(store: &Store, email: &str, password: &str) -> anyhow::Result<User> {
    if !email.contains('@') || email.trim().len() < 3 {
        bail!("{email:?} is not an email address");
    }
    passwords::check_new_password(password).map_err(|e| anyhow!(e))?;
    let hash = passwords::hash_password(password.to_owned())
        .await
        .map_err(|e| anyhow!(e))?;
    Ok(store.create_user(email, Some(&hash), false).await?)
}

/// `jean2 users …`.
pub fn users(cmd: UsersCommand) -> anyhow::Result<ExitCode> {
    let password = match &cmd {
        UsersCommand::Add { password_stdin, .. }
        | UsersCommand::SetPassword { password_stdin, .. } => Some(read_password(*password_stdin)?),
        _ => None,
    };
    run(move |store, db| async move {
        match cmd {
            UsersCommand::Add { email, .. } => {
                let u = add_user(&store, &email, password.as_deref().unwrap_or_default()).await?;
                crate::console::say!("added user {} <{}>", u.id, u.email);
            }
            UsersCommand::List => {
                for u in store.list_users().await? {
                    let state = if u.disabled { "disabled" } else { "active" };
                    let host = if u.host_access { "  host" } else { "" };
                    crate::console::say!(
                        "{}  {:<32}  {state:<8}  {}{host}",
                        u.id,
                        u.email,
                        u.created_at
                    );
                }
            }
            UsersCommand::Disable { email } => {
                let u = set_user_disabled(&store, &db, &email, true).await?;
                crate::console::say!("disabled {} <{}>", u.id, u.email);
            }
            UsersCommand::Enable { email } => {
                let u = set_user_disabled(&store, &db, &email, false).await?;
                crate::console::say!("enabled {} <{}>", u.id, u.email);
            }
            UsersCommand::AllowHost { email } => {
                let u = set_host(&store, &email, true).await?;
                crate::console::say!(
                    "{} <{}> may now run shell commands and reach paths outside their \
                     workspace on this machine (from their next turn)",
                    u.id,
                    u.email
                );
            }
            UsersCommand::DenyHost { email } => {
                let u = set_host(&store, &email, false).await?;
                crate::console::say!(
                    "{} <{}> is confined to their workspace again",
                    u.id,
                    u.email
                );
            }
            UsersCommand::SetPassword { email, .. } => {
                let pw = password.unwrap_or_default();
                passwords::check_new_password(&pw).map_err(|e| anyhow!(e))?;
                let hash = passwords::hash_password(pw).await.map_err(|e| anyhow!(e))?;
                store
                    .set_password(&email, &hash)
                    .await
                    .map_err(|e| not_found(e, "user", &email))?;
                tell_servers(&db);
                crate::console::say!(
                    "password changed for {email}; their browser sessions are ended"
                );
            }
        }
        Ok(())
    })
}

fn not_found(e: crate::store::StoreError, what: &str, id: &str) -> anyhow::Error {
    match e {
        crate::store::StoreError::NotFound(_) => anyhow!("no {what} {id:?}"),
        other => other.into(),
    }
}

/// Check a redirect URI: absolute, no fragment; https, http on a loopback IP, or a private scheme.
pub fn check_redirect_uri(uri: &str) -> anyhow::Result<()> {
    let u = url::Url::parse(uri)
        .map_err(|e| anyhow!("redirect URI {uri:?} is not an absolute URL: {e}"))?;
    if u.fragment().is_some() {
        bail!("redirect URI {uri:?} must not have a #fragment");
    }
    match u.scheme() {
        "https" => Ok(()),
        "http"
            if matches!(
                u.host_str(),
                Some("127.0.0.1") | Some("[::1]") | Some("localhost")
            ) =>
        {
            Ok(())
        }
        "http" => bail!(
            "redirect URI {uri:?} uses plain http on a public host; use https (http is allowed only on 127.0.0.1 or [::1])"
        ),
        "javascript" | "data" | "file" => bail!("redirect URI {uri:?} uses a forbidden scheme"),
        _ => Ok(()), // a native app's private-use scheme (RFC 8252 §7.1)
    }
}

/// Register an application with one API key (and a client secret when confidential).
pub async fn create_app(store: &Store, spec: &AppSpec) -> anyhow::Result<CreatedApp> {
    if spec.name.trim().is_empty() {
        bail!("--name must not be empty");
    }
    if spec.redirect_uris.is_empty() {
        bail!("give at least one --redirect-uri");
    }
    for uri in &spec.redirect_uris {
        check_redirect_uri(uri)?;
    }
    let scopes: Vec<String> = if spec.scopes.is_empty() {
        KNOWN_SCOPES.iter().map(|s| (*s).to_owned()).collect()
    } else {
        spec.scopes
            .iter()
            .flat_map(|s| s.split_whitespace())
            .map(str::to_owned)
            .collect()
    };
    if let Some(bad) = scopes.iter().find(|s| !KNOWN_SCOPES.contains(&s.as_str())) {
        bail!(
            "unknown scope {bad:?}; the scopes are: {}",
            KNOWN_SCOPES.join(" ")
        );
    }
    let secret = spec.confidential.then(secrets::random_token);
    let secret_hash = secret.as_deref().map(secrets::hash);
    let app = store
        .create_app(NewApp {
            name: spec.name.trim(),
            confidential: spec.confidential,
            secret_hash: secret_hash.as_deref(),
            scopes: &scopes,
            redirect_uris: &spec.redirect_uris,
        })
        .await?;
    let key = secrets::new_api_key();
    store
        .create_api_key(
            &app.id,
            &secrets::hash(&key),
            &secrets::key_prefix(&key),
            None,
        )
        .await?;
    Ok(CreatedApp {
        client_id: app.id,
        client_secret: secret,
        api_key: key,
    })
}

/// `jean2 apps …`.
pub fn apps(cmd: AppsCommand) -> anyhow::Result<ExitCode> {
    run(move |store, db| async move {
        match cmd {
            AppsCommand::Create {
                name,
                redirect_uris,
                confidential,
                scopes,
                json,
            } => {
                let spec = AppSpec {
                    name,
                    redirect_uris,
                    confidential,
                    scopes,
                };
                let created = create_app(&store, &spec).await?;
                if json {
                    crate::console::say!("{}", serde_json::to_string(&created)?);
                } else {
                    crate::console::say!("client_id:     {}", created.client_id);
                    if let Some(s) = &created.client_secret {
                        crate::console::say!("client_secret: {s}");
                    }
                    crate::console::say!("api_key:       {}", created.api_key);
                    crate::console::say!("Store these now: the secrets are shown only once.");
                }
            }
            AppsCommand::List => {
                for a in store.list_apps().await? {
                    let kind = if a.confidential {
                        "confidential"
                    } else {
                        "public"
                    };
                    let state = if a.revoked { "revoked" } else { "active" };
                    crate::console::say!(
                        "{}  {:<24}  {kind:<12}  {state:<7}  scopes: {}  redirect: {}",
                        a.id,
                        a.name,
                        a.scopes.join(" "),
                        a.redirect_uris.join(" ")
                    );
                }
            }
            AppsCommand::Revoke { id } => {
                revoke_app(&store, &db, &id).await?;
                crate::console::say!("revoked {id}: its keys and tokens stop working");
            }
            AppsCommand::RotateSecret { id } => {
                let secret = secrets::random_token();
                store
                    .set_app_secret(&id, &secrets::hash(&secret))
                    .await
                    .map_err(|e| not_found(e, "confidential application", &id))?;
                crate::console::say!("client_secret: {secret}");
                crate::console::say!(
                    "The old secret no longer works. Store this one now: it is shown only once."
                );
            }
            AppsCommand::Usage { id } => {
                store
                    .app(&id)
                    .await?
                    .ok_or_else(|| anyhow!("no application {id:?}"))?;
                let days = store.usage(&id).await?;
                if days.is_empty() {
                    crate::console::say!("no requests recorded for {id}");
                }
                for (day, n) in days {
                    crate::console::say!("{day}  {n}");
                }
            }
        }
        Ok(())
    })
}

/// Create an API key for `app_id`, returning it (the only time it exists in clear).
pub async fn create_key(
    store: &Store,
    app_id: &str,
    expires_in_days: Option<u32>,
) -> anyhow::Result<(String, String)> {
    let app = store
        .app(app_id)
        .await?
        .ok_or_else(|| anyhow!("no application {app_id:?}"))?;
    if app.revoked {
        bail!("application {app_id} is revoked");
    }
    let key = secrets::new_api_key();
    let expires = expires_in_days.map(|d| crate::time::now_ms() + i64::from(d) * 86_400_000);
    let row = store
        .create_api_key(
            app_id,
            &secrets::hash(&key),
            &secrets::key_prefix(&key),
            expires,
        )
        .await?;
    Ok((row.id, key))
}

/// `jean2 keys …`.
pub fn keys(cmd: KeysCommand) -> anyhow::Result<ExitCode> {
    run(move |store, db| async move {
        match cmd {
            KeysCommand::Create { app, expires_in } => {
                let (id, key) = create_key(&store, &app, expires_in).await?;
                crate::console::say!("key_id:  {id}");
                crate::console::say!("api_key: {key}");
                crate::console::say!("Store it now: it is shown only once.");
            }
            KeysCommand::List { app } => {
                for k in store.list_api_keys(&app).await? {
                    let state = if k.revoked {
                        "revoked".to_owned()
                    } else {
                        match k.expires_at {
                            Some(t) if t <= crate::time::now_ms() => "expired".to_owned(),
                            Some(t) => format!("expires {}", crate::time::day_of(t)),
                            None => "active".to_owned(),
                        }
                    };
                    crate::console::say!(
                        "{}  {}…  {state}  created {}",
                        k.id,
                        k.prefix,
                        k.created_at
                    );
                }
            }
            KeysCommand::Revoke { key_id } => {
                revoke_key(&store, &db, &key_id).await?;
                crate::console::say!("revoked {key_id}");
            }
            KeysCommand::RotateSigning => {
                let key = jwt::generate_key(crate::time::now_ms()).map_err(|e| anyhow!(e))?;
                store.add_signing_key(&key).await?;
                crate::console::say!(
                    "new signing key {}; the previous key keeps verifying tokens until they expire ({} minutes)",
                    key.kid,
                    jwt::ACCESS_TTL_SECS / 60
                );
            }
        }
        Ok(())
    })
}
