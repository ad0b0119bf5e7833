//! Dispatch: sending a volume to its audience, politely and without losing anyone.

pub mod engine;
pub mod limits;
pub mod lock;
pub mod progress;
pub mod verdict;
