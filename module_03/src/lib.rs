//! Checked material for module 3: the compiler errors its lessons quote,
//! each a `compile_fail` doctest beside the version that compiles.
//! `cargo test -p module_03 --doc` proves that each still fails (and, with
//! `RUSTC_BOOTSTRAP=1`, with the error code quoted).

/// Lesson 3.3, `methods_tour`: `result(timeout=…)` waits on a *borrowed*
/// handle, so the task can still be awaited after the time-out.
///
/// ```
/// # async fn tour() {
/// use std::time::Duration;
/// let mut slow = tokio::spawn(async { 6 * 7u64 });
/// let early = tokio::time::timeout(Duration::from_millis(1), &mut slow).await;
/// let result = slow.await; // still ours: `timeout` only borrowed it
/// # let _ = (early, result);
/// # }
/// ```
///
/// Handing `timeout` the handle itself moves it into the `Timeout` future,
/// which is dropped with the handle inside when the time runs out: nothing
/// is left to wait on, and the compiler says so (E0382, use of moved value):
///
/// ```compile_fail,E0382
/// # async fn tour() {
/// use std::time::Duration;
/// let slow = tokio::spawn(async { 6 * 7u64 });
/// let early = tokio::time::timeout(Duration::from_millis(1), slow).await;
/// let result = slow.await; // error[E0382]: use of moved value: `slow`
/// # let _ = (early, result);
/// # }
/// ```
pub mod compile_checks {}
