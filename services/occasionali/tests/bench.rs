//! The built binary as an operator runs it (issue 11): `occasionali bench` against an
//! `occasionali dev` of its own, two processes over loopback, and a bad `--mix` refused before
//! anything is called.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use occasionali_runtime::context::Context;
use occasionali_runtime::env;
use tonic::transport::Channel;

const BIN: &str = env!("CARGO_BIN_EXE_occasionali");

/// `occasionali dev` in its own process and data directory; killed and removed on drop.
struct Dev {
    child: Child,
    dir: PathBuf,
    gateway: String,
}

impl Drop for Dev {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Dev {
    async fn start() -> Dev {
        let dir = std::env::temp_dir().join(format!(
            "occasionali-bench-{}-{}",
            std::process::id(),
            free_port()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let gateway = format!("127.0.0.1:{}", free_port());
        let mut cmd = Command::new(BIN);
        cmd.arg("dev")
            .env(env::DATA_DIR, &dir)
            .env(env::GATEWAY_LISTEN, &gateway)
            .env(env::NOTIFICHE_WEB_LISTEN, format!("127.0.0.1:{}", free_port()))
            .env(env::LOG, "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.join("dev.log")).unwrap());
        for ctx in Context::ALL {
            cmd.env(
                env::per_context(ctx.name(), "LISTEN"),
                format!("127.0.0.1:{}", free_port()),
            );
        }
        let dev = Dev {
            child: cmd.spawn().unwrap(),
            dir,
            gateway,
        };
        dev.wait_serving().await;
        dev
    }

    async fn wait_serving(&self) {
        use tonic_health::pb::health_check_response::ServingStatus;
        use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};
        let started = Instant::now();
        loop {
            if let Ok(c) = Channel::from_shared(format!("http://{}", self.gateway))
                .unwrap()
                .connect()
                .await
            {
                let r = HealthClient::new(c).check(HealthCheckRequest::default()).await;
                if matches!(r, Ok(r) if r.get_ref().status == ServingStatus::Serving as i32) {
                    return;
                }
            }
            assert!(
                started.elapsed() < Duration::from_secs(90),
                "occasionali dev not SERVING: {}",
                std::fs::read_to_string(self.dir.join("dev.log")).unwrap_or_default()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

#[test]
fn bench_refuses_a_bad_mix_before_calling_anything() {
    // Port 9 (discard) is never a gateway: the refusal must come before any connection.
    let out = Command::new(BIN)
        .args([
            "bench",
            "--gateway",
            "127.0.0.1:9",
            "--mix",
            "insert=60,registry=10",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("unknown operation \"registry\": the mix takes insert, check, headroom, soggetto, lao"),
        "{err}"
    );
    assert!(out.stdout.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bench_drives_a_dev_cluster_and_prints_its_table() {
    let dev = Dev::start().await;
    let run = |json: bool| {
        let mut cmd = tokio::process::Command::new(BIN);
        cmd.arg("--data-dir").arg(&dev.dir).args([
            "bench",
            "--gateway",
            &dev.gateway,
            "--clients",
            "2",
            "--duration",
            "1s",
            "--warm-up",
            "0s",
            "--population",
            "1",
        ]);
        if json {
            cmd.arg("--json");
        }
        cmd.output()
    };
    let out = run(true).await.unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    let j: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(j["population"]["companies"], 1);
    assert_eq!(j["population"]["workers"], 250);
    let ops = j["steps"][0]["operations"].as_array().unwrap();
    let names: Vec<_> = ops.iter().map(|o| o["operation"].as_str().unwrap()).collect();
    assert_eq!(names, ["insert", "check", "headroom", "soggetto", "lao"]);
    for o in ops {
        assert!(o["calls"].as_u64().unwrap() > 0, "{o}");
        assert_eq!(o["not_ok"], serde_json::json!({}), "{o}\n{err}");
    }

    // Markdown by default; a second run (another run number, from the clock) meets none of the
    // first one's subjects.
    let out = run(false).await.unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("(0 identifiers skipped"), "{err}");
    let md = String::from_utf8(out.stdout).unwrap();
    assert!(
        md.contains("| clients | operation | calls | ok/s | not ok, by code | p50 ms | p95 ms | p99 ms |"),
        "{md}"
    );
    assert!(md.contains("| 2 | insert (InsertPrestazione) |"), "{md}");
    assert!(md.contains("| 2 | **all** |"), "{md}");
}
