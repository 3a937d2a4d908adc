"""A throwaway tenant app for benchmarks/tenancy_scale.py only (enabled by
benchmarks/scale_settings.py, never by the product's settings): its migration modules give
the benchmark a one-column migration to deploy to every mall without touching product apps."""
