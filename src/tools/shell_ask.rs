//! The ask of a `shell` call and its grant key material. The intents name what the command
//! does where that can be read from it (the hosts `curl` reaches, the files `rm` deletes, `cp`
//! writes, `cat` reads); otherwise the whole command line in its folder is the target, so an
//! approval for the session covers that exact command again and nothing else. A command whose
//! meaning depends on variables (`$X`, `` ` ``) is approved once at a time; files that may hold
//! secrets always need their own approval.

use serde_json::{Map, json};

use super::ask::{
    ALL_SCOPES, Action, AskSpec, GrantScope, Intent, Resource, Risk, SESSION_SCOPES, Target,
    common_scopes,
};
use super::env::ToolEnv;
use super::paths::locate;
use super::shell_risk::{Analysis, DELETES, NETWORK, READS, WRITES};

/// The ask for a command the rules flagged at `risk`.
pub(super) fn build(a: &Analysis, env: &ToolEnv, risk: Risk) -> AskSpec {
    let intents = intents(a, env);
    let allowed_scopes = common_scopes(&intents);
    let (resource, action, patterns) = match intents.first() {
        Some(i) => (
            i.resource,
            i.action,
            i.targets.iter().map(|t| t.target.clone()).collect(),
        ),
        None => (Resource::ShellCommand, Action::Execute, Vec::new()),
    };
    let network = NETWORK.contains(&a.identity.as_str());
    let duration = [GrantScope::Workspace, GrantScope::Session, GrantScope::Once]
        .into_iter()
        .filter(|s| *s != GrantScope::Workspace || !(a.dangerous || network))
        .find(|s| allowed_scopes.contains(s))
        .unwrap_or(GrantScope::Once);
    AskSpec {
        question: question(a, intents.first()),
        description: None,
        risk,
        resource,
        action,
        paths: a
            .paths
            .iter()
            .map(|p| p.to_string_lossy().into_owned())
            .collect(),
        patterns,
        duration,
        metadata: metadata(a),
        intents,
        allowed_scopes,
    }
}

fn short(command: &str) -> String {
    match command.char_indices().nth(80) {
        Some((cut, _)) => format!("{}...", &command[..cut]),
        None => command.to_owned(),
    }
}

fn question(a: &Analysis, primary: Option<&Intent>) -> String {
    let cmd = short(&a.command);
    if a.cwd_outside {
        return format!(
            "Command \"{cmd}\" runs in directory outside workspace ({}). Requires approval.",
            a.cwd.display()
        );
    }
    let names = |i: &Intent| {
        let names: Vec<&str> = i
            .targets
            .iter()
            .map(|t| {
                t.target
                    .trim_end_matches('/')
                    .rsplit('/')
                    .next()
                    .unwrap_or(&t.target)
            })
            .collect();
        names.join("\", \"")
    };
    match primary {
        Some(i) if i.resource == Resource::File => {
            let verb = match i.action {
                Action::Read => "Read",
                Action::Delete => "Delete",
                _ => "Write to",
            };
            let where_ = if a.outside {
                " (outside workspace)"
            } else {
                ""
            };
            format!(
                "{verb} file \"{}\"{where_} via {cmd}. Requires approval.",
                names(i)
            )
        }
        Some(i) if i.resource == Resource::Network => {
            format!(
                "Network request to \"{}\" via {cmd}. Requires approval.",
                names(i)
            )
        }
        _ => {
            let where_ = if a.outside {
                "references paths outside workspace"
            } else {
                "within workspace"
            };
            format!(
                "Run command \"{cmd}\" ({where_}): {}. Requires approval.",
                a.reasons().join("; ")
            )
        }
    }
}

/// The rule that speaks for the ask, as upstream names it.
fn category(a: &Analysis) -> &'static str {
    let id = a.identity.as_str();
    if a.dangerous {
        if NETWORK.contains(&id) {
            "network"
        } else if DELETES.contains(&id)
            || [
                "dd", "mkfs", "format", "sudo", "su", "doas", "chmod", "chown",
            ]
            .contains(&id)
        {
            "destructive"
        } else {
            "side-effect"
        }
    } else if a.filesystem {
        "workspace-modification"
    } else if a.operators {
        "side-effect"
    } else if a.outside {
        "outside-workspace"
    } else {
        "sensitive-files"
    }
}

fn metadata(a: &Analysis) -> Map<String, serde_json::Value> {
    let labels = [
        (
            a.dangerous && category(a) == "destructive",
            "Destructive operation",
        ),
        (a.dangerous && category(a) == "network", "Network access"),
        (a.filesystem, "Workspace modification"),
        (a.outside, "References external paths"),
        (a.operators, "Contains shell operators"),
        (!a.sensitive.is_empty(), "References sensitive files"),
    ];
    let description: Vec<&str> = labels
        .iter()
        .filter(|(on, _)| *on)
        .map(|(_, l)| *l)
        .collect();
    let mut m = Map::new();
    m.insert("command".into(), json!(a.command));
    m.insert("baseCommand".into(), json!(a.identity));
    m.insert("flags".into(), json!(a.flags));
    m.insert("riskCategory".into(), json!(category(a)));
    m.insert("reason".into(), json!(a.reasons().join("; ")));
    m.insert("resolvedPaths".into(), json!(a.paths));
    m.insert("workspaceBound".into(), json!(!a.outside));
    m.insert("hasOperators".into(), json!(a.operators));
    m.insert("cwd".into(), json!(a.cwd));
    m.insert("description".into(), json!(description.join(" • ")));
    m
}

/// The command line as a grant target: with its folder when that is not the workspace root.
fn whole_command(a: &Analysis, env: &ToolEnv) -> Target {
    if a.cwd == env.roots.primary() {
        Target::exact(a.command.clone())
    } else {
        Target::exact(format!("cd {} && {}", a.cwd.display(), a.command))
    }
}

fn intents(a: &Analysis, env: &ToolEnv) -> Vec<Intent> {
    let whole = whole_command(a, env);
    if a.dynamic {
        return vec![Intent::once_only(
            Resource::ShellCommand,
            Action::Execute,
            whole,
            "dynamic variable expansion",
        )];
    }
    if a.operators {
        return vec![Intent::new(
            Resource::ShellCommand,
            Action::Execute,
            vec![whole],
            SESSION_SCOPES,
        )];
    }
    let mut intents: Vec<Intent> = effect(a).into_iter().collect();
    if intents.is_empty() {
        let mut fallback = Intent::new(
            Resource::ShellCommand,
            Action::Execute,
            vec![whole.clone()],
            SESSION_SCOPES,
        );
        if a.dangerous {
            fallback = Intent::once_only(
                Resource::ShellCommand,
                Action::Execute,
                whole,
                "unclassifiable system command",
            );
        }
        intents.push(fallback);
    }
    let covered: Vec<String> = intents
        .iter()
        .flat_map(|i| i.targets.iter().map(|t| t.target.clone()))
        .collect();
    let secrets: Vec<Target> = a
        .sensitive
        .iter()
        .map(|w| locate(w, &a.cwd, &env.roots).display())
        .filter(|p| !covered.contains(p))
        .map(Target::exact)
        .collect();
    if !secrets.is_empty() {
        intents.push(Intent::new(
            Resource::File,
            Action::Read,
            secrets,
            ALL_SCOPES,
        ));
    }
    intents
}

/// What a single simple command does to files or the network, when its words say so.
fn effect(a: &Analysis) -> Option<Intent> {
    let seg = a.segments.first()?;
    let base = seg.base();
    if NETWORK.contains(&base) {
        let hosts: Vec<Target> = seg
            .words
            .iter()
            .filter_map(|w| host_of(w))
            .map(Target::exact)
            .collect();
        return (!hosts.is_empty())
            .then(|| Intent::new(Resource::Network, Action::Request, hosts, ALL_SCOPES));
    }
    if a.paths.is_empty() {
        return None;
    }
    let exact = || {
        a.paths
            .iter()
            .map(|p| Target::exact(p.to_string_lossy()))
            .collect()
    };
    if DELETES.contains(&base) {
        let recursive = a
            .flags
            .iter()
            .any(|f| f == "--recursive" || (!f.starts_with("--") && f.contains(['r', 'R'])));
        let targets = match recursive {
            true => a
                .paths
                .iter()
                .map(|p| Target {
                    target: format!("{}/", p.to_string_lossy()),
                    matcher: super::ask::Matcher::Prefix,
                })
                .collect(),
            false => exact(),
        };
        return Some(Intent::new(
            Resource::File,
            Action::Delete,
            targets,
            SESSION_SCOPES,
        ));
    }
    if WRITES.contains(&base) {
        return Some(Intent::new(
            Resource::File,
            Action::Write,
            exact(),
            ALL_SCOPES,
        ));
    }
    READS
        .contains(&base)
        .then(|| Intent::new(Resource::File, Action::Read, exact(), ALL_SCOPES))
}

fn host_of(word: &str) -> Option<String> {
    let rest = word
        .strip_prefix("https://")
        .or_else(|| word.strip_prefix("http://"))?;
    let host = rest.split(['/', '?', '#']).next()?;
    (!host.is_empty()).then(|| host.to_owned())
}
