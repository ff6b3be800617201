//! Leader election on a `coordination.k8s.io/v1` Lease, written directly on the Lease API so
//! that two replicas never both act.
//!
//! The protocol is client-go's: the holder renews `spec.renewTime` every retry period; another
//! replica takes the lease only once `renewTime + leaseDurationSeconds` has passed (or the lease
//! was released, holder empty). Every write is a create or a resourceVersion-guarded replace, so
//! of two replicas racing for an expired lease exactly one wins (the other gets 409). A leader
//! that cannot renew within the renew deadline gives up leadership *before* the lease expires,
//! so the next holder never overlaps it.

use std::time::Duration;

use jiff::Timestamp;
use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use kube::Client;
use kube::api::{Api, PostParams};
use tokio::sync::watch;

use crate::error::AdapterError;
use crate::execute::FIELD_MANAGER;

/// Lease settings (client-go's defaults: 15 s lease, 10 s renew deadline, 2 s retry).
#[derive(Clone, Debug)]
pub struct LeaseConfig {
    /// Lease name.
    pub name: String,
    /// Lease namespace.
    pub namespace: String,
    /// This replica's identity (its pod name, unique among replicas).
    pub identity: String,
    /// How long a lease stays valid after its last renewal.
    pub lease_duration: Duration,
    /// A leader that has not renewed for this long stops acting (must be < `lease_duration`).
    pub renew_deadline: Duration,
    /// Time between attempts to acquire or renew.
    pub retry_period: Duration,
}

impl LeaseConfig {
    /// A config with client-go's default timings.
    pub fn new(namespace: &str, name: &str, identity: &str) -> Self {
        Self {
            name: name.to_owned(),
            namespace: namespace.to_owned(),
            identity: identity.to_owned(),
            lease_duration: Duration::from_secs(15),
            renew_deadline: Duration::from_secs(10),
            retry_period: Duration::from_secs(2),
        }
    }
}

/// Acquires and renews one Lease.
#[derive(Clone)]
pub struct LeaderElector {
    api: Api<Lease>,
    config: LeaseConfig,
}

impl std::fmt::Debug for LeaderElector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LeaderElector").field("config", &self.config).finish_non_exhaustive()
    }
}

fn conflict(e: &kube::Error) -> bool {
    matches!(e, kube::Error::Api(s) if s.code == 409)
}

fn seconds(d: Duration) -> i32 {
    i32::try_from(d.as_secs()).unwrap_or(i32::MAX)
}

impl LeaderElector {
    /// An elector for `config`'s Lease.
    pub fn new(client: Client, config: LeaseConfig) -> Self {
        let api = Api::namespaced(client, &config.namespace);
        Self { api, config }
    }

    fn spec(&self, now: Timestamp, acquire: Option<MicroTime>, transitions: i32) -> LeaseSpec {
        LeaseSpec {
            holder_identity: Some(self.config.identity.clone()),
            lease_duration_seconds: Some(seconds(self.config.lease_duration)),
            acquire_time: Some(acquire.unwrap_or(MicroTime(now))),
            renew_time: Some(MicroTime(now)),
            lease_transitions: Some(transitions),
            ..Default::default()
        }
    }

    /// One attempt at `now`: creates the lease, renews it, or takes it over once expired.
    /// Returns whether this replica holds it afterwards.
    pub async fn try_acquire_or_renew(&self, now: Timestamp) -> Result<bool, AdapterError> {
        let pp = PostParams { field_manager: Some(FIELD_MANAGER.to_owned()), ..Default::default() };
        let Some(mut lease) = self.api.get_opt(&self.config.name).await.map_err(Box::new)? else {
            let lease = Lease {
                metadata: ObjectMeta {
                    name: Some(self.config.name.clone()),
                    namespace: Some(self.config.namespace.clone()),
                    ..Default::default()
                },
                spec: Some(self.spec(now, None, 0)),
            };
            return match self.api.create(&pp, &lease).await {
                Ok(_) => Ok(true),
                Err(e) if conflict(&e) => Ok(false),
                Err(e) => Err(Box::new(e).into()),
            };
        };
        let old = lease.spec.take().unwrap_or_default();
        let holder = old.holder_identity.as_deref().unwrap_or_default();
        let transitions = old.lease_transitions.unwrap_or(0);
        let new_spec = if holder == self.config.identity {
            self.spec(now, old.acquire_time.clone(), transitions)
        } else {
            let duration = old
                .lease_duration_seconds
                .map_or(self.config.lease_duration, |s| Duration::from_secs(u64::try_from(s).unwrap_or(0)));
            let expired = old.renew_time.as_ref().is_none_or(|r| {
                jiff::SignedDuration::try_from(duration)
                    .ok()
                    .and_then(|d| r.0.checked_add(d).ok())
                    .is_none_or(|until| until <= now)
            });
            if !holder.is_empty() && !expired {
                return Ok(false);
            }
            self.spec(now, None, transitions.saturating_add(1))
        };
        lease.spec = Some(new_spec);
        // `lease.metadata.resourceVersion` guards the replace: of two racers one gets 409.
        match self.api.replace(&self.config.name, &pp, &lease).await {
            Ok(_) => Ok(true),
            Err(e) if conflict(&e) => Ok(false),
            Err(e) => Err(Box::new(e).into()),
        }
    }

    /// Gives the lease up (holder cleared), if this replica holds it, so a successor need not
    /// wait for it to expire.
    pub async fn release(&self) -> Result<(), AdapterError> {
        let Some(mut lease) = self.api.get_opt(&self.config.name).await.map_err(Box::new)? else {
            return Ok(());
        };
        let Some(spec) = lease.spec.as_mut() else { return Ok(()) };
        if spec.holder_identity.as_deref() != Some(self.config.identity.as_str()) {
            return Ok(());
        }
        spec.holder_identity = None;
        spec.lease_duration_seconds = Some(1);
        let pp = PostParams { field_manager: Some(FIELD_MANAGER.to_owned()), ..Default::default() };
        match self.api.replace(&self.config.name, &pp, &lease).await {
            Ok(_) => Ok(()),
            Err(e) if conflict(&e) => Ok(()),
            Err(e) => Err(Box::new(e).into()),
        }
    }

    /// Campaigns until `shutdown` fires or leadership is lost. `leading` turns `true` when the
    /// lease is acquired and `false` when it is lost (renewal failed past the renew deadline,
    /// or another replica holds it); after a loss this returns, and the caller must stop
    /// acting (the operator exits and is restarted). On shutdown the lease is released.
    pub async fn run(self, leading: watch::Sender<bool>, mut shutdown: watch::Receiver<bool>) {
        let mut last_renew: Option<tokio::time::Instant> = None;
        loop {
            let attempt = self.try_acquire_or_renew(Timestamp::now()).await;
            let is_leader = *leading.borrow();
            match attempt {
                Ok(true) => {
                    last_renew = Some(tokio::time::Instant::now());
                    if !is_leader {
                        tracing::info!(identity = %self.config.identity, "acquired leader lease");
                        leading.send_replace(true);
                    }
                }
                Ok(false) if is_leader => {
                    tracing::warn!("leader lease taken by another replica; stopping");
                    leading.send_replace(false);
                    return;
                }
                Ok(false) => tracing::debug!("leader lease held by another replica"),
                Err(e) => {
                    tracing::warn!(error = %e, "leader lease attempt failed");
                    if is_leader && last_renew.is_none_or(|t| t.elapsed() >= self.config.renew_deadline) {
                        tracing::warn!("leader lease not renewed within the renew deadline; stopping");
                        leading.send_replace(false);
                        return;
                    }
                }
            }
            tokio::select! {
                () = tokio::time::sleep(self.config.retry_period) => {}
                () = async { let _ = shutdown.wait_for(|stop| *stop).await; } => {
                    let was_leading = *leading.borrow();
                    if was_leading {
                        if let Err(e) = self.release().await {
                            tracing::warn!(error = %e, "releasing the leader lease failed");
                        }
                        leading.send_replace(false);
                    }
                    return;
                }
            }
        }
    }
}
