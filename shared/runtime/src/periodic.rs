//! The one way a context runs work on a timer (recovery, schedulers, delivery workers): every
//! `every`, until shutdown; a failed round is logged and the next tick tries again.

use std::future::Future;
use std::time::Duration;

use tokio::task::JoinHandle;

use crate::error::AppError;
use crate::shutdown::Shutdown;

pub fn spawn<F, Fut>(name: &'static str, every: Duration, shutdown: Shutdown, mut round: F) -> JoinHandle<()>
where
    F: FnMut() -> Fut + Send + 'static,
    Fut: Future<Output = Result<(), AppError>> + Send,
{
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let stop = shutdown.wait();
        tokio::pin!(stop);
        loop {
            tokio::select! {
                _ = &mut stop => break,
                _ = tick.tick() => {}
            }
            let work = round();
            tokio::select! {
                _ = &mut stop => break,
                r = work => if let Err(e) = r {
                    tracing::warn!(task = name, error = %e, "periodic round failed; retrying at the next tick");
                }
            }
        }
    })
}
