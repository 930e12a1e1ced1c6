//! The development clock service (ARCHITECTURE.md, Time): served by the gateway of
//! `occasionali dev`, where every context shares one clock.

use occasionali_runtime::RequestIdentity;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use occasionali_kernel::{Clock, OffsetClock, calendar};
use occasionali_proto::gateway as pb;
use occasionali_proto::gateway::dev_clock_service_server::DevClockService;
use occasionali_runtime::identity::{Principal, Profile};
use occasionali_runtime::issuers::ClientVerifier;
use occasionali_runtime::{AppError, Identity};
use tonic::{Request, Response, Status};

pub struct DevClock {
    pub clock: Arc<OffsetClock>,
}

fn reading(now: DateTime<Utc>) -> pb::ClockReading {
    pb::ClockReading {
        now: Some(prost_types::Timestamp {
            seconds: now.timestamp(),
            nanos: now.timestamp_subsec_nanos() as i32,
        }),
        rome: calendar::rome_datetime(now).to_rfc3339(),
    }
}

fn only_dg<T>(request: &Request<T>) -> Result<(), Status> {
    let id = request.identity()?;
    if matches!(id.profile(), Profile::OperatoreDg | Profile::Sistema) {
        Ok(())
    } else {
        Err(AppError::denied(
            "GW-1",
            "DEV_CLOCK_DG_ONLY",
            "only operatore_dg may move the platform clock",
        )
        .into())
    }
}

/// Verifies the client's bearer token for services the gateway answers itself.
#[derive(Clone)]
pub struct ClientAuth(pub ClientVerifier);

impl tonic::service::Interceptor for ClientAuth {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        let principal: Principal = crate::auth::authenticate_cached(&self.0, request.metadata().as_ref())?;
        request.extensions_mut().insert(Identity::new(principal));
        Ok(request)
    }
}

#[tonic::async_trait]
impl DevClockService for DevClock {
    async fn get_clock(
        &self,
        request: Request<pb::GetClockRequest>,
    ) -> Result<Response<pb::GetClockResponse>, Status> {
        request.identity()?;
        Ok(Response::new(pb::GetClockResponse {
            clock: Some(reading(self.clock.now())),
        }))
    }

    async fn set_clock(
        &self,
        request: Request<pb::SetClockRequest>,
    ) -> Result<Response<pb::SetClockResponse>, Status> {
        only_dg(&request)?;
        let ts = request.into_inner().now.ok_or_else(|| {
            Status::from(AppError::invalid(
                "now",
                "GW-1",
                "DEV_CLOCK_INSTANT_REQUIRED",
                "is required",
            ))
        })?;
        let instant = DateTime::from_timestamp(ts.seconds, ts.nanos.max(0) as u32).ok_or_else(|| {
            Status::from(AppError::invalid(
                "now",
                "GW-1",
                "DEV_CLOCK_INSTANT_RANGE",
                "is out of range",
            ))
        })?;
        self.clock.set(instant);
        tracing::warn!(to = %instant, "dev clock set");
        Ok(Response::new(pb::SetClockResponse {
            clock: Some(reading(self.clock.now())),
        }))
    }

    async fn advance_clock(
        &self,
        request: Request<pb::AdvanceClockRequest>,
    ) -> Result<Response<pb::AdvanceClockResponse>, Status> {
        only_dg(&request)?;
        let seconds = request.into_inner().seconds;
        let by = Duration::try_seconds(seconds).ok_or_else(|| {
            Status::from(AppError::invalid(
                "seconds",
                "GW-1",
                "DEV_CLOCK_STEP_RANGE",
                "is out of range",
            ))
        })?;
        self.clock.advance(by);
        tracing::warn!(seconds, "dev clock advanced");
        Ok(Response::new(pb::AdvanceClockResponse {
            clock: Some(reading(self.clock.now())),
        }))
    }
}
