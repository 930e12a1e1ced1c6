//! What the rules of notifiche refuse (NOT-1, NOT-3 … NOT-7), in their own words: the messages
//! are the ones the caller reads; the gRPC code, rule and reason are given once, at the edge
//! (`api/errori.rs`).

/// A refusal of the notifiche rules. (Debug holds no codice fiscale.)
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Errore {
    /// NOT-1: a person's contacts, consents and inbox are read by the person, who acts for it,
    /// operators and the platform.
    #[error("only the person, its delegato or an operator reads these")]
    NonTuo,
    /// NOT-1: consent is the person's own act; operators read it, never give it.
    #[error("only the person or its delegato gives or withdraws consent")]
    ConsensoNonTuo,
    /// NOT-1: reading a message is the person's act; an operator looking does not mark it read.
    #[error("only the person or its delegato marks its messages read")]
    LetturaNonTua,
    /// NOT-1: the person has no message with this id.
    #[error("messaggio not found")]
    MessaggioSconosciuto,
    /// NOT-3: only the Direzione Generale (or the platform) runs a campaign.
    #[error("only the Direzione Generale or the platform may do this")]
    CampagnaSoloDg,
    /// NOT-4: no guide has this token.
    #[error("guida not found")]
    GuidaSconosciuta,
    /// NOT-4: the guide was readable for six months after its notice.
    #[error("the guide has expired (six months after the notice)")]
    GuidaScaduta,
    /// NOT-4: a guide is rated 1 to 5.
    #[error("the rating must be between 1 and 5")]
    VotoFuoriScala,
    /// NOT-5: the campaign dashboard (GetCampagnaDashboard) is for operators and the platform.
    #[error("only INPS operators may do this")]
    CruscottoSoloOperatori,
    /// NOT-5: the dashboard's page is for INPS operators (not even the platform signs in there).
    #[error("the dashboard is for INPS operators")]
    PaginaCruscottoSoloOperatori,
    /// NOT-6: a person lists only its own deliveries.
    #[error("a person lists only its own deliveries: set codice_fiscale to your own")]
    ConsegneNonTue,
    /// NOT-7: only the Direzione Generale (or the platform) imports the domestic-work archive
    /// and reads what an import discarded.
    #[error("only the Direzione Generale or the platform may do this")]
    ImportSoloDg,
}
