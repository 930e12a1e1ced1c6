//! DEL-2 at the gateway: a caller acting on behalf of a subject must hold a delega valid now.
//!
//! Every on-behalf call asks deleghe's CheckDelega and waits for the answer; nothing is cached.
//! CheckDelega decides and records the use (DEL-4) in the same request, so the audit holds exactly
//! the outcome this call returns, and a creation or revocation holds for the very next call.
//! (A decision cache served stale outcomes while the background check recorded fresh ones: the
//! audit said USED to a refused caller and DENIED to a served one; see docs/decisions.md.)

use occasionali_proto::deleghe as pb;
use occasionali_proto::deleghe::deleghe_internal_service_client::DelegheInternalServiceClient;
use occasionali_runtime::client::Caller;
use occasionali_runtime::error::from_upstream;
use occasionali_runtime::{AppError, Identity};
use tonic::transport::Channel;

#[derive(Clone)]
pub struct DelegaCheck {
    client: DelegheInternalServiceClient<Channel>,
    caller: Caller,
}

impl DelegaCheck {
    pub fn new(channel: Channel, caller: Caller) -> DelegaCheck {
        DelegaCheck {
            client: DelegheInternalServiceClient::new(channel),
            caller,
        }
    }

    /// The outcome for `origin` acting for `delegante` in `ruolo`, and the delega deciding it.
    /// The use is recorded by deleghe with this same outcome before it answers (DEL-4); if
    /// deleghe cannot be asked the call is refused (fail closed).
    pub async fn check(
        &self,
        origin: &Identity,
        delegante: &str,
        ruolo: pb::Ruolo,
        rpc_path: &str,
    ) -> Result<(pb::CheckDelegaOutcome, String), AppError> {
        let request = self.caller.request(
            pb::CheckDelegaRequest {
                delegato_cf: origin.caller.cf.clone(),
                delegante_cf: delegante.to_string(),
                ruolo: ruolo as i32,
                at: None,
                rpc_path: rpc_path.to_string(),
            },
            Some(origin),
        )?;
        let answer = self
            .client
            .clone()
            .check_delega(request)
            .await
            .map_err(|s| from_upstream("deleghe", s))?
            .into_inner();
        // An outcome this gateway does not know is a refusal, never a pass.
        let outcome =
            pb::CheckDelegaOutcome::try_from(answer.outcome).unwrap_or(pb::CheckDelegaOutcome::Unspecified);
        Ok((outcome, answer.delega_id))
    }
}

/// `consulente_lavoro`, `CONSULENTE_LAVORO` or `RUOLO_CONSULENTE_LAVORO`.
pub fn parse_ruolo(value: &str) -> Option<pb::Ruolo> {
    let upper = value.trim().to_ascii_uppercase();
    let name = if upper.starts_with("RUOLO_") {
        upper
    } else {
        format!("RUOLO_{upper}")
    };
    pb::Ruolo::from_str_name(&name).filter(|r| *r != pb::Ruolo::Unspecified)
}

/// The refusal for an outcome other than VALID (DEL-2: saying which).
pub fn refusal(outcome: pb::CheckDelegaOutcome) -> AppError {
    use pb::CheckDelegaOutcome as O;
    let (reason, message) = match outcome {
        O::Missing | O::Unspecified => (
            "DEL_2_DELEGA_MISSING",
            "no delega from this subject to the caller",
        ),
        O::Expired => ("DEL_2_DELEGA_EXPIRED", "the delega has expired"),
        O::Revoked => ("DEL_2_DELEGA_REVOKED", "the delega was revoked"),
        O::WrongRuolo => ("DEL_2_DELEGA_WRONG_RUOLO", "the delega is for another ruolo"),
        O::NotYetValid => ("DEL_2_DELEGA_NOT_YET_VALID", "the delega is not valid yet"),
        O::Valid => ("DEL_2_DELEGA_VALID", "the delega is valid"),
    };
    AppError::denied("DEL-2", reason, message)
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use http::HeaderMap;
    use occasionali_proto::deleghe::deleghe_internal_service_server::{
        DelegheInternalService, DelegheInternalServiceServer,
    };
    use occasionali_runtime::context::Context;
    use occasionali_runtime::firme::Firmatario;
    use occasionali_runtime::identity::{Principal, Profile};
    use occasionali_runtime::issuers::{ClientVerifier, DevIssuer};
    use occasionali_runtime::shutdown;
    use tokio_stream::wrappers::TcpListenerStream;
    use tonic::{Request, Response, Status};

    use super::*;
    use crate::auth::Authenticator;

    /// Deleghe as the gateway sees it: answers CheckDelega with `answer` and records each
    /// answer it gave, as the real one writes its audit entry (DEL-4).
    #[derive(Clone, Default)]
    struct FakeDeleghe {
        answer: Arc<Mutex<i32>>,
        audit: Arc<Mutex<Vec<i32>>>,
    }

    #[tonic::async_trait]
    impl DelegheInternalService for FakeDeleghe {
        async fn check_delega(
            &self,
            _request: Request<pb::CheckDelegaRequest>,
        ) -> Result<Response<pb::CheckDelegaResponse>, Status> {
            let outcome = *self.answer.lock().map_err(|_| Status::internal("lock"))?;
            self.audit
                .lock()
                .map_err(|_| Status::internal("lock"))?
                .push(outcome);
            Ok(Response::new(pb::CheckDelegaResponse {
                outcome,
                delega_id: "del_1".into(),
            }))
        }
    }

    const DELEGANTE: &str = "RSSMRA85T10A562S";

    async fn authenticator(
        fake: FakeDeleghe,
    ) -> anyhow::Result<(Authenticator, HeaderMap, shutdown::ShutdownTrigger)> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}", listener.local_addr()?);
        let (trigger, stop) = shutdown::channel();
        tokio::spawn(async move {
            let _ = tonic::transport::Server::builder()
                .add_service(DelegheInternalServiceServer::new(fake))
                .serve_with_incoming_shutdown(TcpListenerStream::new(listener), stop.wait())
                .await;
        });
        let client_tokens = DevIssuer::generate()?;
        let internal = occasionali_runtime::testing::tokens_di_prova(Firmatario::Gateway);
        let auth = Authenticator {
            client_tokens: ClientVerifier::trusting(&client_tokens)?,
            deleghe: DelegaCheck::new(
                tonic::transport::Channel::from_shared(url)?.connect_lazy(),
                Caller::new(internal.clone(), Context::Deleghe, Duration::from_secs(2)),
            ),
            // Not reached by delega calls; nobody listens there.
            rappresentanze: crate::rappresentanza::RappresentanzaCheck::new(
                tonic::transport::Channel::from_static("http://127.0.0.1:9").connect_lazy(),
                Caller::new(internal, Context::Anagrafica, Duration::from_secs(2)),
            ),
        };
        let token = client_tokens.mint(
            &Principal {
                cf: "BNCNNA75M70F205S".into(),
                profile: Profile::Intermediario,
                sede: None,
            },
            600,
        )?;
        let mut headers = HeaderMap::new();
        headers.insert(http::header::AUTHORIZATION, format!("Bearer {token}").parse()?);
        headers.insert("x-occasionali-on-behalf-of", DELEGANTE.parse()?);
        headers.insert("x-occasionali-ruolo", "intermediario_prestatore".parse()?);
        Ok((auth, headers, trigger))
    }

    fn reason(status: &Status) -> String {
        use tonic_types::StatusExt;
        status
            .get_details_error_info()
            .map(|i| i.reason)
            .unwrap_or_default()
    }

    /// DEL-2/DEL-4: each on-behalf call is decided by deleghe when it arrives, so a delega just
    /// created lets the next call through and one just revoked refuses it; deleghe is asked
    /// exactly once per call (no use recorded in the background from another decision), so its
    /// audit holds exactly the outcomes the callers got.
    #[tokio::test]
    async fn del_2_del_4_every_call_gets_and_records_deleghes_current_answer() -> anyhow::Result<()> {
        use pb::CheckDelegaOutcome as O;
        let fake = FakeDeleghe::default();
        let (auth, headers, _stop) = authenticator(fake.clone()).await?;
        let path = "/occasionali.anagrafica.v1.AnagraficaService/GetSoggetto";
        let set = |o: O| -> anyhow::Result<()> {
            *fake.answer.lock().map_err(|_| anyhow::anyhow!("lock"))? = o as i32;
            Ok(())
        };
        let mut got = Vec::new();
        for answer in [O::Missing, O::Valid, O::Valid, O::Revoked, O::Valid, O::Expired] {
            set(answer)?;
            match auth.identity(&headers, path).await {
                Ok(id) => {
                    assert_eq!(answer, O::Valid);
                    let obo = id
                        .on_behalf_of
                        .ok_or_else(|| anyhow::anyhow!("no on_behalf_of"))?;
                    assert_eq!(obo.cf, DELEGANTE);
                    assert_eq!(obo.delega_id, "del_1");
                    got.push(O::Valid as i32);
                }
                Err(status) => {
                    assert_eq!(status.code(), tonic::Code::PermissionDenied, "{status:?}");
                    let expected = match answer {
                        O::Missing => "DEL_2_DELEGA_MISSING",
                        O::Revoked => "DEL_2_DELEGA_REVOKED",
                        O::Expired => "DEL_2_DELEGA_EXPIRED",
                        other => panic!("{other:?} refused: {status:?}"),
                    };
                    assert_eq!(reason(&status), expected);
                    got.push(answer as i32);
                }
            }
        }
        // Nothing recorded later, in the background.
        tokio::time::sleep(Duration::from_millis(200)).await;
        let audit = fake.audit.lock().map_err(|_| anyhow::anyhow!("lock"))?.clone();
        assert_eq!(audit, got);
        Ok(())
    }

    /// Deleghe unreachable: the call is refused (fail closed), never let through.
    #[tokio::test]
    async fn del_2_deleghe_unreachable_refuses() -> anyhow::Result<()> {
        let fake = FakeDeleghe::default();
        let (auth, headers, stop) = authenticator(fake).await?;
        drop(stop);
        let auth = Authenticator {
            deleghe: DelegaCheck::new(
                tonic::transport::Channel::from_static("http://127.0.0.1:1").connect_lazy(),
                Caller::new(
                    occasionali_runtime::testing::tokens_di_prova(Firmatario::Gateway),
                    Context::Deleghe,
                    Duration::from_secs(2),
                ),
            ),
            ..auth
        };
        let status = auth
            .identity(
                &headers,
                "/occasionali.anagrafica.v1.AnagraficaService/GetSoggetto",
            )
            .await
            .err()
            .ok_or_else(|| anyhow::anyhow!("let through without deleghe"))?;
        assert_eq!(status.code(), tonic::Code::Unavailable, "{status:?}");
        Ok(())
    }

    #[test]
    fn ruolo_spellings() {
        assert_eq!(
            parse_ruolo("consulente_lavoro"),
            Some(pb::Ruolo::ConsulenteLavoro)
        );
        assert_eq!(parse_ruolo("RUOLO_PATRONATO"), Some(pb::Ruolo::Patronato));
        assert_eq!(
            parse_ruolo("intermediario_prestatore"),
            Some(pb::Ruolo::IntermediarioPrestatore)
        );
        assert_eq!(parse_ruolo("unspecified"), None);
        assert_eq!(parse_ruolo("boss"), None);
    }

    #[test]
    fn del_2_refusals_say_which() {
        for (o, r) in [
            (pb::CheckDelegaOutcome::Missing, "DEL_2_DELEGA_MISSING"),
            (pb::CheckDelegaOutcome::Expired, "DEL_2_DELEGA_EXPIRED"),
            (pb::CheckDelegaOutcome::Revoked, "DEL_2_DELEGA_REVOKED"),
            (pb::CheckDelegaOutcome::WrongRuolo, "DEL_2_DELEGA_WRONG_RUOLO"),
        ] {
            match refusal(o) {
                AppError::PermissionDenied { reason, rule, .. } => {
                    assert_eq!(reason, r);
                    assert_eq!(rule, "DEL-2");
                }
                other => panic!("{other:?}"),
            }
        }
    }
}
