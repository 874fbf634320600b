"""Turning calls into OpenTelemetry spans and metrics: the only package that touches OpenTelemetry."""
