"""Clinical rules and builders that are neither storage nor UI (NEWS2, vital signs)."""
