//! The MIX front end (XEP-0369 and family): one file per operation; each
//! parses its request, calls the channel service, renders the answer.

pub mod create;
