//! switchboard-audit
