"""Telling shoppers what happened to their orders (WeChat template messages)."""
