//! Unit tests of the matching passes: exact, line endings, trailing blanks, indentation, anchors.

use super::*;

fn one(content: &str, needle: &str) -> Found {
    let search = find(content, needle, None);
    assert_eq!(
        search.found.len(),
        1,
        "{needle:?} in {content:?}: {}",
        search.summary()
    );
    search.found[0]
}

#[test]
fn exact_text_is_found_first() {
    let f = one("a\nfn x() {}\nb\n", "fn x() {}");
    assert_eq!((f.start, f.end, f.line, f.mode), (2, 11, 2, Mode::Exact));
}

#[test]
fn two_exact_candidates_are_ambiguous_and_stop_the_search() {
    let search = find("x = 1;\nx = 1;\n", "x = 1;", None);
    assert_eq!(search.found.len(), 2);
    assert_eq!(search.summary(), "exact=2");
}

#[test]
fn nothing_found_lists_every_pass() {
    let search = find("abc", "xyz", None);
    assert!(search.found.is_empty());
    assert_eq!(
        search.summary(),
        "exact=0, line-ending=0, trailing-whitespace=0, indentation=0"
    );
}

#[test]
fn crlf_in_the_file_matches_lf_in_the_needle() {
    let content = "one\r\ntwo\r\nthree\r\n";
    let f = one(content, "one\ntwo\n");
    assert_eq!(
        (f.mode, &content[f.start..f.end]),
        (Mode::LineEndings, "one\r\ntwo\r\n")
    );
}

#[test]
fn trailing_spaces_are_ignored_by_the_third_pass() {
    let content = "let a = 1;   \nlet b = 2;\n";
    let f = one(content, "let a = 1;\nlet b = 2;");
    assert_eq!(f.mode, Mode::TrailingWhitespace);
    assert_eq!(&content[f.start..f.end], "let a = 1;   \nlet b = 2;");
}

#[test]
fn one_uniform_indentation_shift_is_found_by_the_last_pass() {
    let content = "fn a() {\n        if x {\n            y();\n        }\n}\n";
    let f = one(content, "if x {\n    y();\n}");
    assert_eq!(f.mode, Mode::Indentation);
    assert_eq!(
        &content[f.start..f.end],
        "        if x {\n            y();\n        }"
    );
    assert_eq!(f.line, 2);
}

#[test]
fn an_indented_block_only_matches_at_a_line_start() {
    let search = find("x    a\n    b\n", "    a\n    b", None);
    assert!(search.found.is_empty(), "{:?}", search.found);
}

#[test]
fn the_exact_strategy_tries_only_the_exact_pass() {
    let search = find("one\r\ntwo", "one\ntwo", Some(Strategy::Exact));
    assert_eq!(search.summary(), "exact=0");
}

#[test]
fn line_start_and_line_end_anchor_single_lines() {
    let content = "alpha beta\ngamma alpha\n";
    let start = find(content, "alpha", Some(Strategy::LineStart));
    assert_eq!((start.found.len(), start.found[0].line), (1, 1));
    let end = find(content, "alpha", Some(Strategy::LineEnd));
    assert_eq!(
        (end.found[0].start, end.found[0].line, end.found[0].mode),
        (17, 2, Mode::LineEnd)
    );
    assert!(
        find(content, "a\nb", Some(Strategy::LineStart))
            .found
            .is_empty()
    );
}

#[test]
fn multibyte_text_maps_back_to_the_original_bytes() {
    let content = "é = 1;  \r\nü = 2;\r\n";
    let f = one(content, "é = 1;\nü = 2;");
    assert_eq!(&content[f.start..f.end], "é = 1;  \r\nü = 2;");
}

#[test]
fn a_replacement_takes_the_files_line_breaks_when_they_were_ignored() {
    let crlf = "a\r\nb\r\n";
    assert_eq!(adapt_replacement("x\ny", Mode::LineEndings, crlf), "x\r\ny");
    assert_eq!(adapt_replacement("x\ny", Mode::Exact, crlf), "x\ny");
    assert_eq!(
        adapt_replacement("x\ny", Mode::LineEndings, "a\nb\n"),
        "x\ny"
    );
}

#[test]
fn strategies_parse_by_their_wire_names() {
    assert_eq!(Strategy::parse("multi_line"), Some(Strategy::MultiLine));
    assert_eq!(Strategy::parse("fuzzy"), None);
}
