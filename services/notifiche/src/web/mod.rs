//! The guide and dashboard web pages (NOT-4, NOT-5), served over HTTP on their own port.
//! The pages only render what the application answers; every rule lives behind [`Guide`].

use occasionali_proto::notifiche as pb;
use occasionali_runtime::AppError;

/// What the pages need from the application.
#[tonic::async_trait]
pub trait Guide: Send + Sync + 'static {
    /// The guide behind a token, recording an opening (NOT-5); expired after six months
    /// (only token, scade_il and scaduta set, NOT-4). NOT_FOUND for an unknown token.
    async fn apri(&self, token: &str) -> Result<pb::Guida, AppError>;
    /// Rates a guide 1-5 (NOT-4); INVALID_ARGUMENT outside 1-5, FAILED_PRECONDITION when expired.
    async fn vota(&self, token: &str, voto: i32) -> Result<pb::Guida, AppError>;
    /// Records a followed link (NOT-5) and answers where to redirect.
    async fn segui(&self, token: &str, link: pb::GuidaLink) -> Result<String, AppError>;
    /// The dashboard rows (NOT-5), all quarters when `trimestre` is None.
    async fn cruscotto(
        &self,
        campagna: pb::TipoCampagna,
        trimestre: Option<pb::Trimestre>,
    ) -> Result<Vec<pb::CampagnaDashboard>, AppError>;
}
