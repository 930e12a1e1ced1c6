//! The gRPC adapter: decode → authorise and decide (domain) → persist (store, one transaction
//! with its audit entry and outbox event) → encode.

use chrono::NaiveDate;
use occasionali_kernel::ids::new_id;
use occasionali_kernel::{SharedClock, calendar};
use occasionali_proto::deleghe as pb;
use occasionali_proto::deleghe::deleghe_internal_service_server::DelegheInternalService;
use occasionali_proto::deleghe::deleghe_service_server::DelegheService;
use occasionali_runtime::RequestIdentity;
use occasionali_runtime::db::begin_write;
use occasionali_runtime::{AppError, Identity, Violations};
use sea_orm::DatabaseConnection;
use tonic::{Request, Response, Status};

use crate::decode;
use crate::domain::accesso;
use crate::domain::{Azione, Creazione, Delega, Revoca, VoceAudit, decidi_creazione, verifica};
use crate::encode::{self, Vista};
use crate::events;
use crate::store::{self, FiltroAudit, FiltroDeleghe};
use occasionali_runtime::pagina::Pagina;

/// The method paths recorded in the audit trail for creations and revocations (DEL-4).
const RPC_CREATE: &str = "/occasionali.deleghe.v1.DelegheService/CreateDelega";
const RPC_REVOKE: &str = "/occasionali.deleghe.v1.DelegheService/RevokeDelega";

#[derive(Clone)]
pub struct Deleghe {
    pub db: DatabaseConnection,
    pub clock: SharedClock,
}

fn vista(id: &Identity) -> Vista {
    if accesso::vede_tutte(id) {
        Vista::Completa
    } else {
        Vista::Parte
    }
}

impl Deleghe {
    fn oggi(&self) -> NaiveDate {
        calendar::rome_date(self.clock.now())
    }

    async fn crea(
        &self,
        id: &Identity,
        r: &pb::CreateDelegaRequest,
    ) -> Result<(Delega, NaiveDate), AppError> {
        let ora = self.clock.now();
        let oggi = calendar::rome_date(ora);
        let nuova = decode::nuova_delega(r, oggi, accesso::nota_obbligatoria(id))?;
        accesso::creazione(id, &nuova.delegante_cf)?;
        let autore_cf = id.author().caller.cf.clone();
        let txn = begin_write(&self.db).await?;
        store::blocca_terna(&txn, &nuova).await?;
        let stessa_richiesta = match &nuova.request_id {
            Some(rid) => store::per_request_id(&txn, &autore_cf, rid).await?,
            None => None,
        };
        let stessa_terna = store::della_terna(&txn, &nuova).await?;
        match decidi_creazione(&nuova, stessa_richiesta.as_ref(), &stessa_terna)? {
            // A retry: nothing new to record (the transaction rolls back on drop).
            Creazione::Ripetuta(d) => Ok((*d, oggi)),
            Creazione::Nuova => {
                let d = nuova.crea(new_id("del"), ora, &autore_cf);
                store::inserisci(&txn, &d).await?;
                store::registra_audit(
                    &txn,
                    &VoceAudit {
                        id: new_id("aud"),
                        delega_id: Some(d.id.clone()),
                        azione: Azione::Creata,
                        autore_cf,
                        eseguita_il: ora,
                        rpc_path: RPC_CREATE.into(),
                        delegante_cf: d.delegante_cf.clone(),
                        delegato_cf: d.delegato_cf.clone(),
                        ruolo: d.ruolo,
                        esito: None,
                        nota: d.nota.clone(),
                    },
                )
                .await?;
                events::creata(&txn, &d, ora, oggi).await?;
                txn.commit().await?;
                tracing::info!(delega_id = %d.id, ruolo = d.ruolo.as_str(), by = id.profile().as_str(), "delega created");
                Ok((d, oggi))
            }
        }
    }

    async fn revoca(
        &self,
        id: &Identity,
        r: &pb::RevokeDelegaRequest,
    ) -> Result<(Delega, NaiveDate), AppError> {
        let mut v = Violations::new();
        let delega_id = decode::id(&mut v, "delega_id", "DEL-1", &r.delega_id);
        let motivo = decode::testo(&mut v, "motivo", "DEL-1", &r.motivo);
        if accesso::nota_obbligatoria(id) && motivo.is_empty() {
            v.add(
                "motivo",
                "DEL-1",
                "DEL_1_NOTE_REQUIRED",
                "an operator revoking a delega must say why",
            );
        }
        v.check()?;
        let delega_id = delega_id.ok_or_else(|| AppError::internal("delega_id decoded without value"))?;
        let ora = self.clock.now();
        let oggi = calendar::rome_date(ora);
        let txn = begin_write(&self.db).await?;
        let Some(mut d) = store::carica_per_modifica(&txn, &delega_id).await? else {
            return Err(accesso::sconosciuta(id, &delega_id));
        };
        accesso::revoca(id, &d)?;
        if d.revoca.is_some() {
            // Idempotent: already revoked, returned as it is, nothing recorded again.
            return Ok((d, oggi));
        }
        let autore_cf = id.author().caller.cf.clone();
        d.revoca = Some(Revoca {
            il: ora,
            da_cf: autore_cf.clone(),
            motivo: motivo.clone(),
        });
        store::revoca(&txn, &d).await?;
        store::registra_audit(
            &txn,
            &VoceAudit {
                id: new_id("aud"),
                delega_id: Some(d.id.clone()),
                azione: Azione::Revocata,
                autore_cf,
                eseguita_il: ora,
                rpc_path: RPC_REVOKE.into(),
                delegante_cf: d.delegante_cf.clone(),
                delegato_cf: d.delegato_cf.clone(),
                ruolo: d.ruolo,
                esito: None,
                nota: motivo,
            },
        )
        .await?;
        events::revocata(&txn, &d, ora, oggi).await?;
        txn.commit().await?;
        tracing::info!(delega_id = %d.id, by = id.profile().as_str(), "delega revoked");
        Ok((d, oggi))
    }

    async fn verifica(
        &self,
        id: &Identity,
        r: &pb::CheckDelegaRequest,
    ) -> Result<pb::CheckDelegaResponse, AppError> {
        accesso::verifica(id)?;
        let mut v = Violations::new();
        let delegato = decode::cf(&mut v, "delegato_cf", "DEL-2", &r.delegato_cf);
        let delegante = decode::cf(&mut v, "delegante_cf", "DEL-2", &r.delegante_cf);
        let ruolo = decode::ruolo(&mut v, "ruolo", "DEL-2", r.ruolo);
        let at = decode::istante(&mut v, "at", "DEL-2", r.at.as_ref());
        let rpc_path = r.rpc_path.trim().to_string();
        if rpc_path.is_empty() {
            v.add(
                "rpc_path",
                "DEL-4",
                "DEL_4_RPC_PATH_REQUIRED",
                "name the method the delega is used for: every use is recorded",
            );
        }
        v.check()?;
        let (Some(delegato_cf), Some(delegante_cf), Some(ruolo)) = (delegato, delegante, ruolo) else {
            return Err(AppError::internal("check decoded without value"));
        };
        let ora = self.clock.now();
        let at = at.unwrap_or(ora);
        // One indexed read and one insert: this runs before every on-behalf-of call.
        let deleghe = store::della_coppia(&self.db, &delegato_cf, &delegante_cf).await?;
        let esito = verifica(&deleghe, ruolo, at);
        let voce = VoceAudit {
            id: new_id("aud"),
            delega_id: esito.delega_id.clone(),
            azione: Azione::di_verifica(esito.esito),
            autore_cf: id.author().caller.cf.clone(),
            eseguita_il: ora,
            rpc_path,
            delegante_cf,
            delegato_cf,
            ruolo,
            esito: Some(esito.esito),
            nota: String::new(),
        };
        store::registra_audit(&self.db, &voce).await?;
        tracing::debug!(
            outcome = esito.esito.as_str(),
            delega_id = esito.delega_id.as_deref().unwrap_or_default(),
            rpc_path = %voce.rpc_path,
            "delega checked"
        );
        Ok(pb::CheckDelegaResponse {
            outcome: encode::esito(esito.esito) as i32,
            delega_id: esito.delega_id.unwrap_or_default(),
        })
    }

    async fn lista(
        &self,
        id: &Identity,
        r: &pb::ListDelegheRequest,
    ) -> Result<pb::ListDelegheResponse, AppError> {
        let mut v = Violations::new();
        let filtro = FiltroDeleghe {
            // DEL-1: non-operators see only the deleghe they (or the subject they act for) are
            // party to; filters narrow that further.
            visibili_a: (!accesso::vede_tutte(id)).then(|| id.subject_cf().to_string()),
            delegante_cf: decode::cf_opzionale(&mut v, "delegante_cf", "DEL-1", &r.delegante_cf),
            delegato_cf: decode::cf_opzionale(&mut v, "delegato_cf", "DEL-1", &r.delegato_cf),
            ruolo: decode::ruolo_opzionale(&mut v, "ruolo", "DEL-1", r.ruolo),
            stati: decode::stati(&mut v, "stati", &r.stati),
        };
        let impronta = filtro.impronta();
        let pagina = Pagina::decodifica(&mut v, "DEL-1", r.page_size, &r.page_token, impronta);
        v.check()?;
        let oggi = self.oggi();
        let righe = store::lista(&self.db, &filtro, oggi, pagina.cursore, pagina.da_leggere()).await?;
        let (deleghe, next_page_token) = pagina.taglia(righe);
        let vista = vista(id);
        Ok(pb::ListDelegheResponse {
            deleghe: deleghe.iter().map(|d| encode::delega(d, oggi, vista)).collect(),
            next_page_token,
        })
    }

    async fn audit(
        &self,
        id: &Identity,
        r: &pb::ListAuditDelegaRequest,
    ) -> Result<pb::ListAuditDelegaResponse, AppError> {
        accesso::audit(id)?;
        let mut v = Violations::new();
        let delega_id = r.delega_id.trim();
        if delega_id.is_empty() && r.delegante_cf.trim().is_empty() && r.delegato_cf.trim().is_empty() {
            v.add(
                "delega_id",
                "DEL-4",
                "DEL_4_FILTER_REQUIRED",
                "give at least one of delega_id, delegante_cf, delegato_cf",
            );
        }
        let periodo = r.periodo.clone().unwrap_or_default();
        let dal = decode::data(&mut v, "periodo.dal", "DEL-4", &periodo.dal, false);
        let al = decode::data(&mut v, "periodo.al", "DEL-4", &periodo.al, false);
        if let (Some(dal), Some(al)) = (dal, al)
            && al < dal
        {
            v.add(
                "periodo.al",
                "DEL-4",
                "DEL_4_END_BEFORE_START",
                "must not be before periodo.dal",
            );
        }
        let filtro = FiltroAudit {
            delega_id: (!delega_id.is_empty()).then(|| delega_id.to_string()),
            delegante_cf: decode::cf_opzionale(&mut v, "delegante_cf", "DEL-4", &r.delegante_cf),
            delegato_cf: decode::cf_opzionale(&mut v, "delegato_cf", "DEL-4", &r.delegato_cf),
            azione: decode::azione(&mut v, "action", r.action),
            dal,
            al,
        };
        let impronta = filtro.impronta();
        let pagina = Pagina::decodifica(&mut v, "DEL-4", r.page_size, &r.page_token, impronta);
        v.check()?;
        let righe = store::audit(&self.db, &filtro, pagina.cursore, pagina.da_leggere()).await?;
        let (voci, next_page_token) = pagina.taglia(righe);
        Ok(pb::ListAuditDelegaResponse {
            voci: voci.iter().map(encode::voce).collect(),
            next_page_token,
        })
    }
}

#[tonic::async_trait]
impl DelegheService for Deleghe {
    async fn create_delega(
        &self,
        request: Request<pb::CreateDelegaRequest>,
    ) -> Result<Response<pb::CreateDelegaResponse>, Status> {
        let id = request.identity()?;
        let (d, oggi) = self.crea(&id, request.get_ref()).await?;
        Ok(Response::new(pb::CreateDelegaResponse {
            delega: Some(encode::delega(&d, oggi, vista(&id))),
        }))
    }

    async fn revoke_delega(
        &self,
        request: Request<pb::RevokeDelegaRequest>,
    ) -> Result<Response<pb::RevokeDelegaResponse>, Status> {
        let id = request.identity()?;
        let (d, oggi) = self.revoca(&id, request.get_ref()).await?;
        Ok(Response::new(pb::RevokeDelegaResponse {
            delega: Some(encode::delega(&d, oggi, vista(&id))),
        }))
    }

    async fn get_delega(
        &self,
        request: Request<pb::GetDelegaRequest>,
    ) -> Result<Response<pb::GetDelegaResponse>, Status> {
        let id = request.identity()?;
        let mut v = Violations::new();
        let delega_id = decode::id(&mut v, "delega_id", "DEL-1", &request.get_ref().delega_id);
        v.check().map_err(AppError::from)?;
        let delega_id = delega_id.ok_or_else(|| AppError::internal("delega_id decoded without value"))?;
        let d = store::carica(&self.db, &delega_id)
            .await?
            .ok_or_else(|| accesso::sconosciuta(&id, &delega_id))?;
        accesso::lettura(&id, &d)?;
        Ok(Response::new(pb::GetDelegaResponse {
            delega: Some(encode::delega(&d, self.oggi(), vista(&id))),
        }))
    }

    async fn list_deleghe(
        &self,
        request: Request<pb::ListDelegheRequest>,
    ) -> Result<Response<pb::ListDelegheResponse>, Status> {
        let id = request.identity()?;
        Ok(Response::new(self.lista(&id, request.get_ref()).await?))
    }

    async fn list_audit_delega(
        &self,
        request: Request<pb::ListAuditDelegaRequest>,
    ) -> Result<Response<pb::ListAuditDelegaResponse>, Status> {
        let id = request.identity()?;
        Ok(Response::new(self.audit(&id, request.get_ref()).await?))
    }
}

/// GW-6: what only the platform asks (the gateway's DEL-2 check), behind the `sistema`-only
/// interceptor; `verifica` keeps its own platform check as a second lock.
#[tonic::async_trait]
impl DelegheInternalService for Deleghe {
    async fn check_delega(
        &self,
        request: Request<pb::CheckDelegaRequest>,
    ) -> Result<Response<pb::CheckDelegaResponse>, Status> {
        let id = request.identity()?;
        Ok(Response::new(self.verifica(&id, request.get_ref()).await?))
    }
}
