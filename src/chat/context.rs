//! The system prompt a turn sends (`PROTOCOL-AGENT.md` §8.5): the preconfig's prompt, then the
//! instructions in `AGENTS.md` (the data dir's, then the workspace's), then a block that tells
//! the model where it works — the workspace path and its additional paths, how paths resolve,
//! today's date and the platform. Without the path the file tools cannot find the project.

use std::path::Path;

/// The most of one `AGENTS.md` put into the prompt (a huge file would crowd out the chat).
const MAX_INSTRUCTIONS: usize = 64 * 1024;

/// What the prompt is built from.
pub struct PromptInputs<'a> {
    pub preconfig_prompt: Option<&'a str>,
    pub data_dir: &'a Path,
    /// The workspace folder and its additional folders (none for a session without one).
    pub workspace: Option<(&'a str, &'a [String])>,
    /// `YYYY-MM-DD`.
    pub today: &'a str,
}

/// Build the system prompt; `None` when there is nothing to say.
pub async fn system_prompt(inputs: PromptInputs<'_>) -> Option<String> {
    let mut sections: Vec<String> = Vec::new();
    if let Some(p) = inputs
        .preconfig_prompt
        .map(str::trim)
        .filter(|p| !p.is_empty())
    {
        sections.push(p.to_owned());
    }
    if let Some(global) = instructions(&inputs.data_dir.join("AGENTS.md")).await {
        sections.push(format!(
            "<instructions source=\"global\">\n{global}\n</instructions>"
        ));
    }
    if let Some((path, _)) = inputs.workspace
        && let Some(project) = instructions(&Path::new(path).join("AGENTS.md")).await
    {
        sections.push(format!(
            "<instructions source=\"project\">\n{project}\n</instructions>"
        ));
    }
    if let Some((path, extra)) = inputs.workspace {
        sections.push(workspace_block(path, extra, inputs.today));
    }
    (!sections.is_empty()).then(|| sections.join("\n\n"))
}

/// The trimmed text of an instructions file, cut at [`MAX_INSTRUCTIONS`]; `None` when it is
/// missing, empty or unreadable.
async fn instructions(path: &Path) -> Option<String> {
    let text = tokio::fs::read_to_string(path).await.ok()?;
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    let mut end = text.len().min(MAX_INSTRUCTIONS);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    Some(text[..end].to_owned())
}

fn workspace_block(path: &str, extra: &[String], today: &str) -> String {
    let mut b = format!(
        "<workspace>\n## Where you work\n\nThe workspace folder is: {path}\n\n\
         - A relative path resolves from the workspace folder (prefer these for its files).\n\
         - Absolute paths are used as they are; `~` is the home folder.\n\
         - Shell commands run in the workspace folder unless you give a `cwd`.\n\
         - Searches cover the workspace folder unless you give a path.\n"
    );
    if !extra.is_empty() {
        b.push_str("\n## Additional folders\n\nYou may also work in these (use absolute paths):\n");
        for p in extra {
            b.push_str(&format!("- {p}\n"));
        }
    }
    b.push_str(
        "\n## Permissions\n\nWorking outside these folders, on sensitive files or with risky \
         shell commands needs the user's approval; system folders are refused.\n",
    );
    b.push_str(&format!(
        "\n## Environment\n\n- Today's date: {today}\n- Platform: {} ({})\n</workspace>",
        std::env::consts::OS,
        std::env::consts::ARCH
    ));
    b
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_prompt_has_the_preconfig_instructions_and_workspace_in_order() {
        let data = tempfile::tempdir().unwrap();
        let ws = tempfile::tempdir().unwrap();
        std::fs::write(data.path().join("AGENTS.md"), "Be kind.\n").unwrap();
        std::fs::write(ws.path().join("AGENTS.md"), "Use tabs.").unwrap();
        let path = ws.path().display().to_string();
        let extra = vec!["/srv/shared".to_owned()];
        let prompt = system_prompt(PromptInputs {
            preconfig_prompt: Some("You code."),
            data_dir: data.path(),
            workspace: Some((&path, &extra)),
            today: "2026-11-30",
        })
        .await
        .unwrap();
        let at = |s: &str| prompt.find(s).unwrap_or_else(|| panic!("{s} in {prompt}"));
        assert!(at("You code.") < at("Be kind.") && at("Be kind.") < at("Use tabs."));
        assert!(at("Use tabs.") < at(&path));
        assert!(prompt.contains("/srv/shared") && prompt.contains("2026-11-30"));
        assert!(prompt.contains(std::env::consts::OS));
    }

    #[tokio::test]
    async fn nothing_to_say_is_no_prompt() {
        let data = tempfile::tempdir().unwrap();
        let none = system_prompt(PromptInputs {
            preconfig_prompt: Some("  "),
            data_dir: data.path(),
            workspace: None,
            today: "2026-11-30",
        })
        .await;
        assert_eq!(none, None);
    }
}
