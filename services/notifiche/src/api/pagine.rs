//! The pages' port onto the application (NOT-4, NOT-5): what the guide and dashboard pages ask,
//! decoded, answered by the application and encoded as the gRPC edge does, so a page and an RPC
//! say the same.

use occasionali_proto::notifiche as pb;
use occasionali_runtime::AppError;

use crate::app::App;
use crate::{decode, encode, web};

#[tonic::async_trait]
impl web::Guide for App {
    async fn apri(&self, token: &str) -> Result<pb::Guida, AppError> {
        let g = self.apri_guida(token).await?;
        Ok(encode::guida(g, &self.base_url))
    }

    async fn vota(&self, token: &str, voto: i32) -> Result<pb::Guida, AppError> {
        let g = self.vota_guida(token, voto).await?;
        Ok(encode::guida(g, &self.base_url))
    }

    async fn segui(&self, token: &str, link: pb::GuidaLink) -> Result<String, AppError> {
        self.segui_link(token, decode::link(link)?).await
    }

    async fn cruscotto(
        &self,
        campagna: pb::TipoCampagna,
        trimestre: Option<pb::Trimestre>,
    ) -> Result<Vec<pb::CampagnaDashboard>, AppError> {
        let (campagna, t) = decode::cruscotto(campagna, trimestre)?;
        let righe = App::cruscotto(self, campagna, t).await?;
        Ok(righe.into_iter().map(encode::cruscotto).collect())
    }
}
