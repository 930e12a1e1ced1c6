//! DEL-2: the check the platform makes before every call on behalf of a delegante, recorded as
//! a use or a denial (DEL-4).

use occasionali_kernel::ids::new_id;
use occasionali_runtime::{AppError, Identity};

use super::{Deleghe, autore};
use crate::domain::{Azione, RichiestaVerifica, Verifica, VoceAudit, verifica};
use crate::store;

impl Deleghe {
    /// Whether a delega lets the delegato act for the delegante in the ruolo at the instant asked
    /// (now if none), and which; the outcome is recorded whatever it is.
    pub async fn verifica(&self, id: &Identity, r: RichiestaVerifica) -> Result<Verifica, AppError> {
        let ora = self.ora();
        let at = r.at.unwrap_or(ora);
        // One indexed read and one insert: this runs before every on-behalf-of call.
        let deleghe = store::della_coppia(&self.db, &r.delegato_cf, &r.delegante_cf).await?;
        let esito = verifica(&deleghe, r.ruolo, at);
        let voce = VoceAudit {
            id: new_id("aud"),
            delega_id: esito.delega_id.clone(),
            azione: Azione::di_verifica(esito.esito),
            autore_cf: autore(id),
            eseguita_il: ora,
            rpc_path: r.rpc_path,
            delegante_cf: r.delegante_cf,
            delegato_cf: r.delegato_cf,
            ruolo: r.ruolo,
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
        Ok(esito)
    }
}
