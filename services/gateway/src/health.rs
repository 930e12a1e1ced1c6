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

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use occasionali_runtime::shutdown;
    use tokio_stream::wrappers::TcpListenerStream;
    use tonic_health::pb::health_client::HealthClient;

    use super::*;

    /// A health endpoint on a free loopback port: its reporter, URL, and what stops it.
    async fn health_server() -> anyhow::Result<(HealthReporter, String, shutdown::ShutdownTrigger)> {
        let (reporter, service) = tonic_health::server::health_reporter();
        reporter.set_service_status("", ServingStatus::Serving).await;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}", listener.local_addr()?);
        let (trigger, stop) = shutdown::channel();
        tokio::spawn(async move {
            let _ = tonic::transport::Server::builder()
                .add_service(service)
                .serve_with_incoming_shutdown(TcpListenerStream::new(listener), stop.wait())
                .await;
        });
        Ok((reporter, url, trigger))
    }

    async fn status(client: &HealthClient<Channel>, service: &str) -> Option<i32> {
        let request = HealthCheckRequest {
            service: service.into(),
        };
        client
            .clone()
            .check(request)
            .await
            .ok()
            .map(|r| r.get_ref().status)
    }

    async fn wait_for(client: &HealthClient<Channel>, service: &str, want: Wire) -> Duration {
        let started = Instant::now();
        loop {
            if status(client, service).await == Some(want as i32) {
                return started.elapsed();
            }
            assert!(
                started.elapsed() < Duration::from_secs(3),
                "gateway health of {service:?} not {want:?}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The aggregate follows a backend going NOT_SERVING (its database gone) and back, and a
    /// backend that stops answering at all.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_aggregate_follows_a_backend_down_and_back() -> anyhow::Result<()> {
        let (anagrafica, anagrafica_url, anagrafica_stop) = health_server().await?;
        let (_others, others_url, _others_task) = health_server().await?;
        let mut channels = HashMap::new();
        for ctx in Context::ALL {
            let url = if ctx == Context::Anagrafica {
                &anagrafica_url
            } else {
                &others_url
            };
            channels.insert(ctx, occasionali_runtime::client::lazy_channel(url)?);
        }
        let (gateway, gateway_url, _gateway_task) = health_server().await?;
        let services: Vec<String> = Context::ALL
            .iter()
            .map(|c| c.service_name().to_string())
            .collect();
        mark_all_unknown(&gateway, &services).await;
        let (trigger, stop) = shutdown::channel();
        let watcher = tokio::spawn(watch(gateway, channels, Duration::from_millis(100), stop));
        let client = HealthClient::new(occasionali_runtime::client::lazy_channel(&gateway_url)?);
        wait_for(&client, "", Wire::Serving).await;

        anagrafica.set_service_status("", ServingStatus::NotServing).await;
        wait_for(&client, "", Wire::NotServing).await;
        wait_for(&client, Context::Anagrafica.service_name(), Wire::NotServing).await;
        assert_eq!(
            status(&client, Context::Portafoglio.service_name()).await,
            Some(Wire::Serving as i32)
        );
        anagrafica.set_service_status("", ServingStatus::Serving).await;
        wait_for(&client, "", Wire::Serving).await;
        wait_for(&client, Context::Anagrafica.service_name(), Wire::Serving).await;

        // A backend that does not answer at all counts as down.
        anagrafica_stop.trigger();
        wait_for(&client, "", Wire::NotServing).await;

        trigger.trigger();
        tokio::time::timeout(Duration::from_secs(2), watcher).await??;
        Ok(())
    }
}
