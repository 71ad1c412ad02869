//! The study configuration (TOML): sections `[study]`, `[scheduler]`, `[stoppers]` (being built).
