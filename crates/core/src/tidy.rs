//! Tidy tests, in the style of rust-analyzer's `tidy.rs`: rules of the workspace that can be
//! checked mechanically, checked over its sources (read from disk, so they need no build of
//! the other crates). A unit-test module of core rather than a test binary of its own: each
//! test binary is a slow link on 2 cores.

use std::path::{Path, PathBuf};

/// Files this long are split along their seams, or say in their first five lines why not.
const MAX_LINES: usize = 800;

/// The marker a long file carries in its first five lines, followed by the reason.
const KEPT_WHOLE: &str = "//! Kept whole because";

/// Paths the length rule skips: none any more (issue 15 split the store, its conformance
/// tests, the CLI's grammar and the routes). Kept so a split in progress can be named here.
const BEING_SPLIT: &[&str] = &[];

/// The one function that escapes markup.
const ESCAPING_FUNCTION: &str = "crates/core/src/encode.rs";

/// This file, which names the patterns it looks for.
const THIS_FILE: &str = "crates/core/src/tidy.rs";

/// Every Rust source of the workspace as (path relative to the workspace root, text),
/// sorted by path. Build output and hidden folders are not sources.
fn sources() -> Vec<(String, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut files = Vec::new();
    collect(&root, &mut files);
    let mut out: Vec<(String, String)> = files
        .into_iter()
        .map(|path| {
            let relative = path.strip_prefix(&root).unwrap().to_string_lossy().replace('\\', "/");
            let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{relative}: {e}"));
            (relative, text)
        })
        .collect();
    out.sort();
    assert!(out.iter().any(|(p, _)| p == THIS_FILE), "the workspace root was not found from {}", root.display());
    out
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if path.is_dir() {
            if !name.starts_with('.') && name != "target" {
                collect(&path, out);
            }
        } else if name.ends_with(".rs") {
            out.push(path);
        }
    }
}

/// The code of a line: without a `//` comment (a crude cut, good enough for these rules:
/// a `//` inside a string only hides the rest of that line).
fn code(line: &str) -> &str {
    line.find("//").map_or(line, |at| &line[..at])
}

/// Lines (1-based) of `text` that call `.store()`: the store is reached through
/// `Riskops`'s services only, so every rule about it is decided once, in core.
fn store_calls(text: &str) -> Vec<usize> {
    text.lines().enumerate().filter(|(_, l)| code(l).contains(".store()")).map(|(i, _)| i + 1).collect()
}

/// Lines (1-based) of `text` that turn `<` into `&lt;` (a `'<'` or `"<"` literal before a
/// `"&lt;"` one, as in `.replace('<', "&lt;")` or `'<' => out.push_str("&lt;")`): markup
/// escaping written again. Unescaping (`"&lt;"` first) is not escaping.
fn markup_escapes(text: &str) -> Vec<usize> {
    let escapes = |line: &str| {
        let Some(entity) = line.find("\"&lt;\"") else { return false };
        ["'<'", "\"<\""].iter().any(|lt| line.find(lt).is_some_and(|at| at < entity))
    };
    text.lines().enumerate().filter(|(_, l)| escapes(code(l))).map(|(i, _)| i + 1).collect()
}

/// Whether a file is too long: over [`MAX_LINES`] without [`KEPT_WHOLE`] in its first five
/// lines.
fn too_long(text: &str) -> bool {
    text.lines().count() > MAX_LINES && !text.lines().take(5).any(|l| l.trim_start().starts_with(KEPT_WHOLE))
}

fn report(rule: &str, offenders: &[String]) {
    assert!(offenders.is_empty(), "{rule}:\n  {}", offenders.join("\n  "));
}

#[test]
fn no_store_calls_outside_core() {
    let offenders: Vec<String> = sources()
        .iter()
        .filter(|(path, _)| !path.starts_with("crates/core/"))
        .flat_map(|(path, text)| store_calls(text).into_iter().map(move |line| format!("{path}:{line}")))
        .collect();
    report("`.store()` is called outside crates/core (call a Riskops service instead)", &offenders);
}

/// Lines (1-based) of `text` that answer or take untyped JSON (`Json<Value>`): every answer
/// of the API is a type of riskops-api, so `openapi.json` says what is sent.
fn untyped_json(text: &str) -> Vec<usize> {
    let untyped = |l: &str| {
        let compact: String = code(l).chars().filter(|c| !c.is_whitespace()).collect();
        compact.contains("Json<Value>") || compact.contains("Json<serde_json::Value>")
    };
    text.lines().enumerate().filter(|(_, l)| untyped(l)).map(|(i, _)| i + 1).collect()
}

#[test]
fn routes_answer_and_take_typed_json() {
    let sources = sources();
    let routes = sources.iter().filter(|(path, _)| path.starts_with("crates/server/src/routes/")).count();
    assert!(routes > 10, "found only {routes} route files: the rule would pass by reading nothing");
    let offenders: Vec<String> = sources
        .iter()
        .filter(|(path, _)| path.starts_with("crates/server/src/routes/"))
        .flat_map(|(path, text)| untyped_json(text).into_iter().map(move |line| format!("{path}:{line}")))
        .collect();
    report("a route answers or takes Json<Value> (use a riskops-api type, or riskops_api::Document)", &offenders);
}

#[test]
fn markup_is_escaped_by_one_function() {
    let offenders: Vec<String> = sources()
        .iter()
        .filter(|(path, _)| path != ESCAPING_FUNCTION && path != THIS_FILE)
        .flat_map(|(path, text)| markup_escapes(text).into_iter().map(move |line| format!("{path}:{line}")))
        .collect();
    report("markup escaped by hand (use riskops_core::encode::escape_html)", &offenders);
    let (_, one) = sources().into_iter().find(|(path, _)| path == ESCAPING_FUNCTION).unwrap();
    assert_eq!(markup_escapes(&one).len(), 1, "{ESCAPING_FUNCTION} escapes `<` in one place");
}

#[test]
fn long_files_are_split_or_say_why_they_are_kept_whole() {
    let offenders: Vec<String> = sources()
        .iter()
        .filter(|(path, _)| !BEING_SPLIT.iter().any(|skip| path.starts_with(skip)))
        .filter(|(_, text)| too_long(text))
        .map(|(path, text)| format!("{path}: {} lines", text.lines().count()))
        .collect();
    report(&format!("over {MAX_LINES} lines without `{KEPT_WHOLE} …` in the first five lines"), &offenders);
}

/// The rules' detectors on small samples, so a rule that finds nothing is known to look.
#[test]
fn the_detectors_find_what_they_look_for() {
    assert_eq!(store_calls("let a = 1;\nstate.riskops.store().project(p)\n// riskops.store() here\n"), [2]);
    assert!(store_calls("self.artifact_store().put(x)").is_empty());

    let by_hand = "fn esc(s: &str) -> String {\n    s.replace('&', \"&amp;\").replace('<', \"&lt;\")\n}\n\
                   match c {\n    '<' => out.push_str(\"&lt;\"),\n}\ns.replace(\"<\", \"&lt;\")\n";
    assert_eq!(markup_escapes(by_hand), [2, 5, 7]);
    assert!(markup_escapes("text.replace(\"&lt;\", \"<\")").is_empty(), "unescaping is not escaping");

    assert_eq!(untyped_json("fn f() -> Json<Value> {}\nfn g() -> Json<Typed> {}\n// Json<Value>\n"), [1]);
    assert_eq!(untyped_json("let x: Json< serde_json::Value >;\n"), [1]);
    let long = "fn f() {}\n".repeat(MAX_LINES + 1);
    assert!(too_long(&long));
    assert!(!too_long(&"fn f() {}\n".repeat(MAX_LINES)));
    assert!(!too_long(&format!("//! A table.\n//!\n{KEPT_WHOLE} it is one reference table.\n{long}")));
    assert!(too_long(&format!("{}{KEPT_WHOLE} too late.\n{long}", "//!\n".repeat(5))));
}
