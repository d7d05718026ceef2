//! Child processes (the `shell` tool, terminals): the environment they start with. A child gets
//! this server's environment minus its secrets: every `JEAN2_*` variable (the auth token, the
//! provider keys), every name set in `<data dir>/.env`, and the usual provider and cloud
//! credential names, so a command the model runs cannot read them back.

use std::ffi::OsString;

/// Credential names of common providers and tools, removed even when jean2 did not set them
/// (they are in the environment jean2 was started from, and a model has no business reading them).
const PROVIDER_SECRETS: &[&str] = &[
    "OPENAI_API_KEY",
    "ANTHROPIC_API_KEY",
    "DEEPSEEK_API_KEY",
    "OPENROUTER_API_KEY",
    "MINIMAX_API_KEY",
    "ZHIPU_API_KEY",
    "GEMINI_API_KEY",
    "GOOGLE_API_KEY",
    "MISTRAL_API_KEY",
    "GROQ_API_KEY",
    "XAI_API_KEY",
];

/// Whether a variable named `name` must not reach a child process. `env_file_keys` are the names
/// set in `.env` ([`crate::config::Settings::env_file_keys`]).
pub fn is_hidden(name: &str, env_file_keys: &[String]) -> bool {
    name.starts_with("JEAN2_")
        || PROVIDER_SECRETS.contains(&name)
        || env_file_keys.iter().any(|k| k == name)
}

/// The environment for a child process: this process's, without the hidden names.
pub fn child_env(env_file_keys: &[String]) -> Vec<(OsString, OsString)> {
    filter(std::env::vars_os(), env_file_keys)
}

fn filter(
    vars: impl Iterator<Item = (OsString, OsString)>,
    env_file_keys: &[String],
) -> Vec<(OsString, OsString)> {
    vars.filter(|(k, _)| !k.to_str().is_some_and(|k| is_hidden(k, env_file_keys)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_and_env_file_names_are_left_out() {
        let vars = [
            ("PATH", "/bin"),
            ("JEAN2_AUTH_TOKEN", "t"),
            ("JEAN2_LLM_OPENAI_API_KEY", "k"),
            ("OPENAI_API_KEY", "k"),
            ("MY_SECRET_FROM_DOTENV", "s"),
            ("HOME", "/root"),
        ]
        .map(|(k, v)| (OsString::from(k), OsString::from(v)));
        let kept = filter(vars.into_iter(), &["MY_SECRET_FROM_DOTENV".to_owned()]);
        let names: Vec<_> = kept.iter().map(|(k, _)| k.to_str().unwrap()).collect();
        assert_eq!(names, ["PATH", "HOME"]);
    }
}
