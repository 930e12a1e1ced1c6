//! What the rules of deleghe refuse (DEL-1, DEL-2, DEL-4), with what the caller needs to know.
//! The messages are the ones the caller reads; the gRPC code, rule and reason are given once, at
//! the edge (`api/errori.rs`).

/// A refusal of the deleghe rules. (Debug holds ids only, never a codice fiscale.)
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Errore {
    /// DEL-1: the caller is neither party of the delega nor an INPS operator.
    #[error("only the delegante, the delegato or an INPS operator can reach a delega")]
    NonParte,
    /// DEL-1: the caller creating a delega is not its delegante (nor an operator).
    #[error("a delega is created by the delegante or an INPS operator")]
    NonDelegante,
    /// DEL-1: the caller acts for the delegante through a delega, which grants no deleghe.
    #[error("a delega cannot be used to grant deleghe: the delegante creates them itself")]
    PerDelega,
    /// No delega has this id; told only to callers who may see every delega.
    #[error("delega {delega_id} not found")]
    Sconosciuta { delega_id: String },
    /// DEL-1 (AIP-155): the author's request id already named another creation.
    #[error(
        "request_id was already used for another delega ({delega_id}) with different content: use a new request_id"
    )]
    RequestIdRiusata { delega_id: String },
    /// DEL-1 (AIP-155): the author used the request id concurrently for another delega.
    #[error("request_id was used concurrently for another delega: use a new request_id")]
    RequestIdContesa,
    /// DEL-1: a non-revoked delega of the same parties and ruolo covers part of the period.
    #[error(
        "delega {delega_id} already binds this delegante, delegato and ruolo for an overlapping period: revoke it first"
    )]
    Sovrapposta { delega_id: String },
    /// DEL-1: another revocation of the delega committed first.
    #[error("the delega was revoked meanwhile; read it again")]
    RevocataNelFrattempo,
    /// DEL-2: only the platform checks deleghe.
    #[error("deleghe are checked by the platform's gateway only")]
    SoloPiattaforma,
    /// DEL-4: only INPS operators read the audit trail.
    #[error("the audit trail of deleghe is for INPS operators")]
    SoloOperatori,
}
