"""Local stand-ins for the external services the platform talks to (development and tests
only; production never imports them)."""
