//! The relay of every context, for operatore_dg (issue 9): lag and counts of each context's
//! outbox, its failed messages, and retrying them. Each context is asked through its internal
//! OutboxInternalService as the platform, carrying the operator as the origin.

use std::collections::HashMap;
use std::time::Duration;

use occasionali_proto::common as cpb;
use occasionali_proto::common::outbox_internal_service_client::OutboxInternalServiceClient;
use occasionali_proto::gateway as pb;
use occasionali_proto::gateway::relay_service_server::RelayService;
use occasionali_runtime::context::Context;
use occasionali_runtime::identity::{IDENTITY_HEADER, InternalTokens, Profile};
use occasionali_runtime::{AppError, Identity};
use tonic::transport::Channel;
use tonic::{Request, Response, Status};

use crate::auth::Authenticator;

pub struct Relay {
    pub auth: Authenticator,
    pub channels: HashMap<Context, Channel>,
    pub tokens: InternalTokens,
    pub deadline: Duration,
}

impl Relay {
    async fn operatore<T>(&self, request: &Request<T>, rpc: &str) -> Result<Identity, Status> {
        let headers = request.metadata().clone().into_headers();
        let id = self
            .auth
            .identity(&headers, &format!("/occasionali.gateway.v1.RelayService/{rpc}"))
            .await?;
        if id.caller.profile != Profile::OperatoreDg || id.on_behalf_of.is_some() {
            return Err(AppError::denied(
                "GW-5",
                "GW_5_DG_ONLY",
                "the relay's messages are for operatore_dg only",
            )
            .into());
        }
        Ok(id)
    }

    fn client(&self, ctx: Context) -> Result<OutboxInternalServiceClient<Channel>, Status> {
        self.channels
            .get(&ctx)
            .cloned()
            .map(OutboxInternalServiceClient::new)
            .ok_or_else(|| Status::unavailable(format!("no backend configured for {ctx}")))
    }

    /// `message` to `ctx` as the gateway's own `sistema` identity, for `ctx` alone (issue 14).
    fn request<T>(&self, id: &Identity, ctx: Context, message: T) -> Result<Request<T>, Status> {
        let mut r = Request::new(message);
        r.set_timeout(self.deadline);
        r.metadata_mut()
            .insert(IDENTITY_HEADER, self.tokens.system_call(ctx, Some(id))?);
        occasionali_runtime::client::inject_trace(r.metadata_mut());
        Ok(r)
    }
}

fn contesto(nome: &str) -> Result<Context, Status> {
    nome.trim()
        .parse::<Context>()
        .map_err(|e| AppError::invalid("contesto", "GW-5", "GW_5_UNKNOWN_CONTEXT", e).into())
}

#[tonic::async_trait]
impl RelayService for Relay {
    async fn get_relay_status(
        &self,
        request: Request<pb::GetRelayStatusRequest>,
    ) -> Result<Response<pb::GetRelayStatusResponse>, Status> {
        let id = self.operatore(&request, "GetRelayStatus").await?;
        let calls = Context::ALL.into_iter().map(|ctx| {
            let id = id.clone();
            async move {
                let r = async {
                    let mut c = self.client(ctx)?;
                    let r = self.request(&id, ctx, cpb::GetOutboxStatusRequest {})?;
                    c.get_outbox_status(r).await
                };
                (ctx, tokio::time::timeout(self.deadline, r).await)
            }
        });
        let mut out = pb::GetRelayStatusResponse::default();
        for (ctx, r) in futures::future::join_all(calls).await {
            match r {
                Ok(Ok(s)) => out.contesti.push(pb::StatoRelay {
                    contesto: ctx.name().to_string(),
                    stato: Some(s.into_inner()),
                }),
                _ => out.mancanti.push(ctx.name().to_string()),
            }
        }
        Ok(Response::new(out))
    }

    async fn list_relay_messages(
        &self,
        request: Request<pb::ListRelayMessagesRequest>,
    ) -> Result<Response<pb::ListRelayMessagesResponse>, Status> {
        let id = self.operatore(&request, "ListRelayMessages").await?;
        let r = request.into_inner();
        let ctx = contesto(&r.contesto)?;
        let answer = self
            .client(ctx)?
            .list_outbox(self.request(
                &id,
                ctx,
                cpb::ListOutboxRequest {
                    stato: r.stato,
                    page_size: r.page_size,
                    page_token: r.page_token,
                },
            )?)
            .await?
            .into_inner();
        Ok(Response::new(pb::ListRelayMessagesResponse {
            messaggi: answer.messaggi,
            next_page_token: answer.next_page_token,
        }))
    }

    async fn retry_relay_messages(
        &self,
        request: Request<pb::RetryRelayMessagesRequest>,
    ) -> Result<Response<pb::RetryRelayMessagesResponse>, Status> {
        let id = self.operatore(&request, "RetryRelayMessages").await?;
        let r = request.into_inner();
        let ctx = contesto(&r.contesto)?;
        // GW-3: at most a page of ListRelayMessages, each once; refused here, before any context.
        let mut v = occasionali_runtime::Violations::new();
        let ids = occasionali_runtime::decode::distinti(
            &mut v,
            "ids",
            &r.ids,
            occasionali_runtime::pagina::MAX_PAGE_SIZE as usize,
        );
        v.check().map_err(AppError::from)?;
        let answer = self
            .client(ctx)?
            .retry_outbox(self.request(
                &id,
                ctx,
                cpb::RetryOutboxRequest {
                    ids,
                    tutti_falliti: r.tutti_falliti,
                },
            )?)
            .await?
            .into_inner();
        Ok(Response::new(pb::RetryRelayMessagesResponse {
            ripresi: answer.ripresi,
        }))
    }
}
