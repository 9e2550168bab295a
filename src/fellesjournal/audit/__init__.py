"""Audit: AuditEvents written in the same transaction as what they record."""
