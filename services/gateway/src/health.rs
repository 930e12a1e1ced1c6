//! The gateway's health is the aggregate of its backends': each routed service reports its
//! backend's status, and the overall service ("") is SERVING only when every backend is.

use std::collections::HashMap;
use std::time::Duration;

use occasionali_runtime::context::Context;
use occasionali_runtime::shutdown::Shutdown;
use tonic::transport::Channel;
use tonic_health::ServingStatus;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus as Wire;
use tonic_health::pb::health_client::HealthClient;
use tonic_health::server::HealthReporter;

pub async fn mark_all_unknown(reporter: &HealthReporter, services: &[String]) {
    for s in services {
        reporter
            .set_service_status(s.as_str(), ServingStatus::NotServing)
            .await;
    }
    reporter.set_service_status("", ServingStatus::NotServing).await;
}

async fn probe(channel: Channel) -> bool {
    let mut client = HealthClient::new(channel);
    let mut request = tonic::Request::new(HealthCheckRequest {
        service: String::new(),
    });
    request.set_timeout(Duration::from_secs(1));
    matches!(
        tokio::time::timeout(Duration::from_secs(2), client.check(request)).await,
        Ok(Ok(r)) if r.get_ref().status == Wire::Serving as i32
    )
}

pub async fn watch(
    reporter: HealthReporter,
    channels: HashMap<Context, Channel>,
    interval: Duration,
    shutdown: Shutdown,
) {
    loop {
        let checks = Context::ALL.iter().map(|ctx| {
            let channel = channels.get(ctx).cloned();
            async move {
                let up = match channel {
                    Some(c) => probe(c).await,
                    None => false,
                };
                (*ctx, up)
            }
        });
        // Stop at once on shutdown: the server then owns the statuses (NOT_SERVING while
        // draining) and a late probe round must not set them back.
        let results = tokio::select! {
            r = futures::future::join_all(checks) => r,
            _ = shutdown.clone().wait() => return,
        };
        if shutdown.is_triggered() {
            return;
        }
        let mut all = true;
        for (ctx, up) in results {
            all &= up;
            let status = if up {
                ServingStatus::Serving
            } else {
                ServingStatus::NotServing
            };
            reporter.set_service_status(ctx.service_name(), status).await;
        }
        if shutdown.is_triggered() {
            return;
        }
        let overall = if all {
            ServingStatus::Serving
        } else {
            ServingStatus::NotServing
        };
        reporter.set_service_status("", overall).await;
        let sleep = if all {
            interval
        } else {
            interval.min(Duration::from_millis(200))
        };
        tokio::select! {
            _ = tokio::time::sleep(sleep) => {}
            _ = shutdown.clone().wait() => return,
        }
    }
}
