//! switchboard-ledger
