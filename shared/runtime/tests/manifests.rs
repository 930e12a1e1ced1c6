//! The deployment and its docs name only environment variables the platform reads (issue 14:
//! README, runbook and manifests agree). Every `OCCASIONALI_*` name in the Kubernetes manifests,
//! the Compose file and the operators' docs must be one `Config::apply_env` asks for (or
//! `Config::load`, or one of the few listed below with the reason it is not configuration): a
//! misspelt or retired name in a manifest is otherwise silently ignored.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use occasionali_runtime::config::Config;
use occasionali_runtime::env;

/// Not configuration of a process, each with where it is read.
const NOT_CONFIG: &[(&str, &str)] = &[
    (env::TEST_PG, "tests: storage suites also on PostgreSQL"),
    ("OCCASIONALI_SKIP_BROWSER", "tests/run: skip the browser test"),
    (
        "OCCASIONALI_IMAGE",
        "deploy/compose.yaml: the image, a Compose variable",
    ),
    (
        "OCCASIONALI_BIN",
        "k8s/restore/restore-check.sh: the binary it runs",
    ),
];

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let p = entry.path();
        if p.is_dir() {
            files(&p, out);
        } else if p
            .extension()
            .is_some_and(|e| e == "yaml" || e == "yml" || e == "md" || e == "sh")
        {
            out.push(p);
        }
    }
}

/// Every `OCCASIONALI_[A-Z0-9_]+` in `text` (a placeholder such as `OCCASIONALI_<C>_...` is not
/// a name).
fn names(text: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let mut rest = text;
    while let Some(i) = rest.find("OCCASIONALI_") {
        let tail = &rest[i..];
        let end = tail
            .find(|c: char| !(c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_'))
            .unwrap_or(tail.len());
        let name = tail[..end].trim_end_matches('_');
        if name.len() > "OCCASIONALI_".len() {
            found.insert(name.to_string());
        }
        rest = &tail[end.max(1)..];
    }
    found
}

#[test]
fn every_variable_the_deployment_sets_is_read() {
    let asked = RefCell::new(BTreeSet::new());
    Config::default()
        .apply_env(|k| {
            asked.borrow_mut().insert(k.to_string());
            None
        })
        .unwrap();
    let mut known = asked.into_inner();
    known.insert(env::CONFIG.to_string());
    known.extend(NOT_CONFIG.iter().map(|(n, _)| n.to_string()));

    let root = workspace();
    let mut checked = Vec::new();
    files(&root.join("k8s"), &mut checked);
    for f in [
        "deploy/compose.yaml",
        "deploy/README.md",
        "README.md",
        "docs/runbook.md",
    ] {
        checked.push(root.join(f));
    }
    let mut unknown = Vec::new();
    let mut seen = 0;
    for path in &checked {
        let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        for name in names(&text) {
            seen += 1;
            if !known.contains(&name) {
                unknown.push(format!(
                    "{}: {name}",
                    path.strip_prefix(&root).unwrap_or(path).display()
                ));
            }
        }
    }
    assert!(
        seen > 20,
        "the manifests name the configuration ({seen} names found)"
    );
    assert!(
        unknown.is_empty(),
        "names the platform never reads:\n{}",
        unknown.join("\n")
    );
}

#[test]
fn the_scan_finds_names_and_skips_placeholders() {
    let found = names(
        "a OCCASIONALI_LOG=info ${OCCASIONALI_IMAGE:-x} OCCASIONALI_<C>_POOL_SIZE OCCASIONALI_PORTAFOGLIO_POOL_SIZE",
    );
    assert_eq!(
        found.into_iter().collect::<Vec<_>>(),
        [
            "OCCASIONALI_IMAGE",
            "OCCASIONALI_LOG",
            "OCCASIONALI_PORTAFOGLIO_POOL_SIZE"
        ]
    );
}

/// The gateway's readiness probe as the manifest has it is what the docs describe.
#[test]
fn the_docs_describe_the_gateways_readiness_as_deployed() {
    let root = workspace();
    let gateway = std::fs::read_to_string(root.join("k8s/base/gateway.yaml")).unwrap();
    let probe = gateway
        .split("readinessProbe:")
        .nth(1)
        .and_then(|rest| rest.split("grpc:").nth(1))
        .and_then(|rest| rest.split("service:").nth(1))
        .and_then(|rest| rest.split('"').nth(1))
        .expect("a gRPC readiness probe with a service in k8s/base/gateway.yaml");
    assert!(!probe.is_empty(), "the gateway's own service, not the aggregate");
    for doc in ["k8s/README.md", "docs/runbook.md"] {
        let text = std::fs::read_to_string(root.join(doc)).unwrap();
        assert!(
            text.contains(probe),
            "{doc} does not name the gateway's readiness service {probe}"
        );
        assert!(
            !text.contains("grpc: {port: 50051, service: \"\"}"),
            "{doc} describes the gateway's readiness as the aggregate"
        );
    }
}
