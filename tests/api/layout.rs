//! One source of truth: the route table in `shared/src/routes.rs`. This checks that the
//! function crates, their `main.rs`, the SAM template and `events/` agree with it.

use std::collections::BTreeSet;
use std::path::Path;

use stepauth::routes::{EVENT_FUNCTIONS, ROUTES};

fn root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

/// `(binary, method, path)` of every function in the SAM template.
fn template_functions() -> BTreeSet<(String, String, String)> {
    let template = std::fs::read_to_string(root().join("infra/template.yaml")).expect("infra/template.yaml");
    // A resource starts at a line indented by exactly two spaces.
    let mut blocks: Vec<String> = Vec::new();
    for line in template.lines() {
        if line.starts_with("  ") && !line.starts_with("   ") {
            blocks.push(String::new());
        }
        if let Some(block) = blocks.last_mut() {
            block.push_str(line);
            block.push('\n');
        }
    }
    let mut found = BTreeSet::new();
    // The example downstream function (inline code, not a stepauth step) is not one of them.
    let steps = blocks.iter().filter(|b| b.contains("Type: AWS::Serverless::Function") && !b.contains("InlineCode:"));
    for block in steps {
        let values = |key: &str| -> Vec<String> {
            block.lines().filter_map(|line| line.trim().strip_prefix(key)).map(|v| v.trim().to_owned()).collect()
        };
        let binary = values("Binary:").pop().expect("every function names its binary");
        let (methods, paths) = (values("Method:"), values("Path:"));
        assert_eq!(methods.len(), paths.len(), "{binary}: every route has a method and a path");
        if EVENT_FUNCTIONS.iter().any(|f| f.function == binary) {
            assert!(
                methods.is_empty() && block.contains("Type: EventBridgeRule"),
                "{binary}: an event source, no route"
            );
            continue;
        }
        assert!(!methods.is_empty(), "{binary} has a route");
        found.extend(methods.into_iter().zip(paths).map(|(method, path)| (binary.clone(), method, path)));
    }
    found
}

/// `(function, method, path)` of every route in the `cargo lambda watch` router table in the
/// workspace's Cargo.toml. A path mapped to one function (no methods) takes every method.
fn watch_router() -> BTreeSet<(String, String, String)> {
    let manifest = std::fs::read_to_string(root().join("Cargo.toml")).expect("Cargo.toml");
    let manifest: toml::Table = toml::from_str(&manifest).expect("Cargo.toml is TOML");
    let router = &manifest["workspace"]["metadata"]["lambda"]["watch"]["router"];
    let mut found = BTreeSet::new();
    for (path, target) in router.as_table().expect("the router is a table") {
        match target {
            toml::Value::String(function) => {
                found.extend(ROUTES.iter().filter(|r| r.path == path).map(|r| {
                    assert_eq!(r.function, function, "{path} goes to one function");
                    (function.clone(), r.method.to_string(), path.clone())
                }));
                assert!(ROUTES.iter().any(|r| r.path == path), "{path} is not in the route table");
            }
            toml::Value::Array(routes) => found.extend(routes.iter().map(|route| {
                let field = |name: &str| route[name].as_str().expect("method and function").to_owned();
                (field("function"), field("method"), path.clone())
            })),
            other => panic!("{path}: {other:?} is not a function or a list of routes"),
        }
    }
    found
}

#[test]
fn functions_template_and_routes_agree() {
    let routes: BTreeSet<_> =
        ROUTES.iter().map(|r| (r.function.to_owned(), r.method.to_string(), r.path.to_owned())).collect();
    assert_eq!(template_functions(), routes, "infra/template.yaml and the route table");
    assert_eq!(watch_router(), routes, "the cargo lambda watch router in Cargo.toml and the route table");

    let crates: BTreeSet<String> = std::fs::read_dir(root().join("functions"))
        .expect("functions/")
        .map(|entry| entry.expect("an entry").file_name().to_string_lossy().into_owned())
        .collect();
    let names: BTreeSet<String> = ROUTES
        .iter()
        .map(|r| r.function)
        .chain(EVENT_FUNCTIONS.iter().map(|f| f.function))
        .map(str::to_owned)
        .collect();
    assert_eq!(crates, names, "functions/ and the route table (with the functions an event starts)");
    for function in EVENT_FUNCTIONS {
        let main = std::fs::read_to_string(root().join("functions").join(function.function).join("src/main.rs"))
            .expect("main.rs");
        let wiring = format!("lambda::start_events(\"{}\", stepauth::{})", function.function, function.handler_path);
        assert!(main.contains(&wiring), "functions/{}/src/main.rs names its handler: {wiring}", function.function);
    }

    for route in ROUTES {
        let main = std::fs::read_to_string(root().join("functions").join(route.function).join("src/main.rs"))
            .expect("main.rs");
        let handler = route.handler_path.replace(' ', "");
        let wiring = format!("lambda::start(\"{}\", stepauth::{handler})", route.function);
        // A function that needs no App (no AWS client, no secret) starts with start_static
        // and still names its handler's module.
        let module = handler.rsplit_once("::").map_or(handler.as_str(), |(module, _)| module);
        let without_app = format!("lambda::start_static(\"{}\",", route.function);
        assert!(
            main.contains(&wiring) || (main.contains(&without_app) && main.contains(&format!("stepauth::{module}::"))),
            "functions/{}/src/main.rs names its handler: {wiring}",
            route.function
        );
    }
}

/// The deploy workflow passes every template parameter that has no default, and no other.
#[test]
fn the_deploy_workflow_passes_the_template_parameters() {
    let template = std::fs::read_to_string(root().join("infra/template.yaml")).expect("infra/template.yaml");
    let section = template.split("\nParameters:\n").nth(1).expect("a Parameters section");
    let section = section.split("\n\n").next().expect("the section");
    let mut parameters: Vec<(String, String)> = Vec::new();
    for line in section.lines() {
        match line.strip_prefix("  ") {
            Some(name) if !name.starts_with(' ') => {
                parameters.push((name.trim_end_matches(':').to_owned(), String::new()))
            }
            _ => parameters.last_mut().expect("a parameter").1.push_str(line),
        }
    }
    let all: BTreeSet<String> = parameters.iter().map(|(name, _)| name.clone()).collect();
    let required: BTreeSet<String> =
        parameters.iter().filter(|(_, body)| !body.contains("Default:")).map(|(name, _)| name.clone()).collect();
    let workflow = std::fs::read_to_string(root().join(".github/workflows/sam-deploy.yml")).expect("sam-deploy.yml");
    let passed: BTreeSet<String> = workflow
        .lines()
        .map(str::trim)
        .filter_map(|line| line.strip_prefix('"')?.split_once('=').map(|(name, _)| name.to_owned()))
        .collect();
    assert!(required.is_subset(&passed), "the workflow passes {passed:?}; the template requires {required:?}");
    assert!(passed.is_subset(&all), "the workflow passes {passed:?}; the template has {all:?}");
    assert!(
        std::fs::read_to_string(root().join(".github/workflows/test.yml")).expect("test.yml").contains("bash .ci/run"),
        "pull requests run CI as it runs here"
    );
}

/// The README's layout table names every script (scripts/ and scripts/bench/), so that a
/// newcomer finds each one from there.
#[test]
fn the_readme_names_every_script() {
    let readme = std::fs::read_to_string(root().join("README.md")).expect("README.md");
    let row = readme.lines().find(|line| line.starts_with("| `scripts/` |")).expect("the README's scripts row");
    for folder in ["scripts", "scripts/bench"] {
        for entry in std::fs::read_dir(root().join(folder)).expect("the folder") {
            let entry = entry.expect("an entry");
            if entry.file_type().expect("a type").is_dir() {
                continue;
            }
            let name = entry.file_name().to_string_lossy().into_owned();
            assert!(row.contains(&format!("`{name}`")), "README.md's scripts row does not name {folder}/{name}");
        }
    }
}

/// The layers of `shared/src`, lowest first (docs/DESIGN.md, "Modules"). A module imports
/// from its own layer or below, never above, and the imports have no circle: HTTP sits above
/// the domain, and only the top knows about routes and the Lambda runtime.
const LAYERS: &[&[&str]] = &[
    &["clock", "random", "invalid", "tokens", "config", "aws", "telemetry"],
    &["model"],
    &["password", "totp", "store", "mail", "oidc", "objects"],
    &["error", "app"],
    &[
        "activity",
        "lockout",
        "codes",
        "grants",
        "session",
        "devices",
        "reauth",
        "email_change",
        "deletion",
        "google",
        "migration",
        "profile",
        "mailing",
        "pictures",
    ],
    &["http"],
    &["handlers"],
    &["routes", "lambda", "openapi"],
];

/// Every `.rs` file under `dir`, with its path relative to `shared/src`.
fn sources(dir: &Path, relative: &str, found: &mut Vec<(String, String)>) {
    for entry in std::fs::read_dir(dir).expect("a source folder") {
        let path = entry.expect("an entry").path();
        let name = path.file_name().expect("a name").to_string_lossy().into_owned();
        let relative = if relative.is_empty() { name.clone() } else { format!("{relative}/{name}") };
        if path.is_dir() {
            sources(&path, &relative, found);
        } else if name.ends_with(".rs") {
            found.push((relative, std::fs::read_to_string(&path).expect("readable")));
        }
    }
}

/// The code of a file without its comments (doc links may name any module).
fn code_of(text: &str) -> String {
    text.lines().filter(|line| !line.trim_start().starts_with("//")).collect::<Vec<_>>().join("\n")
}

/// The top-level modules of `shared/src` a file's code names as `crate::<module>`.
fn imports(code: &str) -> BTreeSet<String> {
    code.match_indices("crate::")
        .map(|(at, _)| code[at + 7..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect())
        .filter(|module: &String| !module.is_empty() && module.chars().next().is_some_and(|c| c.is_ascii_lowercase()))
        .collect()
}

#[test]
fn the_modules_import_downward_only_and_without_a_circle() {
    let mut files = Vec::new();
    sources(&root().join("shared/src"), "", &mut files);
    let layer = |module: &str| LAYERS.iter().position(|layer| layer.contains(&module));
    let mut edges: BTreeSet<(String, String)> = BTreeSet::new();
    for (path, text) in &files {
        if path == "lib.rs" {
            continue;
        }
        let module = path.split('/').next().expect("a path").trim_end_matches(".rs");
        let own = layer(module).unwrap_or_else(|| panic!("{module} (shared/src/{path}) is in no layer of LAYERS"));
        let code = code_of(text);
        for import in imports(&code).into_iter().filter(|import| import != module) {
            let theirs = layer(&import).unwrap_or_else(|| panic!("shared/src/{path}: crate::{import} is in no layer"));
            assert!(theirs <= own, "shared/src/{path} ({module}) imports crate::{import}, a layer above it");
            edges.insert((module.to_owned(), import));
        }
        if own < layer("http").expect("http's layer") {
            assert!(!code.contains("lambda_http"), "shared/src/{path} is below HTTP but uses lambda_http");
        }
    }
    // No circle: repeatedly remove modules that import nothing left.
    let mut left: BTreeSet<String> = edges.iter().flat_map(|(a, b)| [a.clone(), b.clone()]).collect();
    while let Some(leaf) =
        left.iter().find(|m| !edges.iter().any(|(from, to)| from == *m && left.contains(to))).cloned()
    {
        left.remove(&leaf);
    }
    assert!(left.is_empty(), "these modules import each other in a circle: {left:?}");
}

#[test]
fn no_handler_imports_another() {
    let mut files = Vec::new();
    sources(&root().join("shared/src/handlers"), "", &mut files);
    let handlers: Vec<String> =
        files.iter().map(|(name, _)| name.trim_end_matches(".rs").to_owned()).filter(|n| n != "mod").collect();
    for (name, text) in &files {
        let this = name.trim_end_matches(".rs");
        let code = code_of(text);
        for other in handlers.iter().filter(|other| other.as_str() != this) {
            for path in [format!("super::{other}::"), format!("handlers::{other}::"), format!("super::{other}}}")] {
                assert!(!code.contains(&path), "handlers/{name} imports handlers/{other}.rs ({path})");
            }
        }
    }
}
