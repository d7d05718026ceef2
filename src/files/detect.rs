//! What a file is, from its name and first bytes: binary or text, the editor's language hint and
//! a MIME type. The tables follow upstream's (`server/services/filePreview.ts`) so the client
//! highlights the same files the same way; the binary test is stricter about what text is
//! (valid UTF-8 without NUL bytes), so non-ASCII text is not called binary.

use std::path::Path;

/// Largest file shown in a preview or opened in the editor (§13.5–13.7).
pub const MAX_TEXT_BYTES: u64 = 1_048_576;

/// Extensions that are binary whatever their content (lower-case, with the dot).
const BINARY_EXTENSIONS: &[&str] = &[
    ".png", ".jpg", ".jpeg", ".gif", ".bmp", ".webp", ".svg", ".ico", ".zip", ".gz", ".tar",
    ".bz2", ".7z", ".rar", ".exe", ".dll", ".so", ".dylib", ".bin", ".dat", ".obj", ".wasm",
    ".class", ".jar", ".pyc", ".pyo", ".o", ".a", ".lib", ".dmg", ".iso", ".img", ".apk", ".ipa",
    ".woff", ".woff2", ".ttf", ".eot", ".otf", ".mp3", ".mp4", ".avi", ".mov", ".wmv", ".flv",
    ".mkv", ".webm", ".pdf", ".doc", ".docx", ".xls", ".xlsx", ".ppt", ".pptx", ".odt", ".ods",
    ".odp", ".sqlite", ".db", ".db3",
];

/// Extension (without the dot, lower-case) → the editor's language id.
const LANGUAGES: &[(&str, &str)] = &[
    ("ts", "typescript"),
    ("tsx", "typescript"),
    ("js", "javascript"),
    ("jsx", "javascript"),
    ("mjs", "javascript"),
    ("cjs", "javascript"),
    ("json", "json"),
    ("jsonc", "json"),
    ("lock", "json"),
    ("md", "markdown"),
    ("markdown", "markdown"),
    ("css", "css"),
    ("scss", "scss"),
    ("sass", "sass"),
    ("less", "less"),
    ("html", "html"),
    ("htm", "html"),
    ("xml", "xml"),
    ("svg", "xml"),
    ("py", "python"),
    ("pyw", "python"),
    ("go", "go"),
    ("rs", "rust"),
    ("java", "java"),
    ("kt", "kotlin"),
    ("kts", "kotlin"),
    ("sh", "bash"),
    ("bash", "bash"),
    ("zsh", "bash"),
    ("yaml", "yaml"),
    ("yml", "yaml"),
    ("toml", "toml"),
    ("ini", "ini"),
    ("cfg", "ini"),
    ("conf", "ini"),
    ("env", "ini"),
    ("sql", "sql"),
    ("graphql", "graphql"),
    ("gql", "graphql"),
    ("vue", "vue"),
    ("svelte", "svelte"),
    ("rb", "ruby"),
    ("php", "php"),
    ("c", "c"),
    ("h", "c"),
    ("cpp", "cpp"),
    ("cc", "cpp"),
    ("cxx", "cpp"),
    ("hpp", "cpp"),
    ("cs", "csharp"),
    ("swift", "swift"),
    ("dart", "dart"),
    ("lua", "lua"),
    ("r", "r"),
    ("pl", "perl"),
    ("pm", "perl"),
    ("ex", "elixir"),
    ("exs", "elixir"),
    ("erl", "erlang"),
    ("hrl", "erlang"),
    ("clj", "clojure"),
    ("cljs", "clojure"),
    ("hs", "haskell"),
    ("lhs", "haskell"),
    ("scala", "scala"),
    ("sc", "scala"),
    ("tf", "hcl"),
    ("hcl", "hcl"),
    ("proto", "protobuf"),
    ("gradle", "groovy"),
    ("vim", "vim"),
    ("diff", "diff"),
    ("patch", "diff"),
];

/// Extension (with the dot, lower-case) → MIME type.
const MIME_TYPES: &[(&str, &str)] = &[
    (".md", "text/markdown"),
    (".markdown", "text/markdown"),
    (".json", "application/json"),
    (".html", "text/html"),
    (".htm", "text/html"),
    (".xml", "text/xml"),
    (".css", "text/css"),
    (".svg", "image/svg+xml"),
    (".py", "text/x-python"),
    (".js", "text/javascript"),
    (".ts", "text/typescript"),
    (".sh", "text/x-shellscript"),
    (".yaml", "text/yaml"),
    (".yml", "text/yaml"),
    (".toml", "text/toml"),
    (".sql", "text/x-sql"),
];

/// The extension as Node's `path.extname` gives it: from the last dot, dot included; `""` when
/// there is none or the name only starts with a dot (`.bashrc`).
pub fn extension(name: &str) -> &str {
    match name.rfind('.') {
        Some(0) | None => "",
        Some(i) => &name[i..],
    }
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Binary by extension alone.
pub fn binary_extension(path: &Path) -> bool {
    let ext = extension(&file_name(path)).to_ascii_lowercase();
    BINARY_EXTENSIONS.contains(&ext.as_str())
}

/// Binary by content: a NUL byte, or bytes that are not UTF-8. A multi-byte character cut off
/// at the end of `bytes` (a sniffed prefix) still counts as text.
pub fn binary_content(bytes: &[u8]) -> bool {
    if bytes.contains(&0) {
        return true;
    }
    match std::str::from_utf8(bytes) {
        Ok(_) => false,
        Err(e) => e.error_len().is_some(),
    }
}

/// The editor's language for a file, from its extension (or its name: `Dockerfile`, `Makefile`).
pub fn language(path: &Path) -> Option<&'static str> {
    let name = file_name(path).to_ascii_lowercase();
    match name.as_str() {
        "dockerfile" => return Some("dockerfile"),
        "makefile" => return Some("makefile"),
        _ => {}
    }
    let ext = extension(&name).trim_start_matches('.');
    LANGUAGES
        .iter()
        .find(|(e, _)| *e == ext)
        .map(|(_, lang)| *lang)
}

/// The MIME type for a file, from its extension, where one is known.
pub fn mime_type(path: &Path) -> Option<&'static str> {
    let ext = extension(&file_name(path)).to_ascii_lowercase();
    MIME_TYPES.iter().find(|(e, _)| *e == ext).map(|(_, m)| *m)
}

/// Whether a text file is shown as markdown.
pub fn is_markdown(path: &Path) -> bool {
    matches!(
        extension(&file_name(path)).to_ascii_lowercase().as_str(),
        ".md" | ".markdown"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extensions_are_taken_like_node_does() {
        assert_eq!(extension("a.tar.gz"), ".gz");
        assert_eq!(extension(".bashrc"), "");
        assert_eq!(extension("Makefile"), "");
    }

    #[test]
    fn utf8_text_is_text_and_nul_or_broken_utf8_is_binary() {
        assert!(!binary_content("héllo wörld ✓".as_bytes()));
        assert!(!binary_content(&"✓".as_bytes()[..2]), "cut at the end");
        assert!(binary_content(b"ab\0cd"));
        assert!(binary_content(&[0xff, 0xfe, b'a', b'b']));
    }

    #[test]
    fn languages_come_from_the_extension_or_a_known_name() {
        assert_eq!(language(Path::new("src/app.TS")), Some("typescript"));
        assert_eq!(language(Path::new("Dockerfile")), Some("dockerfile"));
        assert_eq!(language(Path::new("notes.txt")), None);
        assert_eq!(mime_type(Path::new("a.md")), Some("text/markdown"));
        assert!(binary_extension(Path::new("x.PNG")));
    }
}
