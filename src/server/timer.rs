//! [`HeadTimer`]: hyper's timer for the request-head deadline (`JEAN2_HEADER_TIMEOUT`), with its
//! sleeps reused instead of made and thrown away for every request.
//!
//! hyper arms the header-read timeout at the start of every request head and drops it once the
//! head is in. With tokio's timer that is, per request, an allocation, a lookup of the current
//! runtime, an entry filed into the timer wheel and taken out again under its lock: the largest
//! single cost a keep-alive request paid over a bare server (docs/benchmarks.md, "Verify"). Here
//! a dropped sleep goes back to a small pool kept per thread, and the next request head on that
//! thread takes it and moves its deadline later, which tokio does with one atomic update: the
//! wheel re-files the entry only when its old deadline comes round.
//!
//! A pooled sleep may wake the task that last waited on it once more, when its old deadline
//! passes: a spurious wake-up, which every future tolerates by contract (hyper polls, finds
//! nothing to do, and waits again).
//!
//! Even that atomic update (`Sleep::reset`, 1% of a small request's time) is skipped while a
//! kept sleep's deadline is at most the timer's slack (a sixteenth of the header timeout)
//! before the new one: a request head then gets between 15/16 of the timeout and all of it.

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use tokio::time::Sleep;

/// The most sleeps a thread keeps for reuse (a few hundred bytes each).
const POOLED_PER_THREAD: usize = 64;

/// Tells servers apart: a sleep belongs to the runtime of the server that made it, and is reused
/// only by that server (tests run many servers, each on its own runtime).
static NEXT_OWNER: AtomicU64 = AtomicU64::new(1);

thread_local! {
    static POOL: RefCell<Pool> = const {
        RefCell::new(Pool { owner: 0, sleeps: Vec::new() })
    };
}

/// The sleeps one thread keeps, all made by the server `owner`.
struct Pool {
    owner: u64,
    sleeps: Vec<Pin<Box<Sleep>>>,
}

/// The timer one server gives hyper; cheap to clone.
#[derive(Clone, Debug)]
pub struct HeadTimer {
    owner: u64,
    /// How much earlier than asked a kept sleep may fire, rather than be moved.
    slack: Duration,
}

impl HeadTimer {
    /// A timer whose deadlines are exact.
    pub fn new() -> Self {
        Self::with_slack(Duration::ZERO)
    }

    /// A timer for deadlines `timeout` away, which lets them come up to a sixteenth early.
    pub fn for_timeout(timeout: Duration) -> Self {
        Self::with_slack(timeout / 16)
    }

    fn with_slack(slack: Duration) -> Self {
        HeadTimer {
            owner: NEXT_OWNER.fetch_add(1, Ordering::Relaxed),
            slack,
        }
    }

    /// A sleep until `deadline`: one this thread kept, moved to the new deadline, or a new one.
    fn sleep_at(&self, deadline: Instant) -> Pin<Box<Sleep>> {
        let kept = POOL
            .try_with(|pool| {
                let mut pool = pool.try_borrow_mut().ok()?;
                if pool.owner == self.owner {
                    pool.sleeps.pop()
                } else {
                    None
                }
            })
            .ok()
            .flatten();
        match kept {
            Some(mut sleep) => {
                let old = sleep.deadline().into_std();
                let close_enough = old <= deadline && deadline - old <= self.slack;
                if !close_enough {
                    sleep.as_mut().reset(deadline.into());
                }
                sleep
            }
            None => Box::pin(tokio::time::sleep_until(deadline.into())),
        }
    }
}

impl Default for HeadTimer {
    fn default() -> Self {
        Self::new()
    }
}

impl hyper::rt::Timer for HeadTimer {
    /// hyper reads this at the start of every request head, for its deadline: with slack to
    /// spare, the coarse clock will do ([`coarse_now`]).
    fn now(&self) -> Instant {
        if self.slack.is_zero() {
            return Instant::now();
        }
        match coarse_now() {
            Some((now, tick)) if tick <= self.slack => now,
            _ => Instant::now(),
        }
    }

    fn sleep(&self, duration: Duration) -> Pin<Box<dyn hyper::rt::Sleep>> {
        self.sleep_until(Instant::now() + duration)
    }

    fn sleep_until(&self, deadline: Instant) -> Pin<Box<dyn hyper::rt::Sleep>> {
        Box::pin(Pooled {
            sleep: Some(self.sleep_at(deadline)),
            owner: self.owner,
        })
    }

    fn reset(&self, sleep: &mut Pin<Box<dyn hyper::rt::Sleep>>, new_deadline: Instant) {
        match sleep.as_mut().downcast_mut_pin::<Pooled>() {
            Some(mut pooled) => match pooled.sleep.as_mut() {
                Some(inner) => inner.as_mut().reset(new_deadline.into()),
                None => pooled.sleep = Some(self.sleep_at(new_deadline)),
            },
            None => *sleep = self.sleep_until(new_deadline),
        }
    }
}

/// Now to within a tick of the kernel's coarse monotonic clock (a few milliseconds), and that
/// tick; `None` where there is no such clock. Reading it is a load from the vDSO page; the
/// precise clock reads the TSC through the hypervisor's clock page, ~45 ns under KVM (half a
/// percent of a small request). Both clocks are `CLOCK_MONOTONIC`, the coarse one updated once a
/// tick, so an instant taken once with both anchors the coarse readings to `Instant`.
fn coarse_now() -> Option<(Instant, Duration)> {
    use nix::time::{ClockId, clock_getres, clock_gettime};
    static ANCHOR: OnceLock<Option<(Instant, Duration, Duration)>> = OnceLock::new();
    let coarse = || clock_gettime(ClockId::CLOCK_MONOTONIC_COARSE).map(Duration::from);
    let (at, then, tick) = (*ANCHOR.get_or_init(|| {
        let tick = clock_getres(ClockId::CLOCK_MONOTONIC_COARSE).ok()?;
        Some((Instant::now(), coarse().ok()?, Duration::from(tick)))
    }))?;
    let since = coarse().ok()?.checked_sub(then)?;
    Some((at + since, tick))
}

/// The sleep hyper holds; dropped, it gives its tokio sleep back to this thread's pool.
struct Pooled {
    sleep: Option<Pin<Box<Sleep>>>,
    owner: u64,
}

impl Future for Pooled {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        match self.sleep.as_mut() {
            Some(sleep) => sleep.as_mut().poll(cx),
            None => Poll::Ready(()),
        }
    }
}

impl hyper::rt::Sleep for Pooled {}

impl Drop for Pooled {
    fn drop(&mut self) {
        let Some(sleep) = self.sleep.take() else {
            return;
        };
        // During thread exit the pool may be gone: the sleep is then simply dropped.
        let _ = POOL.try_with(|pool| {
            let Ok(mut pool) = pool.try_borrow_mut() else {
                return;
            };
            if pool.owner != self.owner {
                pool.sleeps.clear();
                pool.owner = self.owner;
            }
            if pool.sleeps.len() < POOLED_PER_THREAD {
                pool.sleeps.push(sleep);
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use hyper::rt::Timer as _;

    use super::*;

    fn pooled(owner: u64) -> usize {
        POOL.with(|pool| {
            let pool = pool.borrow();
            if pool.owner == owner {
                pool.sleeps.len()
            } else {
                0
            }
        })
    }

    #[tokio::test]
    async fn a_reused_sleep_keeps_its_new_deadline() {
        let timer = HeadTimer::new();
        // Waited on, then dropped: its entry stays filed with the old deadline.
        let mut first = timer.sleep(Duration::from_millis(5));
        first.as_mut().await;
        drop(first);
        assert_eq!(pooled(timer.owner), 1);

        // Taken again for a deadline far away: it must not fire at the old one.
        let far = timer.sleep(Duration::from_secs(3600));
        assert_eq!(pooled(timer.owner), 0, "the kept sleep was reused");
        let fired = tokio::time::timeout(Duration::from_millis(50), far).await;
        assert!(
            fired.is_err(),
            "a reused sleep fired before its new deadline"
        );

        // And a near deadline after a far one still fires.
        let near = timer.sleep(Duration::from_millis(5));
        tokio::time::timeout(Duration::from_secs(5), near)
            .await
            .expect("the sleep fires at its deadline");
    }

    #[tokio::test]
    async fn a_kept_deadline_within_the_slack_is_left_as_it_is() {
        let timer = HeadTimer::for_timeout(Duration::from_secs(16));
        // A sleep for `deadline` taken from the pool, its deadline read, and given back.
        let deadline_after = |deadline: Instant| {
            let sleep = timer.sleep_at(deadline);
            let got = sleep.deadline().into_std();
            drop(Pooled {
                sleep: Some(sleep),
                owner: timer.owner,
            });
            got
        };
        let start = Instant::now() + Duration::from_secs(16);
        assert_eq!(deadline_after(start), start, "a new sleep");
        let half = Duration::from_millis(500);
        assert_eq!(deadline_after(start + half), start, "within a second: kept");
        let two = Duration::from_secs(2);
        assert_eq!(deadline_after(start + two), start + two, "moved");
        assert_eq!(deadline_after(start), start, "never later than asked");
    }

    #[test]
    fn the_coarse_clock_keeps_within_a_tick_of_the_precise_one() {
        let (_, tick) = coarse_now().expect("Linux has CLOCK_MONOTONIC_COARSE");
        assert!(tick <= Duration::from_millis(10), "tick {tick:?}");
        let timer = HeadTimer::for_timeout(Duration::from_secs(16));
        for _ in 0..10_000 {
            let before = Instant::now();
            let (coarse, _) = coarse_now().unwrap();
            let hyper_now = timer.now();
            let after = Instant::now();
            assert!(coarse + tick >= before && coarse <= after + tick);
            assert!(hyper_now + tick >= before && hyper_now <= after + tick);
        }
        // Exact deadlines read the precise clock.
        let exact = HeadTimer::new();
        let before = Instant::now();
        assert!(exact.now() >= before);
    }

    #[tokio::test]
    async fn reset_moves_a_held_sleep() {
        let timer = HeadTimer::new();
        let mut sleep = timer.sleep(Duration::from_secs(3600));
        timer.reset(&mut sleep, Instant::now() + Duration::from_millis(5));
        tokio::time::timeout(Duration::from_secs(5), sleep)
            .await
            .expect("the sleep fires at its new deadline");
    }

    #[test]
    fn a_server_never_reuses_another_servers_sleeps() {
        let one = HeadTimer::new();
        let other = HeadTimer::new();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        rt.block_on(async { drop(one.sleep(Duration::from_secs(1))) });
        assert_eq!(pooled(one.owner), 1);
        drop(rt);
        // A later runtime on this thread: the first server's sleeps are dropped, not reused.
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        rt.block_on(async {
            let sleep = other.sleep(Duration::from_millis(5));
            assert_eq!(pooled(one.owner), 1, "taken from its own pool only");
            drop(sleep);
        });
        assert_eq!(pooled(one.owner), 0);
        assert_eq!(pooled(other.owner), 1);
    }
}
