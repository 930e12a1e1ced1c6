//! The one mapping of the domain's refusals to the error model (and so to gRPC): code, rule and
//! reason here, the message the domain's.

use occasionali_runtime::AppError;

use crate::domain::Errore;

impl From<Errore> for AppError {
    fn from(e: Errore) -> AppError {
        let message = e.to_string();
        match e {
            Errore::NonTuo | Errore::LetturaNonTua => AppError::denied("NOT-1", "NOT_1_NOT_OWN", message),
            Errore::ConsensoNonTuo => AppError::denied("NOT-1", "NOT_1_CONSENT_OWN", message),
            Errore::MessaggioSconosciuto => AppError::NotFound("messaggio".into()),
            Errore::CampagnaSoloDg => AppError::denied("NOT-3", "NOT_3_DG_ONLY", message),
            Errore::GuidaSconosciuta => AppError::NotFound("guida".into()),
            Errore::GuidaScaduta => AppError::precondition("NOT-4", "NOT_4_GUIDA_SCADUTA", message),
            Errore::VotoFuoriScala => AppError::invalid("voto", "NOT-4", "NOT_4_VOTO_FUORI_SCALA", message),
            Errore::CruscottoSoloOperatori | Errore::PaginaCruscottoSoloOperatori => {
                AppError::denied("NOT-5", "NOT_5_OPERATORS_ONLY", message)
            }
            Errore::ConsegneNonTue => AppError::denied("NOT-6", "NOT_6_NOT_OWN", message),
            Errore::ImportSoloDg => AppError::denied("NOT-7", "NOT_7_DG_ONLY", message),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use tonic::{Code, Status};
    use tonic_types::StatusExt;

    use super::*;

    fn status(e: Errore) -> Status {
        Status::from(AppError::from(e))
    }

    fn reason(s: &Status) -> String {
        s.get_error_details()
            .error_info()
            .map(|i| i.reason.clone())
            .unwrap_or_default()
    }

    #[test]
    fn refusals_keep_their_code_reason_and_message() {
        let cases = [
            (
                Errore::NonTuo,
                Code::PermissionDenied,
                "NOT_1_NOT_OWN",
                "[NOT-1] only the person, its delegato or an operator reads these",
            ),
            (
                Errore::ConsensoNonTuo,
                Code::PermissionDenied,
                "NOT_1_CONSENT_OWN",
                "[NOT-1] only the person or its delegato gives or withdraws consent",
            ),
            (
                Errore::LetturaNonTua,
                Code::PermissionDenied,
                "NOT_1_NOT_OWN",
                "[NOT-1] only the person or its delegato marks its messages read",
            ),
            (
                Errore::MessaggioSconosciuto,
                Code::NotFound,
                "",
                "messaggio not found",
            ),
            (
                Errore::CampagnaSoloDg,
                Code::PermissionDenied,
                "NOT_3_DG_ONLY",
                "[NOT-3] only the Direzione Generale or the platform may do this",
            ),
            (Errore::GuidaSconosciuta, Code::NotFound, "", "guida not found"),
            (
                Errore::GuidaScaduta,
                Code::FailedPrecondition,
                "NOT_4_GUIDA_SCADUTA",
                "[NOT-4] the guide has expired (six months after the notice)",
            ),
            (
                Errore::CruscottoSoloOperatori,
                Code::PermissionDenied,
                "NOT_5_OPERATORS_ONLY",
                "[NOT-5] only INPS operators may do this",
            ),
            (
                Errore::PaginaCruscottoSoloOperatori,
                Code::PermissionDenied,
                "NOT_5_OPERATORS_ONLY",
                "[NOT-5] the dashboard is for INPS operators",
            ),
            (
                Errore::ConsegneNonTue,
                Code::PermissionDenied,
                "NOT_6_NOT_OWN",
                "[NOT-6] a person lists only its own deliveries: set codice_fiscale to your own",
            ),
            (
                Errore::ImportSoloDg,
                Code::PermissionDenied,
                "NOT_7_DG_ONLY",
                "[NOT-7] only the Direzione Generale or the platform may do this",
            ),
        ];
        for (e, code, why, message) in cases {
            let s = status(e);
            assert_eq!((s.code(), reason(&s).as_str(), s.message()), (code, why, message));
        }
    }

    #[test]
    fn not_4_a_rating_out_of_scale_is_a_bad_field() {
        let s = status(Errore::VotoFuoriScala);
        assert_eq!(s.code(), Code::InvalidArgument);
        let v = s.get_error_details().bad_request().cloned().unwrap();
        assert_eq!(v.field_violations.len(), 1);
        assert_eq!(v.field_violations[0].field, "voto");
        assert_eq!(
            v.field_violations[0].description,
            "[NOT-4] the rating must be between 1 and 5"
        );
    }
}
