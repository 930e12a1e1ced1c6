//! DEL-1: creating and revoking a delega, each in one transaction with its audit entry (DEL-4)
//! and its outbox event.

use chrono::{DateTime, NaiveDate, Utc};
use occasionali_kernel::calendar;
use occasionali_kernel::ids::new_id;
use occasionali_runtime::db::begin_write;
use occasionali_runtime::{AppError, Identity};

use super::{Deleghe, autore};
use crate::domain::accesso;
use crate::domain::{Azione, Creazione, Delega, Errore, NuovaDelega, Revoca, VoceAudit, decidi_creazione};
use crate::events;
use crate::store;

/// The method paths recorded in the audit trail for creations and revocations (DEL-4).
const RPC_CREATE: &str = "/occasionali.deleghe.v1.DelegheService/CreateDelega";
const RPC_REVOKE: &str = "/occasionali.deleghe.v1.DelegheService/RevokeDelega";

/// The audit entry of a creation or a revocation of `d`, made through `rpc_path`.
fn voce(
    d: &Delega,
    azione: Azione,
    rpc_path: &str,
    autore_cf: String,
    il: DateTime<Utc>,
    nota: String,
) -> VoceAudit {
    VoceAudit {
        id: new_id("aud"),
        delega_id: Some(d.id.clone()),
        azione,
        autore_cf,
        eseguita_il: il,
        rpc_path: rpc_path.into(),
        delegante_cf: d.delegante_cf.clone(),
        delegato_cf: d.delegato_cf.clone(),
        ruolo: d.ruolo,
        esito: None,
        nota,
    }
}

impl Deleghe {
    /// DEL-1: creates `nuova` (decoded at `ora`), or answers a retry of the same request id with
    /// the delega it created; returns it with the Rome date its state is read on.
    pub async fn crea(
        &self,
        id: &Identity,
        ora: DateTime<Utc>,
        nuova: NuovaDelega,
    ) -> Result<(Delega, NaiveDate), AppError> {
        let oggi = calendar::rome_date(ora);
        accesso::creazione(id, &nuova.delegante_cf)?;
        let autore_cf = autore(id);
        let txn = begin_write(&self.db).await?;
        store::blocca_terna(&txn, &nuova).await?;
        let stessa_richiesta = match &nuova.request_id {
            Some(rid) => store::per_request_id(&txn, &autore_cf, rid).await?,
            None => None,
        };
        let stessa_terna = store::della_terna(&txn, &nuova).await?;
        let d = match decidi_creazione(&nuova, stessa_richiesta.as_ref(), &stessa_terna)? {
            // A retry: nothing new to record (the transaction rolls back on drop).
            Creazione::Ripetuta(d) => return Ok((*d, oggi)),
            Creazione::Nuova => nuova.crea(new_id("del"), ora, &autore_cf),
        };
        if !store::inserisci(&txn, &d).await? {
            return Err(Errore::RequestIdContesa.into());
        }
        let nota = d.nota.clone();
        store::registra_audit(&txn, &voce(&d, Azione::Creata, RPC_CREATE, autore_cf, ora, nota)).await?;
        events::creata(&txn, &d, ora, oggi).await?;
        txn.commit().await?;
        tracing::info!(delega_id = %d.id, ruolo = d.ruolo.as_str(), by = id.profile().as_str(), "delega created");
        Ok((d, oggi))
    }

    /// DEL-1: revokes the delega `delega_id` for `motivo`; revoking it again returns it as it is,
    /// recording nothing.
    pub async fn revoca(
        &self,
        id: &Identity,
        delega_id: &str,
        motivo: String,
    ) -> Result<(Delega, NaiveDate), AppError> {
        let ora = self.ora();
        let oggi = calendar::rome_date(ora);
        let txn = begin_write(&self.db).await?;
        let Some(mut d) = store::carica_per_modifica(&txn, delega_id).await? else {
            return Err(accesso::sconosciuta(id, delega_id).into());
        };
        accesso::revoca(id, &d)?;
        if d.revoca.is_some() {
            return Ok((d, oggi));
        }
        let autore_cf = autore(id);
        let revoca = Revoca {
            il: ora,
            da_cf: autore_cf.clone(),
            motivo: motivo.clone(),
        };
        if !store::revoca(&txn, &d.id, &revoca).await? {
            return Err(Errore::RevocataNelFrattempo.into());
        }
        d.revoca = Some(revoca);
        store::registra_audit(
            &txn,
            &voce(&d, Azione::Revocata, RPC_REVOKE, autore_cf, ora, motivo),
        )
        .await?;
        events::revocata(&txn, &d, ora, oggi).await?;
        txn.commit().await?;
        tracing::info!(delega_id = %d.id, by = id.profile().as_str(), "delega revoked");
        Ok((d, oggi))
    }
}
