//! Generated code for every Occasionali API, and the encoded descriptor set that server
//! reflection serves (GW-2). Generated from `proto/` at build time without a system protoc.

#![allow(clippy::all, clippy::pedantic, missing_docs)]

include!(concat!(env!("OUT_DIR"), "/mod.rs"));

/// The encoded `FileDescriptorSet` of every .proto in the workspace.
pub const FILE_DESCRIPTOR_SET: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/descriptor.bin"));

pub use occasionali::anagrafica::v1 as anagrafica;
pub use occasionali::common::v1 as common;
pub use occasionali::comunicazioni::v1 as comunicazioni;
pub use occasionali::deleghe::v1 as deleghe;
pub use occasionali::gateway::v1 as gateway;
pub use occasionali::notifiche::v1 as notifiche;
pub use occasionali::portafoglio::v1 as portafoglio;
pub use occasionali::prestazioni::v1 as prestazioni;
