"""The `ciam` command: Hydra's CLI verbs and flags over the admin API (HTTP only)."""
