//! The one mapping of the wallet's refusals ([`Errore`]) to the runtime's error model: the gRPC
//! code, the ErrorInfo reason (`POR_n_…`, stable: clients switch on it), the rule and the
//! metadata. Amounts travel as decimal strings under `available`, `needed` and `debt`; the
//! internal service also reads them for the FondiInsufficienti detail (`interno`).

use occasionali_kernel::Euro;
use occasionali_runtime::AppError;

use crate::domain::Errore;

/// `POR-4` → `POR_4_…`: the reason prefix of rules chosen by the caller.
fn motivo(regola: &str, suffisso: &str) -> String {
    format!("{}_{suffisso}", regola.replace('-', "_"))
}

/// FAILED_PRECONDITION with the amounts the caller needs, in the order they were always sent.
fn importi(e: AppError, importi: &[(&str, Euro)]) -> AppError {
    importi
        .iter()
        .fold(e, |e, (k, v)| e.with_metadata(*k, v.to_string()))
}

impl From<Errore> for AppError {
    fn from(e: Errore) -> AppError {
        use Errore::*;
        let messaggio = e.to_string();
        let regola = e.regola().unwrap_or_default();
        let precondizione = |reason: &str| AppError::precondition(regola, reason, messaggio.clone());
        match e {
            SoloFlussiPagamento { .. } => AppError::denied(regola, "POR_2_FEED_ONLY", messaggio),
            SoloOperatori { .. } => AppError::denied(regola, motivo(regola, "OPERATORS_ONLY"), messaggio),
            SoloDg { .. } => AppError::denied(regola, motivo(regola, "DG_ONLY"), messaggio),
            FuoriSede { .. } => AppError::denied(regola, motivo(regola, "OUTSIDE_SEDE"), messaggio),
            NonTitolare { .. } => AppError::denied(regola, motivo(regola, "NOT_OWN_WALLET"), messaggio),
            LibroSoloDg => AppError::denied(regola, "POR_1_DG_ONLY", messaggio),
            AnnoNonValido => AppError::invalid("anno", regola, "POR_6_YEAR", messaggio),
            AbbinamentoSoloOperatori => AppError::denied(regola, "POR_3_OPERATORS_ONLY", messaggio),
            VersamentoDiAltraSede | UtilizzatoreDiAltraSede => {
                AppError::denied(regola, "POR_3_OUTSIDE_SEDE", messaggio)
            }
            RimborsiSoloOperatori | StorniSoloOperatori => {
                AppError::denied(regola, "POR_7_OPERATORS_ONLY", messaggio)
            }
            DestinazioneNonUtilizzatore => precondizione("POR_7_DESTINATION_NOT_UTILIZZATORE"),
            MeseGiaPagato { .. } => precondizione("POR_5_MONTH_ALREADY_PAID"),
            Concorrente { .. } => AppError::aborted(regola, motivo(regola, "CONCURRENT_CHANGE"), messaggio),

            NonInCoda { .. } => precondizione("POR_3_NOT_IN_QUEUE"),
            NonPagamentoCpo => precondizione("POR_3_NOT_A_CPO_PAYMENT"),
            NonUtilizzatoreCpo => precondizione("POR_3_NOT_A_CPO_UTILIZZATORE"),
            VersanteNonLegaleRappresentante => precondizione("POR_3_PAYER_NOT_LEGAL_REPRESENTATIVE"),

            InDebito {
                disponibile,
                necessario,
                debito,
            } => importi(
                precondizione("POR_8_WALLET_IN_DEBT"),
                &[
                    ("available", disponibile),
                    ("needed", necessario),
                    ("debt", debito),
                ],
            ),
            FondiInsufficienti {
                disponibile,
                necessario,
                debito,
            } => importi(
                precondizione("POR_4_INSUFFICIENT_FUNDS"),
                &[
                    ("available", disponibile),
                    ("needed", necessario),
                    ("debt", debito),
                ],
            ),
            ConflittoRiserva => AppError::already_exists(regola, "POR_4_RESERVATION_CONFLICT", messaggio),
            RiservaGiaConsumata => precondizione("POR_4_ALREADY_CONSUMED"),
            ConsumataDaAltroOrdine => precondizione("POR_4_CONSUMED_BY_ANOTHER_ORDER"),
            RiservaRilasciata => precondizione("POR_4_RELEASED"),

            MeseNonValido => AppError::invalid("mese", regola, "POR_5_MONTH", messaggio),
            PayoutPrematuro { .. } => precondizione("POR_5_TOO_EARLY"),

            RichiestaRimborsoRiusata => {
                AppError::already_exists(regola, "POR_7_REQUEST_ID_REUSED", messaggio)
            }
            RimborsoOltreDisponibile {
                disponibile,
                richiesto,
            } => importi(
                precondizione("POR_7_EXCEEDS_AVAILABLE"),
                &[("available", disponibile), ("needed", richiesto)],
            ),
            RimborsoGiaDeciso { .. } => precondizione("POR_7_ALREADY_DECIDED"),
            ImportoApprovatoNonValido { .. } => {
                AppError::invalid("approvazione.importo", regola, "POR_7_APPROVED_AMOUNT", messaggio)
            }
            RichiestaStornoRiusata => AppError::already_exists(regola, "POR_7_REQUEST_ID_REUSED", messaggio),
            NienteDaStornare => precondizione("POR_7_NOTHING_LEFT"),
            OltreIlVersamento { residuo, importo } => importi(
                precondizione("POR_7_EXCEEDS_VERSAMENTO"),
                &[("available", residuo), ("needed", importo)],
            ),
            StessoPortafoglio => AppError::invalid(
                "trasferimento.destinazione",
                regola,
                "POR_7_SAME_WALLET",
                messaggio,
            ),
            SottoIlRiservato { disponibile, importo } => importi(
                precondizione("POR_7_BELOW_RESERVED"),
                &[("available", disponibile), ("needed", importo)],
            ),

            MovimentoRifiutato { .. } | Traboccamento(_) | Incoerenza(_) => AppError::internal(messaggio),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::domain::TipoConto;
    use crate::domain::rimborso::StatoRimborso;
    use crate::domain::versamento::StatoVersamento;
    use chrono::NaiveDate;
    use tonic::Code;

    fn e(s: &str) -> Euro {
        Euro::parse(s).unwrap()
    }

    /// Code, rule, reason, message and metadata of a mapped refusal.
    fn parti(e: Errore) -> (Code, String, String, String, Vec<(String, String)>) {
        let app = AppError::from(e);
        let code = app.code();
        match app {
            AppError::FailedPrecondition {
                rule,
                reason,
                message,
                metadata,
                violations,
            } => {
                assert!(violations.is_empty());
                (code, rule.into(), reason, message, metadata)
            }
            AppError::PermissionDenied {
                rule,
                reason,
                message,
            }
            | AppError::AlreadyExists {
                rule,
                reason,
                message,
            } => (code, rule.into(), reason, message, Vec::new()),
            AppError::Invalid(v) => {
                assert_eq!(v.len(), 1);
                let f = &v[0];
                (
                    code,
                    f.rule.into(),
                    f.reason.clone(),
                    format!("{}: {}", f.field, f.description),
                    Vec::new(),
                )
            }
            AppError::Internal(m) => (code, String::new(), String::new(), m, Vec::new()),
            other => panic!("{other:?}"),
        }
    }

    fn m(coppie: &[(&str, &str)]) -> Vec<(String, String)> {
        coppie
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn access_refusals_name_the_rule_that_refuses() {
        assert_eq!(
            parti(Errore::SoloFlussiPagamento {
                cosa: "F24 payments".into()
            }),
            (
                Code::PermissionDenied,
                "POR-2".into(),
                "POR_2_FEED_ONLY".into(),
                "F24 payments come from the payments feeds, never from a person (operators correct with AbbinaVersamento, StornaVersamento and refunds)".into(),
                vec![]
            )
        );
        assert_eq!(
            parti(Errore::SoloOperatori {
                regola: "POR-3",
                cosa: "the unmatched queue".into()
            }),
            (
                Code::PermissionDenied,
                "POR-3".into(),
                "POR_3_OPERATORS_ONLY".into(),
                "the unmatched queue is for INPS operators and the platform's services".into(),
                vec![]
            )
        );
        assert_eq!(
            parti(Errore::SoloDg {
                regola: "POR-5",
                cosa: "running the payout".into()
            }),
            (
                Code::PermissionDenied,
                "POR-5".into(),
                "POR_5_DG_ONLY".into(),
                "running the payout is for the Direzione Generale and the platform's services".into(),
                vec![]
            )
        );
        assert_eq!(
            parti(Errore::FuoriSede { regola: "POR-7" }),
            (
                Code::PermissionDenied,
                "POR-7".into(),
                "POR_7_OUTSIDE_SEDE".into(),
                "the utilizzatore belongs to another sede".into(),
                vec![]
            )
        );
        assert_eq!(
            parti(Errore::NonTitolare { regola: "POR-6" }).2,
            "POR_6_NOT_OWN_WALLET"
        );
    }

    #[test]
    fn por_4_and_por_8_refusals_carry_the_amounts() {
        assert_eq!(
            parti(Errore::FondiInsufficienti {
                disponibile: e("1.00"),
                necessario: e("12.41"),
                debito: Euro::ZERO,
            }),
            (
                Code::FailedPrecondition,
                "POR-4".into(),
                "POR_4_INSUFFICIENT_FUNDS".into(),
                "the available balance 1.00 does not cover the 12.41 needed".into(),
                m(&[("available", "1.00"), ("needed", "12.41"), ("debt", "0.00")])
            )
        );
        assert_eq!(
            parti(Errore::InDebito {
                disponibile: Euro::ZERO,
                necessario: e("12.41"),
                debito: e("5.00"),
            }),
            (
                Code::FailedPrecondition,
                "POR-8".into(),
                "POR_8_WALLET_IN_DEBT".into(),
                "the wallet has a debt of 5.00 that blocks new prestazioni until a deposit covers it".into(),
                m(&[("available", "0.00"), ("needed", "12.41"), ("debt", "5.00")])
            )
        );
        assert_eq!(parti(Errore::ConflittoRiserva).0, Code::AlreadyExists);
        for (err, reason) in [
            (Errore::RiservaGiaConsumata, "POR_4_ALREADY_CONSUMED"),
            (Errore::ConsumataDaAltroOrdine, "POR_4_CONSUMED_BY_ANOTHER_ORDER"),
            (Errore::RiservaRilasciata, "POR_4_RELEASED"),
        ] {
            let (code, rule, r, ..) = parti(err);
            assert_eq!(
                (code, rule.as_str(), r.as_str()),
                (Code::FailedPrecondition, "POR-4", reason)
            );
        }
    }

    #[test]
    fn por_3_refusals_are_preconditions() {
        for (err, reason) in [
            (
                Errore::NonInCoda {
                    stato: StatoVersamento::Accreditato,
                },
                "POR_3_NOT_IN_QUEUE",
            ),
            (Errore::NonPagamentoCpo, "POR_3_NOT_A_CPO_PAYMENT"),
            (Errore::NonUtilizzatoreCpo, "POR_3_NOT_A_CPO_UTILIZZATORE"),
            (
                Errore::VersanteNonLegaleRappresentante,
                "POR_3_PAYER_NOT_LEGAL_REPRESENTATIVE",
            ),
        ] {
            let (code, rule, r, ..) = parti(err);
            assert_eq!(
                (code, rule.as_str(), r.as_str()),
                (Code::FailedPrecondition, "POR-3", reason)
            );
        }
        assert_eq!(
            parti(Errore::NonInCoda {
                stato: StatoVersamento::Accreditato
            })
            .3,
            "the versamento is ACCREDITATO, not waiting in the unmatched queue"
        );
    }

    #[test]
    fn por_5_and_por_7_refusals() {
        assert_eq!(
            parti(Errore::MeseNonValido),
            (
                Code::InvalidArgument,
                "POR-5".into(),
                "POR_5_MONTH".into(),
                "mese: must be between 1 and 12".into(),
                vec![]
            )
        );
        assert_eq!(
            parti(Errore::PayoutPrematuro {
                anno: 2026,
                mese: 6,
                data: NaiveDate::from_ymd_opt(2026, 7, 15).unwrap(),
            })
            .3,
            "the payout of 2026-06 is due on 2026-07-15, not before"
        );
        assert_eq!(
            parti(Errore::RimborsoOltreDisponibile {
                disponibile: e("20.00"),
                richiesto: e("20.01"),
            }),
            (
                Code::FailedPrecondition,
                "POR-7".into(),
                "POR_7_EXCEEDS_AVAILABLE".into(),
                "a rimborso cannot exceed the available balance (20.00): reserved funds stay for the prestazioni".into(),
                m(&[("available", "20.00"), ("needed", "20.01")])
            )
        );
        assert_eq!(
            parti(Errore::RimborsoGiaDeciso {
                stato: StatoRimborso::Pagato
            })
            .3,
            "the rimborso was already decided: PAGATO"
        );
        assert_eq!(
            parti(Errore::ImportoApprovatoNonValido {
                richiesto: e("10.00")
            }),
            (
                Code::InvalidArgument,
                "POR-7".into(),
                "POR_7_APPROVED_AMOUNT".into(),
                "approvazione.importo: must be more than 0 and not above the requested 10.00".into(),
                vec![]
            )
        );
        assert_eq!(
            parti(Errore::OltreIlVersamento {
                residuo: e("30.00"),
                importo: e("100.00"),
            }),
            (
                Code::FailedPrecondition,
                "POR-7".into(),
                "POR_7_EXCEEDS_VERSAMENTO".into(),
                "only 30.00 of the versamento is left to return or transfer".into(),
                m(&[("available", "30.00"), ("needed", "100.00")])
            )
        );
        assert_eq!(
            parti(Errore::SottoIlRiservato {
                disponibile: e("30.00"),
                importo: e("100.00"),
            }),
            (
                Code::FailedPrecondition,
                "POR-7".into(),
                "POR_7_BELOW_RESERVED".into(),
                "the wallet's available balance (30.00) does not cover it: reserved funds stay for the prestazioni".into(),
                m(&[("available", "30.00"), ("needed", "100.00")])
            )
        );
        assert_eq!(parti(Errore::StessoPortafoglio).2, "POR_7_SAME_WALLET");
        assert_eq!(parti(Errore::NienteDaStornare).2, "POR_7_NOTHING_LEFT");
        assert_eq!(
            parti(Errore::RichiestaRimborsoRiusata),
            (
                Code::AlreadyExists,
                "POR-7".into(),
                "POR_7_REQUEST_ID_REUSED".into(),
                "this request_id was used for a different rimborso request".into(),
                vec![]
            )
        );
    }

    #[test]
    fn a_reused_storno_request_id_already_exists() {
        assert_eq!(
            parti(Errore::RichiestaStornoRiusata),
            (
                Code::AlreadyExists,
                "POR-7".into(),
                "POR_7_REQUEST_ID_REUSED".into(),
                "this request_id was used for a different storno".into(),
                vec![]
            )
        );
    }

    #[test]
    fn broken_invariants_are_internal() {
        assert_eq!(
            parti(Errore::MovimentoRifiutato {
                importo: Euro::from_cents(-1),
                da: TipoConto::Incassi,
                a: TipoConto::Disponibile,
            }),
            (
                Code::Internal,
                String::new(),
                String::new(),
                "refused posting of -0.01 from INCASSI to DISPONIBILE".into(),
                vec![]
            )
        );
        assert_eq!(
            parti(Errore::Traboccamento("amount overflow")).3,
            "amount overflow"
        );
    }
}
