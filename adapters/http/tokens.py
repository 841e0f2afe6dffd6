"""Moved to `adapters.gate.tokens` (HTTP and NATS share the tokens); re-exported for old imports."""

from adapters.gate.tokens import ROLES, Token, TokenStore, caller_of, check_grant, digest_of

__all__ = ["ROLES", "Token", "TokenStore", "caller_of", "check_grant", "digest_of"]
