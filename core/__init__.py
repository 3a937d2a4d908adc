"""The shared kernel: the domain-error base, the actor type, domain events and the outbox.

Every app may import it; it imports no app of the project. Business rules never live here.
"""
