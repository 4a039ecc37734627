//! The routes are declared for the outside world in two files besides the code: the local
//! router of `cargo lambda watch` (Cargo.toml) and API Gateway's events (template.yaml). Both
//! must say exactly what `routes::ROUTES` says.

use std::{collections::BTreeSet, path::PathBuf};

use twinshare_lambda::routes::{FALLBACK_FUNCTION, ROUTES};

type Routes = BTreeSet<(String, String, String)>; // (method, path, function)

fn repo_file(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..").join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn table() -> Routes {
    ROUTES
        .iter()
        .map(|spec| {
            (
                spec.method.to_string(),
                spec.path.to_owned(),
                spec.function.name().to_owned(),
            )
        })
        .collect()
}

/// The local router: `"/path" = [{ method, function }, …]`, or `"/path" = "function"` for any method.
fn cargo_router() -> (Routes, Vec<(String, String)>) {
    let manifest: toml::Value = toml::from_str(&repo_file("Cargo.toml")).unwrap();
    let router = manifest["workspace"]["metadata"]["lambda"]["watch"]["router"]
        .as_table()
        .expect("Cargo.toml has [workspace.metadata.lambda.watch.router]");
    let (mut routes, mut catch_all) = (Routes::new(), Vec::new());
    for (path, target) in router {
        match target {
            toml::Value::String(function) => catch_all.push((path.clone(), function.clone())),
            toml::Value::Array(entries) => {
                for entry in entries {
                    routes.insert((
                        entry["method"].as_str().unwrap().to_owned(),
                        path.clone(),
                        entry["function"].as_str().unwrap().to_owned(),
                    ));
                }
            }
            other => panic!("{path}: unexpected router entry {other:?}"),
        }
    }
    (routes, catch_all)
}

/// API Gateway's routes: each function's `HttpApi` events, by the function's binary name.
fn template_routes() -> (Routes, Vec<(String, String)>) {
    let template: serde_yaml::Value = serde_yaml::from_str(&repo_file("template.yaml")).unwrap();
    let (mut routes, mut fallback) = (Routes::new(), Vec::new());
    for (_, resource) in template["Resources"].as_mapping().unwrap() {
        if resource["Type"].as_str() != Some("AWS::Serverless::Function") {
            continue;
        }
        let function = resource["Metadata"]["BuildProperties"]["Binary"]
            .as_str()
            .unwrap()
            .to_owned();
        let Some(events) = resource["Properties"]["Events"].as_mapping() else {
            continue;
        };
        for (_, event) in events {
            if event["Type"].as_str() != Some("HttpApi") {
                continue;
            }
            let path = event["Properties"]["Path"].as_str().unwrap().to_owned();
            let method = event["Properties"]["Method"].as_str().unwrap().to_owned();
            if path == "$default" {
                fallback.push((method, function.clone()));
            } else {
                routes.insert((method, path, function.clone()));
            }
        }
    }
    (routes, fallback)
}

#[test]
fn cargo_lambda_watch_routes_as_the_table_says() {
    let (routes, catch_all) = cargo_router();
    assert_eq!(routes, table(), "Cargo.toml's router differs from routes::ROUTES");
    assert_eq!(
        catch_all,
        vec![("/api/{*rest}".to_owned(), FALLBACK_FUNCTION.name().to_owned())],
        "unmatched API paths must reach the fallback function"
    );
}

#[test]
fn api_gateway_routes_as_the_table_says() {
    let (routes, fallback) = template_routes();
    assert_eq!(
        routes,
        table(),
        "template.yaml's HttpApi events differ from routes::ROUTES"
    );
    assert_eq!(fallback, vec![("ANY".to_owned(), FALLBACK_FUNCTION.name().to_owned())]);
}

/// The README's table of routes: rows like "| `GET /api/files/{id}` | files-api | … |".
fn readme_routes() -> Routes {
    repo_file("README.md")
        .lines()
        .filter_map(|line| {
            let mut cells = line.split('|').map(str::trim).skip(1);
            let route = cells.next()?.strip_prefix('`')?.strip_suffix('`')?;
            let (method, path) = route.split_once(' ')?;
            let function = cells.next()?;
            path.starts_with("/api/").then(|| {
                let path = path.split('?').next().unwrap_or(path);
                (method.to_owned(), path.to_owned(), function.to_owned())
            })
        })
        .collect()
}

#[test]
fn the_readme_documents_the_table() {
    assert_eq!(
        readme_routes(),
        table(),
        "README.md's routes differ from routes::ROUTES"
    );
}
