//! The one mapping of the domain's refusals to gRPC: code, rule, reason, message, metadata,
//! field violations and, for a limit crossed, its StatoLimite among the status details.

use occasionali_runtime::{AppError, FieldViolation};
use prost::Message;
use tonic::Code;

use crate::domain::errore::Errore;
use crate::domain::limiti::StatoLimite;
use crate::domain::prestazione::{Rifiuto, Risposta};
use crate::domain::regole::RifiutoPubblicazione;
use crate::domain::verifiche::Violazione;
use crate::encode;

/// The type URL of a StatoLimite in google.rpc.Status.details.
pub const STATO_LIMITE_TYPE_URL: &str = "type.googleapis.com/occasionali.prestazioni.v1.StatoLimite";

impl From<RifiutoPubblicazione> for AppError {
    fn from(e: RifiutoPubblicazione) -> AppError {
        use RifiutoPubblicazione::*;
        let message = e.to_string();
        match e {
            AnnoIniziato { .. } => AppError::precondition("PRE-20", "PRE_20_YEAR_IN_FORCE", message),
            AnnoTroppoLontano { .. } => {
                AppError::invalid("rule_table.anno", "PRE-20", "PRE_20_YEAR_TOO_FAR", message)
            }
            SoloDg => AppError::denied("PRE-20", "PRE_20_PUBLISH_DG_ONLY", message),
            SenzaRegolePrecedenti { .. } => AppError::precondition("PRE-20", "PRE_20_NO_RULES", message),
            RichiestaRiusata => AppError::already_exists("PRE-20", "PRE_20_REQUEST_ID_REUSED", message),
            Concorrente { .. } => AppError::aborted("PRE-20", "PRE_20_CONCURRENT_PUBLICATION", message),
        }
    }
}

impl From<Errore> for AppError {
    fn from(e: Errore) -> AppError {
        let message = e.to_string();
        match e {
            Errore::FuoriSede(_) => AppError::denied("PRE-19", "PRE_19_OUTSIDE_SEDE", message),
            Errore::NonLatoUtilizzatore(_) => {
                AppError::denied("PRE-19", "PRE_19_NOT_UTILIZZATORE_SIDE", message)
            }
            Errore::NonLatoPrestatore(_) => AppError::denied("PRE-19", "PRE_19_NOT_PRESTATORE_SIDE", message),
            Errore::LimitiAltrui => AppError::denied("PRE-19", "PRE_19_NOT_OWN_LIMITS", message),
            Errore::PrestazioniAltrui => AppError::denied("PRE-19", "PRE_19_NOT_OWN_PRESTAZIONI", message),
            Errore::NonTrovata(_) => AppError::NotFound(message),
            Errore::SenzaRegole { .. } => AppError::precondition("PRE-20", "PRE_20_NO_RULES", message),
            Errore::NonAmmissibile { violazioni, limiti } => non_ammissibile(&violazioni, &limiti, message),
            Errore::RichiestaRiusata => {
                AppError::already_exists("PRE-18", "PRE_18_REQUEST_ID_REUSED", message)
            }
            Errore::Rifiutata(r) => rifiutata(r),
            Errore::TransizioneNonValida { .. } => {
                AppError::precondition("PRE-11", "PRE_INVALID_TRANSITION", message)
            }
            Errore::RevocaDiConfermata => AppError::precondition("PRE-12", "PRE_12_CONFIRMED", message),
            Errore::RevocaScaduta { .. } => {
                AppError::precondition("PRE-11", "PRE_11_REVOCA_DEADLINE", message)
            }
            Errore::NonConfermabile(_) => AppError::precondition("PRE-12", "PRE_12_NOT_CONFIRMABLE", message),
            Errore::NonAncoraSvolta { .. } => {
                AppError::precondition("PRE-12", "PRE_12_NOT_YET_TAKEN_PLACE", message)
            }
            Errore::NonRevocata => AppError::precondition("PRE-14", "PRE_14_NOT_REVOKED", message),
            Errore::MesePagato => AppError::precondition("PRE-14", "PRE_14_PAYOUT_COMPUTED", message),
            Errore::LimitiSenzaSoggetto => {
                AppError::invalid("prestatore_cf", "PRE-8", "PRE_8_SUBJECT_REQUIRED", message)
            }
            Errore::ElencoSenzaSoggetto => {
                AppError::invalid("utilizzatore_cf", "PRE-16", "PRE_16_SUBJECT_REQUIRED", message)
            }
        }
    }
}

/// PRE-1..PRE-9: FAILED_PRECONDITION under the first rule broken, every violation a field
/// violation; PRE-8 says which limit, used and left (the first crossed under plain keys, each
/// under its name) and adds each crossed limit's StatoLimite to the details.
fn non_ammissibile(violazioni: &[Violazione], limiti: &[StatoLimite], message: String) -> AppError {
    let Some(first) = violazioni.first() else {
        return AppError::internal("refusal without violations");
    };
    let mut e = AppError::FailedPrecondition {
        rule: first.rule,
        reason: first.reason.to_string(),
        message,
        metadata: Vec::new(),
        violations: violazioni
            .iter()
            .map(|v| FieldViolation {
                field: v.field.to_string(),
                rule: v.rule,
                reason: v.reason.to_string(),
                description: v.description.clone(),
            })
            .collect(),
    };
    let superati: Vec<&StatoLimite> = limiti.iter().filter(|l| l.superato).collect();
    for (i, l) in superati.iter().enumerate() {
        let nome = encode::tipo_limite(l.quota.tipo)
            .as_str_name()
            .trim_start_matches("TIPO_LIMITE_")
            .to_lowercase();
        let (utilizzato, residuo) = (l.cifra(l.usato), l.cifra(l.residuo()));
        if i == 0 {
            e = e
                .with_metadata("limite", nome.clone())
                .with_metadata("limite_valore", l.cifra(l.quota.limite))
                .with_metadata("utilizzato", utilizzato.clone())
                .with_metadata("residuo", residuo.clone())
                .with_metadata("richiesto", l.richiesto.map(|r| l.cifra(r)).unwrap_or_default());
        }
        e = e
            .with_metadata(format!("{nome}_utilizzato"), utilizzato)
            .with_metadata(format!("{nome}_residuo"), residuo);
    }
    con_stati_limite(e, &superati)
}

/// PRE-8: the refusal's status with one StatoLimite per crossed limit added to its details, as
/// InsertPrestazione promises (next to the ErrorInfo, PreconditionFailure and BadRequest the
/// runtime builds).
fn con_stati_limite(e: AppError, superati: &[&StatoLimite]) -> AppError {
    if superati.is_empty() {
        return e;
    }
    let status = tonic::Status::from(e);
    let mut rpc = tonic_types::pb::Status::decode(status.details()).unwrap_or_default();
    rpc.code = status.code() as i32;
    rpc.message = status.message().to_string();
    rpc.details.extend(superati.iter().map(|l| prost_types::Any {
        type_url: STATO_LIMITE_TYPE_URL.to_string(),
        value: encode::stato_limite(l).encode_to_vec(),
    }));
    AppError::Upstream(Box::new(tonic::Status::with_details(
        status.code(),
        status.message(),
        rpc.encode_to_vec().into(),
    )))
}

/// PRE-10, PRE-18: the wallet's refusal as first answered; prestazioni refused before the answer
/// was kept answer FAILED_PRECONDITION PRE_10_REJECTED with their motivo.
fn rifiutata(r: Rifiuto) -> AppError {
    match r.risposta {
        Some(risposta) => AppError::Upstream(Box::new(status(risposta))),
        None => AppError::precondition("PRE-10", "PRE_10_REJECTED", r.motivo),
    }
}

fn status(r: Risposta) -> tonic::Status {
    tonic::Status::with_details(Code::from(r.codice), r.messaggio, r.dettagli.into())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::domain::Stato;
    use crate::domain::errore::{AzionePrestatore, AzioneUtilizzatore, FuoriSede};
    use crate::domain::limiti::{Quota, TipoLimite};
    use crate::domain::stato::Evento;

    /// The same answer on the wire: code, message and details, byte for byte.
    fn uguale(e: Errore, atteso: AppError) {
        let (a, b) = (
            tonic::Status::from(AppError::from(e)),
            tonic::Status::from(atteso),
        );
        assert_eq!(a.code(), b.code());
        assert_eq!(a.message(), b.message());
        assert_eq!(a.details(), b.details());
    }

    #[test]
    fn every_refusal_answers_as_before() {
        let denied = |reason, m| AppError::denied("PRE-19", reason, m);
        let pre = |rule, reason, m: &str| AppError::precondition(rule, reason, m);
        let casi = [
            (
                Errore::FuoriSede(FuoriSede::Parti),
                denied(
                    "PRE_19_OUTSIDE_SEDE",
                    "neither the utilizzatore nor the prestatore belongs to the operator's sede",
                ),
            ),
            (
                Errore::FuoriSede(FuoriSede::Utilizzatore),
                denied("PRE_19_OUTSIDE_SEDE", "the utilizzatore belongs to another sede"),
            ),
            (
                Errore::FuoriSede(FuoriSede::Soggetto),
                denied("PRE_19_OUTSIDE_SEDE", "the subject belongs to another sede"),
            ),
            (
                Errore::NonLatoUtilizzatore(AzioneUtilizzatore::Dichiara),
                denied(
                    "PRE_19_NOT_UTILIZZATORE_SIDE",
                    "only the utilizzatore, an intermediary with a delega or an operator may declare",
                ),
            ),
            (
                Errore::NonLatoUtilizzatore(AzioneUtilizzatore::Revoca),
                denied(
                    "PRE_19_NOT_UTILIZZATORE_SIDE",
                    "only the utilizzatore side revokes",
                ),
            ),
            (
                Errore::NonLatoPrestatore(AzionePrestatore::Conferma),
                denied("PRE_19_NOT_PRESTATORE_SIDE", "only the prestatore side confirms"),
            ),
            (
                Errore::NonLatoPrestatore(AzionePrestatore::Contesta),
                denied("PRE_19_NOT_PRESTATORE_SIDE", "only the prestatore side contests"),
            ),
            (
                Errore::NonLatoPrestatore(AzionePrestatore::Consulta),
                denied(
                    "PRE_19_NOT_PRESTATORE_SIDE",
                    "only the prestatore side and operators",
                ),
            ),
            (
                Errore::LimitiAltrui,
                denied("PRE_19_NOT_OWN_LIMITS", "only one's own limits"),
            ),
            (
                Errore::PrestazioniAltrui,
                denied("PRE_19_NOT_OWN_PRESTAZIONI", "only one's own prestazioni"),
            ),
            (
                Errore::NonTrovata("pre_1".into()),
                AppError::NotFound("prestazione pre_1".into()),
            ),
            (
                Errore::SenzaRegole { anno: 2016 },
                pre("PRE-20", "PRE_20_NO_RULES", "no rule table for 2016"),
            ),
            (
                Errore::RichiestaRiusata,
                AppError::already_exists(
                    "PRE-18",
                    "PRE_18_REQUEST_ID_REUSED",
                    "this request id was used for a different prestazione",
                ),
            ),
            (
                Errore::TransizioneNonValida {
                    stato: Stato::Rejected,
                    evento: Evento::Revoca,
                },
                pre(
                    "PRE-11",
                    "PRE_INVALID_TRANSITION",
                    "a prestazione REJECTED cannot be Revoca",
                ),
            ),
            (
                Errore::RevocaDiConfermata,
                pre(
                    "PRE-12",
                    "PRE_12_CONFIRMED",
                    "a confirmed prestazione cannot be revoked",
                ),
            ),
            (
                Errore::RevocaScaduta { giorni_revoca: 3 },
                pre(
                    "PRE-11",
                    "PRE_11_REVOCA_DEADLINE",
                    "revocable until the end of the 3rd day after the prestazione",
                ),
            ),
            (
                Errore::NonConfermabile(Stato::Pending),
                pre(
                    "PRE-12",
                    "PRE_12_NOT_CONFIRMABLE",
                    "a prestazione PENDING cannot be confirmed",
                ),
            ),
            (
                Errore::NonAncoraSvolta {
                    fine: "2026-06-16T11:00:00Z".parse().unwrap(),
                },
                pre(
                    "PRE-12",
                    "PRE_12_NOT_YET_TAKEN_PLACE",
                    "a prestazione can be confirmed once it has taken place: from 2026-06-16 13:00 (Rome)",
                ),
            ),
            (
                Errore::NonRevocata,
                pre(
                    "PRE-14",
                    "PRE_14_NOT_REVOKED",
                    "only a revoked prestazione can be contested",
                ),
            ),
            (
                Errore::MesePagato,
                pre(
                    "PRE-14",
                    "PRE_14_PAYOUT_COMPUTED",
                    "the payout of that month is computed: the revoca can no longer be contested",
                ),
            ),
            (
                Errore::LimitiSenzaSoggetto,
                AppError::invalid(
                    "prestatore_cf",
                    "PRE-8",
                    "PRE_8_SUBJECT_REQUIRED",
                    "a prestatore, an utilizzatore or both",
                ),
            ),
            (
                Errore::ElencoSenzaSoggetto,
                AppError::invalid(
                    "utilizzatore_cf",
                    "PRE-16",
                    "PRE_16_SUBJECT_REQUIRED",
                    "an utilizzatore or a prestatore",
                ),
            ),
            (
                Errore::Rifiutata(Rifiuto {
                    motivo: "PRE-10: no funds".into(),
                    risposta: None,
                }),
                pre("PRE-10", "PRE_10_REJECTED", "PRE-10: no funds"),
            ),
        ];
        for (e, atteso) in casi {
            uguale(e, atteso);
        }
    }

    #[test]
    fn a_kept_refusal_answers_as_first_sent() {
        let prima = tonic::Status::from(AppError::precondition(
            "POR-4",
            "POR_4_INSUFFICIENT_FUNDS",
            "no funds",
        ));
        let r = Rifiuto {
            motivo: "PRE-10: no funds".into(),
            risposta: Some(Risposta {
                codice: prima.code() as i32,
                messaggio: prima.message().to_string(),
                dettagli: prima.details().to_vec(),
            }),
        };
        uguale(Errore::Rifiutata(r), AppError::Upstream(Box::new(prima)));
    }

    #[test]
    fn pre_8_a_crossed_limit_says_which_and_carries_its_stato_limite() {
        let quota = Quota {
            richiesto: 3600,
            ..Quota::nuova(TipoLimite::Coppia, 2026, "P", "U", 250_000)
        };
        let l = StatoLimite::per_richiesta(&quota, 249_000);
        assert!(l.superato);
        let v = l.violazione();
        assert_eq!(
            v.description,
            "the prestatore–utilizzatore pair limit for 2026 is 2500.00 €: used 2490.00 €, left 10.00 €, requested 36.00 €"
        );
        let s = tonic::Status::from(AppError::from(Errore::NonAmmissibile {
            violazioni: vec![v.clone()],
            limiti: vec![l.clone()],
        }));
        assert_eq!(s.code(), Code::FailedPrecondition);
        assert_eq!(s.message(), format!("[PRE-8] {}", v.description));
        let rpc = tonic_types::pb::Status::decode(s.details()).unwrap();
        let stato: Vec<_> = rpc
            .details
            .iter()
            .filter(|d| d.type_url == STATO_LIMITE_TYPE_URL)
            .map(|d| occasionali_proto::prestazioni::StatoLimite::decode(d.value.as_slice()).unwrap())
            .collect();
        assert_eq!(stato, vec![encode::stato_limite(&l)]);
        let nessuna = AppError::from(Errore::NonAmmissibile {
            violazioni: Vec::new(),
            limiti: Vec::new(),
        });
        assert_eq!(nessuna.code(), Code::Internal);
    }
}
