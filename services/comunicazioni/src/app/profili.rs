//! Whom the caller acts for (LAO-1): the LAO profile of each request, and "Scegli per chi
//! intendi operare" (ListProfiliOperativi).

use occasionali_runtime::{AppError, Identity};

use super::App;
use crate::domain::Errore;
use crate::domain::accesso::{self, Profilo, ProfiloOperativo};

impl App {
    /// The caller's LAO profile. A natural person using the azienda profile (not under a
    /// delega) acts for a company it legally represents in the registry (ANA-8), named as the
    /// request's committente CF (`field`); it stays the compilatore of what it sends.
    pub async fn profilo(&self, id: &Identity, field: &str, committente: &str) -> Result<Profilo, AppError> {
        let profilo = accesso::profilo(id)?;
        let Some(persona) = accesso::rappresentante_da_verificare(id, &profilo) else {
            return Ok(profilo);
        };
        let azienda = accesso::azienda_indicata(field, committente)?;
        if !self.registro.rappresenta(persona, &azienda, id).await? {
            return Err(Errore::NonLegaleRappresentante { azienda }.into());
        }
        Ok(Profilo::Azienda { cf: azienda })
    }

    /// The caller itself, each company it legally represents (ANA-8), and each client it acts
    /// for under a valid delega (DEL-2), in that order.
    pub async fn profili(&self, id: &Identity) -> Result<Vec<ProfiloOperativo>, AppError> {
        let scelta = accesso::per_chi_operare(id)?;
        let mut out = scelta.propri;
        let Some(cf) = scelta.persona else {
            return Ok(out);
        };
        for (azienda, denominazione) in self.registro.rappresentate(&cf, id).await? {
            out.push(ProfiloOperativo::rappresentata(&azienda, &denominazione));
        }
        if let Some(deleghe) = &self.deleghe {
            for c in deleghe.clienti(&cf, id).await? {
                let denominazione = self
                    .registro
                    .denominazione(&c.delegante_cf, id)
                    .await?
                    .unwrap_or_else(|| c.delegante_cf.clone());
                out.push(ProfiloOperativo::cliente(
                    id,
                    c.delegante_cf,
                    denominazione,
                    c.ruolo,
                    c.delega_id,
                ));
            }
        }
        Ok(out)
    }
}
