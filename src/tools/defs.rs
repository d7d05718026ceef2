//! The twelve built-in tools as the model and `GET /api/tools` see them: names, descriptions,
//! JSON Schemas of their parameters (the upstream parameter names, so preconfigs and the
//! client's tool cards work unchanged) and per-tool timeouts (§8.7). Built once.

use std::sync::LazyLock;
use std::time::Duration;

use serde_json::{Value, json};

use super::descriptions as text;

/// One built-in tool.
#[derive(Debug, Clone)]
pub struct ToolDef {
    pub name: &'static str,
    pub description: &'static str,
    /// JSON Schema of the arguments object.
    pub input_schema: Value,
    /// How long a call may take, permission wait included (§8.2).
    pub timeout: Duration,
}

impl ToolDef {
    /// The entry of an OpenAI-compatible `tools` array.
    pub fn openai_json(&self) -> Value {
        json!({"type": "function", "function": {
            "name": self.name, "description": self.description, "parameters": self.input_schema,
        }})
    }

    /// The `ToolDefinition` of `GET /api/tools` (§8.6).
    pub fn api_json(&self) -> Value {
        json!({
            "name": self.name, "description": self.description,
            "inputSchema": self.input_schema, "timeout": self.timeout.as_millis() as u64,
        })
    }
}

/// Every built-in tool, in the order of §8.7.
pub fn definitions() -> &'static [ToolDef] {
    &DEFS
}

/// The built-in tool called `name`.
pub fn definition(name: &str) -> Option<&'static ToolDef> {
    DEFS.iter().find(|d| d.name == name)
}

fn def(name: &'static str, description: &'static str, secs: u64, input_schema: Value) -> ToolDef {
    ToolDef {
        name,
        description,
        input_schema,
        timeout: Duration::from_secs(secs),
    }
}

fn object(properties: Value, required: &[&str]) -> Value {
    json!({"type": "object", "properties": properties, "required": required})
}

const STRATEGIES: [&str; 5] = ["exact", "line_start", "line_end", "partial", "multi_line"];

static DEFS: LazyLock<Vec<ToolDef>> = LazyLock::new(|| {
    let mut defs = file_tools();
    defs.extend(search_tools());
    defs.extend(other_tools());
    defs
});

fn file_tools() -> Vec<ToolDef> {
    let strategy = json!({"type": "string", "enum": STRATEGIES,
        "description": "Leave out for the tolerant passes, or 'exact'. The others are kept for compatibility."});
    vec![
        def(
            "read-file",
            text::READ_FILE,
            30,
            object(
                json!({
                    "path": {"type": "string", "description": "Absolute path, or relative to the workspace, of a file or folder"},
                    "offset": {"type": "number", "description": "First line to return, counting from 1"},
                    "limit": {"type": "number", "description": "How many lines to return (2000 when left out)"},
                }),
                &["path"],
            ),
        ),
        def(
            "write-file",
            text::WRITE_FILE,
            30,
            object(
                json!({
                    "path": {"type": "string", "description": "Absolute path, or relative to the workspace"},
                    "content": {"type": "string", "description": "The whole new content of the file"},
                }),
                &["path", "content"],
            ),
        ),
        def(
            "edit",
            text::EDIT,
            180,
            object(
                json!({
                    "path": {"type": "string", "description": "The file to change"},
                    "oldString": {"type": "string", "minLength": 1, "description": "Text copied verbatim from the file; it must occur once"},
                    "newString": {"type": "string", "description": "What replaces it (may be empty)"},
                    "strategy": strategy,
                }),
                &["path", "oldString", "newString"],
            ),
        ),
        def(
            "multiedit",
            text::MULTIEDIT,
            180,
            object(
                json!({
                    "path": {"type": "string", "description": "The file to change"},
                    "edits": {"type": "array", "minItems": 1, "description": "Replacements applied in order, all or none",
                        "items": object(json!({
                            "oldString": {"type": "string", "minLength": 1, "description": "Text copied verbatim from the file"},
                            "newString": {"type": "string", "description": "What replaces it (may be empty)"},
                            "strategy": strategy,
                        }), &["oldString", "newString"])},
                }),
                &["path", "edits"],
            ),
        ),
        def(
            "apply-patch",
            text::APPLY_PATCH,
            60,
            object(
                json!({
                    "patch": {"type": "string", "description": "The patch, from *** Begin Patch to *** End Patch"},
                }),
                &["patch"],
            ),
        ),
    ]
}

fn search_tools() -> Vec<ToolDef> {
    vec![
        def(
            "glob",
            text::GLOB,
            30,
            object(
                json!({
                    "pattern": {"type": "string", "description": "Glob pattern, e.g. **/*.rs or src/*.{ts,tsx}"},
                    "path": {"type": "string", "description": "Folder to search (the workspace when left out)"},
                    "ignore": {"type": "array", "items": {"type": "string"}, "description": "Glob patterns to leave out"},
                }),
                &["pattern"],
            ),
        ),
        def(
            "grep",
            text::GREP,
            30,
            object(
                json!({
                    "pattern": {"type": "string", "description": "Regular expression searched line by line"},
                    "path": {"type": "string", "description": "File or folder to search"},
                    "include": {"type": "string", "description": "Only files matching this glob, e.g. *.rs"},
                    "ignore": {"type": "array", "items": {"type": "string"}, "description": "Glob patterns to leave out"},
                }),
                &["pattern", "path"],
            ),
        ),
        def(
            "ls",
            text::LS,
            30,
            object(
                json!({
                    "path": {"type": "string", "description": "Folder to list (the workspace when left out)"},
                    "ignore": {"type": "array", "items": {"type": "string"}, "description": "More file or folder names to leave out"},
                    "showHidden": {"type": "boolean", "description": "Also list names starting with a dot"},
                }),
                &[],
            ),
        ),
    ]
}

fn other_tools() -> Vec<ToolDef> {
    vec![
        def(
            "shell",
            text::SHELL,
            60,
            object(
                json!({
                    "command": {"type": "string", "description": "The command line, run by sh -c"},
                    "cwd": {"type": "string", "description": "Working folder (the workspace when left out)"},
                }),
                &["command"],
            ),
        ),
        def(
            "webfetch",
            text::WEBFETCH,
            120,
            object(
                json!({
                    "url": {"type": "string", "description": "An http:// or https:// URL"},
                    "format": {"type": "string", "enum": ["markdown", "text", "html"], "description": "How to return an HTML page"},
                    "timeout": {"type": "number", "description": "Seconds to wait (30 when left out, at most 120)"},
                }),
                &["url"],
            ),
        ),
        def(
            "todoread",
            text::TODOREAD,
            5,
            json!({"type": "object", "properties": {}}),
        ),
        def(
            "todowrite",
            text::TODOWRITE,
            30,
            object(
                json!({
                    "todos": {"type": "array", "description": "The whole new list", "items": object(json!({
                        "content": {"type": "string"},
                        "status": {"type": "string", "enum": ["pending", "in_progress", "completed", "cancelled"]},
                        "priority": {"type": "string", "enum": ["high", "medium", "low"]},
                    }), &["content", "status"])},
                }),
                &["todos"],
            ),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn there_are_the_twelve_tools_with_their_timeouts() {
        let got: Vec<_> = definitions()
            .iter()
            .map(|d| (d.name, d.timeout.as_secs()))
            .collect();
        assert_eq!(
            got,
            [
                ("read-file", 30),
                ("write-file", 30),
                ("edit", 180),
                ("multiedit", 180),
                ("apply-patch", 60),
                ("glob", 30),
                ("grep", 30),
                ("ls", 30),
                ("shell", 60),
                ("webfetch", 120),
                ("todoread", 5),
                ("todowrite", 30),
            ]
        );
    }

    #[test]
    fn every_schema_is_an_object_whose_required_names_are_properties() {
        for d in definitions() {
            assert_eq!(d.input_schema["type"], "object", "{}", d.name);
            let props = d.input_schema["properties"].as_object().unwrap();
            for name in d.input_schema["required"].as_array().into_iter().flatten() {
                assert!(
                    props.contains_key(name.as_str().unwrap()),
                    "{}: {name}",
                    d.name
                );
            }
        }
    }

    #[test]
    fn the_wire_shapes_name_the_fields_clients_read() {
        let shell = definition("shell").unwrap();
        assert_eq!(shell.api_json()["timeout"], 60_000);
        assert_eq!(shell.api_json()["inputSchema"]["required"][0], "command");
        assert_eq!(shell.openai_json()["function"]["name"], "shell");
        assert!(definition("nope").is_none());
    }
}
